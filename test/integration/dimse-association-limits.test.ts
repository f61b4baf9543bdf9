/**
 * Concurrent association limits of the DICOM listener, against a real gateway: per calling site (region file,
 * dicomMaxAssociations) and overall (DIMSE_MAX_ASSOCIATIONS). Beyond them an association is rejected as transient
 * (A-ASSOCIATE-RJ result 2, source 3, reason 2: local limit exceeded), which DCMTK's storescu reports; a slot
 * freed is usable again. Associations are held open by raw A-ASSOCIATE-RQ on sockets this test keeps.
 */
import net from 'node:net';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runDcmtk } from '../support/dcmtk.ts';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { DICOM_SAMPLES } from '../support/shared-samples.ts';

const repoRoot = path.resolve(import.meta.dirname, '../..');
let gw: GatewayProcess;
let workDir: string;
let port: number;
const held: net.Socket[] = [];

beforeAll(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), 'astreinte-dimse-limits-'));
  const example = await readFile(path.join(repoRoot, 'config/examples/midi-pyrenees.yaml'), 'utf8');
  // CH du Val d'Ariège (CHIVA_CT) may hold 2 associations at once.
  const limited = example.replace(/(\n    aeTitles: \[CHIVA_CT[^\n]*\n)/, '$1    dicomMaxAssociations: 2\n');
  expect(limited).toContain('dicomMaxAssociations: 2');
  const configFile = path.join(workDir, 'region.yaml');
  await writeFile(configFile, limited);
  gw = await startGateway({ env: { ASTREINTE_CONFIG: configFile, DIMSE_MAX_ASSOCIATIONS: '3' } });
  port = Number(gw.env.DIMSE_PORT);
}, 90_000);
afterAll(async () => {
  for (const socket of held) socket.destroy();
  await gw?.dispose();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

/** An A-ASSOCIATE-RQ proposing Verification in Implicit VR Little Endian (PS3.8 9.3.2). */
function associateRq(calling: string, called = 'ASTREINTE'): Buffer {
  const item = (type: number, body: Buffer) => {
    const header = Buffer.alloc(4);
    header.writeUInt8(type, 0);
    header.writeUInt16BE(body.length, 2);
    return Buffer.concat([header, body]);
  };
  const ae = (title: string) => Buffer.from(title.padEnd(16, ' '), 'ascii');
  const maxLength = Buffer.alloc(4);
  maxLength.writeUInt32BE(16384);
  const variable = Buffer.concat([
    item(0x10, Buffer.from('1.2.840.10008.3.1.1.1')),
    item(0x20, Buffer.concat([Buffer.from([1, 0, 0, 0]), item(0x30, Buffer.from('1.2.840.10008.1.1')), item(0x40, Buffer.from('1.2.840.10008.1.2'))])),
    item(0x50, item(0x51, maxLength)),
  ]);
  const fixed = Buffer.concat([Buffer.from([0, 1, 0, 0]), ae(called), ae(calling), Buffer.alloc(32)]);
  const header = Buffer.alloc(6);
  header.writeUInt8(0x01, 0);
  header.writeUInt32BE(fixed.length + variable.length, 2);
  return Buffer.concat([header, fixed, variable]);
}

/** Opens an association and keeps it: resolves with the first PDU type the listener answers (2 AC, 3 RJ) and its bytes. */
function hold(calling: string): Promise<{ type: number; pdu: Buffer }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(associateRq(calling)));
    held.push(socket);
    let received = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length >= 6 && received.length >= 6 + received.readUInt32BE(2)) resolve({ type: received[0]!, pdu: received });
    });
    socket.on('error', reject);
  });
}

async function release(socket: net.Socket): Promise<void> {
  await new Promise<void>((resolve) => {
    socket.once('close', () => resolve());
    socket.destroy();
  });
  // The listener sees the close on its side too.
  await new Promise((resolve) => setTimeout(resolve, 200));
}

/** Each site sends its own sample: a study stays with the site that sent it first. */
const store = (calling: string) =>
  runDcmtk('storescu', ['-xe', '-aet', calling, '-aec', 'ASTREINTE', '127.0.0.1', String(port), path.join(DICOM_SAMPLES, calling.startsWith('CHIVA') ? 'CT_small.dcm' : 'MR_small.dcm')]);

it('rejects as transient, local limit exceeded, the associations of a site beyond its limit, then accepts again', async () => {
  expect((await hold('CHIVA_CT')).type).toBe(0x02);
  expect((await hold('CHIVA_MR')).type).toBe(0x02);
  const third = await hold('CHIVA_DX');
  expect(third.type).toBe(0x03);
  // A-ASSOCIATE-RJ: reserved, result, source, reason (PS3.8 9.3.4).
  expect([...third.pdu.subarray(7, 10)]).toEqual([2, 3, 2]);

  // Several storescu at once from the full site: all turned away, transient, local limit exceeded.
  const runs = await Promise.all([store('CHIVA_CT'), store('CHIVA_CT'), store('CHIVA_MR')]);
  for (const run of runs) {
    expect(run.code).not.toBe(0);
    expect(run.output).toMatch(/Rejected Transient/i);
    expect(run.output).toMatch(/Local Limit Exceeded/i);
  }
  // Another site is not held back by this one's limit.
  const other = await store('STGIRONS_CT');
  expect(other.code, other.output).toBe(0);

  await release(held[0]!);
  const after = await store('CHIVA_CT');
  expect(after.code, after.output).toBe(0);
}, 60_000);

it('rejects beyond the overall limit (DIMSE_MAX_ASSOCIATIONS), whatever the site', async () => {
  // Held now: one CHIVA association (the second of the first test); two more reach the overall limit of 3.
  expect((await hold('CHIVA_CT')).type).toBe(0x02);
  expect((await hold('STGIRONS_CT')).type).toBe(0x02);
  const beyond = await store('STGIRONS_CT');
  expect(beyond.code).not.toBe(0);
  expect(beyond.output).toMatch(/Local Limit Exceeded/i);

  const admin = await gw.token('--role', 'admin');
  const metrics = await (await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${admin}` } })).text();
  const rejected = metrics.split('\n').filter((l) => l.startsWith('astreinte_dimse_associations_total{outcome="rejected",reason="local-limit-exceeded"'));
  expect(rejected.map((l) => Number(l.split(' ').pop())).reduce((a, b) => a + b, 0)).toBe(5);
}, 60_000);
