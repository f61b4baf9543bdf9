/**
 * Writes synthetic DICOM files to a directory.
 *
 *   npx tsx test-data/generate.ts ct-head --slices 300 --out /tmp/x
 *   npx tsx test-data/generate.ts ct-chest --slices 400 --rows 512 --columns 512 --seed demo --site foix --out /tmp/x
 *   npx tsx test-data/generate.ts chest-xray --out /tmp/x [--rows 3000 --columns 2500]
 *   npx tsx test-data/generate.ts studies --count 10000 --out /tmp/x
 *   npx tsx test-data/generate.ts multiframe --frames 300 [--encoding native|rle|rle-no-offset-table|rle-extended-offset-table] --out /tmp/x
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { generateMultiFrame, type MultiFrameEncoding } from './generate-multiframe.ts';

const MULTIFRAME_ENCODINGS: MultiFrameEncoding[] = ['native', 'rle', 'rle-no-offset-table', 'rle-extended-offset-table'];
import { generateChestXray, generateCtSeries, generateStudies, SITES, type SiteProfile } from './generate-study.ts';

const USAGE = `usage: npx tsx test-data/generate.ts <ct-head|ct-chest|chest-xray|studies|multiframe> --out DIR
  [--slices N] [--count N] [--frames N] [--rows N] [--columns N] [--seed S]
  [--site ${Object.keys(SITES).join('|')}] [--encoding ${MULTIFRAME_ENCODINGS.join('|')}]`;

function main(): void {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      out: { type: 'string' },
      slices: { type: 'string' },
      count: { type: 'string' },
      frames: { type: 'string' },
      rows: { type: 'string' },
      columns: { type: 'string' },
      seed: { type: 'string' },
      site: { type: 'string' },
      encoding: { type: 'string' },
    },
  });
  const kind = positionals[0];
  if (!kind || !values.out) fail(USAGE);
  const out = values.out;
  mkdirSync(out, { recursive: true });
  const int = (value: string | undefined, fallback?: number) => {
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) fail(`not a positive integer: ${value}`);
    return n;
  };
  const site = values.site === undefined ? undefined : siteNamed(values.site);
  const rows = int(values.rows);
  const columns = int(values.columns);
  const seed = values.seed;
  const started = performance.now();
  let files = 0;
  let bytes = 0;
  const write = (name: string, data: Buffer) => {
    writeFileSync(path.join(out, name), data);
    files++;
    bytes += data.length;
  };

  switch (kind) {
    case 'ct-head':
    case 'ct-chest': {
      const slices = int(values.slices, 100) ?? 100;
      let i = 0;
      for (const file of generateCtSeries({ kind, slices, rows, columns, seed, site })) write(`${kind}-${String(++i).padStart(4, '0')}.dcm`, file);
      break;
    }
    case 'chest-xray':
      write('chest-xray.dcm', generateChestXray({ seed, rows, columns, site }));
      break;
    case 'studies': {
      const count = int(values.count, 100) ?? 100;
      let i = 0;
      for (const file of generateStudies(count, { seed, site })) write(`study-${String(++i).padStart(6, '0')}.dcm`, file);
      break;
    }
    case 'multiframe': {
      const encoding = values.encoding ?? 'native';
      if (!MULTIFRAME_ENCODINGS.includes(encoding as MultiFrameEncoding)) fail(USAGE);
      const options = { frames: int(values.frames, 100) ?? 100, rows, columns, seed, encoding: encoding as MultiFrameEncoding, site };
      write(`multiframe-${encoding}.dcm`, generateMultiFrame(options));
      break;
    }
    default:
      fail(USAGE);
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(`${files} file(s), ${(bytes / 1e6).toFixed(1)} MB written to ${out} in ${seconds.toFixed(1)} s`);
}

function siteNamed(name: string): SiteProfile {
  const site = (SITES as Record<string, SiteProfile>)[name];
  if (!site) fail(`unknown site ${name}; known: ${Object.keys(SITES).join(', ')}`);
  return site;
}

function fail(message: string): never {
  console.error(message);
  process.exit(2);
}

main();
