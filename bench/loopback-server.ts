// Trivial HTTP server, run as its own process, to measure the machine's loopback HTTP ceilings:
//   POST /sink    writes the body to a file in the directory given as argument, fdatasync, 200
//   GET /source?bytes=N  sends N bytes from memory
//   GET /tiny     sends "ok"
//   POST /durable the least an archive that acknowledges durably must do with a STOW request, and nothing
//                 else: the body streamed to a spool file while hashed (SHA-256), fdatasync, renamed into
//                 place, directory fsync'd, a small JSON answer. No multipart or DICOM parsing, no index.
//   POST /durable-instances the same for an archive that keeps each instance as its own object: each part of the
//                 multipart body streamed to its own spool file while hashed; at its end fdatasync and rename,
//                 the directory fsync'd (shared by concurrent parts); the answer once every part is durable.
//                 The multipart split is the only parsing; no DICOM parsing, no index.
//   DELETE /durable removes what POST /durable and /durable-instances stored
// Prints its port on stdout once listening.
import http from 'node:http';
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream, promises as fs } from 'node:fs';
import path from 'node:path';
import * as Multipasta from 'multipasta';
import { DirectorySyncer } from '../storage/objects/directory-syncer.ts';

const directory = process.argv[2] ?? '.';
const block = Buffer.alloc(1 << 20, 0x5a);

/** The request body written to `file`, then flushed to disk (fdatasync). */
async function writeBodySynced(request: http.IncomingMessage, file: string, highWaterMark: number): Promise<void> {
  const stream = createWriteStream(file, { highWaterMark });
  await new Promise<void>((resolve, reject) => {
    request.pipe(stream);
    stream.on('finish', resolve);
    stream.on('error', reject);
  });
  await flushFile(file);
}

async function flushFile(file: string): Promise<void> {
  const handle = await fs.open(file, 'r+');
  await handle.datasync();
  await handle.close();
}

async function sink(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
  const file = path.join(directory, `sink-${process.hrtime.bigint()}`);
  // Large writes, as a server built for throughput does (the default 16 KiB buffer makes thousands of writes).
  await writeBodySynced(request, file, 4 << 20);
  await fs.rm(file);
  response.end('stored');
}

const objects = path.join(directory, 'durable-objects');
const spool = path.join(directory, 'durable-spool');

async function durable(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
  const spooled = path.join(spool, randomUUID());
  const hash = createHash('sha256');
  request.on('data', (chunk: Buffer) => hash.update(chunk));
  await writeBodySynced(request, spooled, 1 << 20);
  await fs.rename(spooled, path.join(objects, `${hash.digest('hex')}-${randomUUID()}`));
  const dir = await fs.open(objects, 'r');
  await dir.sync();
  await dir.close();
  response.writeHead(200, { 'content-type': 'application/json' });
  response.end('{"stored":true}');
}

const directorySyncer = new DirectorySyncer();

async function durableInstances(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
  const boundary = /boundary="?([^";]+)"?/i.exec(request.headers['content-type'] ?? '')?.[1];
  if (!boundary) throw new Error('no multipart boundary');
  const stored: Promise<void>[] = [];
  const parser = Multipasta.make({
    headers: { 'content-type': `multipart/related; boundary="${boundary}"` },
    isFile: () => true,
    onField: () => undefined,
    onError: (error) => request.destroy(new Error(error._tag)),
    onDone: () => undefined,
    onFile: () => {
      const spooled = path.join(spool, randomUUID());
      const hash = createHash('sha256');
      const stream = createWriteStream(spooled, { highWaterMark: 1 << 20 });
      const closed = new Promise<void>((resolve, reject) => stream.on('close', resolve).on('error', reject));
      return (chunk) => {
        if (chunk !== null) {
          hash.update(chunk);
          if (!stream.write(chunk)) {
            request.pause();
            stream.once('drain', () => request.resume());
          }
          return;
        }
        stream.end();
        stored.push(
          closed.then(async () => {
            await flushFile(spooled);
            await fs.rename(spooled, path.join(objects, `${hash.digest('hex')}-${randomUUID()}`));
            await directorySyncer.sync(objects);
          }),
        );
      };
    },
  });
  request.on('data', (chunk: Buffer) => parser.write(chunk));
  await new Promise<void>((resolve, reject) => request.on('end', resolve).on('error', reject));
  parser.end();
  await Promise.all(stored);
  response.writeHead(200, { 'content-type': 'application/dicom+json' });
  // The shape of a STOW-RS answer: the bench's client counts the ReferencedSOPSequence items.
  response.end(JSON.stringify({ '00081199': { vr: 'SQ', Value: stored.map(() => ({})) } }));
}

async function clearDurable(response: http.ServerResponse): Promise<void> {
  await fs.rm(objects, { recursive: true, force: true });
  await fs.mkdir(objects, { recursive: true });
  response.end('cleared');
}

async function source(url: URL, response: http.ServerResponse): Promise<void> {
  let remaining = Number(url.searchParams.get('bytes') ?? 0);
  response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(remaining) });
  while (remaining > 0) {
    const chunk = remaining >= block.length ? block : block.subarray(0, remaining);
    remaining -= chunk.length;
    // Keep several megabytes queued: waiting for 'drain' after every 1 MiB write lets the socket run dry.
    if (!response.write(chunk) && response.writableLength > 8 << 20) await new Promise((resolve) => response.once('drain', resolve));
  }
  response.end();
}

const server = http.createServer((request, response) => {
  const url = new URL(request.url ?? '/', 'http://loopback');
  const done =
    request.method === 'POST' && url.pathname === '/sink'
      ? sink(request, response)
      : request.method === 'POST' && url.pathname === '/durable'
        ? durable(request, response)
        : request.method === 'POST' && url.pathname === '/durable-instances'
          ? durableInstances(request, response)
        : request.method === 'DELETE' && url.pathname === '/durable'
          ? clearDurable(response)
      : url.pathname === '/source'
        ? source(url, response)
        : Promise.resolve(void response.end('ok'));
  done.catch((error: Error) => {
    response.statusCode = 500;
    response.end(error.message);
  });
});
server.keepAliveTimeout = 60_000;
await fs.mkdir(objects, { recursive: true });
await fs.mkdir(spool, { recursive: true });
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`${typeof address === 'object' && address ? address.port : 0}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
