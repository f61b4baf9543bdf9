import type { JsonWebKey } from 'node:crypto';
import type { ReportContent } from '../../core/report/report-content.ts';
import type { SignedReportPayload } from '../../core/report/signed-report.ts';
import type { Database } from '../database/database.ts';
import { runMigrations } from '../database/migrate.ts';
import { DICOM_INDEX_MIGRATIONS, REPORT_MIGRATIONS, WORKLIST_MIGRATIONS } from '../database/migration-sources.ts';
import type {
  AttemptOutcome,
  DeliveryRecord,
  DeliveryStatus,
  DraftSave,
  ItemStep,
  Queryable,
  ReportDraft,
  ReportStore,
  SignedReportRecord,
  SigningKeyRecord,
} from './report-store.ts';

interface DraftRow {
  item_id: string;
  author: string;
  content: ReportContent;
  revision: number;
  updated_at: Date;
}

interface KeyRow {
  kid: string;
  rpps: string;
  public_jwk: JsonWebKey;
  encrypted_private_key: Buffer;
  created_at: Date;
  retired_at: Date | null;
}

interface ReportRow {
  id: string;
  original_id: string | null;
  version: number;
  kind: 'report' | 'addendum';
  item_id: string;
  study_instance_uid: string;
  site: string;
  territory: string;
  author_rpps: string;
  payload: SignedReportPayload;
  signature: string;
  key_id: string;
  signed_at: Date;
  sr_series_instance_uid: string;
  sr_sop_instance_uid: string;
  sr_object_key: string;
  sr_sha256: string;
  pdf_series_instance_uid: string;
  pdf_sop_instance_uid: string;
  pdf_object_key: string;
  pdf_sha256: string;
  pdf_document_sha256: string;
}

interface DeliveryRow {
  id: string;
  report_id: string;
  destination: string;
  kind: string;
  status: DeliveryStatus;
  attempts: number;
  last_error: string | null;
  next_attempt_at: Date | null;
  created_at: Date;
  updated_at: Date;
  delivered_at: Date | null;
}

const REPORT_COLUMNS =
  'id, original_id, version, kind, item_id, study_instance_uid, site, territory, author_rpps, payload, signature, key_id, signed_at, ' +
  'sr_series_instance_uid, sr_sop_instance_uid, sr_object_key, sr_sha256, pdf_series_instance_uid, pdf_sop_instance_uid, pdf_object_key, pdf_sha256, pdf_document_sha256';
const DELIVERY_COLUMNS = 'id::text AS id, report_id, destination, kind, status, attempts, last_error, next_attempt_at, created_at, updated_at, delivered_at';

const draftOf = (r: DraftRow): ReportDraft => ({ itemId: r.item_id, author: r.author, content: r.content, revision: r.revision, updatedAt: r.updated_at });
const keyOf = (r: KeyRow): SigningKeyRecord => ({
  kid: r.kid,
  rpps: r.rpps,
  publicJwk: r.public_jwk,
  encryptedPrivateKey: r.encrypted_private_key,
  createdAt: r.created_at,
  retiredAt: r.retired_at,
});
const reportOf = (r: ReportRow): SignedReportRecord => ({
  id: r.id,
  originalId: r.original_id,
  version: r.version,
  kind: r.kind,
  itemId: r.item_id,
  studyInstanceUID: r.study_instance_uid,
  site: r.site,
  territory: r.territory,
  authorRpps: r.author_rpps,
  payload: r.payload,
  signature: r.signature,
  keyId: r.key_id,
  signedAt: r.signed_at,
  sr: { seriesInstanceUID: r.sr_series_instance_uid, sopInstanceUID: r.sr_sop_instance_uid, objectKey: r.sr_object_key, sha256: r.sr_sha256 },
  pdf: {
    seriesInstanceUID: r.pdf_series_instance_uid,
    sopInstanceUID: r.pdf_sop_instance_uid,
    objectKey: r.pdf_object_key,
    sha256: r.pdf_sha256,
    documentSha256: r.pdf_document_sha256,
  },
});
const deliveryOf = (r: DeliveryRow): DeliveryRecord => ({
  id: r.id,
  reportId: r.report_id,
  destination: r.destination,
  kind: r.kind,
  status: r.status,
  attempts: r.attempts,
  lastError: r.last_error,
  nextAttemptAt: r.next_attempt_at,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  deliveredAt: r.delivered_at,
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class PostgresReportStore implements ReportStore {
  constructor(private readonly database: Database) {}

  async migrate(): Promise<void> {
    await this.database.asOwner((pool) => runMigrations(pool, [DICOM_INDEX_MIGRATIONS, WORKLIST_MIGRATIONS, REPORT_MIGRATIONS]));
  }

  async draft(itemId: string): Promise<ReportDraft | null> {
    const result = await this.database.query<DraftRow>('SELECT item_id, author, content, revision, updated_at FROM report_draft WHERE item_id = $1', [itemId]);
    return result.rows[0] ? draftOf(result.rows[0]) : null;
  }

  async saveDraft(itemId: string, author: string, content: ReportContent, at: Date, expectedRevision?: number): Promise<DraftSave> {
    const result = await this.database.query<DraftRow>(
      `INSERT INTO report_draft (item_id, author, content, revision, updated_at) VALUES ($1, $2, $3, 1, $4)
       ON CONFLICT (item_id) DO UPDATE SET author = EXCLUDED.author, content = EXCLUDED.content,
         revision = report_draft.revision + 1, updated_at = EXCLUDED.updated_at
       WHERE $5::integer IS NULL OR report_draft.revision = $5
       RETURNING item_id, author, content, revision, updated_at`,
      [itemId, author, JSON.stringify(content), at, expectedRevision ?? null],
    );
    if (result.rows[0]) return { saved: draftOf(result.rows[0]) };
    const current = await this.draft(itemId);
    if (!current) throw new Error(`draft of item ${itemId} vanished while saving`);
    return { conflict: current };
  }

  async activeKey(rpps: string): Promise<SigningKeyRecord | null> {
    const result = await this.database.query<KeyRow>('SELECT * FROM reader_signing_key WHERE rpps = $1 AND retired_at IS NULL', [rpps]);
    return result.rows[0] ? keyOf(result.rows[0]) : null;
  }

  async addKey(key: Omit<SigningKeyRecord, 'retiredAt'>): Promise<SigningKeyRecord> {
    await this.database.query(
      `INSERT INTO reader_signing_key (kid, rpps, public_jwk, encrypted_private_key, created_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT DO NOTHING`,
      [key.kid, key.rpps, JSON.stringify(key.publicJwk), key.encryptedPrivateKey, key.createdAt],
    );
    const active = await this.activeKey(key.rpps);
    if (!active) throw new Error(`no active signing key for reader ${key.rpps} after adding one`);
    return active;
  }

  async publicKeys() {
    const result = await this.database.query<KeyRow>('SELECT kid, rpps, public_jwk, created_at, retired_at FROM reader_signing_key ORDER BY created_at, kid');
    return result.rows.map((r) => ({ kid: r.kid, rpps: r.rpps, publicJwk: r.public_jwk, createdAt: r.created_at, retiredAt: r.retired_at }));
  }

  async publicKey(kid: string): Promise<JsonWebKey | null> {
    const result = await this.database.query<{ public_jwk: JsonWebKey }>('SELECT public_jwk FROM reader_signing_key WHERE kid = $1', [kid]);
    return result.rows[0]?.public_jwk ?? null;
  }

  async insertSignedReport(db: Queryable, r: SignedReportRecord): Promise<void> {
    await db.query(
      `INSERT INTO signed_report (${REPORT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)`,
      [
        r.id, r.originalId, r.version, r.kind, r.itemId, r.studyInstanceUID, r.site, r.territory, r.authorRpps, JSON.stringify(r.payload), r.signature,
        r.keyId, r.signedAt, r.sr.seriesInstanceUID, r.sr.sopInstanceUID, r.sr.objectKey, r.sr.sha256, r.pdf.seriesInstanceUID,
        r.pdf.sopInstanceUID, r.pdf.objectKey, r.pdf.sha256, r.pdf.documentSha256,
      ],
    );
  }

  async signedReport(id: string): Promise<SignedReportRecord | null> {
    if (!UUID.test(id)) return null;
    const result = await this.database.query<ReportRow>(`SELECT ${REPORT_COLUMNS} FROM signed_report WHERE id = $1`, [id]);
    return result.rows[0] ? reportOf(result.rows[0]) : null;
  }

  async reportVersions(originalId: string): Promise<SignedReportRecord[]> {
    const result = await this.database.query<ReportRow>(
      `SELECT ${REPORT_COLUMNS} FROM signed_report WHERE id = $1 OR original_id = $1 ORDER BY version`,
      [originalId],
    );
    return result.rows.map(reportOf);
  }

  async reportOfItem(itemId: string): Promise<SignedReportRecord | null> {
    const result = await this.database.query<ReportRow>(`SELECT ${REPORT_COLUMNS} FROM signed_report WHERE item_id = $1 AND kind = 'report'`, [itemId]);
    return result.rows[0] ? reportOf(result.rows[0]) : null;
  }

  async allSignedReports(afterId?: string, limit = 500): Promise<SignedReportRecord[]> {
    const result = await this.database.query<ReportRow>(
      `SELECT ${REPORT_COLUMNS} FROM signed_report WHERE $1::uuid IS NULL OR id > $1 ORDER BY id LIMIT $2`,
      [afterId ?? null, limit],
    );
    return result.rows.map(reportOf);
  }

  async createDeliveries(db: Queryable, reportId: string, destinations: { id: string; kind: string }[], at: Date): Promise<DeliveryRecord[]> {
    const created: DeliveryRecord[] = [];
    for (const d of destinations) {
      const result = await db.query<DeliveryRow>(
        `INSERT INTO report_delivery (report_id, destination, kind, status, created_at, updated_at) VALUES ($1, $2, $3, 'pending', $4, $4)
         ON CONFLICT (report_id, destination) DO UPDATE SET destination = EXCLUDED.destination
         RETURNING ${DELIVERY_COLUMNS}`,
        [reportId, d.id, d.kind, at],
      );
      created.push(deliveryOf(result.rows[0]));
    }
    return created;
  }

  async delivery(id: string): Promise<DeliveryRecord | null> {
    if (!/^\d+$/.test(id)) return null;
    const result = await this.database.query<DeliveryRow>(`SELECT ${DELIVERY_COLUMNS} FROM report_delivery WHERE id = $1`, [id]);
    return result.rows[0] ? deliveryOf(result.rows[0]) : null;
  }

  async deliveriesOf(reportIds: string[]): Promise<DeliveryRecord[]> {
    const result = await this.database.query<DeliveryRow>(
      `SELECT ${DELIVERY_COLUMNS} FROM report_delivery WHERE report_id = ANY($1::uuid[]) ORDER BY id`,
      [reportIds],
    );
    return result.rows.map(deliveryOf);
  }

  async recordAttempt(deliveryId: string, outcome: AttemptOutcome): Promise<DeliveryRecord> {
    const nextAttemptAt = outcome.nextAttemptAt ?? null;
    return this.database.withTransaction(async (client) => {
      await client.query('INSERT INTO report_delivery_attempt (delivery_id, at, ok, detail, next_attempt_at) VALUES ($1, $2, $3, $4, $5)', [
        deliveryId,
        outcome.at,
        outcome.ok,
        outcome.detail,
        nextAttemptAt,
      ]);
      const result = await client.query<DeliveryRow>(
        `UPDATE report_delivery SET status = $2, attempts = attempts + 1, last_error = CASE WHEN $3 THEN last_error ELSE $4 END,
           updated_at = $5, delivered_at = CASE WHEN $3 THEN $5 ELSE delivered_at END, next_attempt_at = $6
         WHERE id = $1 RETURNING ${DELIVERY_COLUMNS}`,
        [deliveryId, outcome.status, outcome.ok, outcome.detail, outcome.at, nextAttemptAt],
      );
      return deliveryOf(result.rows[0]);
    });
  }

  async recordStep(db: Queryable, itemId: string, step: ItemStep, at: Date): Promise<void> {
    await db.query('INSERT INTO item_step (item_id, step, at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [itemId, step, at]);
  }

  async steps(itemId: string): Promise<Partial<Record<ItemStep, Date>>> {
    const result = await this.database.query<{ step: ItemStep; at: Date }>('SELECT step, at FROM item_step WHERE item_id = $1', [itemId]);
    return Object.fromEntries(result.rows.map((r) => [r.step, r.at]));
  }
}
