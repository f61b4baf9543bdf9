import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../../core/configuration-error.ts';
import { loadSettings } from '../../../config/settings.ts';

const url = 'postgresql://astreinte_app:a@db:5432/astreinte';
const ownerUrl = 'postgresql://astreinte_owner:o@db:5432/astreinte';

function problems(env: NodeJS.ProcessEnv): string[] {
  try {
    loadSettings(env);
  } catch (error) {
    if (error instanceof ConfigurationError) return error.problems;
    throw error;
  }
  return [];
}

describe('DATABASE_OWNER_URL', () => {
  it('is the owner connection of an external server', () => {
    expect(loadSettings({ DATABASE_URL: url, DATABASE_OWNER_URL: ownerUrl }).database).toEqual({ kind: 'external', url, ownerUrl });
    expect(loadSettings({ DATABASE_URL: url }).database).toEqual({ kind: 'external', url, ownerUrl: undefined });
  });

  it('is refused without DATABASE_URL, or when it is not a PostgreSQL URL, saying what to do', () => {
    expect(problems({ DATABASE_OWNER_URL: ownerUrl }).join('\n')).toMatch(/DATABASE_OWNER_URL=.*only applies to an external server: set DATABASE_URL too/);
    expect(problems({ DATABASE_URL: url, DATABASE_OWNER_URL: 'mysql://x' }).join('\n')).toMatch(/DATABASE_OWNER_URL=.*must start with postgres:\/\//);
  });
});

describe('ASTREINTE_AUDIT_HEAD_EXPORT', () => {
  it('defaults to a file in the data directory, every 60 s', () => {
    expect(loadSettings({ ASTREINTE_DATA_DIR: '/srv/astreinte' }).auditHeadExport).toEqual({
      sink: { kind: 'file', path: path.join('/srv/astreinte', 'audit', 'head.jsonl') },
      intervalMs: 60_000,
    });
  });

  it('takes a file path, syslog over UDP or TCP, an HTTP URL, or off', () => {
    const sink = (value: string) => loadSettings({ ASTREINTE_AUDIT_HEAD_EXPORT: value }).auditHeadExport.sink;
    expect(sink('/mnt/worm/head.jsonl')).toEqual({ kind: 'file', path: '/mnt/worm/head.jsonl' });
    expect(sink('syslog+udp://siem.region.fr:514')).toEqual({ kind: 'syslog', transport: 'udp', host: 'siem.region.fr', port: 514 });
    expect(sink('syslog+tcp://[::1]:601')).toEqual({ kind: 'syslog', transport: 'tcp', host: '::1', port: 601 });
    expect(sink('https://siem.region.fr/audit-head')).toEqual({ kind: 'http', url: 'https://siem.region.fr/audit-head' });
    expect(sink('off')).toEqual({ kind: 'off' });
    expect(loadSettings({ ASTREINTE_AUDIT_HEAD_EXPORT_SECONDS: '300' }).auditHeadExport.intervalMs).toBe(300_000);
  });

  it('refuses what it cannot send to, saying what to write', () => {
    for (const value of ['syslog://siem:514', 'syslog+udp://siem', 'syslog+udp://siem:70000', 'ftp://siem/head']) {
      expect(problems({ ASTREINTE_AUDIT_HEAD_EXPORT: value }).join('\n')).toMatch(
        /ASTREINTE_AUDIT_HEAD_EXPORT=.*write a file path, syslog\+udp:\/\/host:port, syslog\+tcp:\/\/host:port, an http\(s\):\/\/ URL, or off/,
      );
    }
  });
});
