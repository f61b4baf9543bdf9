/** The WorklistStore on PostgreSQL (embedded or external: same driver, same code). */
import { randomUUID } from 'node:crypto';
import type { Database } from '../database/database.ts';
import { lockEscalationState, PostgresEscalationTransaction } from './postgres-escalation-transaction.ts';
import { PostgresRoutingTransaction, selectDecision } from './postgres-routing-transaction.ts';
import { ITEM_COLUMNS, itemColumns, itemFromRow, type WorklistItemRow } from './item-row.ts';
import { canSeeItem, itemVisibilitySql, parameterList, readerSeesItemSql, type ReaderAudience, type WorklistViewer } from './item-visibility.ts';
import { senderFlags } from './sender-flags.ts';
import {
  SecondOpinionPendingError,
  type EscalationState,
  type EscalationTransaction,
  type Incident,
  type ItemEvent,
  type ItemHistory,
  type ItemListQuery,
  type ListedItem,
  type OppositionChange,
  type OppositionLift,
  type PatientStudy,
  type ReassignChange,
  type RecordedEvent,
  type ReportingTransaction,
  type RoutingTransaction,
  type SecondOpinionRequest,
  type StudyRoutingRecord,
  type WorklistStore,
} from './worklist-store.ts';
import type { CompletionFlags, RoutingDecision, WorklistItemView } from './worklist-types.ts';
import { eventsOf, itemNotification, notifyWorklist, recordEvents, recordItemChange, type Queryable } from './worklist-writes.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface EventRow {
  item_id: string | null;
  type: string;
  actor: string;
  at: Date;
  detail: Record<string, unknown>;
}

const eventFromRow = (row: EventRow): RecordedEvent => ({ itemId: row.item_id, type: row.type, actor: row.actor, at: row.at, detail: row.detail });

export class PostgresWorklistStore implements WorklistStore {
  constructor(private readonly database: Database) {}

  findItem(id: string): Promise<WorklistItemView | null> {
    return selectItem(this.database, id);
  }

  async listItems(viewer: WorklistViewer, query: ItemListQuery): Promise<ListedItem[]> {
    const { values, bind } = parameterList();
    const visible = itemVisibilitySql(viewer, query, 'i', bind);
    let sql =
      `SELECT ${itemColumns('i')}, CASE WHEN i.kind = 'second-opinion' THEN (SELECT e.detail->>'question' FROM worklist_event e ` +
      `WHERE e.item_id = i.id AND e.type = 'second-opinion-requested' ORDER BY e.id LIMIT 1) END AS question ` +
      `FROM worklist_item i WHERE ${visible} AND i.status = ANY(${bind(query.statuses)})`;
    if (query.priorities) sql += ` AND i.priority = ANY(${bind(query.priorities)})`;
    sql += ` ORDER BY i.priority_rank, i.deadline, i.routed_at, i.id LIMIT ${bind(query.limit)}`;
    const result = await this.database.query<WorklistItemRow & { question: string | null }>(sql, values);
    return result.rows.map((row) => ({ item: itemFromRow(row), question: row.question }));
  }

  async itemHistory(itemId: string): Promise<ItemHistory> {
    const [events, opinions, incidents] = await Promise.all([
      this.database.query<EventRow>(
        'SELECT item_id, type, actor, at, detail FROM worklist_event WHERE item_id = $1 OR (item_id IN ' +
          '(SELECT id FROM worklist_item WHERE parent_id = $1)) ORDER BY id',
        [itemId],
      ),
      this.database.query<WorklistItemRow>(`SELECT ${ITEM_COLUMNS} FROM worklist_item WHERE parent_id = $1 ORDER BY routed_at, id`, [itemId]),
      this.database.query<{ id: string; reported_by: string; at: Date; category: string; description: string }>(
        'SELECT id, reported_by, at, category, description FROM worklist_incident WHERE item_id = $1 ORDER BY id',
        [itemId],
      ),
    ]);
    return {
      events: events.rows.map(eventFromRow),
      secondOpinions: opinions.rows.map(itemFromRow),
      incidents: incidents.rows.map((row) => ({ id: row.id, reportedBy: row.reported_by, at: row.at, category: row.category, description: row.description })),
    };
  }

  claimItem(
    id: string,
    reader: ReaderAudience,
    transactionUID: string,
    at: Date,
    event: (claimed: WorklistItemView) => ItemEvent,
  ): Promise<WorklistItemView | null> {
    if (!UUID.test(id)) return Promise.resolve(null);
    return this.database.withTransaction(async (client) => {
      const { values, bind } = parameterList([id, reader.rpps, transactionUID, at]);
      const result = await client.query<WorklistItemRow>(
        `UPDATE worklist_item i SET status = 'IN PROGRESS', assignee = $2, transaction_uid = $3, claimed_at = $4,
           version = version + 1
         WHERE i.id = $1 AND i.status = 'SCHEDULED' AND ${readerSeesItemSql(reader, 'i', bind)}
         RETURNING ${itemColumns('i')}`,
        values,
      );
      if (result.rows.length === 0) return null;
      const claimed = itemFromRow(result.rows[0]);
      await recordItemChange(client, claimed, event(claimed));
      return claimed;
    });
  }

  releaseItem(id: string, rpps: string, transactionUID: string | null, event: ItemEvent): Promise<WorklistItemView | null> {
    if (!UUID.test(id)) return Promise.resolve(null);
    return this.database.withTransaction(async (client) => {
      const result = await client.query<WorklistItemRow>(
        `UPDATE worklist_item SET status = 'SCHEDULED', assignee = NULL, transaction_uid = NULL, claimed_at = NULL,
           version = version + 1
         WHERE id = $1 AND status = 'IN PROGRESS' AND assignee = $2 AND ($3::text IS NULL OR transaction_uid = $3)
         RETURNING ${ITEM_COLUMNS}`,
        [id, rpps, transactionUID],
      );
      if (result.rows.length === 0) return null;
      const released = itemFromRow(result.rows[0]);
      await recordItemChange(client, released, event);
      return released;
    });
  }

  reassignItem(change: ReassignChange): Promise<WorklistItemView | null> {
    return this.database.withTransaction(async (client) => {
      const before = await selectItem(client, change.id, { forUpdate: true });
      if (!before || !canSeeItem(change.viewer, before)) return null;
      change.check(before);
      const result = await client.query<WorklistItemRow>(
        `UPDATE worklist_item SET assignee = $2, pool = $3, status = 'SCHEDULED', transaction_uid = NULL, claimed_at = NULL,
           version = version + 1
         WHERE id = $1 RETURNING ${ITEM_COLUMNS}`,
        [before.id, change.assignee, change.pool ?? before.pool],
      );
      const after = itemFromRow(result.rows[0]);
      await recordEvents(client, eventsOf(after, [change.event(before, after)]));
      // The former holder's and pool's streams must hear that the item left them, so they refresh their list.
      if (before.assignee !== after.assignee || before.pool !== after.pool) {
        await notifyWorklist(client, itemNotification('item-updated', { ...after, assignee: before.assignee, pool: before.pool }));
      }
      await notifyWorklist(client, itemNotification('item-updated', after));
      return after;
    });
  }

  async requestSecondOpinion(request: SecondOpinionRequest): Promise<WorklistItemView> {
    const { parent } = request;
    try {
      return await this.database.withTransaction(async (client) => {
        const result = await client.query<WorklistItemRow>(
          `INSERT INTO worklist_item (id, kind, parent_id, study_instance_uid, site, territory, modality, body_part, category,
             priority, priority_rank, status, pool, assignee, routed_at, warning_at, deadline)
           VALUES ($1, 'second-opinion', $2, $3, $4, $5, $6, $7, $8, $9, $10, 'SCHEDULED', $11, $12, $13, $14, $15)
           RETURNING ${ITEM_COLUMNS}`,
          [
            randomUUID(), parent.id, parent.studyInstanceUID, parent.site, parent.territory, parent.modality, parent.bodyPart,
            parent.category, request.priority.id, request.priority.rank, request.pool, request.expert, request.at,
            request.warningAt, request.deadline,
          ],
        );
        const item = itemFromRow(result.rows[0]);
        await recordEvents(client, eventsOf(item, [request.event]));
        await notifyWorklist(client, itemNotification('item-created', item));
        return item;
      });
    } catch (error) {
      if ((error as { code?: string }).code !== '23505') throw error;
      const pending = await this.database.query<{ routed_at: Date }>(
        `SELECT routed_at FROM worklist_item WHERE parent_id = $1 AND pool = $2 AND kind = 'second-opinion'
           AND status IN ('SCHEDULED', 'IN PROGRESS') ORDER BY routed_at LIMIT 1`,
        [parent.id, request.pool],
      );
      throw new SecondOpinionPendingError(pending.rows[0]?.routed_at ?? null);
    }
  }

  answerSecondOpinion(id: string, rpps: string, at: Date, outcome: Record<string, unknown>, event: ItemEvent): Promise<WorklistItemView | null> {
    if (!UUID.test(id)) return Promise.resolve(null);
    return this.database.withTransaction(async (client) => {
      const result = await client.query<WorklistItemRow>(
        `UPDATE worklist_item SET status = 'COMPLETED', completed_at = $3, outcome = $4, transaction_uid = NULL,
           version = version + 1
         WHERE id = $1 AND status = 'IN PROGRESS' AND assignee = $2 RETURNING ${ITEM_COLUMNS}`,
        [id, rpps, at, JSON.stringify(outcome)],
      );
      if (result.rows.length === 0) return null;
      const done = itemFromRow(result.rows[0]);
      await recordItemChange(client, done, event);
      // The reader who asked follows the parent item: tell its audience that the answer is in.
      const parent = done.parentId === null ? null : await selectItem(client, done.parentId);
      if (parent) await notifyWorklist(client, itemNotification('item-updated', parent));
      return done;
    });
  }

  recordIncident(item: WorklistItemView, incident: Omit<Incident, 'id'>, event: ItemEvent): Promise<string> {
    return this.database.withTransaction(async (client) => {
      const result = await client.query<{ id: string }>(
        'INSERT INTO worklist_incident (item_id, reported_by, at, category, description) VALUES ($1, $2, $3, $4, $5) RETURNING id',
        [item.id, incident.reportedBy, incident.at, incident.category, incident.description],
      );
      const id = result.rows[0].id;
      await recordEvents(client, eventsOf(item, [{ ...event, detail: { incidentId: id, ...event.detail } }]));
      // An incident raised by the system (a report that could not be delivered) alerts the territory's coordinator.
      const alert = event.type === 'coordinator-alerted' ? { event: 'coordinator-alerted' as const } : {};
      await notifyWorklist(client, { ...itemNotification('item-updated', item), ...alert });
      return id;
    });
  }

  reportExclusively<T>(work: (tx: ReportingTransaction) => Promise<T>): Promise<T> {
    return this.database.withTransaction((client) =>
      work({
        client,
        completeItem: async (itemId, rpps, at, event) => {
          const completed = await client.query<WorklistItemRow>(
            `UPDATE worklist_item SET status = 'COMPLETED', completed_at = $3, version = version + 1
             WHERE id = $1 AND status = 'IN PROGRESS' AND assignee = $2 RETURNING ${ITEM_COLUMNS}`,
            [itemId, rpps, at],
          );
          if (completed.rows.length === 0) return null;
          const item = itemFromRow(completed.rows[0]);
          await recordItemChange(client, item, event);
          return item;
        },
        recordItemEvent: (item, event) => recordItemChange(client, item, event),
      }),
    );
  }

  async studySite(studyInstanceUID: string): Promise<string | null | undefined> {
    const result = await this.database.query<{ site: string | null; known: boolean }>(
      `SELECT COALESCE((SELECT site FROM study WHERE study_instance_uid = $1),
                       (SELECT site FROM study_activity WHERE study_instance_uid = $1)) AS site,
              EXISTS (SELECT 1 FROM study WHERE study_instance_uid = $1)
                OR EXISTS (SELECT 1 FROM study_activity WHERE study_instance_uid = $1) AS known`,
      [studyInstanceUID],
    );
    return result.rows[0].known ? result.rows[0].site : undefined;
  }

  async studyRouting(studyInstanceUID: string): Promise<StudyRoutingRecord> {
    const [decision, items, events] = await Promise.all([
      selectDecision(this.database, studyInstanceUID),
      this.database.query<WorklistItemRow>(`SELECT ${ITEM_COLUMNS} FROM worklist_item WHERE study_instance_uid = $1 ORDER BY routed_at, id`, [
        studyInstanceUID,
      ]),
      this.database.query<EventRow>('SELECT item_id, type, actor, at, detail FROM worklist_event WHERE study_instance_uid = $1 ORDER BY id', [
        studyInstanceUID,
      ]),
    ]);
    return { decision, items: items.rows.map(itemFromRow), events: events.rows.map(eventFromRow) };
  }

  recordOpposition(change: OppositionChange): Promise<{ created: boolean; recordedAt: Date }> {
    return this.database.withTransaction(async (client) => {
      const inserted = await client.query<{ recorded_at: Date }>(
        `INSERT INTO patient_opposition (patient_id, issuer, recorded_by, recorded_at, reason, territory) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (patient_id, issuer) DO UPDATE SET recorded_by = EXCLUDED.recorded_by, recorded_at = EXCLUDED.recorded_at,
           reason = EXCLUDED.reason, territory = EXCLUDED.territory, lifted_by = NULL, lifted_at = NULL
         WHERE patient_opposition.lifted_at IS NOT NULL
         RETURNING recorded_at`,
        [change.patientId, change.issuer, change.actor, change.at, change.reason ?? null, change.territory],
      );
      if (inserted.rows.length === 0) {
        const existing = await client.query<{ recorded_at: Date }>(
          'SELECT recorded_at FROM patient_opposition WHERE patient_id = $1 AND issuer = $2',
          [change.patientId, change.issuer],
        );
        return { created: false, recordedAt: existing.rows[0].recorded_at };
      }
      const studies = await patientStudies(client, change.patientId, change.issuer);
      const detail = { patientId: change.patientId, issuer: change.issuer, ...(change.reason === undefined ? {} : { reason: change.reason }) };
      await auditOpposition(client, 'opposition-recorded', change, detail, studies);
      return { created: true, recordedAt: change.at };
    });
  }

  liftOpposition(change: OppositionChange): Promise<OppositionLift> {
    return this.database.withTransaction(async (client) => {
      const inForce = await client.query<{ territory: string | null }>(
        'SELECT territory FROM patient_opposition WHERE patient_id = $1 AND issuer = $2 AND lifted_at IS NULL FOR UPDATE',
        [change.patientId, change.issuer],
      );
      if (inForce.rows.length === 0) return { kind: 'not-found' } as const;
      if (change.territory !== null && inForce.rows[0].territory !== change.territory) return { kind: 'other-territory' } as const;
      await client.query('UPDATE patient_opposition SET lifted_by = $3, lifted_at = $4 WHERE patient_id = $1 AND issuer = $2', [
        change.patientId, change.issuer, change.actor, change.at,
      ]);
      const studies = await patientStudies(client, change.patientId, change.issuer);
      await auditOpposition(client, 'opposition-lifted', change, { patientId: change.patientId, issuer: change.issuer }, studies);
      return { kind: 'lifted', studies } as const;
    });
  }

  async recordStudyActivity(studyInstanceUID: string, site: string | null, at: Date): Promise<void> {
    await this.database.query(
      `INSERT INTO study_activity (study_instance_uid, site, last_instance_at) VALUES ($1, $2, $3)
       ON CONFLICT (study_instance_uid) DO UPDATE
         SET last_instance_at = GREATEST(study_activity.last_instance_at, EXCLUDED.last_instance_at),
             site = COALESCE(study_activity.site, EXCLUDED.site)`,
      [studyInstanceUID, site, at],
    );
  }

  async recordCompletion(studyInstanceUID: string, flags: CompletionFlags, at: Date): Promise<boolean> {
    const { rowCount } = await this.database.query(
      `INSERT INTO study_activity (study_instance_uid, site, last_instance_at, completed_by_sender_at, sender_flags)
       SELECT s.study_instance_uid, s.site, $2, $2, $3::jsonb FROM study s WHERE s.study_instance_uid = $1
       ON CONFLICT (study_instance_uid) DO UPDATE
         SET completed_by_sender_at = COALESCE(study_activity.completed_by_sender_at, EXCLUDED.completed_by_sender_at),
             sender_flags = study_activity.sender_flags || EXCLUDED.sender_flags`,
      [studyInstanceUID, at, JSON.stringify(flags)],
    );
    return (rowCount ?? 0) > 0;
  }

  /**
   * Also indexed studies with no activity at all (the gateway records activity after answering the STOW: a
   * crash in between), judged by their instances' arrival, with 5 minutes of grace: the activity of a live
   * gateway always comes first.
   */
  async findStableUnrouted(stableBefore: Date, limit: number): Promise<string[]> {
    const { rows } = await this.database.query<{ study_instance_uid: string }>(
      `(SELECT a.study_instance_uid, a.last_instance_at AS last_at
          FROM study_activity a
         WHERE a.stable_at IS NULL
           AND (a.last_instance_at <= $1 OR a.completed_by_sender_at IS NOT NULL)
           AND NOT EXISTS (SELECT 1 FROM routing_decision d WHERE d.study_instance_uid = a.study_instance_uid)
           AND EXISTS (SELECT 1 FROM study s WHERE s.study_instance_uid = a.study_instance_uid))
       UNION ALL
       (SELECT s.study_instance_uid, s.created_at AS last_at
          FROM study s
         WHERE s.created_at <= $1::timestamptz - interval '5 minutes'
           AND NOT EXISTS (SELECT 1 FROM study_activity a WHERE a.study_instance_uid = s.study_instance_uid)
           AND NOT EXISTS (SELECT 1 FROM routing_decision d WHERE d.study_instance_uid = s.study_instance_uid)
           AND NOT EXISTS (SELECT 1 FROM series se JOIN instance i ON i.series_pk = se.pk
                            WHERE se.study_pk = s.pk AND i.received_at > $1::timestamptz - interval '5 minutes'))
       ORDER BY last_at
       LIMIT $2`,
      [stableBefore, limit],
    );
    return rows.map((r) => r.study_instance_uid);
  }

  findDecision(studyInstanceUID: string): Promise<RoutingDecision | null> {
    return selectDecision(this.database, studyInstanceUID);
  }

  routeExclusively<T>(studyInstanceUID: string, work: (tx: RoutingTransaction) => Promise<T>): Promise<T> {
    return this.database.withTransaction(async (client) => {
      // One router per study at a time, whatever the number of workers; the others then see its decision.
      await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`astreinte:route:${studyInstanceUID}`]);
      return work(new PostgresRoutingTransaction(client, studyInstanceUID));
    });
  }

  async findDueItems(now: Date, limit: number): Promise<string[]> {
    const { rows } = await this.database.query<{ id: string }>(
      `SELECT id FROM worklist_item WHERE status = 'SCHEDULED' AND next_escalation_at <= $1
       UNION
       SELECT id FROM worklist_item WHERE deadline_alerted_at IS NULL AND status IN ('SCHEDULED', 'IN PROGRESS') AND deadline <= $1
       LIMIT $2`,
      [now, limit],
    );
    return rows.map((r) => r.id);
  }

  escalateExclusively<T>(itemId: string, work: (tx: EscalationTransaction, state: EscalationState | null) => Promise<T>): Promise<T> {
    return this.database.withTransaction(async (client) => {
      const state = UUID.test(itemId) ? await lockEscalationState(client, itemId) : null;
      return work(new PostgresEscalationTransaction(client), state);
    });
  }
}

async function selectItem(db: Queryable, id: string, options: { forUpdate?: boolean } = {}): Promise<WorklistItemView | null> {
  if (!UUID.test(id)) return null;
  const result = await db.query<WorklistItemRow>(`SELECT ${ITEM_COLUMNS} FROM worklist_item WHERE id = $1${options.forUpdate ? ' FOR UPDATE' : ''}`, [
    id,
  ]);
  return result.rows.length === 0 ? null : itemFromRow(result.rows[0]);
}

/** The stored studies of the patient, by Patient ID or by one of its Other Patient IDs (the INS...). */
async function patientStudies(client: Queryable, patientId: string, issuer: string): Promise<PatientStudy[]> {
  const result = await client.query<{ study_instance_uid: string; site: string | null; held: boolean; sender_flags: unknown }>(
    `SELECT s.study_instance_uid, s.site,
            COALESCE(rd.decision = 'held' AND rd.code = 'patient-objection', false) AS held,
            a.sender_flags
     FROM study s
     JOIN patient p ON p.pk = s.patient_pk
     LEFT JOIN routing_decision rd ON rd.study_instance_uid = s.study_instance_uid
     LEFT JOIN study_activity a ON a.study_instance_uid = s.study_instance_uid
     WHERE (p.patient_id = $1 AND p.issuer_of_patient_id = $2)
        OR EXISTS (SELECT 1 FROM patient_other_id o WHERE o.patient_pk = p.pk AND o.patient_id = $1 AND o.issuer = $2)
     ORDER BY s.study_instance_uid`,
    [patientId, issuer],
  );
  return result.rows.map((row) => ({ studyInstanceUID: row.study_instance_uid, site: row.site, held: row.held, flags: senderFlags(row.sender_flags) }));
}

/** One event at patient level (no study: study_instance_uid ''), plus one per stored study of the patient. */
async function auditOpposition(
  client: Queryable,
  type: 'opposition-recorded' | 'opposition-lifted',
  change: OppositionChange,
  detail: Record<string, unknown>,
  studies: PatientStudy[],
): Promise<void> {
  const base = { itemId: null, type, actor: change.actor, at: change.at };
  await recordEvents(client, [
    { ...base, studyInstanceUID: '', detail: { ...detail, studies: studies.length } },
    ...studies.map((study) => ({ ...base, studyInstanceUID: study.studyInstanceUID, detail: { issuer: change.issuer } })),
  ]);
}
