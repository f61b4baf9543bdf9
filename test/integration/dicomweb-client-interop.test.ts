import XHR from 'xhr2';
import { api } from 'dicomweb-client';
import dicomParser from 'dicom-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCtSeries } from '../../test-data/generate-study.ts';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';

// dicomweb-client (what OHIF uses) speaks XMLHttpRequest; xhr2 gives Node one over real HTTP.
(globalThis as { XMLHttpRequest?: unknown }).XMLHttpRequest = XHR;

type ClientCall = (options?: Record<string, unknown>) => Promise<unknown>;
type LooseClient = Record<
  | 'storeInstances' | 'searchForStudies' | 'searchForInstances' | 'retrieveInstance' | 'retrieveSeries'
  | 'retrieveSeriesMetadata' | 'retrieveInstanceFrames' | 'retrieveBulkData',
  ClientCall
>;
// The library's shipped declarations mark every option as required; it does not need them.
const DICOMwebClient = api.DICOMwebClient as unknown as new (options: { url: string; headers?: Record<string, string> }) => LooseClient;

type Json = Record<string, { vr: string; Value?: unknown[]; BulkDataURI?: string }>;

function toArrayBuffer(b: Buffer): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

describe('the dicomweb-client library (what OHIF uses) against the archive', () => {
  let gw: GatewayProcess;
  let sender: LooseClient;
  /** The sending site's own viewer (a site sees its own studies; readers only what is routed to them). */
  let reader: LooseClient;
  const slices: Buffer[] = [];
  let study = '';
  let series = '';

  beforeAll(async () => {
    gw = await startGateway();
    const [senderToken, readerToken] = await Promise.all([
      gw.token('--role', 'sender', '--site', '310780010'),
      gw.token('--role', 'sender', '--site', '310780010'),
    ]);
    sender = new DICOMwebClient({ url: gw.dicomweb, headers: { Authorization: `Bearer ${senderToken}` } });
    reader = new DICOMwebClient({ url: gw.dicomweb, headers: { Authorization: `Bearer ${readerToken}` } });
    for await (const slice of generateCtSeries({ kind: 'ct-head', slices: 12, rows: 256, columns: 256, seed: 'interop' })) slices.push(slice);
    const ds = dicomParser.parseDicom(slices[0], { untilTag: 'x7fe00010' });
    study = ds.string('x0020000d')!;
    series = ds.string('x0020000e')!;
  });
  afterAll(async () => {
    await gw?.dispose();
  });

  it('stores a CT series with storeInstances', async () => {
    const response = (await sender.storeInstances({ datasets: slices.map(toArrayBuffer) })) as unknown;
    expect(response).toBeDefined();
    const listed = (await reader.searchForInstances({ studyInstanceUID: study, seriesInstanceUID: series })) as Json[];
    expect(listed).toHaveLength(slices.length);
  });

  it('finds the study by patient and by wildcard name, with the attributes OHIF reads', async () => {
    const first = dicomParser.parseDicom(slices[0], { untilTag: 'x7fe00010' });
    const patientId = first.string('x00100020')!;
    const studies = (await reader.searchForStudies({ queryParams: { PatientID: patientId, includefield: '00081030,00080060' } })) as Json[];
    expect(studies).toHaveLength(1);
    const s = studies[0];
    for (const tag of ['0020000D', '00080020', '00080030', '00080050', '00100020', '00100010', '00201208', '00080061']) expect(s[tag], tag).toBeDefined();
    expect(s['00201208'].Value).toEqual([slices.length]);
    expect(s['00080061'].Value).toEqual(['CT']);
    const familyName = (s['00100010'].Value?.[0] as { Alphabetic: string }).Alphabetic.split('^')[0];
    const byName = (await reader.searchForStudies({ queryParams: { PatientName: `*${familyName.slice(1, 4).toLowerCase()}*`, fuzzymatching: 'false' } })) as Json[];
    expect(byName.map((x) => x['0020000D'].Value?.[0])).toContain(study);
  });

  it('retrieves each instance byte for byte', async () => {
    for (const slice of [slices[0], slices[slices.length - 1]]) {
      const sop = dicomParser.parseDicom(slice, { untilTag: 'x7fe00010' }).string('x00080018')!;
      const got = (await reader.retrieveInstance({ studyInstanceUID: study, seriesInstanceUID: series, sopInstanceUID: sop })) as ArrayBuffer;
      expect(Buffer.compare(Buffer.from(got), slice)).toBe(0);
    }
    const all = (await reader.retrieveSeries({ studyInstanceUID: study, seriesInstanceUID: series })) as ArrayBuffer[];
    expect(all).toHaveLength(slices.length);
  });

  it('retrieves complete series metadata and frames the way OHIF does', async () => {
    const metadata = (await reader.retrieveSeriesMetadata({ studyInstanceUID: study, seriesInstanceUID: series })) as Json[];
    expect(metadata).toHaveLength(slices.length);
    for (const tag of ['00280010', '00280011', '00280100', '00280103', '00280004', '00281050', '00281051', '00200032', '00200037']) {
      expect(metadata[0][tag], tag).toBeDefined();
    }
    const sop = metadata[0]['00080018'].Value?.[0] as string;
    const frames = (await reader.retrieveInstanceFrames({
      studyInstanceUID: study,
      seriesInstanceUID: series,
      sopInstanceUID: sop,
      frameNumbers: [1],
    })) as ArrayBuffer[];
    expect(frames).toHaveLength(1);
    expect(frames[0].byteLength).toBe(256 * 256 * 2);
    const bulk = (await reader.retrieveBulkData({ BulkDataURI: metadata[0]['7FE00010'].BulkDataURI! })) as ArrayBuffer[];
    expect(bulk[0].byteLength).toBe(256 * 256 * 2);
  });

  it('serves series metadata again with an instance stored after it was first served', async () => {
    const before = (await reader.retrieveSeriesMetadata({ studyInstanceUID: study, seriesInstanceUID: series })) as Json[];
    const longer: Buffer[] = [];
    for await (const slice of generateCtSeries({ kind: 'ct-head', slices: slices.length + 1, rows: 256, columns: 256, seed: 'interop' })) longer.push(slice);
    await sender.storeInstances({ datasets: [toArrayBuffer(longer[slices.length])] });
    const after = (await reader.retrieveSeriesMetadata({ studyInstanceUID: study, seriesInstanceUID: series })) as Json[];
    expect(after).toHaveLength(before.length + 1);
    const added = dicomParser.parseDicom(longer[slices.length], { untilTag: 'x7fe00010' }).string('x00080018');
    expect(after.map((m) => m['00080018'].Value?.[0])).toContain(added);
    // The answer built once is served again identically.
    const again = (await reader.retrieveSeriesMetadata({ studyInstanceUID: study, seriesInstanceUID: series })) as Json[];
    expect(again).toEqual(after);
  });
});
