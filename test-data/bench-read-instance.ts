/**
 * Measures readInstanceFile on generated files (warm page cache): a 512x512 CT slice, a chest radiograph, and
 * 300-frame 512x512 multi-frame instances (native, RLE with and without Basic Offset Table).
 *
 *   npx tsx test-data/bench-read-instance.ts [--dir /tmp/astreinte-bench-read] [--iterations 200]
 */
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { readInstanceFile } from '../core/dicom/read-instance-file.ts';
import { generateMultiFrame } from './generate-multiframe.ts';
import { generateChestXray, generateCtSeries } from './generate-study.ts';

const { values } = parseArgs({ options: { dir: { type: 'string' }, iterations: { type: 'string' } } });
const dir = values.dir ?? '/tmp/astreinte-bench-read';
const iterations = Number(values.iterations ?? 200);
mkdirSync(dir, { recursive: true });

function write(name: string, bytes: Buffer): string {
  const file = path.join(dir, name);
  writeFileSync(file, bytes);
  return file;
}

const cases: [string, string][] = [
  ['CT slice 512x512 (Explicit VR LE)', write('ct.dcm', generateCtSeries({ kind: 'ct-head', slices: 1, seed: 'bench' }).next().value as Buffer)],
  ['DX 2500x3000 (15 MB)', write('dx.dcm', generateChestXray({ seed: 'bench' }))],
  ['300 frames 512x512 native (157 MB)', write('mf-native.dcm', generateMultiFrame({ frames: 300, rows: 512, columns: 512 }))],
  ['300 frames 512x512 RLE + Basic Offset Table', write('mf-rle.dcm', generateMultiFrame({ frames: 300, rows: 512, columns: 512, encoding: 'rle' }))],
  ['300 frames 512x512 RLE, no offset table', write('mf-rle-nobot.dcm', generateMultiFrame({ frames: 300, rows: 512, columns: 512, encoding: 'rle-no-offset-table' }))],
  ['300 frames 512x512 RLE + Extended Offset Table', write('mf-rle-eot.dcm', generateMultiFrame({ frames: 300, rows: 512, columns: 512, encoding: 'rle-extended-offset-table' }))],
];

for (const [label, file] of cases) {
  for (let i = 0; i < 20; i++) await readInstanceFile(file); // warm up (JIT, page cache)
  const times: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const started = performance.now();
    const parsed = await readInstanceFile(file);
    times.push(performance.now() - started);
    if (parsed.frames.length === 0) throw new Error('no frames');
  }
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))].toFixed(3);
  const size = (statSync(file).size / 1e6).toFixed(1);
  console.log(`${label.padEnd(46)} ${size.padStart(6)} MB  median ${at(0.5)} ms  p95 ${at(0.95)} ms  max ${at(1)} ms`);
}
