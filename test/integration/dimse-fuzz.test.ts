/**
 * DIMSE listener fuzzing against a real gateway process: hundreds of connections sending broken PDUs
 * (test/fuzz/dimse-pdus.ts: truncated, oversized, wrong lengths, unknown types, random bytes). The listener must
 * survive, keep its memory, leave nothing in the spool and go on serving real peers (echoscu, storescu).
 * Reproducible: DIMSE_FUZZ_SEED=1234 replays a run.
 */
import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { associateRq, hostileConnection } from '../fuzz/dimse-pdus.ts';
import { Prng } from '../fuzz/prng.ts';
import { runDcmtk, storeStatuses } from '../support/dcmtk.ts';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { DICOM_SAMPLES } from '../support/shared-samples.ts';

const SEED = process.env.DIMSE_FUZZ_SEED ? Number(process.env.DIMSE_FUZZ_SEED) >>> 0 : randomInt(2 ** 32);
const CONNECTIONS = Number(process.env.DIMSE_FUZZ_CONNECTIONS ?? 400);
const CONCURRENCY = 8;

/** Sends bytes, then waits for the server to close the connection (or gives up after `waitMs`). */
function hit(port: number, bytes: Buffer, waitMs: number): Promise<{ closedByServer: boolean; received: number }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = 0;
    let done = false;
    const finish = (closedByServer: boolean) => {
      if (done) return;
      done = true;
      socket.destroy();
      resolve({ closedByServer, received });
    };
    socket.on('data', (d) => (received += d.length));
    socket.on('error', () => finish(true));
    socket.on('close', () => finish(true));
    socket.on('connect', () => socket.write(bytes));
    setTimeout(() => finish(false), waitMs).unref();
  });
}

function rssKiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
}

describe(`DIMSE listener fuzzing (seed ${SEED})`, () => {
  let gw: GatewayProcess;
  let port: number;
  beforeAll(async () => {
    gw = await startGateway();
    port = Number(gw.env.DIMSE_PORT);
  }, 90_000);
  afterAll(async () => {
    await gw?.dispose();
  });

  it('closes a connection announcing a 4 GB P-DATA-TF at once, without gathering what follows', async () => {
    const before = rssKiB(gw.child.pid!);
    const header = Buffer.alloc(6);
    header[0] = 0x04;
    header.writeUInt32BE(0xfffffff0, 2);
    const result = await hit(port, Buffer.concat([associateRq('CHIVA_CT', 'ASTREINTE'), header, Buffer.alloc(32 * 1024 * 1024)]), 10_000);
    expect(result.closedByServer).toBe(true);
    expect(rssKiB(gw.child.pid!) - before).toBeLessThan(24 * 1024);
  });

  it('survives hundreds of broken PDUs and keeps serving echoscu and storescu', async () => {
    const prng = new Prng(SEED);
    const cases = Array.from({ length: CONNECTIONS }, () => hostileConnection(prng.fork(), 'CHIVA_CT', 'ASTREINTE'));
    let next = 0;
    const worker = async () => {
      while (next < cases.length) {
        const { bytes } = cases[next++];
        await hit(port, bytes, 300);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    expect(gw.child.exitCode, gw.output()).toBeNull();
    expect(rssKiB(gw.child.pid!)).toBeLessThan(600 * 1024);

    const echo = await runDcmtk('echoscu', ['-aet', 'CHIVA_CT', '-aec', 'ASTREINTE', '127.0.0.1', String(port)]);
    expect(echo.code, echo.output).toBe(0);
    const store = await runDcmtk('storescu', ['-d', '-aet', 'CHIVA_CT', '-aec', 'ASTREINTE', '127.0.0.1', String(port), path.join(DICOM_SAMPLES, 'CT_small.dcm')]);
    expect(storeStatuses(store.output)).toEqual([0]);
    // Give the server a moment to drop what the hostile connections left, then nothing may remain in the spool.
    await new Promise((r) => setTimeout(r, 500));
    expect(await readdir(path.join(gw.dataDir, 'spool'))).toEqual([]);
  }, 180_000);
});
