/**
 * The worklist store: every read and write of routing decisions, study activity, worklist items, their events
 * and incidents, second opinions and patient oppositions goes through this contract (like ObjectStore for the
 * pixels and DicomIndex for the index). Each change is written with its audit event (worklist_event) and its
 * NOTIFY in one transaction: all of it commits, or none. Who sees what is item-visibility.ts's single definition.
 * One implementation (PostgreSQL); its contract suite runs against an embedded and an external server.
 */
import type pg from 'pg';
import type { ItemVisibilityQuery, ReaderAudience, WorklistViewer } from './item-visibility.ts';
import type {
  CompletionFlags,
  RoutingDecision,
  WorklistEvent,
  WorklistItemView,
  WorklistNotification,
  WorklistStatus,
} from './worklist-types.ts';

/** A state change to record: who, when, why (the store fills in the item and study it concerns). */
export type NewWorklistEvent = Omit<WorklistEvent, 'id'>;
export type ItemEvent = Omit<NewWorklistEvent, 'itemId' | 'studyInstanceUID'>;
/** An event as histories and routing explanations show it. */
export type RecordedEvent = Omit<WorklistEvent, 'id' | 'studyInstanceUID'>;

export interface ItemListQuery extends ItemVisibilityQuery {
  statuses: readonly WorklistStatus[];
  /** Null: every priority. */
  priorities: readonly string[] | null;
  limit: number;
}

/** A listed item, with the question asked when it is a second opinion. */
export interface ListedItem {
  item: WorklistItemView;
  question: string | null;
}

export interface Incident {
  id: string;
  reportedBy: string;
  at: Date;
  category: string;
  description: string;
}

/** An item's history: its events and those of its second opinions, the opinions themselves, its incidents. */
export interface ItemHistory {
  events: RecordedEvent[];
  secondOpinions: WorklistItemView[];
  incidents: Incident[];
}

/** Everything recorded about the routing of a study. */
export interface StudyRoutingRecord {
  decision: RoutingDecision | null;
  items: WorklistItemView[];
  events: RecordedEvent[];
}

export interface SecondOpinionRequest {
  parent: WorklistItemView;
  pool: string;
  priority: { id: string; rank: number };
  /** RPPS of the pole's expert on call, offered the item; null when nobody is. */
  expert: string | null;
  at: Date;
  warningAt: Date;
  deadline: Date;
  /** The event 'second-opinion-requested' (its detail carries the question). */
  event: ItemEvent;
}

/** The pole already has an open second opinion on this exam. */
export class SecondOpinionPendingError extends Error {
  constructor(readonly askedAt: Date | null) {
    super('a second opinion of this pole is already pending for this item');
    this.name = 'SecondOpinionPendingError';
  }
}

export interface ReassignChange {
  id: string;
  viewer: WorklistViewer;
  assignee: string;
  /** Default: the item's pool. */
  pool?: string;
  /** Throws to refuse the change (the item is locked and unchanged meanwhile). */
  check(before: WorklistItemView): void;
  /** The 'reassigned' event, from the item before and after. */
  event(before: WorklistItemView, after: WorklistItemView): ItemEvent;
}

export interface PatientIdentifier {
  id: string;
  /** Issuer of Patient ID ('' when none): the local IPP's issuer, or an OID such as the INS 1.2.250.1.213.1.4.8. */
  issuer: string;
}

export interface PatientStudy {
  studyInstanceUID: string;
  /** The study's site (null: an administrator's import). */
  site: string | null;
  /** Held by routing because of the patient's opposition: to route again once it is lifted. */
  held: boolean;
  /** The sender's flags kept with the study, so a re-routed study keeps its stroke or expertise flag. */
  flags: CompletionFlags;
}

export interface OppositionChange {
  patientId: string;
  issuer: string;
  actor: string;
  /**
   * The coordinator's territory; null for an administrator. A recorded objection carries it; a lift by a
   * coordinator only reaches objections of their territory (an administrator lifts any).
   */
  territory: string | null;
  at: Date;
  reason?: string;
}

/** A lift: the patient's studies; not-found when no objection is in force; other-territory when it is another's. */
export type OppositionLift = { kind: 'lifted'; studies: PatientStudy[] } | { kind: 'not-found' } | { kind: 'other-territory' };

export interface PatientObjection {
  /** Issuer of the identifier the opposition was recorded under (e.g. the INS OID): no patient data. */
  issuer: string;
  recordedAt: Date;
}

/** What routing reads about a study: the index (what the sender stored) and what the sender said. */
export interface StudyRecord {
  studyInstanceUID: string;
  /** FINESS of the owning site, else of the site whose activity was recorded; null: none. */
  site: string | null;
  studyDescription: string | null;
  /** The local Patient ID with its issuer, then every Other Patient ID (INS...). */
  patientIds: PatientIdentifier[];
  senderFlags: CompletionFlags;
  /** In series order: modality, body part and the metadata text of the series' first instance. */
  series: { modality: string | null; bodyPartExamined: string | null; firstInstanceMetadata: string | null }[];
}

/** The part of a reading item routing returns and schedules escalation from. */
export interface RoutedItem {
  id: string;
  pool: string;
  assignee: string | null;
  warningAt: Date;
  deadline: Date;
  /** When the first escalation hop falls due (null: the rule has no escalation chain). */
  nextEscalationAt: Date | null;
}

/** A reading item to create for a routed study. */
export interface NewReadItem {
  studyInstanceUID: string;
  site: string;
  territory: string;
  modality: string;
  bodyPart: string | null;
  category: string;
  priority: { id: string; rank: number };
  pool: string;
  assignee: string | null;
  routedAt: Date;
  warningAt: Date;
  deadline: Date;
  escalationChain: string | null;
  nextEscalationAt: Date | null;
  notifiedPools: string[];
}

export type ReadItemCreation =
  | { created: true; item: RoutedItem; decision: RoutingDecision }
  /** The study already had a reading item (never created twice): what stands is returned, nothing recorded. */
  | { created: false; item: RoutedItem | null; decision: RoutingDecision | null };

/** One study's routing, under a lock that no other router of the same study holds meanwhile. */
export interface RoutingTransaction {
  /** The transaction's connection, for the audit trail's recordIn (committed with the decision). */
  readonly client: pg.ClientBase;
  decision(): Promise<RoutingDecision | null>;
  routedItem(itemId: string): Promise<RoutedItem | null>;
  /** Null when the study is not (yet) in the index. */
  studyRecord(): Promise<StudyRecord | null>;
  /** An opposition in force under any of these identifiers (identifier and issuer match exactly). */
  patientObjection(identifiers: readonly PatientIdentifier[]): Promise<PatientObjection | null>;
  /** Records a held or refused decision, its event, and that the study is decided. */
  recordNotRouted(decision: RoutingDecision, site: string | null): Promise<void>;
  /**
   * Creates the reading item with its decision (itemId filled in), its events (the item's id filled in), marks
   * the study decided and notifies the item's audience (event 'routed').
   */
  createReadItem(item: NewReadItem, decision: Omit<RoutingDecision, 'itemId'>, events: ItemEvent[]): Promise<ReadItemCreation>;
}

/** The escalation state of an item, as escalation decides from it. */
export interface EscalationState {
  id: string;
  studyInstanceUID: string;
  site: string;
  territory: string;
  status: WorklistStatus;
  pool: string;
  assignee: string | null;
  routedAt: Date;
  warningAt: Date;
  deadline: Date;
  escalationLevel: number;
  escalationChain: string | null;
  nextEscalationAt: Date | null;
  offeredTo: string[];
  deadlineAlertedAt: Date | null;
  /** Pool and reader of the routing decision. */
  routedPool: string | null;
  routedReader: string | null;
}

/** One item's escalation, under its row lock. */
export interface EscalationTransaction {
  /** The transaction's connection, for the audit trail's recordIn (committed with the change). */
  readonly client: pg.ClientBase;
  /** Writes the item's new escalation state, its events and the notification of its audience. */
  saveEscalation(state: EscalationState, deadlineAlertedAt: Date | null, events: ItemEvent[], notification: WorklistNotification): Promise<void>;
}

/**
 * The worklist's part of signing a report, in the report's own transaction (the report store writes the signed
 * version and its deliveries through `client`): the item completed, or an addendum recorded on it.
 */
export interface ReportingTransaction {
  /** The transaction's connection, for the report store's statements. */
  readonly client: pg.ClientBase;
  /** IN PROGRESS -> COMPLETED by its holder; null when the reader no longer holds it (released, reassigned, signed). */
  completeItem(itemId: string, rpps: string, at: Date, event: ItemEvent): Promise<WorklistItemView | null>;
  /** An event on the item (an addendum signed), and the item's audience told. */
  recordItemEvent(item: WorklistItemView, event: ItemEvent): Promise<void>;
}

export interface WorklistStore {
  // Items, for the worklist API.
  /** The item, or null (also for an id that is not a UUID). */
  findItem(id: string): Promise<WorklistItemView | null>;
  /** Sorted by priority rank, deadline, routing time. */
  listItems(viewer: WorklistViewer, query: ItemListQuery): Promise<ListedItem[]>;
  itemHistory(itemId: string): Promise<ItemHistory>;
  /** SCHEDULED -> IN PROGRESS under a new transaction UID, if the reader sees the item; null when it did not take. */
  claimItem(id: string, reader: ReaderAudience, transactionUID: string, at: Date, event: (claimed: WorklistItemView) => ItemEvent): Promise<WorklistItemView | null>;
  /** IN PROGRESS -> SCHEDULED by its holder (and transaction UID when given); null when it did not take. */
  releaseItem(id: string, rpps: string, transactionUID: string | null, event: ItemEvent): Promise<WorklistItemView | null>;
  /** Null when the viewer does not see the item. */
  reassignItem(change: ReassignChange): Promise<WorklistItemView | null>;
  /** Throws SecondOpinionPendingError when the pole has an open one for this exam. */
  requestSecondOpinion(request: SecondOpinionRequest): Promise<WorklistItemView>;
  /** IN PROGRESS -> COMPLETED with the outcome, by the expert holding it; the parent's audience is told. */
  answerSecondOpinion(id: string, rpps: string, at: Date, outcome: Record<string, unknown>, event: ItemEvent): Promise<WorklistItemView | null>;
  /** Returns the incident's id; the event's detail gets `incidentId`. */
  recordIncident(item: WorklistItemView, incident: Omit<Incident, 'id'>, event: ItemEvent): Promise<string>;

  // Studies.
  /** The owning site of a stored (or announced) study; null: owned by no site; undefined: unknown study. */
  studySite(studyInstanceUID: string): Promise<string | null | undefined>;
  studyRouting(studyInstanceUID: string): Promise<StudyRoutingRecord>;

  // The opposition registry (each change audited per patient and per stored study).
  /** created false: an opposition was already in force (recordedAt: when). */
  recordOpposition(change: OppositionChange): Promise<{ created: boolean; recordedAt: Date }>;
  liftOpposition(change: OppositionChange): Promise<OppositionLift>;

  // Routing.
  recordStudyActivity(studyInstanceUID: string, site: string | null, at: Date): Promise<void>;
  /** Records the sender's completion; false when the study is not in the index (nothing to complete). */
  recordCompletion(studyInstanceUID: string, flags: CompletionFlags, at: Date): Promise<boolean>;
  /** Stable studies in the index without a decision (their job was lost, never queued, or died mid-routing). */
  findStableUnrouted(stableBefore: Date, limit: number): Promise<string[]>;
  findDecision(studyInstanceUID: string): Promise<RoutingDecision | null>;
  /** Runs `work` in one transaction holding the study's routing lock. */
  routeExclusively<T>(studyInstanceUID: string, work: (tx: RoutingTransaction) => Promise<T>): Promise<T>;

  // Escalation.
  /** Items with a hop due or a deadline passed unreported at `now`. */
  findDueItems(now: Date, limit: number): Promise<string[]>;
  // Reports.
  /** Runs `work` in one transaction: the report's statements and the item's change commit together or not at all. */
  reportExclusively<T>(work: (tx: ReportingTransaction) => Promise<T>): Promise<T>;

  /** Runs `work` in one transaction holding the item's row lock (state null: no such item). */
  escalateExclusively<T>(itemId: string, work: (tx: EscalationTransaction, state: EscalationState | null) => Promise<T>): Promise<T>;
}
