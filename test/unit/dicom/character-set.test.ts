/** Test vectors from PS3.5 Annexes H, I, J and pydicom's charset tests. */
import { describe, expect, it } from 'vitest';
import { textDecoderFor } from '../../../core/dicom/character-set.ts';

const bytes = (s: string) => Buffer.from(s, 'latin1');
const decode = (charset: string[], s: string | Buffer) => textDecoderFor(charset)(typeof s === 'string' ? bytes(s) : s);

describe('textDecoderFor', () => {
  it('single-byte character sets', () => {
    expect(decode(['ISO_IR 100'], 'Buc^J\xe9r\xf4me')).toBe('Buc^Jérôme');
    expect(decode(['ISO_IR 100'], '\x80\x9f')).toBe('\u0080\u009f'); // true ISO 8859-1, not windows-1252
    expect(decode(['ISO_IR 101'], 'Wa\xb3\xeasa')).toBe('Wałęsa');
    expect(decode(['ISO_IR 144'], '\xbb\xee\xdace\xdc\xd1yp\xd3')).toBe('Люкceмбypг');
    expect(decode(['ISO_IR 126'], '\xc4\xe9\xef\xed\xf5\xf3\xe9\xef\xf2')).toBe('Διονυσιος');
    expect(decode(['ISO_IR 138'], '\xf9\xf8\xe5\xef^\xe3\xe1\xe5\xf8\xe4')).toBe('שרון^דבורה');
    expect(decode(['ISO_IR 127'], '\xe2\xc8\xc7\xe6\xea^\xe4\xe6\xd2\xc7\xd1')).toBe('قباني^لنزار');
    expect(decode(['ISO_IR 148'], '\xc7avu\xfeo\xf0lu')).toBe('Çavuşoğlu');
    expect(decode(['ISO_IR 166'], '\xb9\xd2\xc1\xca\xa1\xd8\xc5')).toBe('นามสกุล');
    expect(decode(['ISO_IR 13'], '\xd4\xcf\xc0\xde^\xc0\xdb\xb3')).toBe('ﾔﾏﾀﾞ^ﾀﾛｳ');
  });

  it('UTF-8 and GB18030', () => {
    expect(decode(['ISO_IR 192'], Buffer.from('DUPRÉ^Élodie', 'utf8'))).toBe('DUPRÉ^Élodie');
    expect(decode(['GB18030'], Buffer.from([0x57, 0x61, 0x6e, 0x67, 0x5e, 0x58, 0x69, 0x61, 0x6f, 0x44, 0x6f, 0x6e, 0x67, 0x3d, 0xcd, 0xf5, 0x5e, 0xd0, 0xa1, 0xb6, 0xab]))).toBe('Wang^XiaoDong=王^小东');
  });

  it('tolerates misspelled terms and unknown ones', () => {
    expect(decode(['ISO-IR 100'], 'J\xe9r\xf4me')).toBe('Jérôme');
    expect(decode(['ISO_IR100'], 'J\xe9r\xf4me')).toBe('Jérôme');
    expect(decode(['UTF-8'], Buffer.from('é', 'utf8'))).toBe('é');
    expect(decode(['NONSENSE'], 'abc')).toBe('abc');
  });

  it('default repertoire: ASCII; stray bytes read as UTF-8 when valid, else Latin-1', () => {
    expect(decode([], 'Smith^John')).toBe('Smith^John');
    expect(decode([], Buffer.from('Noël', 'utf8'))).toBe('Noël');
    expect(decode([''], 'No\xebl')).toBe('Noël');
  });

  it('ISO 2022 single-byte extensions (escape sequences)', () => {
    const cases: [string, string, string][] = [
      ['ISO 2022 IR 13', 'ﾔﾏﾀﾞ^ﾀﾛｳ', '\x1b\x29\x49\xd4\xcf\xc0\xde\x5e\x1b\x29\x49\xc0\xdb\xb3'],
      ['ISO 2022 IR 100', 'Buc^Jérôme', '\x1b\x2d\x41\x42\x75\x63\x5e\x1b\x2d\x41\x4a\xe9\x72\xf4\x6d\x65'],
      ['ISO 2022 IR 101', 'Wałęsa', '\x1b\x2d\x42\x57\x61\xb3\xea\x73\x61'],
      ['ISO 2022 IR 109', 'antaŭnomo', '\x1b\x2d\x43\x61\x6e\x74\x61\xfd\x6e\x6f\x6d\x6f'],
      ['ISO 2022 IR 110', 'vārds', '\x1b\x2d\x44\x76\xe0\x72\x64\x73'],
      ['ISO 2022 IR 127', 'قباني^لنزار', '\x1b\x2d\x47\xe2\xc8\xc7\xe6\xea\x5e\x1b\x2d\x47\xe4\xe6\xd2\xc7\xd1'],
      ['ISO 2022 IR 126', 'Διονυσιος', '\x1b\x2d\x46\xc4\xe9\xef\xed\xf5\xf3\xe9\xef\xf2'],
      ['ISO 2022 IR 138', 'שרון^דבורה', '\x1b\x2d\x48\xf9\xf8\xe5\xef\x5e\x1b\x2d\x48\xe3\xe1\xe5\xf8\xe4'],
      ['ISO 2022 IR 144', 'Люкceмбypг', '\x1b\x2d\x4c\xbb\xee\xda\x63\x65\xdc\xd1\x79\x70\xd3'],
      ['ISO 2022 IR 148', 'Çavuşoğlu', '\x1b\x2d\x4d\xc7\x61\x76\x75\xfe\x6f\xf0\x6c\x75'],
      ['ISO 2022 IR 166', 'นามสกุล', '\x1b\x2d\x54\xb9\xd2\xc1\xca\xa1\xd8\xc5'],
    ];
    for (const [term, expected, encoded] of cases) expect(decode(['', term], encoded), term).toBe(expected);
    // Value 1 designates G1 at the start of each value.
    expect(decode(['ISO 2022 IR 100'], 'J\xe9r\xf4me')).toBe('Jérôme');
  });

  it('ISO 2022 Japanese (JIS X 0208, JIS X 0212), Korean and Chinese', () => {
    expect(
      decode(['', 'ISO 2022 IR 87'], 'Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B=\x1b$B$d$^$@\x1b(B^\x1b$B$?$m$&\x1b(B'),
    ).toBe('Yamada^Tarou=山田^太郎=やまだ^たろう');
    expect(
      decode(
        ['ISO 2022 IR 6', 'ISO 2022 IR 87', 'ISO 2022 IR 159'],
        'Mori^Ogai=\x1b$B?9\x1b(B^\x1b$(Dl?\x1b$B30\x1b(B=\x1b$B$b$j\x1b(B^\x1b$B$*$&$,$$\x1b(B',
      ),
    ).toBe('Mori^Ogai=森^鷗外=もり^おうがい');
    expect(
      decode(['', 'ISO 2022 IR 149'], 'Hong^Gildong=\x1b$)C\xfb\xf3^\x1b$)C\xd1\xce\xd4\xd7=\x1b$)C\xc8\xab^\x1b$)C\xb1\xe6\xb5\xbf'),
    ).toBe('Hong^Gildong=洪^吉洞=홍^길동');
    expect(decode(['', 'ISO 2022 IR 58'], 'Zhang^XiaoDong=\x1b$)A\xd5\xc5^\x1b$)A\xd0\xa1\xb6\xab=')).toBe('Zhang^XiaoDong=张^小东=');
  });

  it('never throws on garbage', () => {
    const garbage = Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 73) & 0xff));
    for (const charset of [[], ['ISO_IR 192'], ['', 'ISO 2022 IR 87'], ['ISO 2022 IR 100', 'ISO 2022 IR 149'], ['GB18030']]) {
      expect(typeof textDecoderFor(charset)(garbage)).toBe('string');
    }
  });
});
