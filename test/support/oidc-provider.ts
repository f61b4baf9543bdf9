import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { TestProviderConfig } from './oidc-provider-process.ts';

const repoRoot = path.resolve(import.meta.dirname, '../..');

export interface TestProvider {
  issuer: string;
  output(): string;
  stop(): Promise<void>;
}

/** Starts test/support/oidc-provider-process.ts (a real oidc-provider) and waits until it listens. */
export async function startOidcProvider(config: TestProviderConfig): Promise<TestProvider> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'test/support/oidc-provider-process.ts')], {
    cwd: repoRoot,
    env: { ...process.env, OIDC_TEST_PROVIDER: JSON.stringify(config), NODE_ENV: 'test' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the OpenID provider did not start in 30 s:\n${log}`)), 30_000);
    child.stdout?.on('data', (d: Buffer) => {
      log += d.toString();
      if (log.includes('ready\n')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the OpenID provider exited with ${code}:\n${log}`));
    });
  });
  return {
    issuer: config.issuer,
    output: () => log,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
