import { readFileSync } from 'node:fs';
import net from 'node:net';

/*
 * Test servers are restarted on the port they had (a killed gateway, Redis or PostgreSQL comes back where its
 * clients look for it). A port the kernel picked for `listen(0)` lies in the ephemeral range, which the kernel
 * also hands to every outgoing connection: between a stop and a restart, some client socket of a parallel test
 * may take it, and the restart fails with "address already in use" (seen in CI). So ports come from just below
 * the ephemeral range, which the kernel never hands out, in a band of their own for each parallel test worker,
 * and each is checked free before it is given.
 */

const BAND_SIZE = 1_000;
const BANDS = 20;

let nextOffset: number | undefined;

/** A TCP port on 127.0.0.1, free now, that the kernel will not hand to another socket of its own accord. */
export async function freePort(): Promise<number> {
  const band = privateBand();
  if (band === undefined) return kernelPickedPort();
  nextOffset ??= Math.floor(Math.random() * BAND_SIZE);
  for (let tries = 0; tries < BAND_SIZE; tries++) {
    const port = band.first + ((nextOffset + tries) % BAND_SIZE);
    if (!(await isFree(port))) continue;
    // Handed out in turn: a process gets the same port again only after a thousand others.
    nextOffset = (nextOffset + tries + 1) % BAND_SIZE;
    return port;
  }
  return kernelPickedPort();
}

/** This worker's band below the ephemeral range, or undefined when that range starts too low to leave room. */
function privateBand(): { first: number } | undefined {
  const ephemeralStart = ephemeralRangeStart();
  const lowest = ephemeralStart - BANDS * BAND_SIZE;
  if (lowest < 10_000) return undefined;
  const worker = Number(process.env.VITEST_POOL_ID ?? process.env.VITEST_WORKER_ID ?? 0);
  // Test runs side by side on one machine (several work trees) each set their own ASTREINTE_TEST_PORT_BAND
  // (0-9): a run has two workers, so two bands.
  const run = Number(process.env.ASTREINTE_TEST_PORT_BAND ?? 0);
  const first = Number.isInteger(run) && run >= 0 ? run * 2 : 0;
  const slot = Number.isInteger(worker) && worker >= 0 ? (first + worker) % BANDS : first % BANDS;
  return { first: lowest + slot * BAND_SIZE };
}

function ephemeralRangeStart(): number {
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (low !== undefined && Number.isInteger(low) && low > 0) return low;
  } catch {
    // not Linux: the IANA dynamic range
  }
  return 49_152;
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

function kernelPickedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('could not read the port of a listening socket'));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}
