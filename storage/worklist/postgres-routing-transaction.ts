/**
 * The statements of one study's routing, on the connection of the transaction that holds the study's lock.
 * Idempotent: a replayed routing finds the decision; the unique index on worklist_item makes a second reading
 * item impossible anyway.
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { DECISION_COLUMNS, decisionFromRow, type DecisionRow } from './decision-row.ts';
import { senderFlags } from './sender-flags.ts';
import type {
  ItemEvent,
  NewReadItem,
  PatientIdentifier,
  PatientObjection,
  ReadItemCreation,
  RoutedItem,
  RoutingTransaction,
  StudyRecord,
} from './worklist-store.ts';
import type { RoutingDecision } from './worklist-types.ts';
import { notifyWorklist, recordEvents, type Queryable } from './worklist-writes.ts';

const SYSTEM = 'system';

export class PostgresRoutingTransaction implements RoutingTransaction {
  constructor(
    readonly client: pg.ClientBase,
    private readonly studyInstanceUID: string,
  ) {}

  decision(): Promise<RoutingDecision | null> {
    return selectDecision(this.client, this.studyInstanceUID);
  }

  async routedItem(itemId: string): Promise<RoutedItem | null> {
    const { rows } = await this.client.query<{
      id: string;
      pool: string;
      assignee: string | null;
      warning_at: Date;
      deadline: Date;
      next_escalation_at: Date | null;
    }>('SELECT id, pool, assignee, warning_at, deadline, next_escalation_at FROM worklist_item WHERE id = $1', [itemId]);
    const r = rows[0];
    return r
      ? { id: r.id, pool: r.pool, assignee: r.assignee, warningAt: r.warning_at, deadline: r.deadline, nextEscalationAt: r.next_escalation_at }
      : null;
  }

  studyRecord(): Promise<StudyRecord | null> {
    return readStudyRecord(this.client, this.studyInstanceUID);
  }

  async patientObjection(identifiers: readonly PatientIdentifier[]): Promise<PatientObjection | null> {
    if (identifiers.length === 0) return null;
    const { rows } = await this.client.query<{ issuer: string; recorded_at: Date }>(
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

  async recordNotRouted(decision: RoutingDecision, site: string | null): Promise<void> {
    await upsertDecision(this.client, decision);
    await recordEvents(this.client, [
      {
        itemId: null,
        studyInstanceUID: decision.studyInstanceUID,
        type: decision.decision,
        actor: SYSTEM,
        at: decision.decidedAt,
        detail: { code: decision.code, reason: decision.reason },
      },
    ]);
    await markDecided(this.client, decision.studyInstanceUID, site, decision.decidedAt);
  }

  async createReadItem(item: NewReadItem, decided: Omit<RoutingDecision, 'itemId'>, events: ItemEvent[]): Promise<ReadItemCreation> {
    const inserted = await this.client.query<{ id: string }>(
      `INSERT INTO worklist_item (id, kind, study_instance_uid, site, territory, modality, body_part, category, priority,
         priority_rank, status, pool, assignee, routed_at, warning_at, deadline, escalation_chain, next_escalation_at,
         notified_pools)
       VALUES ($1, 'read', $2, $3, $4, $5, $6, $7, $8, $9, 'SCHEDULED', $10, $11, $12, $13, $14, $15, $16, $17)
       ON CONFLICT (study_instance_uid) WHERE kind = 'read' DO NOTHING
       RETURNING id`,
      [
        randomUUID(),
        item.studyInstanceUID,
        item.site,
        item.territory,
        item.modality,
        item.bodyPart,
        item.category,
        item.priority.id,
        item.priority.rank,
        item.pool,
        item.assignee,
        item.routedAt,
        item.warningAt,
        item.deadline,
        item.escalationChain,
        item.nextEscalationAt,
        item.notifiedPools,
      ],
    );
    const itemId = inserted.rows[0]?.id;
    if (!itemId) {
      // The item exists without a decision (only possible after manual edits): keep it, record nothing new.
      const { rows } = await this.client.query<{ id: string }>(
        "SELECT id FROM worklist_item WHERE study_instance_uid = $1 AND kind = 'read'",
        [item.studyInstanceUID],
      );
      return { created: false, item: await this.routedItem(rows[0].id), decision: await this.decision() };
    }
    const decision: RoutingDecision = { ...decided, itemId };
    await upsertDecision(this.client, decision);
    await recordEvents(
      this.client,
      events.map((event) => ({ ...event, itemId, studyInstanceUID: item.studyInstanceUID })),
    );
    await markDecided(this.client, item.studyInstanceUID, item.site, item.routedAt);
    await notifyWorklist(this.client, {
      type: 'item-created',
      itemId,
      pool: item.pool,
      assignee: item.assignee,
      territory: item.territory,
      status: 'SCHEDULED',
      event: 'routed',
      ...(item.notifiedPools.length > 0 ? { notifiedPools: item.notifiedPools } : {}),
    });
    const routed: RoutedItem = {
      id: itemId,
      pool: item.pool,
      assignee: item.assignee,
      warningAt: item.warningAt,
      deadline: item.deadline,
      nextEscalationAt: item.nextEscalationAt,
    };
    return { created: true, item: routed, decision };
  }
}

export async function selectDecision(db: Queryable, studyInstanceUID: string): Promise<RoutingDecision | null> {
  const { rows } = await db.query<DecisionRow>(`SELECT ${DECISION_COLUMNS} FROM routing_decision WHERE study_instance_uid = $1`, [
    studyInstanceUID,
  ]);
  return rows[0] ? decisionFromRow(rows[0]) : null;
}

async function upsertDecision(client: Queryable, d: RoutingDecision): Promise<void> {
  await client.query(
    `INSERT INTO routing_decision (study_instance_uid, decision, code, rule, pool, reader, reason, decided_at, item_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
     ON CONFLICT (study_instance_uid) DO UPDATE SET decision = EXCLUDED.decision, code = EXCLUDED.code,
       rule = EXCLUDED.rule, pool = EXCLUDED.pool, reader = EXCLUDED.reader, reason = EXCLUDED.reason,
       decided_at = EXCLUDED.decided_at, item_id = EXCLUDED.item_id`,
    [d.studyInstanceUID, d.decision, d.code, d.rule, d.pool, d.reader, d.reason, d.decidedAt, d.itemId],
  );
}

/** The study is decided: reconciliation no longer looks at it. */
async function markDecided(client: Queryable, studyInstanceUID: string, site: string | null, now: Date): Promise<void> {
  await client.query(
    `INSERT INTO study_activity (study_instance_uid, site, last_instance_at, stable_at) VALUES ($1, $2, $3, $3)
     ON CONFLICT (study_instance_uid) DO UPDATE SET stable_at = COALESCE(study_activity.stable_at, EXCLUDED.stable_at)`,
    [studyInstanceUID, site, now],
  );
}

interface StudyRow {
  pk: string;
  site: string | null;
  study_description: string | null;
  patient_pk: string;
  patient_id: string;
  issuer_of_patient_id: string;
  sender_flags: unknown;
}

interface SeriesRow {
  modality: string | null;
  body_part_examined: string | null;
  metadata: string | null;
}

async function readStudyRecord(client: pg.ClientBase, studyInstanceUID: string): Promise<StudyRecord | null> {
  const study = await client.query<StudyRow>(
    `SELECT s.pk, COALESCE(s.site, a.site) AS site, s.study_description, p.pk AS patient_pk, p.patient_id,
            p.issuer_of_patient_id, a.sender_flags
       FROM study s
       JOIN patient p ON p.pk = s.patient_pk
       LEFT JOIN study_activity a ON a.study_instance_uid = s.study_instance_uid
      WHERE s.study_instance_uid = $1`,
    [studyInstanceUID],
  );
  const row = study.rows[0];
  if (!row) return null;
  const [series, others] = await Promise.all([
    client.query<SeriesRow>(
      `SELECT se.modality, se.body_part_examined,
              (SELECT i.metadata FROM instance i WHERE i.series_pk = se.pk
                ORDER BY i.instance_number NULLS LAST, i.pk LIMIT 1) AS metadata
         FROM series se
        WHERE se.study_pk = $1
        ORDER BY se.series_number NULLS LAST, se.pk`,
      [row.pk],
    ),
    client.query<{ patient_id: string; issuer: string }>(
      'SELECT patient_id, issuer FROM patient_other_id WHERE patient_pk = $1 ORDER BY patient_id, issuer',
      [row.patient_pk],
    ),
  ]);
  const patientIds: PatientIdentifier[] = [];
  if (row.patient_id) patientIds.push({ id: row.patient_id, issuer: row.issuer_of_patient_id ?? '' });
  for (const other of others.rows) patientIds.push({ id: other.patient_id, issuer: other.issuer });
  return {
    studyInstanceUID,
    site: row.site,
    studyDescription: row.study_description,
    patientIds,
    senderFlags: senderFlags(row.sender_flags),
    series: series.rows.map((s) => ({ modality: s.modality, bodyPartExamined: s.body_part_examined, firstInstanceMetadata: s.metadata })),
  };
}
