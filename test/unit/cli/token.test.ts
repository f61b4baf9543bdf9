import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDuration, runTokenCommand } from '../../../cli/commands/token.ts';
import { createTokenVerifier } from '../../../gateway/auth/token-verifier.ts';
import { loadSettings } from '../../../config/settings.ts';

const run = promisify(execFile);
const repoRoot = path.resolve(import.meta.dirname, '../../..');
let dataDir: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'astreinte-token-cmd-'));
  env = { ASTREINTE_DATA_DIR: dataDir, TOKEN_AUDIENCE: 'astreinte-cmd-test' };
});
afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

async function runCommand(argv: string[], environment: NodeJS.ProcessEnv = env) {
  let stdout = '';
  let stderr = '';
  const code = await runTokenCommand(argv, environment, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
  });
  return { code, stdout, stderr };
}

describe('astreinte token', () => {
  it('prints exactly one line, a token the gateway accepts', async () => {
    const { code, stdout, stderr } = await runCommand(['--role', 'sender', '--site', '690000001', '--user', 'hcl-gw', '--ttl', '2h']);
    expect(code).toBe(0);
    expect(stderr).toBe('');
    expect(stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    const claims = decodeJwt(stdout.trim());
    expect(claims.exp! - claims.iat!).toBe(7200);
    const verifier = await createTokenVerifier(loadSettings(env).auth);
    expect(await verifier.verify(stdout.trim())).toMatchObject({ userId: 'hcl-gw', role: 'sender', site: '690000001' });
  });

  it('prints exactly one line through the real CLI', async () => {
    const { stdout, stderr } = await run(process.execPath, ['bin/astreinte.cjs', 'token', '--role', 'reader', '--rpps', '10009000011'], {
      cwd: repoRoot,
      env: { ...process.env, ...env },
    });
    expect(stderr).toBe('');
    expect(stdout.split('\n')).toHaveLength(2);
    expect(stdout).toMatch(/^eyJ[\w-]+\.[\w-]+\.[\w-]+\n$/);
    expect(decodeJwt(stdout)).toMatchObject({ role: 'reader', sub: 'reader-cli', rpps: '10009000011', aud: 'astreinte-cmd-test' });
  });

  it('refuses wrong arguments with exit code 2 and the usage on stderr', async () => {
    const cases: [string[], RegExp][] = [
      [[], /missing --role/],
      [['--role', 'boss'], /unknown role "boss"/],
      [['--role', 'sender'], /needs the FINESS number/],
      [['--role', 'sender', '--site', 'abc'], /is not a FINESS number/],
      [['--role', 'reader'], /needs the practitioner's RPPS number \(--rpps/],
      [['--role', 'reader', '--rpps', '10009000011', '--ttl', 'soon'], /--ttl "soon" is not a duration/],
      [['--role', 'reader', '--rpps', '10009000011', '--ttl', '5'], /lifetime/],
      [['--role', 'reader', '--colour', 'red'], /Unknown option '--colour'/],
      [['--role', 'reader', 'extra'], /positional argument/],
    ];
    for (const [argv, message] of cases) {
      const result = await runCommand(argv);
      expect(result.code, argv.join(' ')).toBe(2);
      expect(result.stdout, argv.join(' ')).toBe('');
      expect(result.stderr, argv.join(' ')).toMatch(message);
      expect(result.stderr).toContain('Usage: astreinte token');
    }
  });

  it('refuses when an OpenID Connect provider is configured', async () => {
    const result = await runCommand(['--role', 'reader'], {
      ...env,
      OIDC_ISSUER: 'https://auth.esante.gouv.fr/auth/realms/esante-wallet',
      OIDC_JWKS_URL: 'https://auth.esante.gouv.fr/auth/realms/esante-wallet/protocol/openid-connect/certs',
      OIDC_AUDIENCE: 'astreinte',
      OIDC_CLIENT_ID: 'astreinte-web',
    });
    expect(result).toMatchObject({ code: 1, stdout: '' });
    expect(result.stderr).toMatch(/trusts tokens from the identity provider https:\/\/auth\.esante\.gouv\.fr.*does not issue its own/s);
  });

  it('reports a bad configuration with exit code 1', async () => {
    const result = await runCommand(['--role', 'reader'], { ...env, OIDC_ISSUER: 'https://idp.example' });
    expect(result).toMatchObject({ code: 1, stdout: '' });
    expect(result.stderr).toMatch(/OpenID Connect needs all of/);
  });

  it('prints its usage on --help', async () => {
    const result = await runCommand(['--help']);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toContain('--role');
  });

  it('parses durations', () => {
    expect([parseDuration('3600'), parseDuration('90s'), parseDuration('30m'), parseDuration('12h'), parseDuration('30d')]).toEqual([
      3600, 90, 1800, 43200, 2592000,
    ]);
    expect([parseDuration('1.5h'), parseDuration('-1'), parseDuration('h'), parseDuration('2w')]).toEqual([null, null, null, null]);
  });
});
