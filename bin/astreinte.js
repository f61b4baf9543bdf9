#!/usr/bin/env node
// Ingest waits on fsync for every object; with libuv's default 4 threads, four fsyncs in flight would stall
// every other file operation of the process. Must be set before the thread pool first starts.
process.env.UV_THREADPOOL_SIZE ??= '32';

// Runs the TypeScript CLI through tsx's loader: no build step between `npm ci` and `npm start`.
const { register } = await import('tsx/esm/api');
register();
await import('../cli/astreinte-cli.ts');
