/**
 * C-STORE of the report's objects to the site's PACS (PS3.4 B, PS3.7 9.1.1) with dcmjs-dimse's client, over TLS
 * when the destination says so (`dicoms://`). Success only when the association is accepted and every C-STORE
 * answers Success (0x0000) or a warning (0xB000, 0xB006, 0xB007: stored with coercion).
 */
import { randomUUID } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export interface CStoreDestination {
  host: string;
  port: number;
  aeTitle: string;
  callingAeTitle: string;
  tls: boolean;
}

const STORED = new Set([0x0000, 0xb000, 0xb006, 0xb007]);

export async function cStoreInstances(destination: CStoreDestination, instances: readonly Buffer[], timeoutMs = 60_000): Promise<string> {
  // Loaded on first use: its codecs are heavy and only C-STORE destinations need it.
  const dimse = (await import('dcmjs-dimse')).default;
  dimse.log.setLevel('error'); // its info logs would name patients' instances
  const { Client } = dimse;
  const { CStoreRequest } = dimse.requests;
  const files = await Promise.all(
    instances.map(async (bytes) => {
      const file = path.join(os.tmpdir(), `astreinte-cstore-${randomUUID()}.dcm`);
      await writeFile(file, bytes);
      return file;
    }),
  );
  try {
    return await new Promise<string>((resolve, reject) => {
      const client = new Client();
      const statuses: number[] = [];
      let rejected: string | undefined;
      let failure: string | undefined;
      for (const file of files) {
        const request = new CStoreRequest(file);
        request.on('response', (response: { getStatus(): number }) => statuses.push(response.getStatus()));
        client.addRequest(request);
      }
      const where = `${destination.aeTitle}@${destination.host}:${destination.port}`;
      client.on('associationRejected', (result: { reason?: number }) => (rejected = `association refused by ${where} (reason ${result?.reason ?? '?'})`));
      client.on('networkError', (error: Error) => (failure = `C-STORE to ${where} failed: ${error.message}`));
      client.on('closed', () => {
        if (rejected || failure) return reject(new Error(rejected ?? failure));
        if (statuses.length !== files.length) return reject(new Error(`C-STORE to ${where}: ${statuses.length} of ${files.length} answers before the association closed`));
        const refused = statuses.filter((s) => !STORED.has(s));
        if (refused.length > 0) return reject(new Error(`C-STORE to ${where} refused: status ${refused.map((s) => `0x${s.toString(16).padStart(4, '0')}`).join(', ')}`));
        resolve(`C-STORE to ${where}${destination.tls ? ' (TLS)' : ''}: ${files.length} instances stored`);
      });
      client.send(destination.host, destination.port, destination.callingAeTitle, destination.aeTitle, {
        connectTimeout: 10_000,
        associationTimeout: timeoutMs,
        pduTimeout: timeoutMs,
        ...(destination.tls ? { securityOptions: { rejectUnauthorized: true } } : {}),
      });
    });
  } finally {
    await Promise.all(files.map((file) => rm(file, { force: true })));
  }
}
