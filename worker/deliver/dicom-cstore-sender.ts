/**
 * C-STORE of a signed report's objects (the SR and the PDF) to the site's PACS (PS3.4 B, PS3.7 9.1.1), through the
 * one C-STORE SCU (c-store-scu.ts), over TLS when the destination says so (`dicoms://`, the peer's certificate
 * verified). Success only when the association is accepted and every C-STORE answers Success (0x0000) or a
 * warning (0xBxxx: stored, with coercion).
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CStoreScuError, isStored, sendInstances } from './c-store-scu.ts';

export interface CStoreDestination {
  host: string;
  port: number;
  aeTitle: string;
  callingAeTitle: string;
  tls: boolean;
}

export async function cStoreInstances(destination: CStoreDestination, instances: readonly Buffer[], timeoutMs = 60_000): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'astreinte-cstore-'));
  try {
    const files = await Promise.all(
      instances.map(async (bytes) => {
        const file = path.join(dir, `${randomUUID()}.dcm`);
        await writeFile(file, bytes);
        return file;
      }),
    );
    const where = `${destination.aeTitle}@${destination.host}:${destination.port}`;
    const results = await sendInstances(files, {
      host: destination.host,
      port: destination.port,
      callingAeTitle: destination.callingAeTitle,
      calledAeTitle: destination.aeTitle,
      timeoutMs,
      ...(destination.tls ? { tls: {} } : {}),
    }).catch((error: unknown) => {
      if (error instanceof CStoreScuError && error.kind === 'rejected') throw new Error(`association refused by ${where}: ${error.message}`);
      throw new Error(`C-STORE to ${where} failed: ${(error as Error).message}`);
    });
    const refused = results.filter((r) => !isStored(r.status));
    if (refused.length > 0) {
      const statuses = refused.map((r) => (r.status === null ? r.comment : `status 0x${r.status.toString(16).padStart(4, '0')}${r.comment ? ` (${r.comment})` : ''}`));
      throw new Error(`C-STORE to ${where} refused: ${statuses.join(', ')}`);
    }
    return `C-STORE to ${where}${destination.tls ? ' (TLS)' : ''}: ${files.length} instances stored`;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
