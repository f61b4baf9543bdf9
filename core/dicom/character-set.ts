/**
 * Decoding of text values (SH, LO, ST, LT, UC, UT, PN) according to Specific Character Set (0008,0005),
 * PS3.5 6.1 and PS3.3 C.12.1.1.2, including ISO 2022 code extensions (escape sequences switching G0/G1).
 * Never throws: unknown terms fall back to the default repertoire, undecodable bytes become U+FFFD.
 */

import { TextDecoder } from 'node:util';

export type TextDecodeFn = (bytes: Uint8Array) => string;

const ESC = 0x1b;

/** A coded character set that can be designated to G0 or G1 by an ISO 2022 escape sequence. */
type CodedSet =
  | { kind: 'ascii' }
  | { kind: 'single-byte'; label: string } // G1: bytes >= 0x80 via a TextDecoder label ('latin1' = Buffer latin1)
  | { kind: 'jis-x0208' } // G0, 2 bytes 0x21-0x7E
  | { kind: 'jis-x0212' } // G0, 2 bytes 0x21-0x7E
  | { kind: 'multi-byte-g1'; label: string }; // G1, 2 bytes >= 0xA1 (KS X 1001 -> euc-kr, GB 2312 -> gb18030)

/** Single-byte character sets by ISO-IR number (the G1 half of the ISO 8859 family, JIS X 0201, TIS 620). */
const SINGLE_BYTE_LABELS: Record<string, string> = {
  '100': 'latin1',
  '101': 'iso-8859-2',
  '109': 'iso-8859-3',
  '110': 'iso-8859-4',
  '144': 'iso-8859-5',
  '127': 'iso-8859-6',
  '126': 'iso-8859-7',
  '138': 'iso-8859-8',
  '148': 'iso-8859-9',
  '203': 'iso-8859-15',
  '13': 'shift_jis',
  '166': 'windows-874',
};

/** ISO 2022 escape sequences (bytes after ESC) and what they designate. */
const ESCAPES: { bytes: number[]; g: 0 | 1; set: CodedSet }[] = [
  { bytes: [0x28, 0x42], g: 0, set: { kind: 'ascii' } }, // ESC ( B  ISO-IR 6
  { bytes: [0x28, 0x4a], g: 0, set: { kind: 'ascii' } }, // ESC ( J  JIS X 0201 Romaji (ASCII but yen/overline)
  { bytes: [0x29, 0x49], g: 1, set: { kind: 'single-byte', label: 'shift_jis' } }, // ESC ) I  JIS X 0201 Katakana
  { bytes: [0x24, 0x42], g: 0, set: { kind: 'jis-x0208' } }, // ESC $ B  ISO-IR 87
  { bytes: [0x24, 0x28, 0x44], g: 0, set: { kind: 'jis-x0212' } }, // ESC $ ( D  ISO-IR 159
  { bytes: [0x24, 0x29, 0x43], g: 1, set: { kind: 'multi-byte-g1', label: 'euc-kr' } }, // ESC $ ) C  ISO-IR 149
  { bytes: [0x24, 0x29, 0x41], g: 1, set: { kind: 'multi-byte-g1', label: 'gb18030' } }, // ESC $ ) A  ISO-IR 58
  { bytes: [0x2d, 0x41], g: 1, set: { kind: 'single-byte', label: 'latin1' } }, // ESC - A  ISO-IR 100
  { bytes: [0x2d, 0x42], g: 1, set: { kind: 'single-byte', label: 'iso-8859-2' } },
  { bytes: [0x2d, 0x43], g: 1, set: { kind: 'single-byte', label: 'iso-8859-3' } },
  { bytes: [0x2d, 0x44], g: 1, set: { kind: 'single-byte', label: 'iso-8859-4' } },
  { bytes: [0x2d, 0x4c], g: 1, set: { kind: 'single-byte', label: 'iso-8859-5' } },
  { bytes: [0x2d, 0x47], g: 1, set: { kind: 'single-byte', label: 'iso-8859-6' } },
  { bytes: [0x2d, 0x46], g: 1, set: { kind: 'single-byte', label: 'iso-8859-7' } },
  { bytes: [0x2d, 0x48], g: 1, set: { kind: 'single-byte', label: 'iso-8859-8' } },
  { bytes: [0x2d, 0x4d], g: 1, set: { kind: 'single-byte', label: 'iso-8859-9' } },
  { bytes: [0x2d, 0x62], g: 1, set: { kind: 'single-byte', label: 'iso-8859-15' } },
  { bytes: [0x2d, 0x54], g: 1, set: { kind: 'single-byte', label: 'windows-874' } },
];

const decoders = new Map<string, TextDecoder>();

function decodeWith(label: string, bytes: Uint8Array): string {
  if (label === 'latin1') return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  let decoder = decoders.get(label);
  if (!decoder) {
    decoder = new TextDecoder(label);
    decoders.set(label, decoder);
  }
  return decoder.decode(bytes);
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Without Specific Character Set the repertoire is ASCII. Non-ASCII bytes there are a sender error; they are
 * most often UTF-8 (modern software forgetting the attribute) or Latin-1 (older French equipment): use UTF-8 when
 * the bytes are valid UTF-8, Latin-1 otherwise, so that nothing is lost.
 */
function decodeDefault(bytes: Uint8Array): string {
  if (!bytes.some((b) => b >= 0x80)) return decodeWith('latin1', bytes);
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return decodeWith('latin1', bytes);
  }
}

interface ParsedTerm {
  iso2022: boolean;
  /** ISO-IR number, or a name for the non-ISO terms (GB18030, GBK, UTF-8). */
  ir: string;
}

function parseTerm(term: string): ParsedTerm | undefined {
  const t = term.trim().toUpperCase();
  if (t === '') return undefined;
  const iso2022 = /^ISO[ _-]?2022[ _-]?IR[ _-]?(\d+)$/.exec(t);
  if (iso2022) return { iso2022: true, ir: iso2022[1] };
  const isoIr = /^ISO[ _-]?IR[ _-]?(\d+)$/.exec(t);
  if (isoIr) return { iso2022: false, ir: isoIr[1] };
  if (t === 'GB18030' || t === 'GBK') return { iso2022: false, ir: t };
  if (t === 'UTF-8' || t === 'UTF8') return { iso2022: false, ir: '192' };
  return { iso2022: false, ir: t };
}

/** The decoder for a data set whose Specific Character Set has these values (empty: default repertoire). */
export function textDecoderFor(specificCharacterSet: readonly string[]): TextDecodeFn {
  const terms = specificCharacterSet.map(parseTerm);
  const first = terms[0];
  const anyIso2022 = terms.some((t) => t?.iso2022);
  if (!anyIso2022) {
    if (!first) return decodeDefault;
    const label = nonIso2022Label(first.ir);
    return label ? (bytes) => decodeWith(label, bytes) : decodeDefault;
  }
  const initialG1 = first ? SINGLE_BYTE_LABELS[first.ir] : undefined;
  return (bytes) => decodeIso2022(bytes, initialG1);
}

function nonIso2022Label(ir: string): string | undefined {
  if (ir === '192') return 'utf-8';
  if (ir === 'GB18030') return 'gb18030';
  if (ir === 'GBK') return 'gbk';
  if (ir === '6') return undefined;
  return SINGLE_BYTE_LABELS[ir];
}

/**
 * ISO 2022 decoding: bytes < 0x80 are interpreted in the G0 set, bytes >= 0x80 in the G1 set; escape sequences
 * change the designation. Runs of bytes in the same set are decoded together.
 */
function decodeIso2022(bytes: Uint8Array, initialG1: string | undefined): string {
  let g0: CodedSet = { kind: 'ascii' };
  let g1: CodedSet = initialG1 ? { kind: 'single-byte', label: initialG1 } : { kind: 'single-byte', label: 'latin1' };
  let out = '';
  let i = 0;
  while (i < bytes.length) {
    if (bytes[i] === ESC) {
      const escape = ESCAPES.find((e) => e.bytes.every((b, k) => bytes[i + 1 + k] === b));
      if (escape) {
        if (escape.g === 0) g0 = escape.set;
        else g1 = escape.set;
        i += 1 + escape.bytes.length;
        continue;
      }
    }
    const high = bytes[i] >= 0x80;
    const set = high ? g1 : g0;
    let end = i + 1;
    while (end < bytes.length && bytes[end] !== ESC && bytes[end] >= 0x80 === high && !isControl(bytes[end])) end++;
    if (isControl(bytes[i])) {
      out += String.fromCharCode(bytes[i]);
      i += 1;
      continue;
    }
    out += decodeRun(set, bytes.subarray(i, end));
    i = end;
  }
  return out;
}

/** CR, LF, FF, TAB: the character set in use stays, but they are never part of a multi-byte character. */
function isControl(b: number): boolean {
  return b === 0x0d || b === 0x0a || b === 0x0c || b === 0x09;
}

function decodeRun(set: CodedSet, run: Uint8Array): string {
  switch (set.kind) {
    case 'ascii':
      return decodeWith('latin1', run);
    case 'single-byte':
      return decodeWith(set.label, run);
    case 'multi-byte-g1':
      return decodeWith(set.label, run);
    case 'jis-x0208':
      // EUC-JP carries JIS X 0208 as the same byte pairs with the high bit set.
      return decodeWith('euc-jp', Uint8Array.from(run, (b) => b | 0x80));
    case 'jis-x0212': {
      // EUC-JP carries JIS X 0212 as 0x8F followed by the pair with the high bit set.
      const euc: number[] = [];
      for (let k = 0; k + 1 < run.length; k += 2) euc.push(0x8f, run[k] | 0x80, run[k + 1] | 0x80);
      return decodeWith('euc-jp', Uint8Array.from(euc));
    }
  }
}
