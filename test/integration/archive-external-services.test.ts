import { access, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import dicomParser from 'dicom-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCtSeries } from '../../test-data/generate-study.ts';
import { parseMultipart, stow } from '../support/dicomweb-http.ts';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { startTestPostgres, type TestPostgres } from '../support/postgres.ts';
import { startS3Server, type S3Server } from '../support/s3-server.ts';
import { DICOM_SAMPLES } from '../support/shared-samples.ts';

const samples = DICOM_SAMPLES;

describe('the archive on production services: external PostgreSQL (DATABASE_URL) and S3 (a real S3 server process)', () => {
  let pg: TestPostgres;
  let s3: S3Server;
  let gw: GatewayProcess;
  const slices: Buffer[] = [];

  beforeAll(async () => {
    [pg, s3] = await Promise.all([startTestPostgres(), startS3Server()]);
    gw = await startGateway({
      env: {
        DATABASE_URL: pg.url,
        S3_ENDPOINT: s3.endpoint,
        S3_BUCKET: s3.bucket,
        S3_ACCESS_KEY: s3.accessKey,
        S3_SECRET_KEY: s3.secretKey,
      },
    });
    for await (const slice of generateCtSeries({ kind: 'ct-head', slices: 8, rows: 256, columns: 256, seed: 'external' })) slices.push(slice);
  });
  afterAll(async () => {
    await gw?.dispose();
    await Promise.all([pg?.stop(), s3?.stop()]);
  });

  it('stores in S3 and indexes in the external server, not in the data directory', async () => {
    const sender = await gw.token('--role', 'sender', '--site', '310780010');
    const result = await stow(gw.dicomweb, sender, [...slices, await readFile(path.join(samples, 'JPEG2000.dcm'))]);
    expect(result.status).toBe(200);
    await expect(access(path.join(gw.dataDir, 'postgres'))).rejects.toThrow();
    await expect(access(path.join(gw.dataDir, 'objects'))).rejects.toThrow();
    // S3 copies the spooled parts: each is deleted once stored, none is left on the gateway's disk.
    expect(await readdir(path.join(gw.dataDir, 'spool'))).toEqual([]);
  });

  it('times each step of the STOW in its metrics: where a slow ingest spends its time', async () => {
    const admin = await gw.token('--role', 'admin');
    const text = await (await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${admin}` } })).text();
    const stepCount = (step: string) => Number(new RegExp(`^astreinte_stow_step_duration_seconds_count\\{step="${step}"\\} (\\d+)$`, 'm').exec(text)?.[1]);
    const instances = slices.length + 1;
    for (const step of ['spool', 'parse', 'store', 'index']) expect(stepCount(step), step).toBe(instances);
    expect(stepCount('answer')).toBe(1);
    const storeSeconds = Number(/^astreinte_stow_step_duration_seconds_sum\{step="store"\} (\S+)$/m.exec(text)?.[1]);
    expect(storeSeconds).toBeGreaterThan(0);
    const utilization = Number(/^astreinte_event_loop_utilization (\S+)$/m.exec(text)?.[1]);
    expect(utilization).toBeGreaterThan(0);
    expect(utilization).toBeLessThanOrEqual(1);
  });

  it('retrieves the series byte for byte, its metadata and its frames', async () => {
    const reader = await gw.token('--role', 'sender', '--site', '310780010'); // the site reads back its own studies
    const auth = { authorization: `Bearer ${reader}` };
    const ds = dicomParser.parseDicom(slices[0], { untilTag: 'x7fe00010' });
    const base = `${gw.dicomweb}/studies/${ds.string('x0020000d')}/series/${ds.string('x0020000e')}`;
    const res = await fetch(base, { headers: auth });
    const parts = parseMultipart(Buffer.from(await res.arrayBuffer()), res.headers.get('content-type')!);
    expect(parts).toHaveLength(slices.length);
    const sent = new Set(slices.map((s) => s.toString('base64')));
    for (const part of parts) expect(sent.has(part.body.toString('base64'))).toBe(true);

    const metadata = (await (await fetch(`${base}/metadata`, { headers: auth })).json()) as Record<string, { Value?: unknown[] }>[];
    expect(metadata).toHaveLength(slices.length);
    const frame = await fetch(`${base}/instances/${ds.string('x00080018')}/frames/1`, {
      headers: { ...auth, accept: 'multipart/related; type=application/octet-stream; transfer-syntax=*' },
    });
    const [framePart] = parseMultipart(Buffer.from(await frame.arrayBuffer()), frame.headers.get('content-type')!);
    expect(framePart.body.length).toBe(256 * 256 * 2);
    expect(framePart.headers['content-type']).toBe('application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1');
  });
});
