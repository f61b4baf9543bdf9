#!/usr/bin/env node
// The command's entry point, in CommonJS on purpose: libuv's thread pool starts while an ES module entry is
// being loaded, before its first line runs, so only a CommonJS entry can still size it. Ingest waits on
// fsync for every object; with the default 4 threads, four fsyncs in flight stall every other file operation
// of the process (a radiologist's frame reads during an ingest: p50 47-63 ms with 4 threads, 42-44 ms with 32).
'use strict';
process.env.UV_THREADPOOL_SIZE ??= '32';
import('./astreinte.js').catch((error) => {
  console.error(error);
  process.exit(1);
});
