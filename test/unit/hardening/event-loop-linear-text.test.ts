/**
 * Protects the event loop from quadratic text handling (issue 13, Availability). Right-trims written as `X+$`
 * regular expressions take time quadratic in the run of X: 15 KB of `/` in an Origin cost 0.15 s, 64 KB of `^` in
 * a Patient Name 6 s. Each case below runs on 1 MB and gets a generous bound: linear code takes milliseconds,
 * the old regular expressions would take hours.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, describe, expect, it } from 'vitest';
import { cors, MAX_ORIGIN_LENGTH } from '../../../gateway/http/cors.ts';
import { parseQidoQuery, MAX_MATCH_VALUE_LENGTH } from '../../../gateway/read/query/qido-query.ts';
import { BadRequest } from '../../../gateway/http/problem.ts';
import { readInstanceFile } from '../../../core/dicom/read-instance-file.ts';
import { trimEndChars, trimEndWhere, isWhitespace } from '../../../core/text/trim-end.ts';
import { personNameUpper } from '../../../storage/index/person-name.ts';
import { IMPLICIT_VR_LITTLE_ENDIAN } from '../../../test-data/part10-writer.ts';
import { baseDataset, TempFiles } from '../dicom/instance-files.ts';

const MB = 1024 * 1024;
/** Generous: linear code takes a few milliseconds per megabyte even on a loaded CI machine. */
const BOUND_MS = 3000;

function timed<T>(work: () => T): { result: T; ms: number } {
  const start = performance.now();
  const result = work();
  return { result, ms: performance.now() - start };
}

describe('right-trims are linear', () => {
  it('trims 1 MB of padding followed by a character, and 1 MB of padding alone', () => {
    const { result, ms } = timed(() => [
      trimEndChars('/'.repeat(MB) + 'x', '/'),
      trimEndChars('x' + '^ '.repeat(MB / 2), '^ '),
      trimEndWhere('\t'.repeat(MB) + 'y' + ' '.repeat(MB), isWhitespace),
    ]);
    expect(result[0]).toHaveLength(MB + 1);
    expect(result[1]).toBe('x');
    expect(result[2]).toHaveLength(MB + 1);
    expect(ms).toBeLessThan(BOUND_MS);
  });

  it('folds a 1 MB person name for the index without stalling', () => {
    const { result, ms } = timed(() => personNameUpper('^'.repeat(MB) + 'a^^ '));
    expect(result).toBe('^'.repeat(MB) + 'A');
    expect(ms).toBeLessThan(BOUND_MS);
  });
});

describe('an Origin header of 1 MB', () => {
  const servers: Server[] = [];
  afterAll(() => servers.forEach((s) => s.close()));

  it('is refused as an origin without being normalized, and allowed origins still work', async () => {
    const app = express();
    app.use(cors(['https://viewer.chu-exemple.fr/']));
    app.get('/x', (_req, res) => res.send('ok'));
    const server = app.listen(0, '127.0.0.1');
    servers.push(server);
    await new Promise((resolve) => server.once('listening', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/x`;

    // Node refuses request headers over 16 KiB itself, so the middleware is driven directly with 1 MB as well.
    const middleware = cors(['https://viewer.chu-exemple.fr/']);
    const headers: Record<string, string> = {};
    const fakeRes = { vary: () => undefined, set: (k: string, v: string) => void (headers[k] = v) };
    const origin = 'https://viewer.chu-exemple.fr' + '/'.repeat(MB) + 'x';
    const { ms } = timed(() =>
      middleware({ get: (h: string) => (h === 'origin' ? origin : undefined), method: 'GET' } as never, fakeRes as never, () => undefined),
    );
    expect(ms).toBeLessThan(BOUND_MS);
    expect(headers['Access-Control-Allow-Origin']).toBeUndefined();

    const longest = await fetch(url, { headers: { Origin: 'https://viewer.chu-exemple.fr' + '/'.repeat(MAX_ORIGIN_LENGTH) } });
    expect(longest.headers.get('access-control-allow-origin')).toBeNull();
    const allowed = await fetch(url, { headers: { Origin: 'https://viewer.chu-exemple.fr//' } });
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://viewer.chu-exemple.fr//');
  });
});

describe('QIDO matching values', () => {
  it('refuses a PatientName longer than PS3.5 allows without echoing it', () => {
    const long = 'DUPONT' + '^'.repeat(MAX_MATCH_VALUE_LENGTH);
    const run = () => parseQidoQuery('study', new URLSearchParams({ PatientName: long + 'x' }), {});
    expect(run).toThrow(BadRequest);
    expect(run).toThrow(/PatientName: the value is 263 characters long; at most 256/);
    expect(() => run()).not.toThrow(/DUPONT/);
    expect(parseQidoQuery('study', new URLSearchParams({ PatientName: 'DUPONT^Jean*' }), {}).keys).toHaveLength(1);
  });
});

describe('text values of a received instance are bounded to PS3.5', () => {
  const files = new TempFiles();
  afterAll(() => files.remove());

  it('parses a 1 MB implicit VR Patient Name quickly, truncates it per component group and warns', async () => {
    const name = 'MARTIN' + '^'.repeat(MB) + 'x';
    const file = files.instance(
      baseDataset({ PatientName: name, StudyDescription: 'É'.repeat(MB), PixelSpacing: ['0.48828125000000001', '0.5'] }),
      { transferSyntaxUID: IMPLICIT_VR_LITTLE_ENDIAN },
    );
    const start = performance.now();
    const parsed = await readInstanceFile(file);
    expect(performance.now() - start).toBeLessThan(BOUND_MS);
    expect(parsed.patient.name).toBe('MARTIN');
    expect(parsed.study.description).toBe('É'.repeat(64));
    expect(parsed.metadata['00280030'].Value).toEqual([0.48828125000000001, 0.5]);
    expect(parsed.warnings).toHaveLength(1);
    expect(parsed.warnings?.[0]).toMatch(/\(0010,0010\) PN of 1048583 characters \(at most 64\)/);
    expect(parsed.warnings?.[0]).toMatch(/\(0008,1030\) LO of 1048576 characters \(at most 64\)/);
    expect(parsed.warnings?.[0]).not.toMatch(/MARTIN/);
  });

  it('keeps conformant values untouched and says nothing', async () => {
    const parsed = await readInstanceFile(files.instance(baseDataset({ PatientName: 'DUPRÉ^Élodie', StudyDescription: 'x'.repeat(64) })));
    expect(parsed.patient.name).toBe('DUPRÉ^Élodie');
    expect(parsed.warnings).toEqual([]);
  });
});
