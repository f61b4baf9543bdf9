/**
 * No patient data where it does not belong (issue 13): not in the embedded PostgreSQL's log (bind parameters of
 * slow or failed statements), not in the routing worker's log (Study UIDs, objection decisions), not in a URL
 * path (proxies log paths), not in the unauthenticated /readyz answer (hosts and ports of the internal network).
 */
import { until } from '../support/until.ts';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import dicomParser from 'dicom-parser';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCtSeries, SITES } from '../../test-data/generate-study.ts';
import { stow } from '../support/dicomweb-http.ts';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { startS3Server, type S3Server } from '../support/s3-server.ts';

const SAINT_GIRONS = '090000050';
const SUNDAY_0210 = '2026-11-22T02:10:00+01:00';

interface Study {
  uid: string;
  patientId: string;
  issuer: string;
  slices: Buffer[];
}

function study(seed: string): Study {
  const slices = [...generateCtSeries({ kind: 'ct-head', slices: 2, rows: 64, columns: 64, seed, site: SITES['saint-girons'] })];
  const parsed = dicomParser.parseDicom(slices[0], { untilTag: 'x7fe00010' });
  return { uid: parsed.string('x0020000d')!, patientId: parsed.string('x00100020')!, issuer: parsed.string('x00100021')!, slices };
}

describe('patient data stays out of logs, URLs and unauthenticated answers', () => {
  let s3: S3Server;
  let gw: GatewayProcess;
  let sender: string;
  let coordinator: string;
  const routed = study('placement-routed');
  const held = study('placement-held');

  beforeAll(async () => {
    s3 = await startS3Server();
    gw = await startGateway({
      env: {
        ASTREINTE_NOW: SUNDAY_0210,
        ASTREINTE_STABILITY_SECONDS: '1',
        LOG_LEVEL: 'info',
        S3_ENDPOINT: s3.endpoint,
        S3_BUCKET: s3.bucket,
        S3_ACCESS_KEY: s3.accessKey,
        S3_SECRET_KEY: s3.secretKey,
      },
    });
    [sender, coordinator] = await Promise.all([
      gw.token('--role', 'sender', '--site', SAINT_GIRONS),
      gw.token('--role', 'coordinator', '--territory', 'ariege', '--user', 'coordination-ariege'),
    ]);
  }, 120_000);
  afterAll(async () => {
    await gw?.dispose();
    await s3?.stop();
  });

  const api = async (method: string, route: string, token: string, body?: unknown) => {
    const res = await fetch(`${gw.url}/api${route}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, body: (await res.json().catch(() => ({}))) as Record<string, unknown> };
  };
  const decision = (uid: string) =>
    until(`the routing decision of ${uid}`, async () => {
      const res = await api('GET', `/studies/${uid}/routing`, coordinator);
      return res.status === 200 && res.body.decision !== null ? (res.body.decision as string) : undefined;
    });

  it('routing logs neither Study UIDs nor objection decisions; an objection is lifted with the patient in the body', async () => {
    const recorded = await api('POST', '/oppositions', coordinator, { patientId: held.patientId, issuer: held.issuer });
    expect(recorded.status).toBe(201);
    expect((await stow(gw.dicomweb, sender, routed.slices)).status).toBe(200);
    expect((await stow(gw.dicomweb, sender, held.slices)).status).toBe(200);
    expect(await decision(routed.uid)).toBe('routed');
    expect(await decision(held.uid)).toBe('held');

    const lifted = await api('POST', '/oppositions/lift', coordinator, { patientId: held.patientId, issuer: held.issuer });
    expect(lifted.status).toBe(200);
    await until('the held study routed again', async () => ((await decision(held.uid)) === 'routed' ? true : undefined));
    // The old form, with the Patient ID in the path, is gone.
    expect((await api('DELETE', `/oppositions/${held.issuer}/${held.patientId}`, coordinator)).status).toBe(404);

    const log = gw.output();
    expect(log, 'routing logged at info level').toContain('worklist item created');
    for (const secret of [routed.uid, held.uid, routed.patientId, held.patientId, 'patient-objection', 'held']) {
      expect(log).not.toContain(secret);
    }
  }, 90_000);

  it('the embedded PostgreSQL logs slow statements without their bind parameters, and no error quoting a value', async () => {
    const dir = path.join(gw.dataDir, 'postgres');
    const password = (await readFile(path.join(dir, 'astreinte.password'), 'utf8')).trim();
    const client = new pg.Client({ host: '127.0.0.1', port: Number(gw.env.EMBEDDED_PG_PORT), user: 'astreinte', password, database: 'astreinte' });
    await client.connect();
    try {
      // An error message quotes the value it could not take (22P02), a unique violation its key.
      await expect(client.query('SELECT $1::int', ['DUPONT^SECRET-ERROR'])).rejects.toThrow();
      await client.query('SELECT pg_sleep(1.2), $1::text AS name', ['DUPONT^SECRET-SLOW']);
    } finally {
      await client.end();
    }
    const logDir = path.join(dir, 'log');
    const text = await until('the statements in the server log', async () => {
      const files = (await readdir(logDir)).filter((f) => f.startsWith('postgresql-'));
      const all = (await Promise.all(files.map((f) => readFile(path.join(logDir, f), 'utf8')))).join('\n');
      return all.includes('pg_sleep(1.2)') ? all : undefined;
    }, 10_000);
    expect(text).toMatch(/duration: \d+/);
    expect(text).not.toContain('SECRET');
    for (const secret of [routed.patientId, held.patientId]) expect(text).not.toContain(secret);
  }, 30_000);

  it('/readyz without a token names the failing dependency, never its host or port', async () => {
    expect((await fetch(`${gw.url}/readyz`)).status).toBe(200);
    const port = new URL(s3.endpoint).port;
    await s3.stop();
    const res = await fetch(`${gw.url}/readyz`);
    expect(res.status).toBe(503);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ status: 'not ready', reason: 'the object store does not answer' });
    expect(text).not.toContain('127.0.0.1');
    expect(text).not.toContain(port);
  }, 30_000);
});
