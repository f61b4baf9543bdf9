/**
 * The events recorded in [from, to) as FHIR AuditEvent resources, one JSON text per line (NDJSON), in
 * time order, read from one snapshot in batches.
 */
import type pg from 'pg';
import { toFhirAuditEvent, type FhirSource } from './fhir-audit-event.ts';
import { withAuditSnapshot } from './read-audit-rows.ts';

export interface AuditExportRange {
  from: Date;
  /** Exclusive. */
  to: Date;
}

export interface AuditExportSummary {
  count: number;
  /** Lowest and highest seq exported (events of a period are not always contiguous in seq at its edges). */
  minSeq?: number;
  maxSeq?: number;
}

export async function exportAuditEvents(
  pool: pg.Pool,
  range: AuditExportRange,
  writeLines: (text: string) => Promise<void>,
  options: FhirSource & { batchSize?: number } = {},
): Promise<AuditExportSummary> {
  if (!(range.from.getTime() < range.to.getTime())) throw new RangeError('the period is empty: from must be before to');
  return withAuditSnapshot(
    pool,
    {
      where: 'WHERE recorded_at >= $1 AND recorded_at < $2 ORDER BY recorded_at, seq',
      values: [range.from, range.to],
      batchSize: options.batchSize,
    },
    async (snapshot) => {
      const summary: AuditExportSummary = { count: 0 };
      for await (const batch of snapshot.rows()) {
        let text = '';
        for (const row of batch) {
          text += `${JSON.stringify(toFhirAuditEvent(row, { site: options.site }))}\n`;
          summary.count += 1;
          summary.minSeq = Math.min(summary.minSeq ?? row.seq, row.seq);
          summary.maxSeq = Math.max(summary.maxSeq ?? row.seq, row.seq);
        }
        await writeLines(text);
      }
      return summary;
    },
  );
}
