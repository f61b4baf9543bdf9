/**
 * DIMSE metrics on /metrics, from a real gateway and DCMTK's tools on loopback: associations accepted and rejected
 * (by reason and calling site), C-STOREs by status class, bytes received, association durations; labels carry
 * FINESS numbers and fixed words only, never a UID or a patient's data.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runDcmtk, storeStatuses } from '../support/dcmtk.ts';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { DICOM_SAMPLES } from '../support/shared-samples.ts';

const SITE = '090781774'; // CH du Val d'Ariège: CHIVA_CT (midi-pyrenees.yaml)
let gw: GatewayProcess;

beforeAll(async () => {
  gw = await startGateway();
}, 90_000);
afterAll(async () => {
  await gw?.dispose();
});

/** The value of one sample of /metrics, 0 when absent. */
function sample(text: string, name: string, labels: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

it('counts associations, C-STOREs by status class, bytes and durations per calling site', async () => {
  const port = gw.env.DIMSE_PORT!;
  const ct = path.join(DICOM_SAMPLES, 'CT_small.dcm');
  const stored = await runDcmtk('storescu', ['-xe', '-aet', 'CHIVA_CT', '-aec', 'ASTREINTE', '127.0.0.1', port, ct]);
  expect(stored.code, stored.output).toBe(0);
  const mr = await runDcmtk('storescu', ['-xe', '-aet', 'CHIVA_CT', '-aec', 'ASTREINTE', '127.0.0.1', port, path.join(DICOM_SAMPLES, 'MR_small.dcm')]);
  expect(mr.code, mr.output).toBe(0);
  // The same SOP Instance UID again with other bytes: refused as a duplicate (0x0111), a failure.
  const duplicate = await runDcmtk('storescu', ['-d', '-xi', '-aet', 'CHIVA_CT', '-aec', 'ASTREINTE', '127.0.0.1', port, path.join(DICOM_SAMPLES, 'MR_small_implicit.dcm')]);
  expect(storeStatuses(duplicate.output)).toEqual([0x0111]);
  expect((await runDcmtk('echoscu', ['-aet', 'NOBODY', '-aec', 'ASTREINTE', '127.0.0.1', port])).code).not.toBe(0);
  expect((await runDcmtk('echoscu', ['-aet', 'CHIVA_CT', '-aec', 'SOMEONE_ELSE', '127.0.0.1', port])).code).not.toBe(0);

  const admin = await gw.token('--role', 'admin');
  let text = '';
  // The association's end is observed when its connection closes, just after storescu exits.
  for (let i = 0; i < 50; i++) {
    text = await (await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${admin}` } })).text();
    if (sample(text, 'astreinte_dimse_association_duration_seconds_count', `site="${SITE}"`) >= 3) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  expect(sample(text, 'astreinte_dimse_associations_total', `outcome="accepted",reason="",site="${SITE}"`)).toBe(3);
  expect(sample(text, 'astreinte_dimse_associations_total', 'outcome="rejected",reason="calling-ae-title-not-recognized",site="unknown"')).toBe(1);
  expect(sample(text, 'astreinte_dimse_associations_total', `outcome="rejected",reason="called-ae-title-not-recognized",site="${SITE}"`)).toBe(1);
  expect(sample(text, 'astreinte_dimse_cstore_total', `status="success",site="${SITE}"`)).toBe(2);
  expect(sample(text, 'astreinte_dimse_cstore_total', `status="failure",site="${SITE}"`)).toBe(1);
  expect(sample(text, 'astreinte_dimse_association_duration_seconds_count', `site="${SITE}"`)).toBe(3);
  // At least the CT's data set (its file less preamble and File Meta), and not more than the three files.
  const sizes = await Promise.all(['CT_small.dcm', 'MR_small.dcm', 'MR_small_implicit.dcm'].map(async (f) => (await stat(path.join(DICOM_SAMPLES, f))).size));
  const bytes = sample(text, 'astreinte_dimse_received_bytes_total', `site="${SITE}"`);
  expect(bytes).toBeGreaterThan(sizes[0]! - 400);
  expect(bytes).toBeLessThanOrEqual(sizes.reduce((a, b) => a + b, 0));
  const dimseLines = text.split('\n').filter((l) => l.startsWith('astreinte_dimse_'));
  expect(dimseLines.every((l) => !/\d+\.\d+\.\d+\.\d+\.\d+/.test(l) && !/CHIVA|NOBODY/.test(l))).toBe(true);
}, 60_000);
