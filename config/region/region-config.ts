/**
 * The regional configuration once loaded and checked: territories, sites, readers, pools, rotas, routing
 * rules, deadlines and escalation chains. Every reference in it has been checked to exist, so consumers
 * can look things up without defending against dangling ids. Times of day are wall time in the pool's zone.
 */
import type { HolidayCalendar, HolidayCalendarKind } from '../../core/time/public-holidays.ts';
import type { LocalDate } from '../../core/time/wall-time.ts';

export const SITE_KINDS = ['hospital', 'clinic', 'prison-health-unit', 'ehpad'] as const;
export type SiteKind = (typeof SITE_KINDS)[number];

export const MEMBERSHIPS = ['full', 'archive-only'] as const;
/** `full`: teleradiology and archive; `archive-only`: stored and searchable, never routed. */
export type Membership = (typeof MEMBERSHIPS)[number];

export const QUALIFICATIONS = [
  'radiologist',
  'neuroradiologist',
  'cardiovascular-imaging',
  'pneumologist',
  'neurosurgeon',
] as const;
export type Qualification = (typeof QUALIFICATIONS)[number];

export const POOL_KINDS = ['pdses', 'expertise-pole', 'pneumology', 'daytime-backup'] as const;
export type PoolKind = (typeof POOL_KINDS)[number];

export const EXPERTISES = ['neuroradiology', 'cardiovascular-imaging', 'pneumology', 'neurosurgery'] as const;
export type Expertise = (typeof EXPERTISES)[number];

export const PRIORITY_FLAGS = ['stroke', 'urgent', 'scheduled'] as const;
/** What the sender says about the exam (AVC/stroke alert, urgent, scheduled). */
export type PriorityFlag = (typeof PRIORITY_FLAGS)[number];

export const EXAM_CATEGORIES = ['stroke', 'neuro', 'cardiac', 'chest-tb-screening', 'general'] as const;
export type ExamCategory = (typeof EXAM_CATEGORIES)[number];

export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
/** Index in WEEKDAYS is the JavaScript day number (0 = Sunday). */
export type Weekday = (typeof WEEKDAYS)[number];

export const REPORT_DESTINATION_KINDS = ['dicomweb', 'dicom', 'hl7-mllp'] as const;
export type ReportDestinationKind = (typeof REPORT_DESTINATION_KINDS)[number];

/**
 * How a DICOMweb destination authenticates. Secrets are never written in the region file: it names the
 * environment variable that holds them on the machine that delivers.
 */
export type DestinationAuth =
  | { kind: 'none' }
  | { kind: 'bearer'; tokenEnv: string }
  | { kind: 'basic'; username: string; passwordEnv: string };

/** Where a site's signed reports go (several per site allowed: its PACS and its RIS). */
export type ReportDestination =
  /** STOW-RS of the SR and the PDF to the site's PACS. */
  | { id: string; kind: 'dicomweb'; url: string; auth: DestinationAuth }
  /** C-STORE of the SR and the PDF to the site's PACS. */
  | { id: string; kind: 'dicom'; aeTitle: string; host: string; port: number; tls: boolean; callingAeTitle: string }
  /** HL7 v2.5.1 ORU^R01 over MLLP to the site's RIS (report text and PDF). */
  | { id: string; kind: 'hl7-mllp'; host: string; port: number; receivingApplication: string; receivingFacility: string };

/** Concurrent DIMSE associations a site may hold when the region file sets no dicomMaxAssociations. */
export const DEFAULT_SITE_ASSOCIATIONS = 8;

/** A DICOM peer (PACS, archive) an administrator may send a study to; `tls`: DICOM TLS, the peer's certificate verified. */
export interface DicomPeer {
  id: string;
  name: string;
  aeTitle: string;
  host: string;
  port: number;
  tls: boolean;
  callingAeTitle: string;
}

/** Minutes since local midnight (18:30 -> 1110). */
export type MinuteOfDay = number;

export interface Territory {
  id: string;
  name: string;
  timezone: string;
}

export interface Site {
  /** FINESS number, 9 characters. */
  finess: string;
  name: string;
  kind: SiteKind;
  territory: string;
  aeTitles: string[];
  /** Where its DIMSE associations may come from (addresses, CIDR blocks); absent: anywhere. */
  dicomAddresses?: string[];
  /** Concurrent DIMSE associations from this site; absent: DEFAULT_SITE_ASSOCIATIONS (8). */
  dicomMaxAssociations?: number;
  /** Where its signed reports are delivered (empty: none, the site reads them in Astreinte). */
  reportDestinations: ReportDestination[];
  membership: Membership;
}

export interface Reader {
  /** RPPS number, 11 digits. */
  rpps: string;
  name: string;
  qualifications: Qualification[];
  /** FINESS of every site the reader may read for (the `territories` shortcut already expanded). */
  sites: string[];
}

export interface Pool {
  id: string;
  name: string;
  kind: PoolKind;
  /** Set for territorial lines (pdses, territorial daytime backup); absent for regional pools. */
  territory?: string;
  /** Set for expertise poles. */
  expertise?: Expertise;
  /** RPPS of the members. */
  members: string[];
  /** Zone the pool's rota is written in: the territory's, else the region's. */
  timezone: string;
}

export interface ReaderPair {
  reader: string;
  backup: string;
}

export type Staffing =
  | ({ kind: 'fixed' } & ReaderPair)
  | {
      kind: 'rotation';
      /** Occurrences starting on this local date (and every `every` after) take turns[0]. */
      anchor: LocalDate;
      every: 'day' | 'week';
      turns: ReaderPair[];
    };

/**
 * A recurring shift. One occurrence starts on each of `startDays` at `start` and ends `spanDays` later at
 * `end` (18:30 -> 08:30 has spanDays 1; Sat 08:30 -> Mon 08:30 has spanDays 2).
 */
export interface WeeklyShift {
  id: string;
  label: string;
  startDays: Weekday[];
  start: MinuteOfDay;
  end: MinuteOfDay;
  spanDays: number;
  staffing: Staffing;
}

/** The shift that replaces the weekly pattern on a public holiday: from `start` on the day, `spanDays` later at `end`. */
export interface HolidayShift {
  label: string;
  start: MinuteOfDay;
  end: MinuteOfDay;
  spanDays: number;
  staffing: Staffing;
}

export interface DatedAssignment {
  id: string;
  /** Local wall time in the pool's zone, as written: 2026-08-10T08:30. */
  from: string;
  to: string;
  fromInstant: Date;
  toInstant: Date;
  reader: string;
  backup: string;
  reason?: string;
}

export interface Rota {
  pool: string;
  weekly: WeeklyShift[];
  /** Holiday shift overriding the weekly pattern on public holidays, if any. */
  publicHolidays?: HolidayShift;
  /** When true, weekly shifts starting on a public holiday do not run (daytime lines). */
  closedOnPublicHolidays: boolean;
  assignments: DatedAssignment[];
}

export interface Priority {
  id: string;
  label: string;
  /** 1 is the most urgent; worklists sort by rank then deadline. */
  rank: number;
  deadlineMs: number;
  /** Time after routing at which an unclaimed item escalates (e.g. 50 % of the deadline). */
  warningMs: number;
}

export type EscalationStep =
  | { kind: 'backup' }
  | { kind: 'pool-members' }
  | { kind: 'territory-readers' }
  | { kind: 'pool'; pool: string }
  | { kind: 'reader'; reader: string }
  | { kind: 'coordinator' };

export interface EscalationChain {
  id: string;
  steps: EscalationStep[];
}

export interface ExcludedModality {
  modality: string;
  reason: string;
}

/** `territory` targets mean "the pool of that kind in the study's territory". */
export type PoolTarget = { kind: 'pool'; pool: string } | { kind: 'territory'; poolKind: PoolKind };

export interface RuleMatch {
  categories?: ExamCategory[];
  siteKinds?: SiteKind[];
  sites?: string[];
  territories?: string[];
  modalities?: string[];
  bodyParts?: string[];
  flags?: PriorityFlag[];
  expertise?: Expertise[];
  /** Normalised (lower case, no accents) words or phrases looked for in description / requested procedure. */
  keywords?: string[];
  pattern?: RegExp;
}

export interface RoutingRule {
  id: string;
  description: string;
  match: RuleMatch;
  route: {
    /** Candidates in order: the first with someone on call gets the item. */
    pools: PoolTarget[];
    /** Pools told about the item too (for example the neuroradiology pole for a stroke). */
    notify: string[];
    priority: string;
    /** Overrides the priority's deadline/warning when set. */
    deadlineMs?: number;
    warningMs?: number;
    escalation?: string;
  };
}

export interface RegionConfig {
  /** Absolute path of the file, or the name given to parseRegionConfig. */
  source: string;
  version: 1;
  region: { id: string; name: string; timezone: string };
  publicHolidays: { calendar: HolidayCalendarKind; extraDates: { date: string; name: string }[] };
  holidayCalendar: HolidayCalendar;
  territories: Territory[];
  sites: Site[];
  readers: Reader[];
  pools: Pool[];
  rotas: Rota[];
  priorities: Priority[];
  escalationChains: EscalationChain[];
  excludedModalities: ExcludedModality[];
  /** Where an administrator may send a study (C-STORE SCU). */
  dicomPeers: DicomPeer[];
  /** In file order; the first rule that matches wins. */
  rules: RoutingRule[];
  territoryById: ReadonlyMap<string, Territory>;
  siteByFiness: ReadonlyMap<string, Site>;
  /** Upper-case AE title -> site. */
  siteByAeTitle: ReadonlyMap<string, Site>;
  readerByRpps: ReadonlyMap<string, Reader>;
  poolById: ReadonlyMap<string, Pool>;
  rotaByPool: ReadonlyMap<string, Rota>;
  priorityById: ReadonlyMap<string, Priority>;
  chainById: ReadonlyMap<string, EscalationChain>;
}
