// Trivial HTTP server, run as its own process, to measure the machine's loopback HTTP ceilings:
//   POST /sink    writes the body to a file in the directory given as argument, fdatasync, 200
//   GET /source?bytes=N  sends N bytes from memory
//   GET /tiny     sends "ok"
//   POST /durable the least an archive that acknowledges durably must do with a STOW request, and nothing
//                 else: the body streamed to a spool file while hashed (SHA-256), fdatasync, renamed into
//                 place, directory fsync'd, a small JSON answer. No multipart or DICOM parsing, no index.
//   DELETE /durable removes what POST /durable stored
// Prints its port on stdout once listening.
import http from 'node:http';
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream, promises as fs } from 'node:fs';
import path from 'node:path';

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
