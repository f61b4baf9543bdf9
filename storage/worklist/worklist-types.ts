/**
 * The worklist contract shared by the routing worker (which creates and escalates items) and the worklist API
 * (which lists, claims, releases, reassigns them). Modelled on DICOM UPS-RS (PS3.4 CC): an item is SCHEDULED,
 * a claim moves it to IN PROGRESS under a transaction UID, signing the report COMPLETES it.
 * PostgreSQL holds all of it; jobs only ever carry ids.
 */
import type { Expertise, PriorityFlag } from '../../config/region/region-config.ts';

export type WorklistStatus = 'SCHEDULED' | 'IN PROGRESS' | 'COMPLETED' | 'CANCELED';

/** A reading (télédiagnostic) or a second opinion asked of an expertise pole (téléexpertise, its own author). */
export type WorklistItemKind = 'read' | 'second-opinion';

export interface WorklistItem {
  id: string;
  kind: WorklistItemKind;
  /** For a second opinion: the reading item that asked for it. */
  parentId: string | null;
  studyInstanceUID: string;
  /** FINESS of the sending site. */
  site: string;
  territory: string;
  modality: string;
  bodyPart: string | null;
  /** Exam category from classification: stroke, neuro, cardiac, chest-tb-screening, general... */
  category: string;
  /** Priority id from the region config (stroke, urgent, scheduled, tb-screening...). */
  priority: string;
  /** Rank of the priority: lower is more urgent (for sorting). */
  priorityRank: number;
  status: WorklistStatus;
  pool: string;
  /** RPPS of the reader the item is assigned to (on call when routed, or who claimed it), or null. */
  assignee: string | null;
  /** UPS transaction UID of the current claim (IN PROGRESS), or null. */
  transactionUID: string | null;
  routedAt: Date;
  warningAt: Date;
  deadline: Date;
  claimedAt: Date | null;
  completedAt: Date | null;
  /** Expert answer of a second opinion (programmes count them): e.g. { transferAdvised: true } or { thrombolysisIndicated: false }. */
  outcome: Record<string, unknown> | null;
}

/** An item as the worklist reads it: the contract's fields, plus who else the routing worker showed it to. */
export interface WorklistItemView extends WorklistItem {
  /** RPPS of readers an escalation hop offered the item to, besides the assignee. */
  offeredTo: string[];
  /** Pools told about the item without owning it (a stroke: the neuroradiology pole). */
  notifiedPools: string[];
}

/** What a sender may say with `POST /api/studies/{study}/complete` (kept in study_activity.sender_flags). */
export interface CompletionFlags {
  priority?: PriorityFlag;
  expertise?: Expertise;
}

/** Why a study went where it went (GET /api/studies/{study}/routing). */
export interface RoutingDecision {
  studyInstanceUID: string;
  decision: 'routed' | 'held' | 'refused';
  /** Machine code: e.g. archive-only, excluded-modality, patient-objection, no-matching-rule, no-one-on-call. */
  code: string | null;
  rule: string | null;
  pool: string | null;
  reader: string | null;
  /** A sentence for a coordinator: why this rule, pool and reader; or why not routed. No patient data. */
  reason: string;
  decidedAt: Date;
  itemId: string | null;
}

/** One recorded state change: who, when, why (kept for the audit trail). */
export interface WorklistEvent {
  id: string;
  itemId: string | null;
  studyInstanceUID: string;
  /** routed, held, refused, claimed, released, reassigned, escalated, second-opinion-requested, second-opinion-answered, incident, completed, coordinator-alerted, notified */
  type: string;
  /** User id / RPPS of the actor, or 'system' for the worker. */
  actor: string;
  at: Date;
  /** Free detail for humans (reason given, from/to, escalation hop...). */
  detail: Record<string, unknown>;
}

/** Server-sent event pushed to connected readers when an item appears or changes. */
export interface WorklistNotification {
  type: 'item-created' | 'item-updated';
  itemId: string;
  pool: string;
  assignee: string | null;
  territory: string;
  status: WorklistStatus;
  /**
   * What happened (set by the routing worker): routed, escalated, coordinator-alerted. Absent: a change made
   * through the worklist API (claim, release...).
   */
  event?: 'routed' | 'escalated' | 'coordinator-alerted';
  /** Pools told about the item besides its own (a stroke: the neuroradiology pole); their members should see it. */
  notifiedPools?: string[];
  /** Readers an escalation hop offered the item to besides the assignee (territory readers, pole members). */
  offeredTo?: string[];
}

/** The PostgreSQL NOTIFY channel carrying WorklistNotification JSON between worker and API processes. */
export const WORKLIST_NOTIFY_CHANNEL = 'astreinte_worklist';
