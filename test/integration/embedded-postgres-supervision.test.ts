/**
 * Nothing restarted the embedded PostgreSQL when it died (issue 13, transient faults). Its postmaster is killed
 * while instances are stored and searched: the gateway answers 503 meanwhile (never a crash), restarts the
 * server, and every instance it acknowledged is there afterwards.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import dicomParser from 'dicom-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCtSeries, SITES } from '../../test-data/generate-study.ts';
import { referencedInstances, stow } from '../support/dicomweb-http.ts';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';

const SAINT_GIRONS = '090000050';

async function postmasterPid(dataDir: string): Promise<number | undefined> {
  const text = await readFile(path.join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').catch(() => '');
  const pid = Number(text.split('\n')[0]);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

describe('the embedded PostgreSQL server killed during reads and writes', () => {
  let gw: GatewayProcess;

  beforeAll(async () => {
    gw = await startGateway();
  }, 120_000);
  afterAll(async () => {
    await gw?.dispose();
  });

  it('is restarted, and every acknowledged instance is kept', async () => {
    const sender = await gw.token('--role', 'sender', '--site', SAINT_GIRONS);
    const slices = [...generateCtSeries({ kind: 'ct-head', slices: 40, rows: 64, columns: 64, seed: 'supervision', site: SITES['saint-girons'] })];
    const acknowledged: string[] = [];
    const statuses = new Map<number, number>();
    const count = (status: number) => statuses.set(status, (statuses.get(status) ?? 0) + 1);
    let killedPid: number | undefined;

    const writes = (async () => {
      for (const [i, slice] of slices.entries()) {
        if (i === 10) {
          killedPid = await postmasterPid(gw.dataDir);
          process.kill(killedPid!, 'SIGKILL');
        }
        // Each instance is sent until acknowledged, as a sending gateway told Retry-After does.
        for (let attempt = 0; ; attempt++) {
          const result = await stow(gw.dicomweb, sender, [slice]);
          count(result.status);
          if (result.status === 200) {
            acknowledged.push(...referencedInstances(result.body));
            break;
          }
          expect(result.status, JSON.stringify(result.warnings)).toBe(503);
          expect(attempt).toBeLessThan(200);
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      }
    })();
    const reads = (async () => {
      const deadline = Date.now() + 60_000;
      while (acknowledged.length < slices.length && Date.now() < deadline) {
        const res = await fetch(`${gw.dicomweb}/studies?limit=10`, { headers: { authorization: `Bearer ${sender}` } });
        count(res.status);
        expect([200, 503]).toContain(res.status);
        if (res.status === 503) expect(res.headers.get('retry-after')).toBe('30');
        await res.arrayBuffer();
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    await Promise.all([writes, reads]);

    expect(statuses.get(503), 'the outage was seen').toBeGreaterThan(0);
    expect(gw.child.exitCode).toBeNull();
    const restartedPid = await postmasterPid(gw.dataDir);
    expect(restartedPid).toBeDefined();
    expect(restartedPid).not.toBe(killedPid);

    expect(new Set(acknowledged).size).toBe(slices.length);
    const study = dicomParser.parseDicom(slices[0], { untilTag: 'x7fe00010' }).string('x0020000d')!;
    const res = await fetch(`${gw.dicomweb}/studies/${study}/instances?limit=100`, { headers: { authorization: `Bearer ${sender}` } });
    expect(res.status).toBe(200);
    const found = ((await res.json()) as { '00080018': { Value: string[] } }[]).map((i) => i['00080018'].Value[0]);
    expect(found.sort()).toEqual([...new Set(acknowledged)].sort());
  }, 120_000);
});
