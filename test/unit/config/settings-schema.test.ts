// One settings schema: no product module reads the environment but config/settings.ts, and every variable the
// README documents is in it.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../../core/configuration-error.ts';
import { loadSettings } from '../../../config/settings.ts';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
const PRODUCT = ['core', 'config', 'storage', 'audit', 'worker', 'gateway', 'cli'];
/** Read by the launcher bin/astreinte.js before any TypeScript runs (which code to run: the build or the sources). */
const LAUNCHER_VARIABLES = ['ASTREINTE_BUILD'];

function sources(dir: string): string[] {
  return readdirSync(path.join(repoRoot, dir), { withFileTypes: true }).flatMap((entry) => {
    const relative = path.join(dir, entry.name);
    if (entry.isDirectory()) return sources(relative);
    return entry.name.endsWith('.ts') ? [relative] : [];
  });
}

describe('settings', () => {
  it('are read from the environment in one place: config/settings.ts', () => {
    const readers = PRODUCT.flatMap(sources).filter((file) => {
      if (file === path.join('config', 'settings.ts')) return false;
      // A named variable read (process.env.X, env.X, env['X']); passing the environment on is allowed.
      return /\b(process\.env|env)(\.[A-Z][A-Z0-9_]+\b|\[\s*['"][A-Z])/.test(readFileSync(path.join(repoRoot, file), 'utf8'));
    });
    expect(readers).toEqual([]);
  });

  it('know every variable the README documents', () => {
    const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
    const table = readme.slice(readme.indexOf('## Configuration'));
    const firstCells = [...table.matchAll(/^\| ([^|]+) \|/gm)].map((m) => m[1]);
    const documented = firstCells
      .flatMap((cell) => [...cell.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1]))
      .filter((name) => !LAUNCHER_VARIABLES.includes(name));
    expect(documented.length).toBeGreaterThan(10);
    const unknown = documented.filter((name) => !readFileSync(path.join(repoRoot, 'config/settings.ts'), 'utf8').includes(`${name}:`));
    expect(unknown).toEqual([]);
  });

  it('report every problem at once, each naming its variable and what to put there', () => {
    const error = (() => {
      try {
        loadSettings({ PORT: 'eighty', ASTREINTE_NOW: 'sunday night', ASTREINTE_ROUTING_CONCURRENCY: '0' });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ConfigurationError);
    const { problems, message } = error as ConfigurationError;
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/^PORT="eighty": /);
    expect(problems[1]).toMatch(/^ASTREINTE_NOW="sunday night": not an ISO 8601 date and time; write for example 2027-03-29T02:10:00\+02:00/);
    expect(problems[2]).toBe('ASTREINTE_ROUTING_CONCURRENCY="0": must be a whole number between 1 and 64');
    expect(message).toMatch(/^Astreinte cannot start, fix the configuration:\n {2}- PORT=/);
  });
});
