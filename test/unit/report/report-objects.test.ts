import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import dcmjs from 'dcmjs';
import { readInstanceFile } from '../../../core/dicom/read-instance-file.ts';
import { buildBasicTextSr } from '../../../core/report/basic-text-sr.ts';
import { buildEncapsulatedPdf, renderReportPdf } from '../../../core/report/encapsulated-pdf.ts';
import { content, objectInput, payload, SOURCE } from './report-fixture.ts';

const run = promisify(execFile);
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'astreinte-report-objects-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function read(bytes: Buffer) {
  const dict = dcmjs.data.DicomMessage.readFile(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
  return dict.dict;
}

/** SpecificCharacterSet as written (dcmjs' reader reports ISO_IR 192 whatever the file says, having decoded it). */
function declaredCharacterSet(bytes: Buffer): string {
  const at = bytes.indexOf(Buffer.from([0x08, 0x00, 0x05, 0x00, 0x43, 0x53])); // (0008,0005) CS, explicit VR LE
  return bytes.subarray(at + 8, at + 8 + bytes.readUInt16LE(at + 6)).toString('latin1').trim();
}

describe('Basic Text SR (TID 2000)', () => {
  it('is read by DCMTK dsrdump without any warning, with LOINC sections, VERIFIED by the RPPS and COMPLETE', async () => {
    const tb = payload({
      content: content({ template: 'cxr-tb-screening', tbConclusion: 'suggestive-of-tb', recommendation: 'Adresser au CLAT 31 sous 48 h', criticalFinding: undefined }),
    });
    const sr = buildBasicTextSr(objectInput(tb));
    const file = path.join(dir, 'sr.dcm');
    await writeFile(file, sr.bytes);
    // French text fits Latin-1: the SR declares ISO_IR 100, which DCMTK 3.6.7 checks, and nothing is on stderr.
    // (dsrdump prints the values in the file's character set: read as Latin-1. Its +U8 would convert to UTF-8
    // first and then warn that it cannot check UTF-8.)
    const { stdout, stderr } = await run('dsrdump', ['+Pc', '+Pt', file], { encoding: 'latin1' });
    expect(declaredCharacterSet(sr.bytes)).toBe('ISO_IR 100');
    expect(stderr).toBe('');
    expect(stdout).toContain('Basic Text SR Document');
    expect(stdout).toContain('Completion Flag     : COMPLETE');
    expect(stdout).toContain('Verification Flag   : VERIFIED');
    expect(stdout).toContain('Roques^Anne (10009000011,99RPPS,"RPPS")');
    expect(stdout).toContain('<CONTAINER:(18748-4,LN,"Diagnostic imaging report")=SEPARATE>  # TID 2000 (DCMR)');
    for (const loinc of ['18785-6', '55111-9', '59776-5', '19005-8']) expect(stdout).toContain(`CONTAINER:(${loinc},LN,`);
    expect(stdout).toContain('=(TB-SUGGESTIVE,99ASTREINTE,"Findings suggestive of tuberculosis")');
    expect(stdout).toContain('Patient             : Dupré^Hélène^Marie (F, 1947-03-12, #IPP123456:CHSTG)');
  });

  it('copies the patient and study attributes of the source exactly, and holds the dose and the critical-finding call', async () => {
    const sr = buildBasicTextSr(objectInput());
    const file = path.join(dir, 'sr-copy.dcm');
    await writeFile(file, sr.bytes);
    const ds = (await readInstanceFile(file)).metadata as Record<string, { Value?: unknown[] }>;
    for (const tag of ['00100010', '00100020', '00100021', '00100030', '00100040', '0020000D', '00080020', '00080030', '00080050', '00080090', '00200010']) {
      expect(ds[tag]?.Value, tag).toEqual(SOURCE[tag]?.Value);
    }
    expect(JSON.stringify(ds['00101002'].Value)).toContain('247037512345678');
    expect(ds['0020000E'].Value?.[0]).not.toBe(SOURCE['0020000E']?.Value?.[0]);
    const text = JSON.stringify(ds['0040A730']);
    expect(text).toContain('Dose (Crâne sans injection) : CTDIvol 52.3 mGy, PDL 845.1 mGy·cm');
    expect(text).toContain('Résultat critique communiqué à Dr Martin, urgentiste le 2026-12-05T03:40:00+01:00 (téléphone).');
  });
});

describe("the SR's character set", () => {
  // Read back by the archive's own reader (dcmjs, decoding by the declared character set).
  const textOf = async (bytes: Buffer, name: string) => {
    const file = path.join(dir, name);
    await writeFile(file, bytes);
    return JSON.stringify((await readInstanceFile(file)).metadata);
  };

  it('is ISO_IR 100 when every character is Latin-1: one byte per accented letter, the text read back exactly by dcmjs', async () => {
    const findings = "Hématome sous-dural aigu frontal gauche, épaisseur 8 mm ; déviation de la ligne médiane à 4 mm. Âge estimé « récent ». PDL ≤ ? non : 845,1 mGy·cm";
    const latin1 = findings.replace('≤ ? non', 'inférieur');
    const sr = buildBasicTextSr(objectInput(payload({ content: content({ findings: latin1 }) })));
    expect(declaredCharacterSet(sr.bytes)).toBe('ISO_IR 100');
    expect(await textOf(sr.bytes, 'read-latin1.dcm')).toContain(JSON.stringify(latin1).slice(1, -1));
    expect(sr.bytes.includes(Buffer.from(latin1, 'latin1'))).toBe(true); // é is 0xE9, not UTF-8's 0xC3 0xA9
    expect(sr.bytes.includes(Buffer.from(latin1, 'utf8'))).toBe(false);
    expect(await textOf(sr.bytes, 'read-latin1.dcm')).toContain('Dupré^Hélène^Marie'); // copied exactly
    expect(await textOf(sr.bytes, 'read-latin1.dcm')).toContain('Dose (Crâne sans injection) : CTDIvol 52.3 mGy, PDL 845.1 mGy·cm');
    const file = path.join(dir, 'sr-latin1.dcm');
    await writeFile(file, sr.bytes);
    const { stdout, stderr } = await run('dsrdump', ['+Pc', '+Pt', '+Pl', file], { encoding: 'latin1' });
    expect(stderr).toBe('');
    expect(stdout).toContain(latin1);
    expect(stdout).toContain('mGy·cm');
  });

  it('is ISO_IR 192 when a character is not Latin-1 (œ), the text read back exactly; DCMTK only says it cannot check UTF-8', async () => {
    const findings = "Œdème cérébral diffus, cœur de l'infarctus sylvien droit ; pas de transformation hémorragique.";
    const sr = buildBasicTextSr(objectInput(payload({ content: content({ findings }) })));
    expect(declaredCharacterSet(sr.bytes)).toBe('ISO_IR 192');
    expect(await textOf(sr.bytes, 'read-utf8.dcm')).toContain(JSON.stringify(findings).slice(1, -1));
    expect(sr.bytes.includes(Buffer.from(findings, 'utf8'))).toBe(true);
    const file = path.join(dir, 'sr-utf8.dcm');
    await writeFile(file, sr.bytes);
    const { stdout, stderr } = await run('dsrdump', ['+Pc', '+Pt', '+Pl', file]);
    expect(stderr.trim().split('\n')).toEqual(['W: The VR checker does not support this Specific Character Set: ISO_IR 192']);
    expect(stdout).toContain(findings);
  });

  it('does not leak: a UTF-8 object written after a Latin-1 one is UTF-8 again', () => {
    buildBasicTextSr(objectInput());
    const after = buildBasicTextSr(objectInput(payload({ content: content({ findings: 'Nœud' }) })));
    expect(after.bytes.includes(Buffer.from('Nœud', 'utf8'))).toBe(true);
  });
});

describe('Encapsulated PDF', () => {
  it('is a DOC instance of the study, padded to an even length, with the true length and the PDF unchanged', async () => {
    const input = objectInput();
    const pdf = await renderReportPdf({
      ...input,
      signature: 'c2lnbmF0dXJl',
      keyId: 'kid-1',
      hospital: 'CH Ariège Couserans',
      patientName: 'Dupré^Hélène^Marie',
      patientBirthDate: '19470312',
      examDescription: 'Scanner cérébral',
    });
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    const built = buildEncapsulatedPdf(input, pdf, "Compte rendu d'imagerie");
    const file = path.join(dir, 'pdf.dcm');
    await writeFile(file, built.bytes);
    const { stdout } = await run('dcmdump', ['+L', file]);
    expect(stdout).toContain('(0008,0060) CS [DOC]');
    expect(stdout).toContain('(0008,0064) CS [WSD]');
    expect(stdout).toContain('(0042,0012) LO [application/pdf]');
    expect(stdout).toMatch(/\(0008,0090\) PN \[/); // type 2, copied
    const ds = read(built.bytes);
    const encapsulated = Buffer.from(ds['00420011'].Value![0] as ArrayBuffer);
    expect(encapsulated.length % 2).toBe(0);
    expect(ds['00420015'].Value?.[0]).toBe(pdf.length);
    expect(encapsulated.subarray(0, pdf.length).equals(pdf)).toBe(true);
    expect(ds['00100010'].Value).toEqual(SOURCE['00100010']!.Value);
  });
});
