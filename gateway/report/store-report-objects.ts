/**
 * Stores a report's SR and PDF in its study exactly as STOW stores an instance (spool file, content-addressed
 * object made durable, then one index statement): they are then retrievable by QIDO-RS and WADO-RS like any
 * instance, and delivered from the object store.
 */
import { createHash, randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { BuiltObject } from '../../core/report/basic-text-sr.ts';
import type { StoredArtifact } from '../../storage/report/report-store.ts';
import { ingestInstance, objectKeyFor, type IngestDependencies } from '../ingest/ingest-instance.ts';

export class ReportObjectRefused extends Error {}

export async function storeReportObject(
  built: BuiltObject,
  context: { site: string; studyInstanceUID: string; spoolDir: string },
  deps: IngestDependencies,
): Promise<StoredArtifact> {
  const sha256 = createHash('sha256').update(built.bytes).digest('hex');
  const spooled = { path: path.join(context.spoolDir, `${randomUUID()}.report`), size: built.bytes.length, sha256 };
  await writeFile(spooled.path, built.bytes);
  const outcome = await ingestInstance(0, spooled, { site: context.site, studyInstanceUID: context.studyInstanceUID }, deps);
  if (outcome.kind === 'failed') throw new ReportObjectRefused(`the archive refused the report object ${built.sopInstanceUID}: ${outcome.message}`);
  return {
    seriesInstanceUID: built.seriesInstanceUID,
    sopInstanceUID: built.sopInstanceUID,
    objectKey: objectKeyFor({ studyInstanceUID: context.studyInstanceUID, seriesInstanceUID: built.seriesInstanceUID, sopInstanceUID: built.sopInstanceUID }, sha256),
    sha256,
  };
}
