/**
 * Requests to send a stored study to a DICOM peer (an administrator's act), and what became of each: the
 * contract the gateway (records requests, shows them) and the worker (sends, records outcomes) share.
 */
export type StudySendStatus = 'pending' | 'sending' | 'retrying' | 'done' | 'partly-failed' | 'failed';

export interface RefusedInstance {
  sopInstanceUID: string;
  /** The peer's C-STORE status; null when the instance was not sent (no presentation context accepted). */
  status: number | null;
  comment?: string;
}

export interface StudySend {
  id: string;
  studyInstanceUID: string;
  /** Id of the peer in the regional configuration (`dicomPeers`). */
  peer: string;
  requestedBy: string;
  requestedAt: Date;
  status: StudySendStatus;
  attempts: number;
  /** Instances sent in the last try, and how many the peer stored (null before the first try ends). */
  instances: number | null;
  stored: number | null;
  refused: RefusedInstance[];
  lastError: string | null;
  updatedAt: Date;
  finishedAt: Date | null;
}

export interface SendOutcome {
  status: Extract<StudySendStatus, 'retrying' | 'done' | 'partly-failed' | 'failed'>;
  instances?: number;
  stored?: number;
  refused?: RefusedInstance[];
  error?: string;
  at: Date;
}

export interface StudySendStore {
  migrate(): Promise<void>;
  create(request: { id: string; studyInstanceUID: string; peer: string; requestedBy: string; at: Date }): Promise<StudySend>;
  find(id: string): Promise<StudySend | null>;
  /** The study's sends, newest first. */
  listForStudy(studyInstanceUID: string): Promise<StudySend[]>;
  /** pending/retrying -> sending, counting a try; null when the send is already finished. */
  startAttempt(id: string, at: Date): Promise<StudySend | null>;
  finishAttempt(id: string, outcome: SendOutcome): Promise<void>;
  /** Sends to queue again: pending, or left sending/retrying without news since `staleBefore`. */
  findUnfinished(staleBefore: Date, limit: number): Promise<string[]>;
}
