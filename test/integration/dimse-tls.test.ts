import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDcmtk } from '../support/dcmtk.ts';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';

/** A CA, the gateway's server certificate and client certificates named by their CN, made with openssl. */
async function makeCertificates(dir: string, clients: string[]): Promise<void> {
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=Astreinte test CA');
  await writeFile(path.join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  const issue = (name: string, ext?: string) => {
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
    ssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', ...(ext ? ['-extfile', ext] : []));
  };
  issue('server', 'server.ext');
  for (const client of clients) issue(client);
}

describe('DICOM TLS (PS3.15 B.1) with client certificates required', () => {
  let gw: GatewayProcess;
  let dir: string;
  let port: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'astreinte-dimse-tls-'));
    await makeCertificates(dir, ['CHIVA_CT', '310780010']);
    gw = await startGateway({
      env: { DIMSE_TLS_CERT: path.join(dir, 'server.crt'), DIMSE_TLS_KEY: path.join(dir, 'server.key'), DIMSE_TLS_CA: path.join(dir, 'ca.crt') },
    });
    port = gw.env.DIMSE_PORT!;
  }, 90_000);
  afterAll(async () => {
    await gw?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  const echo = (tls: string[], calling = 'CHIVA_CT') =>
    runDcmtk('echoscu', [...tls, '+cf', path.join(dir, 'ca.crt'), '-aet', calling, '-aec', 'ASTREINTE', '127.0.0.1', port]);

  it("answers C-ECHO over TLS to a client certificate of the calling AE's site", async () => {
    const run = await echo(['+tls', path.join(dir, 'CHIVA_CT.key'), path.join(dir, 'CHIVA_CT.crt')]);
    expect(run.code, run.output).toBe(0);
  });

  it('refuses a TLS connection without a client certificate', async () => {
    const run = await echo(['+tla']);
    expect(run.code).not.toBe(0);
    expect(run.output).not.toMatch(/Association Accepted/);
  });

  it("rejects at association a certificate of another site than the calling AE title's", async () => {
    const run = await echo(['+tls', path.join(dir, '310780010.key'), path.join(dir, '310780010.crt')]);
    expect(run.code).not.toBe(0);
    expect(run.output).toMatch(/Calling AE Title Not Recognized/);
  });

  it('refuses plain TCP on the TLS port', async () => {
    const run = await runDcmtk('echoscu', ['-to', '5', '-aet', 'CHIVA_CT', '-aec', 'ASTREINTE', '127.0.0.1', port]);
    expect(run.code).not.toBe(0);
  });
});
