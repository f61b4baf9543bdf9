import type pg from 'pg';
import type { PatientIdentifier } from './read-study-facts.ts';

export interface PatientObjection {
  /** Issuer of the identifier the opposition was recorded under (e.g. the INS OID): no patient data. */
  issuer: string;
  recordedAt: Date;
}

/**
 * An opposition still in force (not lifted) recorded under any identifier of the patient: the local Patient ID
 * with its issuer, or an Other Patient ID such as the INS (issuer 1.2.250.1.213.1.4.8). Identifiers match
 * exactly, issuer included.
 */
export async function findPatientObjection(
  client: pg.ClientBase,
  identifiers: readonly PatientIdentifier[],
): Promise<PatientObjection | null> {
  if (identifiers.length === 0) return null;
  const { rows } = await client.query<{ issuer: string; recorded_at: Date }>(
    `SELECT o.issuer, o.recorded_at
       FROM patient_opposition o
       JOIN unnest($1::text[], $2::text[]) AS p(patient_id, issuer)
         ON o.patient_id = p.patient_id AND o.issuer = p.issuer
      WHERE o.lifted_at IS NULL
      ORDER BY o.recorded_at
      LIMIT 1`,
    [identifiers.map((i) => i.id), identifiers.map((i) => i.issuer)],
  );
  const row = rows[0];
  return row ? { issuer: row.issuer, recordedAt: row.recorded_at } : null;
}
