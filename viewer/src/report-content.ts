/**
 * The report as the API sends and takes it (core/report/report-content.ts on the server, which validates it):
 * the page keeps its own copy of the shape so that zod and the server's modules stay out of the bundle.
 */
import type { ReportMessageKey } from './report-words.ts';

export type TemplateId = 'ct-head-stroke' | 'ct-chest-abdomen' | 'cxr-tb-screening' | 'general';
export type TbConclusion = 'normal' | 'suggestive-of-tb' | 'other-finding';
export type DoseSource = 'dose-sr' | 'image-headers' | 'typed';

export interface DoseEntry {
  acquisition: string;
  ctdiVolMGy?: string;
  dlpMGyCm?: string;
  source?: DoseSource;
}

export interface CriticalFinding {
  flagged: boolean;
  calledWho?: string;
  calledAt?: string;
  how?: string;
}

export interface ReportContent {
  template: TemplateId;
  indication: string;
  technique: { equipment: string; protocol: string; contrast: string; doses: DoseEntry[] };
  findings: string;
  conclusion: string;
  tbConclusion?: TbConclusion;
  recommendation?: string;
  criticalFinding?: CriticalFinding;
}

export const TEMPLATES: readonly { id: TemplateId; label: ReportMessageKey }[] = [
  { id: 'ct-head-stroke', label: 'tplCtHeadStroke' },
  { id: 'ct-chest-abdomen', label: 'tplCtChestAbdomen' },
  { id: 'cxr-tb-screening', label: 'tplCxrTb' },
  { id: 'general', label: 'tplGeneral' },
];

export const TB_CONCLUSIONS: readonly { id: TbConclusion; label: ReportMessageKey }[] = [
  { id: 'normal', label: 'tbNormal' },
  { id: 'suggestive-of-tb', label: 'tbSuggestive' },
  { id: 'other-finding', label: 'tbOther' },
];

export const DOSE_SOURCES: Record<DoseSource, ReportMessageKey> = { 'dose-sr': 'sourceDoseSr', 'image-headers': 'sourceHeaders', typed: 'sourceTyped' };

/** GET /api/worklist/{id}/report */
export interface DraftAnswer {
  itemId: string;
  draft: { content: ReportContent; revision: number; updatedAt: string | null; saved: boolean };
  signingProblems: string[];
  reportId: string | null;
}

/** POST /api/worklist/{id}/report */
export interface SavedAnswer {
  revision: number;
  updatedAt: string;
  signingProblems: string[];
}

export type DeliveryStatus = 'pending' | 'retrying' | 'delivered' | 'failed';

export interface ReportVersion {
  id: string;
  version: number;
  kind: 'report' | 'addendum';
  author: { rpps: string; name: string };
  signedAt: string;
  payload: { content: ReportContent; reason?: string };
  signature: { alg: string; kid: string; value: string };
  deliveries: {
    destination: string;
    kind: string;
    status: DeliveryStatus;
    attempts: number;
    lastError: string | null;
    /** When a retrying delivery is tried again (ISO 8601), else null. */
    nextAttemptAt: string | null;
    deliveredAt: string | null;
  }[];
}

/** GET /api/reports/{id}, and the answers of signing and addenda. */
export interface ReportAnswer {
  id: string;
  itemId: string;
  versions: ReportVersion[];
}

export const DELIVERY_LABELS: Record<DeliveryStatus, ReportMessageKey> = { pending: 'dPending', retrying: 'dRetrying', delivered: 'dDelivered', failed: 'dFailed' };

/** What a delivery still waiting looks like: the page refreshes while any is. */
export function stillDelivering(report: ReportAnswer): boolean {
  return report.versions.some((v) => v.deliveries.some((d) => d.status === 'pending' || d.status === 'retrying'));
}

/** The fingerprint the PDF prints (core/report/signed-report.ts): the first 16 bytes of SHA-256 of the signature, "3F:A2:…". */
export async function signatureFingerprint(signature: string): Promise<string> {
  const base64 = signature.replace(/-/g, '+').replace(/_/g, '/');
  const bytes = Uint8Array.from(atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4)), (c) => c.charCodeAt(0));
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return [...digest.slice(0, 16)].map((b) => b.toString(16).padStart(2, '0').toUpperCase()).join(':');
}

/** Europe/Paris offset ("+01:00") at an instant. */
function parisOffset(instant: number): string {
  const name = new Intl.DateTimeFormat('en-US', { timeZone: 'Europe/Paris', timeZoneName: 'longOffset' })
    .formatToParts(new Date(instant))
    .find((p) => p.type === 'timeZoneName')?.value;
  return /GMT([+-]\d\d:\d\d)/.exec(name ?? '')?.[1] ?? '+00:00';
}

const offsetMs = (offset: string): number => (offset[0] === '-' ? -1 : 1) * (Number(offset.slice(1, 3)) * 60 + Number(offset.slice(4, 6))) * 60_000;

/** A `datetime-local` value read as Paris wall time, as ISO 8601 with its offset (what the API asks). */
export function parisIsoFromLocal(local: string): string | undefined {
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d$/.test(local)) return undefined;
  const asUtc = Date.parse(`${local}:00Z`);
  // Twice: the offset at the guessed instant may differ from the one at the true instant around a DST change.
  const offset = parisOffset(asUtc - offsetMs(parisOffset(asUtc)));
  return `${local}:00${offset}`;
}

/** An instant's Paris wall time of day, "HH:MM". */
export const parisTime = (instant: string | number): string => parisLocal(instant).slice(11);

/** An instant as a `datetime-local` value in Paris wall time. */
export function parisLocal(instant: string | number): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Paris', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
      .formatToParts(new Date(instant))
      .map((p) => [p.type, p.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}`;
}
