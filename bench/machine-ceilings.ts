// What this machine can do at best, measured in the same run as the servers: the figures the
// servers' throughputs are compared with.
import { spawn } from 'node:child_process';
import { openSync, writeSync, fdatasyncSync, closeSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expectStatus, keepAliveAgent, runPool, send } from './http-client.ts';
import { megabytesPerSecond, median, perSecond } from './stats.ts';

export interface Ceilings {
  diskWriteMBps: number;
  loopbackPostToDiskMBps: number;
  loopbackGetMBps: number;
  tinyRequestsPerSecond: number;
  tinyRequestP50Ms: number;
  /**
   * The STOW workloads' own request bodies, 4 clients, to a trivial durable receiver (loopback-server.ts
   * POST /durable: spool + SHA-256 + fdatasync + rename + directory fsync, no parsing, no index): what any
   * archive that acknowledges durably can reach at best on this machine for requests of this shape.
   */
  durableReceiver?: Partial<Record<DurableShape, number>>;
  /**
   * The same requests to the per-instance durable receiver (POST /durable-instances: each part streamed to its
   * own file, SHA-256, fdatasync, rename, shared directory fsync): what any archive that keeps each instance as
   * its own durable object, as DICOMweb archives and object stores do, can reach at best on this machine.
   */
  perInstanceReceiver?: Partial<Record<DurableShape, number>>;
}

/** Request shapes of the STOW workloads measured against the durable receiver. */
export type DurableShape = 'one' | 'ten' | 'fifty';

export interface StowRequestSample {
  shape: DurableShape;
  /** Complete requests (the multipart bodies the STOW workload sends). */
  requests: { contentType: string; chunks: Buffer[]; bytes: number }[];
}

const CHUNK = 4 << 20;

/** Sequential write of `bytes` in 4 MiB blocks, then fdatasync; the file is removed afterwards. */
export function measureDiskWrite(directory: string, bytes: number): number {
  const file = path.join(directory, 'ceiling-disk-write');
  const block = Buffer.alloc(CHUNK, 0xa5);
  const started = performance.now();
  const fd = openSync(file, 'w');
  for (let written = 0; written < bytes; written += CHUNK) writeSync(fd, block, 0, Math.min(CHUNK, bytes - written));
  fdatasyncSync(fd);
  closeSync(fd);
  const elapsed = performance.now() - started;
  rmSync(file);
  return megabytesPerSecond(bytes, elapsed);
}

export async function startLoopbackServer(directory: string): Promise<{ port: number; pid: number; stop: () => void }> {
  const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'loopback-server.ts');
  const child = spawn(process.execPath, ['--import', 'tsx', script, directory], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.once('data', (data: Buffer) => resolve(Number(data.toString().trim())));
    child.once('exit', (code) => reject(new Error(`loopback server exited with ${code}`)));
  });
  return { port, pid: child.pid as number, stop: () => child.kill('SIGTERM') };
}

export async function measureCeilings(
  directory: string,
  options: { diskBytes: number; httpBytes: number; tinyRequests: number; stowSamples?: StowRequestSample[] },
): Promise<Ceilings> {
  const diskWriteMBps = median([measureDiskWrite(directory, options.diskBytes), measureDiskWrite(directory, options.diskBytes)]);
  const server = await startLoopbackServer(directory);
  const agent = keepAliveAgent(4);
  const origin = `http://127.0.0.1:${server.port}`;
  try {
    const body = Array.from({ length: Math.ceil(options.httpBytes / (1 << 20)) }, () => Buffer.alloc(1 << 20, 0x3c));
    const postOnce = (chunks: Buffer[]) => send(agent, { method: 'POST', url: `${origin}/sink`, body: chunks, headers: { 'content-type': 'application/octet-stream' } });
    const getOnce = (bytes: number) => send(agent, { url: `${origin}/source?bytes=${bytes}` });
    // Warm-up (connections, JIT), then the best of two: a ceiling is what the machine can do at best.
    await postOnce(body.slice(0, 16));
    await getOnce(16 << 20);
    const posts = [await postOnce(body), await postOnce(body)];
    const gets = [await getOnce(options.httpBytes), await getOnce(options.httpBytes)];
    await runPool(Array.from({ length: 200 }), 4, () => send(agent, { url: `${origin}/tiny` }));
    const started = performance.now();
    const tiny = await runPool(Array.from({ length: options.tinyRequests }), 4, () => send(agent, { url: `${origin}/tiny` }));
    const elapsed = performance.now() - started;
    const durableReceiver: Partial<Record<DurableShape, number>> = {};
    const perInstanceReceiver: Partial<Record<DurableShape, number>> = {};
    for (const sample of options.stowSamples ?? []) {
      durableReceiver[sample.shape] = await measureDurableReceiver(agent, `${origin}/durable`, sample);
      perInstanceReceiver[sample.shape] = await measureDurableReceiver(agent, `${origin}/durable-instances`, sample);
    }
    return {
      durableReceiver,
      perInstanceReceiver,
      diskWriteMBps,
      loopbackPostToDiskMBps: Math.max(...posts.map((post) => megabytesPerSecond(body.length << 20, post.totalMs))),
      loopbackGetMBps: Math.max(...gets.map((get) => megabytesPerSecond(get.bytes, get.totalMs))),
      tinyRequestsPerSecond: perSecond(tiny.length, elapsed),
      tinyRequestP50Ms: median(tiny.map((result) => result.totalMs)),
    };
  } finally {
    agent.destroy();
    server.stop();
  }
}

/** Warm-up, then the best of two passes over the sample's requests with 4 clients. */
async function measureDurableReceiver(agent: ReturnType<typeof keepAliveAgent>, url: string, sample: StowRequestSample): Promise<number> {
  const post = async (request: StowRequestSample['requests'][number]) =>
    expectStatus(await send(agent, { method: 'POST', url, body: request.chunks, headers: { 'content-type': request.contentType }, keepBody: true }), [200], `POST ${url}`);
  // What the receiver stored is removed after each pass (untimed): the large study is a gigabyte.
  const clear = () => send(agent, { method: 'DELETE', url: `${new URL(url).origin}/durable` });
  await runPool(sample.requests.slice(0, Math.min(20, Math.ceil(sample.requests.length / 10))), 4, post);
  await clear();
  const bytes = sample.requests.reduce((sum, request) => sum + request.bytes, 0);
  const passes: number[] = [];
  for (let pass = 0; pass < 2; pass++) {
    const started = performance.now();
    await runPool(sample.requests, 4, post);
    passes.push(megabytesPerSecond(bytes, performance.now() - started));
    await clear();
  }
  return Math.max(...passes);
}

/** The better of two measurements of each ceiling (other load on the machine only ever lowers them). */
export function bestCeilings(a: Ceilings, b: Ceilings): Ceilings {
  return {
    diskWriteMBps: Math.max(a.diskWriteMBps, b.diskWriteMBps),
    loopbackPostToDiskMBps: Math.max(a.loopbackPostToDiskMBps, b.loopbackPostToDiskMBps),
    loopbackGetMBps: Math.max(a.loopbackGetMBps, b.loopbackGetMBps),
    tinyRequestsPerSecond: Math.max(a.tinyRequestsPerSecond, b.tinyRequestsPerSecond),
    tinyRequestP50Ms: Math.min(a.tinyRequestP50Ms, b.tinyRequestP50Ms),
    durableReceiver: bestOfShapes(a.durableReceiver ?? {}, b.durableReceiver ?? {}),
    perInstanceReceiver: bestOfShapes(a.perInstanceReceiver ?? {}, b.perInstanceReceiver ?? {}),
  };
}

function bestOfShapes(a: Partial<Record<DurableShape, number>>, b: Partial<Record<DurableShape, number>>): Partial<Record<DurableShape, number>> {
  const best: Partial<Record<DurableShape, number>> = {};
  for (const shape of new Set([...Object.keys(a), ...Object.keys(b)] as DurableShape[])) {
    best[shape] = Math.max(a[shape] ?? Number.NEGATIVE_INFINITY, b[shape] ?? Number.NEGATIVE_INFINITY);
  }
  return best;
}
