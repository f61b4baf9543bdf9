/**
 * The same delivery with the job queues in Redis (REDIS_URL) instead of PostgreSQL: a signed report reaches an
 * MLLP RIS on loopback and the report says it was delivered.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { generateCtSeries, patientFor, SITES } from '../../test-data/generate-study.ts';
import { multipartRequest } from '../support/dicomweb-http.ts';
import { freePort } from '../support/free-port.ts';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { startRedisServer, type TestRedisServer } from '../support/redis-server.ts';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const READER = '10009000011';
let workDir: string;
let redis: TestRedisServer;
let gateway: GatewayProcess;
let ris: net.Server;
const received: string[] = [];

/** The parts of the API's answers this test reads. */
interface Answer {
  items: { id: string }[];
  id: string;
  versions: { deliveries: { status: string }[] }[];
}

beforeAll(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), 'astreinte-report-redis-'));
  redis = await startRedisServer();
  ris = net.createServer((socket) =>
    socket.on('data', (chunk: Buffer) => {
      const message = chunk.subarray(1, chunk.indexOf(Buffer.from([0x1c, 0x0d]))).toString('utf8');
      received.push(message);
      const controlId = message.split('\r')[0].split('|')[9];
      socket.write(`\x0bMSH|^~\\&|RIS|SG|ASTREINTE|R|20261122||ACK|a|P|2.5.1\rMSA|AA|${controlId}\r\x1c\r`);
    }),
  );
  const risPort = await freePort();
  await new Promise<void>((resolve) => ris.listen(risPort, '127.0.0.1', resolve));
  const example = await readFile(path.join(repoRoot, 'config/examples/midi-pyrenees.yaml'), 'utf8');
  const configFile = path.join(workDir, 'region.yaml');
  await writeFile(configFile, example.replace('mllp://sih.ch-saint-girons.example:2575', `mllp://127.0.0.1:${risPort}`));
  gateway = await startGateway({
    env: { REDIS_URL: redis.url, ASTREINTE_CONFIG: configFile, ASTREINTE_NOW: '2026-11-22T02:10:00+01:00', ASTREINTE_STABILITY_SECONDS: '1' },
  });
}, 120_000);

afterAll(async () => {
  await gateway?.dispose();
  await new Promise((resolve) => (ris ? ris.close(resolve) : resolve(undefined)));
  await redis?.stop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

it('delivers a signed report through Redis-backed queues', async () => {
  const sender = await gateway.token('--role', 'sender', '--site', '090000050');
  const reader = await gateway.token('--role', 'reader', '--user', READER, '--rpps', READER);
  const call = async (token: string, method: string, route: string, body?: unknown) => {
    const response = await fetch(`${gateway.url}${route}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, json: (await response.json()) as Answer };
  };
  const { body, contentType } = multipartRequest([...generateCtSeries({ kind: 'ct-head', slices: 1, rows: 32, columns: 32, seed: 'redis-report', site: SITES['saint-girons'], patient: patientFor('redis-report') })]);
  const stored = await fetch(`${gateway.dicomweb}/studies`, { method: 'POST', headers: { authorization: `Bearer ${sender}`, 'content-type': contentType }, body });
  expect(stored.status).toBe(200);
  let itemId: string | undefined;
  for (let i = 0; i < 100 && !itemId; i++) {
    itemId = (await call(reader, 'GET', '/api/worklist?scope=mine')).json.items[0]?.id;
    if (!itemId) await new Promise((resolve) => setTimeout(resolve, 200));
  }
  expect(itemId).toBeDefined();
  expect((await call(reader, 'POST', `/api/worklist/${itemId}/claim`)).status).toBe(200);
  const signed = await call(reader, 'POST', `/api/worklist/${itemId}/report/sign`, {
    content: { template: 'general', indication: 'Chute.', findings: 'Pas de lésion.', conclusion: 'Normal.' },
  });
  expect(signed.status).toBe(201);
  let status = '';
  for (let i = 0; i < 100 && status !== 'delivered'; i++) {
    status = (await call(sender, 'GET', `/api/reports/${signed.json.id}`)).json.versions[0].deliveries[0].status;
    if (status !== 'delivered') await new Promise((resolve) => setTimeout(resolve, 100));
  }
  expect(status).toBe('delivered');
  expect(received).toHaveLength(1);
  expect(received[0]).toContain('|ORU^R01^ORU_R01|');
}, 60_000);
