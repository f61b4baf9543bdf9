import { readFile } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, redactUids } from '../../../config/create-logger.ts';

const STUDY = '1.2.826.0.1.3680043.8.498.12345678901234567890';
const SOP = '2.25.297263395178164631534651909371590126';

describe('logger', () => {
  it('masks DICOM UIDs, not IPv4 addresses or version numbers', () => {
    expect(redactUids(`studies/${STUDY}/x/${SOP}.ab.dcm`)).toBe('studies/<uid>/x/<uid>.ab.dcm');
    expect(redactUids('connect ECONNREFUSED 127.0.0.1:5432 (pg 8.23.1)')).toBe('connect ECONNREFUSED 127.0.0.1:5432 (pg 8.23.1)');
  });

  it('logs a real file-system error about an object without the UIDs of its path', async () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk, _encoding, done) => (lines.push(String(chunk)), done()) });
    const error = await readFile(`/nonexistent/studies/${STUDY}/${SOP}.dcm`).catch((e: unknown) => e as Error);
    createLogger({ level: 'info', service: 'test' }, sink).error({ err: error }, 'instance could not be stored');
    const line = lines.join('');
    expect(line).toContain('ENOENT');
    expect(line).toContain('studies/<uid>/<uid>.dcm');
    expect(line).not.toContain('3680043');
    expect(line).not.toContain('2973');
  });

  it('logs a request path without its UIDs', () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk, _encoding, done) => (lines.push(String(chunk)), done()) });
    createLogger({ level: 'info', service: 'test' }, sink).error({ method: 'GET', path: `/dicomweb/studies/${STUDY}/series/${SOP}/metadata` }, 'request failed');
    expect(lines.join('')).toContain('"path":"/dicomweb/studies/<uid>/series/<uid>/metadata"');
  });
});
