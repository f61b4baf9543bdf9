import { readFile } from 'node:fs/promises';
import path from 'node:path';
import dicomParser from 'dicom-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { failureReasons, parseMultipart, referencedInstances, stow, type DicomJson } from '../support/dicomweb-http.ts';
import { DICOM_SAMPLES } from '../support/shared-samples.ts';

const samples = DICOM_SAMPLES;
const SITE_A = '310780010'; // CH Saint-Girons style FINESS
const SITE_B = '310781406';

interface Expectation {
  file: string;
  /** 'stored', or the FailureReason the archive must answer with. */
  outcome: 'stored' | 'stored-with-warning' | number;
}

// Sent in this order: the first file of each shared SOP Instance UID wins, later different bytes are refused
// as duplicates (0x0111) and the stored instance stays untouched.
const expectations: Expectation[] = [
  { file: 'CT_small.dcm', outcome: 'stored' },
  { file: 'MR_small.dcm', outcome: 'stored' },
  { file: 'MR_small_implicit.dcm', outcome: 0x0111 },
  { file: 'MR_small_bigendian.dcm', outcome: 0x0111 },
  { file: 'MR_small_RLE.dcm', outcome: 0x0111 },
  { file: 'MR_small_jp2klossless.dcm', outcome: 0x0111 },
  { file: 'MR_small_jpeg_ls_lossless.dcm', outcome: 0x0111 },
  { file: 'JPEG2000.dcm', outcome: 'stored' },
  { file: 'JPEG-lossy.dcm', outcome: 'stored' },
  { file: 'JPGExtended.dcm', outcome: 0x0111 },
  { file: 'SC_rgb_jpeg_dcmtk.dcm', outcome: 'stored' },
  { file: 'SC_rgb_rle.dcm', outcome: 'stored' },
  // Its File Meta SOP Instance UID is stale: kept under the data set's UID, and the sender is told (202).
  { file: 'rtdose.dcm', outcome: 'stored-with-warning' },
  // Number of Frames "1A": the frames cannot be located.
  { file: 'badVR.dcm', outcome: 0xa900 },
  { file: 'test-SR.dcm', outcome: 'stored' },
  { file: 'chrFren.dcm', outcome: 'stored' },
  { file: 'chrFrenMulti.dcm', outcome: 0x0111 },
  { file: 'MR_truncated.dcm', outcome: 0xc000 },
  { file: 'no_meta.dcm', outcome: 0xc000 },
];

interface StoredSample {
  file: string;
  bytes: Buffer;
  study: string;
  series: string;
  sop: string;
}

function uidsOf(bytes: Buffer) {
  const ds = dicomParser.parseDicom(bytes, { untilTag: 'x7fe00010' });
  return { study: ds.string('x0020000d')!, series: ds.string('x0020000e')!, sop: ds.string('x00080018')! };
}

describe('the archive with real DICOM files nobody here wrote', () => {
  let gw: GatewayProcess;
  let senderA: string;
  let senderB: string;
  let reader: string;
  const stored: StoredSample[] = [];

  beforeAll(async () => {
    gw = await startGateway();
    [senderA, senderB, reader] = await Promise.all([
      gw.token('--role', 'sender', '--site', SITE_A),
      gw.token('--role', 'sender', '--site', SITE_B),
      gw.token('--role', 'reader', '--user', 'rpps-10001234567', '--rpps', '10001234567'),
    ]);
  });
  afterAll(async () => {
    await gw?.dispose();
  });

  it('stores each valid sample and refuses each broken or conflicting one with its precise reason', async () => {
    for (const { file, outcome } of expectations) {
      const bytes = await readFile(path.join(samples, file));
      const result = await stow(gw.dicomweb, senderA, [bytes]);
      if (outcome === 'stored' || outcome === 'stored-with-warning') {
        expect(result.status, `${file}: ${result.warnings.join(' | ')}`).toBe(outcome === 'stored' ? 200 : 202);
        if (outcome === 'stored-with-warning') expect(result.warnings.join(' ')).toMatch(/part 1 stored with a warning/);
        const { study, series, sop } = uidsOf(bytes);
        expect(referencedInstances(result.body)).toEqual([sop]);
        expect(result.body['00081190'].Value).toEqual([`${gw.dicomweb}/studies/${study}`]);
        stored.push({ file, bytes, study, series, sop });
      } else {
        expect(result.status, file).toBe(409);
        expect(failureReasons(result.body), file).toEqual([outcome]);
        expect(result.warnings.join(' '), file).toMatch(/part 1 refused/);
      }
    }
    expect(stored.length).toBe(expectations.filter((e) => typeof e.outcome === 'string').length);
  });

  it('says why a duplicate was refused and a truncated file too', async () => {
    const implicit = await stow(gw.dicomweb, senderA, [await readFile(path.join(samples, 'MR_small_implicit.dcm'))]);
    expect(implicit.warnings.join(' ')).toMatch(/already stored|different/i);
    const truncated = await stow(gw.dicomweb, senderA, [await readFile(path.join(samples, 'MR_truncated.dcm'))]);
    expect(truncated.warnings.join(' ')).toMatch(/truncated/i);
    const noMeta = await stow(gw.dicomweb, senderA, [await readFile(path.join(samples, 'no_meta.dcm'))]);
    expect(noMeta.warnings.join(' ')).toMatch(/Part 10|preamble|DICM/i);
  });

  it('gives back every stored instance byte for byte, and an identical re-send changes nothing', async () => {
    const again = await stow(gw.dicomweb, senderA, [stored[0].bytes, stored[1].bytes]);
    expect(again.status).toBe(200);
    for (const s of stored) {
      const res = await fetch(`${gw.dicomweb}/studies/${s.study}/series/${s.series}/instances/${s.sop}`, {
        headers: { authorization: `Bearer ${senderA}`, accept: 'multipart/related; type="application/dicom"; transfer-syntax=*' },
      });
      expect(res.status, s.file).toBe(200);
      const parts = parseMultipart(Buffer.from(await res.arrayBuffer()), res.headers.get('content-type')!);
      expect(parts).toHaveLength(1);
      expect(parts[0].headers['content-type']).toMatch(/^application\/dicom; transfer-syntax=[\d.]+$/);
      expect(Buffer.compare(parts[0].body, s.bytes), s.file).toBe(0);
    }
  });

  it('serves complete metadata whose BulkDataURIs resolve, with French characters decoded', async () => {
    const ct = stored.find((s) => s.file === 'CT_small.dcm')!;
    const res = await fetch(`${gw.dicomweb}/studies/${ct.study}/series/${ct.series}/metadata`, { headers: { authorization: `Bearer ${senderA}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/application\/dicom\+json/);
    const [meta] = (await res.json()) as DicomJson[];
    for (const tag of ['00280010', '00280011', '00280100', '00280103', '00280004', '00281052', '00281053', '00100010']) {
      expect(meta[tag], tag).toBeDefined();
    }
    expect(meta['00280010'].Value).toEqual([128]);
    const bulk = meta['7FE00010'].BulkDataURI!;
    expect(bulk.startsWith(`${gw.dicomweb}/studies/`)).toBe(true);
    const pixels = await fetch(bulk, { headers: { authorization: `Bearer ${senderA}`, accept: 'application/octet-stream' } });
    expect(pixels.status).toBe(200);
    expect((await pixels.arrayBuffer()).byteLength).toBe(128 * 128 * 2);

    const fr = stored.find((s) => s.file === 'chrFren.dcm')!;
    const frMeta = (await (await fetch(`${gw.dicomweb}/studies/${fr.study}/metadata`, { headers: { authorization: `Bearer ${senderA}` } })).json()) as DicomJson[];
    const name = (frMeta[0]['00100010'].Value?.[0] as { Alphabetic: string }).Alphabetic;
    expect(name).toMatch(/[éèàçÉ]/);
  });

  it("answers Cornerstone's frame request with the stored transfer syntax on every part", async () => {
    for (const file of ['CT_small.dcm', 'JPEG2000.dcm', 'SC_rgb_rle.dcm', 'JPEG-lossy.dcm']) {
      const s = stored.find((x) => x.file === file)!;
      const res = await fetch(`${gw.dicomweb}/studies/${s.study}/series/${s.series}/instances/${s.sop}/frames/1`, {
        headers: { authorization: `Bearer ${senderA}`, accept: 'multipart/related; type=application/octet-stream; transfer-syntax=*' },
      });
      expect(res.status, file).toBe(200);
      const parts = parseMultipart(Buffer.from(await res.arrayBuffer()), res.headers.get('content-type')!);
      expect(parts, file).toHaveLength(1);
      const ts = uidsTransferSyntax(s.bytes);
      const expectedTs = ts === '1.2.840.10008.1.2' ? '1.2.840.10008.1.2.1' : ts;
      expect(parts[0].headers['content-type'], file).toBe(`application/octet-stream; transfer-syntax=${expectedTs}`);
      expect(parts[0].body.length, file).toBeGreaterThan(0);
      expect(Buffer.compare(parts[0].body, firstFrameOf(s.bytes)), file).toBe(0);
    }
  });

  it('serves every frame of a study, a series or an instance in one Pixel Data answer, each part equal to its frame', async () => {
    const auth = { authorization: `Bearer ${senderA}` };
    const accept = 'multipart/related; type="application/octet-stream"; transfer-syntax=*';
    const withPixels = stored.filter((s) => dicomParser.parseDicom(s.bytes).elements.x7fe00010 !== undefined);
    expect(withPixels.length).toBeGreaterThanOrEqual(6);
    const framesOf = (x: StoredSample) => Number(dicomParser.parseDicom(x.bytes, { untilTag: 'x7fe00010' }).string('x00280008') ?? '1');
    let checked = 0;
    for (const s of withPixels) {
      const levels = [
        { url: `${gw.dicomweb}/studies/${s.study}`, holds: (x: StoredSample) => x.study === s.study },
        { url: `${gw.dicomweb}/studies/${s.study}/series/${s.series}`, holds: (x: StoredSample) => x.study === s.study && x.series === s.series },
        { url: `${gw.dicomweb}/studies/${s.study}/series/${s.series}/instances/${s.sop}`, holds: (x: StoredSample) => x.sop === s.sop },
      ];
      for (const { url, holds } of levels) {
        const res = await fetch(`${url}/pixeldata`, { headers: { ...auth, accept } });
        expect(res.status, `${s.file} ${url}`).toBe(200);
        const contentType = res.headers.get('content-type')!;
        expect(contentType, s.file).toMatch(/^multipart\/related; type="application\/octet-stream"; boundary=/);
        const body = Buffer.from(await res.arrayBuffer());
        expect(body.length, s.file).toBe(Number(res.headers.get('content-length')));
        const parts = parseMultipart(body, contentType);
        const expected = withPixels.filter(holds).flatMap((x) =>
          Array.from({ length: framesOf(x) }, (_, i) => `${gw.dicomweb}/studies/${x.study}/series/${x.series}/instances/${x.sop}/frames/${i + 1}`),
        );
        expect(parts.map((p) => p.headers['content-location']).sort(), `${s.file} ${url}`).toEqual(expected.sort());
        for (const part of parts) {
          expect(Number(part.headers['content-length']), s.file).toBe(part.body.length);
          const single = await fetch(part.headers['content-location'], { headers: { ...auth, accept } });
          const [frame] = parseMultipart(Buffer.from(await single.arrayBuffer()), single.headers.get('content-type')!);
          expect(part.headers['content-type'], s.file).toBe(frame.headers['content-type']);
          expect(Buffer.compare(part.body, frame.body), `${s.file} ${part.headers['content-location']}`).toBe(0);
        }
        checked += 1;
      }
    }
    expect(checked).toBe(3 * withPixels.length);

    // Asked uncompressed, a compressed instance is refused before the first byte, by name.
    const j2k = stored.find((x) => x.file === 'JPEG2000.dcm')!;
    const refused = await fetch(`${gw.dicomweb}/studies/${j2k.study}/pixeldata`, {
      headers: { ...auth, accept: 'multipart/related; type="application/octet-stream"; transfer-syntax=1.2.840.10008.1.2.1' },
    });
    expect(refused.status).toBe(406);
    expect(((await refused.json()) as { detail: string }).detail).toContain(j2k.sop);
    // A study without images (a structured report) has no pixel data.
    const sr = stored.find((x) => x.file === 'test-SR.dcm')!;
    const none = await fetch(`${gw.dicomweb}/studies/${sr.study}/pixeldata`, { headers: { ...auth, accept } });
    expect(none.status).toBe(404);
    expect(((await none.json()) as { detail: string }).detail).toMatch(/pixel data/);
    // Another site's study: not found, as for every other resource.
    const other = await fetch(`${gw.dicomweb}/studies/${j2k.study}/pixeldata`, { headers: { authorization: `Bearer ${senderB}`, accept } });
    expect(other.status).toBe(404);
  });

  it('serves one frame as a single part with byte ranges', async () => {
    const ct = stored.find((s) => s.file === 'CT_small.dcm')!;
    const url = `${gw.dicomweb}/studies/${ct.study}/series/${ct.series}/instances/${ct.sop}/frames/1`;
    const res = await fetch(url, { headers: { authorization: `Bearer ${senderA}`, accept: 'application/octet-stream', range: 'bytes=100-199' } });
    expect(res.status).toBe(206);
    expect(res.headers.get('content-range')).toBe(`bytes 100-199/${128 * 128 * 2}`);
    expect(Buffer.compare(Buffer.from(await res.arrayBuffer()), firstFrameOf(ct.bytes).subarray(100, 200))).toBe(0);
  });

  it('answers 406 naming what it can send when a compressed frame is asked for uncompressed', async () => {
    const j2k = stored.find((s) => s.file === 'JPEG2000.dcm')!;
    const res = await fetch(`${gw.dicomweb}/studies/${j2k.study}/series/${j2k.series}/instances/${j2k.sop}/frames/1`, {
      headers: { authorization: `Bearer ${senderA}`, accept: 'multipart/related; type="application/octet-stream"; transfer-syntax=1.2.840.10008.1.2.1' },
    });
    expect(res.status).toBe(406);
    expect(((await res.json()) as { detail: string }).detail).toMatch(/1\.2\.840\.10008\.1\.2\.4\.9/);
  });

  it('finds stored studies with QIDO and lets a site see only its own studies', async () => {
    const ct = stored.find((s) => s.file === 'CT_small.dcm')!;
    const asOwnSite = await fetch(`${gw.dicomweb}/studies?StudyInstanceUID=${ct.study}&includefield=00081030,00080060`, { headers: { authorization: `Bearer ${senderA}` } });
    expect(asOwnSite.status).toBe(200);
    const studies = (await asOwnSite.json()) as DicomJson[];
    expect(studies).toHaveLength(1);
    expect(studies[0]['0020000D'].Value).toEqual([ct.study]);
    expect(studies[0]['00201208'].Value).toEqual([1]);

    const asOtherSite = await fetch(`${gw.dicomweb}/studies?StudyInstanceUID=${ct.study}`, { headers: { authorization: `Bearer ${senderB}` } });
    expect(await asOtherSite.json()).toEqual([]);
    const retrieveOther = await fetch(`${gw.dicomweb}/studies/${ct.study}/metadata`, { headers: { authorization: `Bearer ${senderB}` } });
    expect(retrieveOther.status).toBe(404);
    const storeIntoOther = await stow(gw.dicomweb, senderB, [ct.bytes]);
    expect(storeIntoOther.status).toBe(409);
    expect(failureReasons(storeIntoOther.body)).toEqual([0x0124]);
  });

  it('shows a reader nothing that was not routed to them', async () => {
    const ct = stored.find((s) => s.file === 'CT_small.dcm')!;
    const auth = { authorization: `Bearer ${reader}` };
    expect(await (await fetch(`${gw.dicomweb}/studies?StudyInstanceUID=${ct.study}`, { headers: auth })).json()).toEqual([]);
    expect((await fetch(`${gw.dicomweb}/studies/${ct.study}/metadata`, { headers: auth })).status).toBe(404);
    expect((await fetch(`${gw.dicomweb}/studies/${ct.study}/series/${ct.series}/instances/${ct.sop}/frames/1`, { headers: auth })).status).toBe(404);
  });

  it('refuses requests without a valid token and answers health checks without one', async () => {
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${gw.url}/readyz`)).status).toBe(200);
    const anonymous = await fetch(`${gw.dicomweb}/studies`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer/);
    const forged = await fetch(`${gw.dicomweb}/studies`, { headers: { authorization: `Bearer ${reader.slice(0, -4)}AAAA` } });
    expect(forged.status).toBe(401);
    const readerStores = await stow(gw.dicomweb, reader, [stored[0].bytes]);
    expect(readerStores.status).toBe(403);
  });
});

function uidsTransferSyntax(bytes: Buffer): string {
  return dicomParser.parseDicom(bytes, { untilTag: 'x00020010' }).string('x00020010')!.replace(/\0/g, '').trim();
}

function firstFrameOf(bytes: Buffer): Buffer {
  const ds = dicomParser.parseDicom(bytes);
  const element = ds.elements.x7fe00010;
  if (element.encapsulatedPixelData) {
    const frame = dicomParser.readEncapsulatedPixelDataFromFragments(ds, element, 0, element.fragments!.length);
    return Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
  }
  const rows = ds.uint16('x00280010')!;
  const columns = ds.uint16('x00280011')!;
  const samples = ds.uint16('x00280002') ?? 1;
  const bits = ds.uint16('x00280100')!;
  return Buffer.from(bytes.buffer, bytes.byteOffset + element.dataOffset, (rows * columns * samples * bits) / 8);
}
