import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

export interface S3Server {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  /** Not created yet: the store under test creates it in init(). */
  bucket: string;
  stop(): Promise<void>;
}

const require = createRequire(import.meta.url);
const startTimeoutMs = 20_000;

/**
 * The child process: s3rver on 127.0.0.1, port chosen by the OS (printed on stdout), with two fixes so
 * that it behaves as S3 does on the points our contract checks:
 * - s3rver writes an object in place while its body streams in, so a HEAD/GET meanwhile sees part of it;
 *   S3 shows a PUT all at once. The fix writes under a scratch bucket directory, then renames into place.
 * - s3rver reads `Range: bytes=0-0` as the whole object (`0 || Infinity`); S3 serves the first byte.
 * Note that s3rver checks only the access key of V4-signed requests, not the signature.
 */
const launcher = String.raw`
const [s3rverPath, storePath, directory] = process.argv.slice(1);
const fs = require('node:fs');
const path = require('node:path');
const { randomUUID } = require('node:crypto');
const S3rver = require(s3rverPath);
const Store = require(storePath);

const putInPlace = Store.prototype.putObject;
Store.prototype.putObject = async function (object) {
  const scratch = { bucket: '.s3rver-scratch', key: randomUUID(), content: object.content, metadata: object.metadata };
  const result = await putInPlace.call(this, scratch);
  for (const resource of ['metadata.json', 'object.md5', 'object']) {
    const to = this.getResourcePath(object.bucket, object.key, resource);
    await fs.promises.mkdir(path.dirname(to), { recursive: true });
    await fs.promises.rename(this.getResourcePath(scratch.bucket, scratch.key, resource), to);
  }
  return result;
};

const getObject = Store.prototype.getObject;
Store.prototype.getObject = async function (bucket, key, options) {
  const object = await getObject.call(this, bucket, key, options);
  if (object && object.content && options && options.start === 0 && options.end === 0) {
    object.content.destroy();
    object.content = fs.createReadStream(this.getResourcePath(bucket, key, 'object'), { start: 0, end: 0 });
    object.range = { start: 0, end: 0 };
  }
  return object;
};

new S3rver({ directory, address: '127.0.0.1', port: 0, silent: true }).run().then(
  ({ port }) => console.log('s3rver listening on port ' + port),
  (err) => { console.error(err); process.exit(1); },
);
`;

/**
 * Runs s3rver (a real S3-protocol HTTP server) as a separate node process on 127.0.0.1 and a free port,
 * with a fresh data directory. stop() kills that process only and removes the directory.
 */
export async function startS3Server(): Promise<S3Server> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'astreinte-s3rver-'));
  const args = [require.resolve('s3rver'), require.resolve('s3rver/lib/stores/filesystem.js'), dir];
  const child = spawn(process.execPath, ['-e', launcher, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const stop = async () => {
    process.removeListener('exit', killOnExit);
    await killAndWait(child);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const port = await waitForPort(child);
    const endpoint = `http://127.0.0.1:${port}`;
    await waitUntilAnswering(endpoint);
    return { endpoint, accessKey: 'S3RVER', secretKey: 'S3RVER', bucket: 'astreinte-test', stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

function waitForPort(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let output = '';
    const fail = (why: string) => reject(new Error(`s3rver ${why}:\n${output}`));
    const timer = setTimeout(() => fail(`printed no port within ${startTimeoutMs} ms`), startTimeoutMs);
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    child.stdout?.on('data', (d: Buffer) => {
      output += d.toString();
      const match = /listening on port (\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(`exited during start-up (code ${code})`);
    });
  });
}

async function waitUntilAnswering(endpoint: string): Promise<void> {
  const deadline = Date.now() + startTimeoutMs;
  for (;;) {
    try {
      await fetch(endpoint, { signal: AbortSignal.timeout(1000) });
      return; // any HTTP answer means it is serving
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`s3rver did not answer on ${endpoint}`, { cause: err });
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

function killAndWait(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
