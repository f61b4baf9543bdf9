/**
 * WADO-RS rendered resources and thumbnails (PS3.18 10.4.1) against a real gateway and the shared sample files
 * in every stored transfer syntax. Pixels are compared with DCMTK's rendering (dcmj2pnm) of the same file and
 * window; JPEG 2000 (which DCMTK does not read) is compared with the uncompressed original of the same image.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSettings } from '../../config/settings.ts';
import { openDatabase } from '../../storage/database/database.ts';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { parseMultipart, referencedInstances, stow } from '../support/dicomweb-http.ts';
import { DICOM_SAMPLES } from '../support/shared-samples.ts';

const run = promisify(execFile);
const PYDICOM = '/usr/lib/python3/dist-packages/pydicom/data/test_files';
const PYDICOM_FILES = [
  'SC_ybr_full_422_uncompressed',
  'SC_rgb_rle_16bit',
  'SC_rgb_rle_32bit',
  'SC_rgb_small_odd',
  'SC_jpeg_no_color_transform',
  'SC_rgb_dcmtk_+eb+cy+s2',
];
const SITE_A = '310780010';
const SITE_B = '310781406';

interface Image {
  width: number;
  height: number;
  /** RGBA. */
  data: Uint8Array;
}

/** One sample stored under its own SOP Instance UID (several samples share one: copies get a new one). */
interface Stored {
  file: string;
  study: string;
  series: string;
  sop: string;
}

let gw: GatewayProcess;
let tokenA: string;
let tokenB: string;
let work: string;
const stored: Record<string, Stored> = {};

async function dump(file: string, tag: string): Promise<string> {
  const { stdout } = await run('dcmdump', ['-q', '+P', tag, file]);
  return /\[([^\]]*)\]/.exec(stdout)?.[1] ?? '';
}

/** Copies a sample (or a file made from one) under a new SOP Instance UID and stores it. */
async function store(name: string, source: string, uidSuffix: number): Promise<void> {
  const file = path.join(work, `${name}.dcm`);
  await copyFile(source, file);
  const sop = `1.2.826.0.1.3680043.10.1077.${process.pid}.${uidSuffix}`;
  await run('dcmodify', ['-q', '-nb', '-i', `(0008,0018)=${sop}`, file]);
  const result = await stow(gw.dicomweb, tokenA, [await readFile(file)]);
  expect(referencedInstances(result.body), `${name}: ${result.warnings.join(' ')}`).toEqual([sop]);
  stored[name] = { file, study: await dump(file, '0020,000d'), series: await dump(file, '0020,000e'), sop };
}

function url(s: Stored, tail: string): string {
  return `${gw.dicomweb}/studies/${s.study}/series/${s.series}/instances/${s.sop}${tail}`;
}

async function get(target: string, accept?: string, token = tokenA): Promise<Response> {
  return fetch(target, { headers: { authorization: `Bearer ${token}`, ...(accept ? { accept } : {}) } });
}

function decode(bytes: Buffer, type: string): Image {
  if (type.startsWith('image/png')) {
    const png = PNG.sync.read(bytes);
    return { width: png.width, height: png.height, data: png.data };
  }
  const img = jpeg.decode(bytes, { useTArray: true });
  return { width: img.width, height: img.height, data: img.data };
}

async function rendered(target: string, accept = 'image/png'): Promise<Image> {
  const res = await get(target, accept);
  const body = Buffer.from(await res.arrayBuffer());
  expect(res.status, body.toString().slice(0, 300)).toBe(200);
  expect(res.headers.get('content-type')).toBe(accept);
  return decode(body, accept);
}

/** DCMTK's rendering of the file as an 8-bit PNG, with dcmj2pnm's options (window, function...). */
async function dcmtk(file: string, ...options: string[]): Promise<Image> {
  const out = path.join(work, `dcmtk-${Math.random().toString(36).slice(2)}.png`);
  await run('dcmj2pnm', ['-q', '+on', ...options, file, out]);
  const png = PNG.sync.read(await readFile(out));
  return { width: png.width, height: png.height, data: png.data };
}

/** Largest and mean absolute difference over the RGB channels. */
function difference(a: Image, b: Image): { max: number; mean: number } {
  expect([a.width, a.height]).toEqual([b.width, b.height]);
  let max = 0;
  let sum = 0;
  let n = 0;
  for (let i = 0; i < a.data.length; i++) {
    if (i % 4 === 3) continue;
    const d = Math.abs(a.data[i] - b.data[i]);
    max = Math.max(max, d);
    sum += d;
    n++;
  }
  return { max, mean: sum / n };
}

function mean(image: Image): number {
  let sum = 0;
  for (let i = 0; i < image.data.length; i += 4) sum += image.data[i];
  return sum / (image.data.length / 4);
}

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'astreinte-rendered-'));
  gw = await startGateway();
  [tokenA, tokenB] = await Promise.all([gw.token('--role', 'sender', '--site', SITE_A), gw.token('--role', 'sender', '--site', SITE_B)]);
  const sample = (name: string) => path.join(DICOM_SAMPLES, name);
  // A JPEG Lossless (Process 14 SV1) copy of MR_small, made by DCMTK: no shared sample has that syntax.
  await run('dcmcjpeg', ['-q', '+e1', sample('MR_small.dcm'), path.join(work, 'mr-jpeg-lossless-source.dcm')]);
  // A PALETTE COLOR copy of MR_small (no sample has one): 4096-entry 16-bit tables, so read as bulk data.
  const paletteSource = path.join(work, 'mr-palette-source.dcm');
  await copyFile(sample('MR_small.dcm'), paletteSource);
  const table = (f: (i: number) => number) => Array.from({ length: 4096 }, (_, i) => f(i).toString(16)).join('\\');
  await run('dcmodify', [
    '-q', '-nb', '-m', '(0028,0004)=PALETTE COLOR', '-m', '(0028,0103)=0', '-e', '(0028,1050)', '-e', '(0028,1051)',
    ...['(0028,1101)', '(0028,1102)', '(0028,1103)'].flatMap((tag) => ['-i', `${tag}=4096\\0\\16`]),
    '-i', `(0028,1201)=${table((i) => Math.min(65535, i * 16))}`,
    '-i', `(0028,1202)=${table((i) => 65535 - Math.min(65535, i * 16))}`,
    '-i', `(0028,1203)=${table((i) => (i * 64) % 65536)}`,
    paletteSource,
  ]);
  const files: Array<[string, string]> = [
    ['mr-palette', paletteSource],
    ['mr', sample('MR_small.dcm')],
    ['mr-implicit', sample('MR_small_implicit.dcm')],
    ['mr-bigendian', sample('MR_small_bigendian.dcm')],
    ['mr-rle', sample('MR_small_RLE.dcm')],
    ['mr-jpeg-ls', sample('MR_small_jpeg_ls_lossless.dcm')],
    ['mr-j2k', sample('MR_small_jp2klossless.dcm')],
    ['mr-jpeg-lossless', path.join(work, 'mr-jpeg-lossless-source.dcm')],
    ['ct', sample('CT_small.dcm')],
    ['rgb-rle', sample('SC_rgb_rle.dcm')],
    ['rgb-jpeg', sample('SC_rgb_jpeg_dcmtk.dcm')],
    ['nm-j2k', sample('JPEG2000.dcm')],
    ['jpeg-12bit', sample('JPEG-lossy.dcm')],
    ['rtdose', sample('rtdose.dcm')],
    ['sr', sample('test-SR.dcm')],
    // pydicom's test files (python3-pydicom, installed by scripts/test.sh): layouts no shared sample has.
    ...PYDICOM_FILES.map((name): [string, string] => [name, path.join(PYDICOM, `${name}.dcm`)]),
  ];
  let n = 0;
  for (const [name, file] of files) await store(name, file, ++n);
}, 120_000);

afterAll(async () => {
  await gw?.dispose();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('rendered frames match DCMTK in every transfer syntax', () => {
  const variants = ['mr', 'mr-implicit', 'mr-bigendian', 'mr-rle', 'mr-jpeg-ls', 'mr-j2k', 'mr-jpeg-lossless'];

  it.each(variants)('%s: the instance window (600/1600) gives the pixels dcmj2pnm gives MR_small.dcm', async (name) => {
    const ours = await rendered(url(stored[name], '/rendered'));
    const reference = await dcmtk(stored.mr.file, '+Wi', '1');
    expect(difference(ours, reference).max).toBeLessThanOrEqual(1);
  });

  it('CT: Modality LUT then window=40,400 (linear), and sigmoid, as dcmj2pnm', async () => {
    const linear = await rendered(url(stored.ct, '/rendered?window=40,400,linear'));
    expect(difference(linear, await dcmtk(stored.ct.file, '+Ww', '40', '400')).max).toBeLessThanOrEqual(1);
    const sigmoid = await rendered(url(stored.ct, '/frames/1/rendered?window=40,400,sigmoid'));
    expect(difference(sigmoid, await dcmtk(stored.ct.file, '+Ww', '40', '400', '+Wfs')).max).toBeLessThanOrEqual(1);
    expect(difference(linear, sigmoid).mean).toBeGreaterThan(1);
  });

  it('CT without a window in the file: minimum to maximum, as dcmj2pnm +Wm', async () => {
    const ours = await rendered(url(stored.ct, '/rendered'));
    expect(difference(ours, await dcmtk(stored.ct.file, '+Wm')).max).toBeLessThanOrEqual(2);
  });

  it('the window changes the pixels: a narrow bone window is darker than a wide one', async () => {
    const soft = await rendered(url(stored.ct, '/rendered?window=40,400'));
    const bone = await rendered(url(stored.ct, '/rendered?window=500,2000,linear-exact'));
    expect(difference(soft, bone).mean).toBeGreaterThan(10);
  });

  it('RGB in RLE (planar segments) is the colour image dcmj2pnm shows', async () => {
    const ours = await rendered(url(stored['rgb-rle'], '/rendered'));
    expect(difference(ours, await dcmtk(stored['rgb-rle'].file)).max).toBe(0);
  });

  it('YBR_FULL JPEG Baseline is converted to RGB like dcmj2pnm does (within the two decoders’ rounding)', async () => {
    const ours = await rendered(url(stored['rgb-jpeg'], '/rendered'));
    const diff = difference(ours, await dcmtk(stored['rgb-jpeg'].file));
    expect(diff.mean).toBeLessThan(1);
    expect(diff.max).toBeLessThanOrEqual(8);
  });

  it('JPEG 2000 (lossy, 256x1024 NM) decodes to its full size, not blank', async () => {
    const image = await rendered(url(stored['nm-j2k'], '/rendered'), 'image/jpeg');
    expect([image.width, image.height]).toEqual([256, 1024]);
    const m = mean(image);
    expect(m).toBeGreaterThan(1);
    expect(m).toBeLessThan(254);
  });

  it.each([
    ['SC_ybr_full_422_uncompressed', [], 2],
    ['SC_rgb_rle_16bit', [], 1],
    ['SC_rgb_rle_32bit', [], 1],
    ['SC_rgb_small_odd', [], 0],
    ['SC_jpeg_no_color_transform', [], 8],
    ['SC_rgb_dcmtk_+eb+cy+s2', [], 8],
  ] as const)('pydicom %s (native YBR 4:2:2, RGB RLE 16/32-bit, odd sizes, RGB and YBR 4:2:2 JPEG) as dcmj2pnm', async (name, options, tolerance) => {
    const ours = await rendered(url(stored[name], '/rendered'));
    expect(difference(ours, await dcmtk(stored[name].file, ...options)).max).toBeLessThanOrEqual(tolerance);
  });

  it('PALETTE COLOR: each stored value looks up its colour in the tables (read as bulk data), as dcmj2pnm', async () => {
    const ours = await rendered(url(stored['mr-palette'], '/rendered'));
    expect(difference(ours, await dcmtk(stored['mr-palette'].file)).max).toBe(0);
  });

  it('a multi-frame RT dose: one frame as PNG, the instance as one part per frame', async () => {
    const frame = await rendered(url(stored.rtdose, '/frames/8/rendered'));
    expect([frame.width, frame.height]).toEqual([10, 10]);
    expect(difference(frame, await dcmtk(stored.rtdose.file, '+F', '8', '+Wm')).max).toBeLessThanOrEqual(2);
    const res = await get(url(stored.rtdose, '/rendered'), 'multipart/related; type="image/png"');
    expect(res.status).toBe(200);
    const parts = parseMultipart(Buffer.from(await res.arrayBuffer()), res.headers.get('content-type')!);
    expect(parts).toHaveLength(15);
    expect(parts.every((p) => p.headers['content-type'] === 'image/png')).toBe(true);
    expect(parts[7].headers['content-location']).toMatch(/\/frames\/8\/rendered$/);
  });
});

describe('viewport, quality and thumbnails', () => {
  it('viewport=32,32 scales a 128x128 CT down, keeping its mean', async () => {
    const full = await rendered(url(stored.ct, '/rendered?window=40,400'));
    const small = await rendered(url(stored.ct, '/rendered?window=40,400&viewport=32,32'));
    expect([small.width, small.height]).toEqual([32, 32]);
    expect(Math.abs(mean(small) - mean(full))).toBeLessThan(2);
  });

  it('viewport keeps the aspect ratio, crops a source region and flips on a negative width', async () => {
    const tall = await rendered(url(stored['nm-j2k'], '/rendered?viewport=64,64'), 'image/png');
    expect([tall.width, tall.height]).toEqual([16, 64]);
    const full = await rendered(url(stored.mr, '/rendered'));
    const region = await rendered(url(stored.mr, '/rendered?viewport=16,16,8,8,16,16'));
    expect([region.width, region.height]).toEqual([16, 16]);
    expect(region.data[0]).toBe(full.data[(8 * 64 + 8) * 4]);
    const flipped = await rendered(url(stored.mr, '/rendered?viewport=64,64,63,0,-64,'));
    expect(flipped.data[0]).toBe(full.data[63 * 4]);
  });

  it('GIF is offered too; tiny and noisy images encode (10x10 dose frames, a narrow window on 16 pixels)', async () => {
    const gif = await get(url(stored.ct, '/rendered'), 'image/gif');
    expect(gif.status).toBe(200);
    expect(gif.headers.get('content-type')).toBe('image/gif');
    expect(Buffer.from(await gif.arrayBuffer()).subarray(0, 6).toString('latin1')).toBe('GIF89a');
    const dose = await rendered(url(stored.rtdose, '/frames/3/rendered?quality=100'), 'image/jpeg');
    expect([dose.width, dose.height]).toEqual([10, 10]);
    const tiny = await get(`${url(stored.ct, '/thumbnail')}?viewport=4,4`);
    expect(tiny.status).toBe(200);
    const noisy = await rendered(url(stored.ct, '/rendered?window=40,2,linear&quality=100&viewport=16,16'), 'image/jpeg');
    expect([noisy.width, noisy.height]).toEqual([16, 16]);
  });

  it('quality changes the JPEG size', async () => {
    const low = await get(url(stored.ct, '/rendered?quality=10'), 'image/jpeg');
    const high = await get(url(stored.ct, '/rendered?quality=100'), 'image/jpeg');
    expect((await low.arrayBuffer()).byteLength).toBeLessThan((await high.arrayBuffer()).byteLength);
  });

  it('thumbnails of a study, series, instance and frame are small JPEGs (viewport honoured)', async () => {
    const ct = stored.ct;
    for (const target of [
      `${gw.dicomweb}/studies/${ct.study}/thumbnail`,
      `${gw.dicomweb}/studies/${ct.study}/series/${ct.series}/thumbnail`,
      url(ct, '/thumbnail'),
      url(ct, '/frames/1/thumbnail'),
    ]) {
      const res = await get(target);
      expect(res.status, target).toBe(200);
      expect(res.headers.get('content-type')).toBe('image/jpeg');
      const image = decode(Buffer.from(await res.arrayBuffer()), 'image/jpeg');
      expect(Math.max(image.width, image.height)).toBeLessThanOrEqual(128);
    }
    const sized = await get(`${url(stored['nm-j2k'], '/thumbnail')}?viewport=50,50`, 'image/png');
    const image = decode(Buffer.from(await sized.arrayBuffer()), 'image/png');
    expect([image.width, image.height]).toEqual([13, 50]);
  });

  it('a study thumbnail skips instances without images (an SR beside the images)', async () => {
    const res = await get(`${gw.dicomweb}/studies/${stored.sr.study}/thumbnail`);
    if (stored.sr.study === stored.ct.study) expect(res.status).toBe(200);
    else expect(res.status).toBe(406);
  });
});

describe('what cannot be rendered, bad parameters, access', () => {
  it('406 naming what can be sent for an unsupported type, and why for 12-bit lossy JPEG and SR', async () => {
    const webp = await get(url(stored.ct, '/rendered'), 'image/webp');
    expect(webp.status).toBe(406);
    expect(((await webp.json()) as { detail: string }).detail).toMatch(/image\/jpeg.*image\/png.*image\/gif/);
    const viaParam = await get(`${url(stored.ct, '/rendered')}?accept=application/dicom`);
    expect(viaParam.status).toBe(406);
    const twelve = await get(url(stored['jpeg-12bit'], '/rendered'));
    expect(twelve.status).toBe(406);
    expect(((await twelve.json()) as { detail: string }).detail).toMatch(/12-bit lossy JPEG/);
    const sr = await get(url(stored.sr, '/rendered'));
    expect(sr.status).toBe(406);
    expect(((await sr.json()) as { detail: string }).detail).toMatch(/no pixel data/);
    const severalAsOne = await get(url(stored.rtdose, '/frames/1,2/rendered'), 'image/png');
    expect(severalAsOne.status).toBe(406);
    expect(((await severalAsOne.json()) as { detail: string }).detail).toMatch(/multipart\/related/);
  });

  it('400 naming the parameter for a bad window, viewport or quality; annotation is accepted and ignored', async () => {
    for (const query of ['window=40', 'window=40,0,linear', 'window=a,400', 'window=40,400,gamma', 'viewport=0,10', 'viewport=10', 'quality=0', 'iccprofile=yes']) {
      const res = await get(`${url(stored.ct, '/rendered')}?${query}`);
      expect(res.status, query).toBe(400);
      expect(((await res.json()) as { detail: string }).detail).toContain(query.split('=')[0]);
    }
    expect((await get(`${url(stored.ct, '/rendered')}?annotation=patient,technique`)).status).toBe(200);
  });

  it('a series leaves out what cannot be rendered (12-bit lossy JPEG beside a JPEG 2000) and says so', async () => {
    const nm = stored['nm-j2k'];
    expect(stored['jpeg-12bit'].series).toBe(nm.series);
    const res = await get(`${gw.dicomweb}/studies/${nm.study}/series/${nm.series}/rendered`, 'multipart/related; type="image/png"');
    expect(res.status).toBe(200);
    expect(res.headers.get('warning')).toMatch(/^299 astreinte "1 instance\(s\) left out, e\.g\. .*12-bit lossy JPEG/);
    const parts = parseMultipart(Buffer.from(await res.arrayBuffer()), res.headers.get('content-type')!);
    expect(parts.map((p) => p.headers['content-location'])).toEqual([expect.stringContaining(`/instances/${nm.sop}/frames/1/rendered`)]);
    const thumb = await get(`${gw.dicomweb}/studies/${nm.study}/series/${nm.series}/thumbnail`);
    expect(thumb.status).toBe(200);
    const only12 = await get(url(stored['jpeg-12bit'], '/thumbnail'));
    expect(only12.status).toBe(406);
  });

  it('a study renders as multipart/related, one part per frame of each image, in series order', async () => {
    const ct = stored.ct;
    const res = await get(`${gw.dicomweb}/studies/${ct.study}/rendered`);
    const body = Buffer.from(await res.arrayBuffer());
    expect(res.status, body.toString().slice(0, 300)).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^multipart\/related; type="image\/jpeg"; boundary=/);
    const parts = parseMultipart(body, res.headers.get('content-type')!);
    expect(parts.map((p) => p.headers['content-location'])).toEqual([expect.stringContaining(`/instances/${ct.sop}/frames/1/rendered`)]);
  });

  it('a series renders as multipart/related, one part per frame', async () => {
    const mr = stored.mr;
    const res = await get(`${gw.dicomweb}/studies/${mr.study}/series/${mr.series}/rendered`, 'multipart/related; type="image/jpeg"');
    expect(res.status).toBe(200);
    const parts = parseMultipart(Buffer.from(await res.arrayBuffer()), res.headers.get('content-type')!);
    expect(parts.length).toBeGreaterThanOrEqual(7);
    for (const part of parts) expect(decode(part.body, 'image/jpeg').width).toBe(64);
  });

  it('another site gets 404 on rendered frames and thumbnails, as if the study did not exist', async () => {
    const ct = stored.ct;
    for (const target of [url(ct, '/rendered'), url(ct, '/frames/1/rendered'), `${gw.dicomweb}/studies/${ct.study}/thumbnail`]) {
      const res = await get(target, undefined, tokenB);
      expect(res.status, target).toBe(404);
    }
  });

  it('each rendered frame or thumbnail is audited as 110103 DICOM Instances Accessed, naming the study', async () => {
    const ct = stored.ct;
    expect((await get(url(ct, '/frames/1/rendered'))).status).toBe(200);
    expect((await get(`${gw.dicomweb}/studies/${ct.study}/thumbnail`)).status).toBe(200);
    // Audit events are appended once the response is over: wait for them.
    const database = await openDatabase(loadSettings(gw.env).database, { maxConnections: 1 });
    try {
      let rows: { type: string; subtype: string; study: string }[] = [];
      for (let attempt = 0; attempt < 50 && rows.length < 2; attempt++) {
        ({ rows } = await database.pool.query(
          `SELECT type_code AS type, event->>'subtype' AS subtype, event->'entities'->0->>'studyUid' AS study FROM audit_event
            WHERE event->>'subtype' IN ('wado-rendered', 'wado-thumbnail') AND event->'entities'->0->>'studyUid' = $1`,
          [ct.study],
        ));
        if (rows.length < 2) await new Promise((r) => setTimeout(r, 100));
      }
      expect(rows.map((r) => r.subtype)).toEqual(expect.arrayContaining(['wado-rendered', 'wado-thumbnail']));
      expect(new Set(rows.map((r) => r.type))).toEqual(new Set(['110103']));
    } finally {
      await database.close();
    }
  });
});
