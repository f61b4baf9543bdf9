import { readdir, readFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import dcmjs from 'dcmjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { failureReasons, multipartRequest, parseMultipart, referencedInstances, stow } from '../support/dicomweb-http.ts';
import { DICOM_SAMPLES } from '../support/shared-samples.ts';

const samples = DICOM_SAMPLES;
const CT_STUDY = '1.3.6.1.4.1.5962.1.2.1.20040119072730.12322';

/** CT_small.dcm with some attributes replaced (dcmjs writes a new Part 10 file). */
function ctWith(ct: Buffer, changes: Record<string, string | undefined>): Buffer {
  const dicomDict = dcmjs.data.DicomMessage.readFile(new Uint8Array(ct).buffer);
  const dataset = dcmjs.data.DicomMetaDictionary.naturalizeDataset(dicomDict.dict);
  for (const [keyword, value] of Object.entries(changes)) {
    if (value === undefined) delete dataset[keyword];
    else dataset[keyword] = value;
  }
  if (changes.SOPInstanceUID) dicomDict.meta['00020003'] = { vr: 'UI', Value: [changes.SOPInstanceUID] };
  dicomDict.dict = dcmjs.data.DicomMetaDictionary.denaturalizeDataset(dataset);
  return Buffer.from(dicomDict.write());
}

describe('STOW-RS with bad input: a clear, specific answer and nothing stored lost', () => {
  let gw: GatewayProcess;
  let sender: string;
  let reader: string;
  let ct: Buffer;
  let ctSop: string;

  beforeAll(async () => {
    gw = await startGateway();
    sender = await gw.token('--role', 'sender', '--site', '310780010');
    reader = sender; // the site reads back its own studies
    ct = await readFile(path.join(samples, 'CT_small.dcm'));
    const first = await stow(gw.dicomweb, sender, [ct]);
    expect(first.status).toBe(200);
    ctSop = referencedInstances(first.body)[0];
  });
  afterAll(async () => {
    await gw?.dispose();
  });

  const post = (body: Buffer | string, contentType: string | undefined, pathSuffix = '') =>
    fetch(`${gw.dicomweb}/studies${pathSuffix}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${sender}`, ...(contentType ? { 'content-type': contentType } : {}) },
      body,
    });

  it('refuses a body that is not multipart/related with 415 saying what to send', async () => {
    const res = await post(ct, 'application/dicom');
    expect(res.status).toBe(415);
    expect(((await res.json()) as { detail: string }).detail).toMatch(/multipart\/related; type="application\/dicom"/);
    expect((await post(ct, undefined)).status).toBe(415);
  });

  it('refuses the JSON + bulk data flavour of STOW with 415', async () => {
    const { body } = multipartRequest([ct]);
    const res = await post(body, 'multipart/related; type="application/dicom+json"; boundary=x');
    expect(res.status).toBe(415);
  });

  it('refuses a multipart body without boundary, or cut before its closing delimiter, with 400', async () => {
    expect((await post(multipartRequest([ct]).body, 'multipart/related; type="application/dicom"')).status).toBe(400);
    const { body, contentType } = multipartRequest([ct]);
    const cut = body.subarray(0, body.length - 200);
    const res = await post(cut, contentType);
    expect(res.status).toBe(400);
    expect(res.headers.get('warning') ?? '').toMatch(/closing multipart boundary|cut off/);
  });

  it('accepts what real clients send: quoted boundary, leading CRLF, NUL bytes after the end, unquoted type', async () => {
    const result = await stow(gw.dicomweb, sender, [ct], {
      quoteBoundary: true,
      preamble: Buffer.from('\r\n'),
      epilogue: Buffer.alloc(64),
      quoteType: false,
    });
    expect(result.status).toBe(200);
  });

  it('refuses a part that is not DICOM, or not labelled application/dicom, with 0xC000', async () => {
    const notDicom = await stow(gw.dicomweb, sender, [Buffer.from('this is not a DICOM file at all')]);
    expect(notDicom.status).toBe(409);
    expect(failureReasons(notDicom.body)).toEqual([0xc000]);
    const jpeg = await stow(gw.dicomweb, sender, [ct], { partType: 'image/jpeg' });
    expect(failureReasons(jpeg.body)).toEqual([0xc000]);
    expect(jpeg.warnings.join(' ')).toMatch(/application\/dicom/);
  });

  it('stores the good part and refuses the bad one of a mixed request with 202', async () => {
    const other = ctWith(ct, { SOPInstanceUID: '1.2.826.0.1.3680043.8.498.1001' });
    const result = await stow(gw.dicomweb, sender, [other, Buffer.from('garbage')]);
    expect(result.status).toBe(202);
    expect(referencedInstances(result.body)).toEqual(['1.2.826.0.1.3680043.8.498.1001']);
    expect(failureReasons(result.body)).toEqual([0xc000]);
  });

  it('refuses missing or malformed UIDs with 0xA900 naming the attribute, including path tricks', async () => {
    const cases: [Record<string, string | undefined>, RegExp][] = [
      [{ SeriesInstanceUID: undefined }, /Series Instance UID/i],
      [{ StudyInstanceUID: '1.2.abc' }, /Study Instance UID/i],
      [{ SOPInstanceUID: '../../etc/passwd' }, /SOP Instance UID/i],
      [{ SeriesInstanceUID: '1.2.03.4' }, /Series Instance UID/i],
    ];
    for (const [changes, message] of cases) {
      const result = await stow(gw.dicomweb, sender, [ctWith(ct, changes)]);
      expect(result.status, JSON.stringify(changes)).toBe(409);
      expect(failureReasons(result.body), JSON.stringify(changes)).toEqual([0xa900]);
      expect(result.warnings.join(' '), JSON.stringify(changes)).toMatch(message);
    }
  });

  it('refuses an instance of another study than the one in the URL, and a malformed study UID in the URL', async () => {
    const result = await stow(gw.dicomweb, sender, [ct], { study: '1.2.826.0.1.3680043.8.498.999' });
    expect(result.status).toBe(409);
    expect(failureReasons(result.body)).toEqual([0xa900]);
    expect(result.warnings.join(' ')).toMatch(/not to study 1\.2\.826\.0\.1\.3680043\.8\.498\.999/);
    const sameStudy = await stow(gw.dicomweb, sender, [ct], { study: CT_STUDY });
    expect(sameStudy.status).toBe(200);
    const { body, contentType } = multipartRequest([ct]);
    const traversal = await post(body, contentType, '/..%2F..%2Fetc');
    expect(traversal.status).toBe(400);
  });

  it('refuses oversized part headers and request headers', async () => {
    const boundary = 'b0undary';
    const hugeHeader = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\nX-Padding: ${'a'.repeat(40_000)}\r\n\r\n`),
      ct,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const res = await post(hugeHeader, `multipart/related; type="application/dicom"; boundary=${boundary}`);
    expect(res.status).toBe(400);
    expect(res.headers.get('warning') ?? '').toMatch(/headers/);
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(`${gw.dicomweb}/studies`, { method: 'POST', headers: { authorization: `Bearer ${sender}`, 'x-big': 'x'.repeat(100_000) } }, (r) => {
        r.resume();
        resolve(r.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(431);
  });

  it('still serves the first instance unchanged, and leaves no spool file behind', async () => {
    const res = await fetch(`${gw.dicomweb}/studies/${CT_STUDY}`, { headers: { authorization: `Bearer ${reader}` } });
    const parts = parseMultipart(Buffer.from(await res.arrayBuffer()), res.headers.get('content-type')!);
    const original = parts.find((p) => p.body.length === ct.length && Buffer.compare(p.body, ct) === 0);
    expect(original, `instance ${ctSop} must be intact`).toBeDefined();
    expect(await readdir(path.join(gw.dataDir, 'spool'))).toEqual([]);
  });
});
