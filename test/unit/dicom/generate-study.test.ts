/** The test-data generator: valid, realistic, deterministic instances, checked by our reader, dcmjs, dcmtk, pydicom. */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import dcmjs from 'dcmjs';
import { afterAll, describe, expect, it } from 'vitest';
import { readInstanceFile } from '../../../core/dicom/read-instance-file.ts';
import { generateMultiFrame } from '../../../test-data/generate-multiframe.ts';
import {
  CT_IMAGE_STORAGE,
  DX_FOR_PRESENTATION_STORAGE,
  generateChestXray,
  generateCtSeries,
  generateStudies,
  insFor,
  INS_ISSUER_OID,
  SITES,
} from '../../../test-data/generate-study.ts';
import { TempFiles } from './instance-files.ts';

const files = new TempFiles();
afterAll(() => files.remove());

function hasCommand(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;
}
const hasPydicom = existsSync('/usr/bin/python3') && spawnSync('/usr/bin/python3', ['-c', 'import pydicom']).status === 0;

/** dcmdump prints errors and warnings for anything malformed. */
function expectCleanDcmdump(file: string): string {
  const result = spawnSync('dcmdump', [file], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  expect(result.status, result.stderr).toBe(0);
  expect(`${result.stdout}${result.stderr}`).not.toMatch(/^[EW]: /m);
  return result.stdout;
}

describe('generateCtSeries', () => {
  it('yields Part 10 CT slices with realistic, consistent attributes', async () => {
    const slices = [...generateCtSeries({ kind: 'ct-head', slices: 4, rows: 128, columns: 128, seed: 'unit' })];
    expect(slices).toHaveLength(4);
    const parsed = await Promise.all(slices.map((s) => readInstanceFile(files.write(s))));
    const [first] = parsed;
    expect(first.transferSyntaxUID).toBe('1.2.840.10008.1.2.1');
    expect(first.sopClassUID).toBe(CT_IMAGE_STORAGE);
    expect(first.specificCharacterSet).toBe('ISO_IR 192');
    expect(first.study.description).toBe('TDM CEREBRALE SANS INJECTION');
    expect(first.study.institutionName).toBe('CH Saint-Girons');
    expect(first.study.accessionNumber).toMatch(/^SG\d{10}$/);
    expect(first.series).toMatchObject({ modality: 'CT', bodyPartExamined: 'HEAD', number: 2 });
    expect(first.patient.name).toMatch(/[À-ÿ]/u);
    expect(first.patient.issuer).toBe('CHSG');
    expect(first.patient.otherIds).toEqual([{ id: expect.stringMatching(/^\d{15}$/), issuer: INS_ISSUER_OID }]);
    expect(new Set(parsed.map((p) => p.studyInstanceUID)).size).toBe(1);
    expect(new Set(parsed.map((p) => p.seriesInstanceUID)).size).toBe(1);
    expect(new Set(parsed.map((p) => p.sopInstanceUID)).size).toBe(4);
    expect(parsed.map((p) => p.instance.number)).toEqual([1, 2, 3, 4]);
    expect(parsed.map((p) => (p.metadata['00200032'].Value as number[])[2])).toEqual([-60, -55, -50, -45]);
    for (const p of parsed) expect(p.frames).toEqual([[{ offset: expect.any(Number), length: 128 * 128 * 2 }]]);
    expect(first.metadata['00281052']).toEqual({ vr: 'DS', Value: [-1024] });
    expect(first.metadata['00281050']).toEqual({ vr: 'DS', Value: [40, 600] });
    expect(first.metadata['00280103']).toEqual({ vr: 'US', Value: [1] });

    const pixels = new Int16Array(128 * 128);
    const span = parsed[2].frames[0][0];
    Buffer.from(slices[2].subarray(span.offset, span.offset + span.length)).copy(Buffer.from(pixels.buffer));
    const values = new Set(pixels);
    expect(values.size).toBeGreaterThan(20); // a pattern with noise, not a constant
    expect(Math.min(...pixels)).toBeLessThan(0); // signed: outside the reconstruction circle
    expect(Math.max(...pixels)).toBeGreaterThan(2000); // skull
  });

  it('is deterministic: same seed, same bytes; another seed, other UIDs and patient', () => {
    const a = [...generateCtSeries({ kind: 'ct-chest', slices: 2, rows: 32, columns: 32, seed: 's1' })];
    const b = [...generateCtSeries({ kind: 'ct-chest', slices: 2, rows: 32, columns: 32, seed: 's1' })];
    const c = [...generateCtSeries({ kind: 'ct-chest', slices: 2, rows: 32, columns: 32, seed: 's2' })];
    expect(a[1].equals(b[1])).toBe(true);
    expect(a[1].equals(c[1])).toBe(false);
    const numeric = [...generateCtSeries({ kind: 'ct-chest', slices: 1, rows: 32, columns: 32, seed: 7 })];
    expect(numeric).toHaveLength(1);
  });

  it('honours site, patient and study options', async () => {
    const patient = { name: 'DUPRÉ^Élodie', id: 'IPP42', birthDate: '19800101', sex: 'F' as const, ins: insFor('F', '19800101', 42) };
    const [slice] = generateCtSeries({
      kind: 'ct-chest',
      slices: 1,
      rows: 16,
      columns: 16,
      site: SITES.seysses,
      patient,
      studyInstanceUID: '1.2.826.0.1.3680043.10.1500.77',
    });
    const parsed = await readInstanceFile(files.write(slice));
    expect(parsed.studyInstanceUID).toBe('1.2.826.0.1.3680043.10.1500.77');
    expect(parsed.patient).toMatchObject({ name: 'DUPRÉ^Élodie', id: 'IPP42', issuer: 'UCSA-SEYSSES', birthDate: '19800101', sex: 'F' });
    expect(parsed.study.institutionName).toBe("Maison d'arrêt de Seysses - UCSA");
    expect(parsed.series.bodyPartExamined).toBe('CHEST');
    expect(parsed.study.description).toBe('TDM THORACIQUE AVEC INJECTION');
    const ins = parsed.patient.otherIds[0].id!;
    expect(97 - Number(BigInt(ins.slice(0, 13)) % 97n)).toBe(Number(ins.slice(13)));
  });

  it('dcmjs reads the generated files', () => {
    const [slice] = generateCtSeries({ kind: 'ct-head', slices: 1, rows: 16, columns: 16, seed: 'dcmjs' });
    const dict = dcmjs.data.DicomMessage.readFile(slice.buffer.slice(slice.byteOffset, slice.byteOffset + slice.length) as ArrayBuffer);
    const natural = dcmjs.data.DicomMetaDictionary.naturalizeDataset(dict.dict);
    expect(natural.Modality).toBe('CT');
    expect(natural.InstitutionName).toBe('CH Saint-Girons');
    expect((natural.PatientName as { Alphabetic: string }[])[0].Alphabetic).toMatch(/\^/);
    expect(natural.Rows).toBe(16);
  });

  it.runIf(hasCommand('dcmdump'))('dcmdump reads them without errors or warnings', () => {
    const [slice] = generateCtSeries({ kind: 'ct-head', slices: 1, rows: 16, columns: 16, seed: 'dcmtk' });
    const dump = expectCleanDcmdump(files.write(slice));
    expect(dump).toContain('(0010,1002) SQ');
    expect(dump).toContain(`(0010,0021) LO [${INS_ISSUER_OID}]`);
    expect(dump).toContain('(0008,0005) CS [ISO_IR 192]');
  });

  it.runIf(hasPydicom)('pydicom reads them', () => {
    const [slice] = generateCtSeries({ kind: 'ct-head', slices: 1, rows: 16, columns: 16, seed: 'pydicom' });
    const file = files.write(slice);
    const script =
      'import sys, pydicom\n' +
      'ds = pydicom.dcmread(sys.argv[1])\n' +
      'print(ds.Modality, ds.Rows, ds.OtherPatientIDsSequence[0].IssuerOfPatientID, len(ds.PixelData), str(ds.PatientName))';
    const out = execFileSync('/usr/bin/python3', ['-c', script, file], { encoding: 'utf8' }).trim();
    expect(out).toMatch(new RegExp(`^CT 16 ${INS_ISSUER_OID.replace(/\./g, '\\.')} 512 \\S+\\^\\S+$`, 'u'));
  });
});

describe('generateChestXray', () => {
  it('a large DX radiograph, 2500x3000 16-bit by default', async () => {
    const bytes = generateChestXray({ seed: 'cxr' });
    expect(bytes.length).toBeGreaterThan(15_000_000);
    const file = files.write(bytes);
    const parsed = await readInstanceFile(file);
    expect(parsed.sopClassUID).toBe(DX_FOR_PRESENTATION_STORAGE);
    expect(parsed.series).toMatchObject({ modality: 'DX', bodyPartExamined: 'CHEST', description: 'THORAX FACE' });
    expect(parsed.study.description).toBe('RADIOGRAPHIE THORAX');
    expect(parsed.study.institutionName).toBe("Maison d'arrêt de Seysses - UCSA");
    expect(parsed.instance).toEqual({ number: 1, rows: 3000, columns: 2500, numberOfFrames: 1 });
    expect(parsed.frames[0][0].length).toBe(2500 * 3000 * 2);
    if (hasCommand('dcmdump')) expectCleanDcmdump(file);
  });
});

describe('generateStudies', () => {
  it('many small one-instance studies, varied and fast', async () => {
    const started = performance.now();
    const all = [...generateStudies(1000, { seed: 'many' })];
    const elapsed = performance.now() - started;
    expect(all).toHaveLength(1000);
    expect(elapsed).toBeLessThan(5000);
    const parsed = await Promise.all(all.slice(0, 40).map((b) => readInstanceFile(files.write(b))));
    expect(new Set(parsed.map((p) => p.studyInstanceUID)).size).toBe(40);
    expect(new Set(parsed.map((p) => p.series.modality))).toEqual(new Set(['CT', 'DX', 'CR', 'MR', 'US', 'MG']));
    expect(new Set(parsed.map((p) => p.study.date)).size).toBeGreaterThan(30);
    expect(new Set(parsed.map((p) => p.study.institutionName)).size).toBe(3);
    const patients = new Set(parsed.map((p) => p.patient.id));
    expect(patients.size).toBeGreaterThan(10);
    expect(patients.size).toBeLessThan(40);
    expect(parsed[0].instance).toMatchObject({ rows: 16, columns: 16 });
  });
});

describe('generateMultiFrame', () => {
  it('native and RLE versions hold the same frames (RLE decoded by dcmtk)', async () => {
    const native = files.write(generateMultiFrame({ frames: 5, rows: 32, columns: 32, seed: 'mf' }), 'mf-native.dcm');
    const rle = files.write(generateMultiFrame({ frames: 5, rows: 32, columns: 32, seed: 'mf', encoding: 'rle' }), 'mf-rle.dcm');
    const noTable = files.write(
      generateMultiFrame({ frames: 5, rows: 32, columns: 32, seed: 'mf', encoding: 'rle-no-offset-table' }),
      'mf-rle-nobot.dcm',
    );
    const eot = files.write(
      generateMultiFrame({ frames: 5, rows: 32, columns: 32, seed: 'mf', encoding: 'rle-extended-offset-table' }),
      'mf-rle-eot.dcm',
    );
    const [a, b, c, e] = await Promise.all([native, rle, noTable, eot].map((f) => readInstanceFile(f)));
    expect(a.frames).toHaveLength(5);
    expect(b.frames).toHaveLength(5);
    const lengths = (p: typeof a) => p.frames.map((f) => f.map((s) => s.length));
    expect(lengths(c)).toEqual(lengths(b));
    expect(lengths(e)).toEqual(lengths(b));
    expect(e.metadata['7FE00001'].vr).toBe('OV');
    if (hasCommand('dcmdrle')) {
      const decoded = path.join(files.dir, 'mf-decoded.dcm');
      execFileSync('dcmdrle', [rle, decoded]);
      const d = await readInstanceFile(decoded);
      const nativeBytes = readFileSync(native);
      const decodedBytes = readFileSync(decoded);
      const span = (bytes: Buffer, p: typeof a, i: number) => bytes.subarray(p.frames[i][0].offset, p.frames[i][0].offset + p.frames[i][0].length);
      for (let i = 0; i < 5; i++) expect(span(decodedBytes, d, i).equals(span(nativeBytes, a, i))).toBe(true);
    }
  });
});

describe('CLI test-data/generate.ts', () => {
  it('writes a series to a directory', () => {
    const out = path.join(files.dir, 'cli');
    execFileSync(process.execPath, ['--import', 'tsx', 'test-data/generate.ts', 'ct-head', '--slices', '3', '--rows', '32', '--columns', '32', '--out', out], {
      cwd: path.resolve(import.meta.dirname, '../../..'),
      encoding: 'utf8',
    });
    expect(readdirSync(out).sort()).toEqual(['ct-head-0001.dcm', 'ct-head-0002.dcm', 'ct-head-0003.dcm']);
  });
});
