-- Routing and worklists: where each stable study went and why, the items readers claim, and every state change.
-- The queue (BullMQ) only carries ids: everything a replayed job needs to decide is here, so nothing is lost
-- if the queue loses a job (reconciliation re-routes stable studies that have no decision).

-- Study activity seen by ingest, for stability (no instance for N seconds) and reconciliation at start.
CREATE TABLE study_activity (
  study_instance_uid text COLLATE "C" PRIMARY KEY,
  site text COLLATE "C",
  last_instance_at timestamptz NOT NULL,
  -- Set when the sender declared the study complete (POST /api/studies/{study}/complete).
  completed_by_sender_at timestamptz,
  -- Flags the sender gave with the completion (e.g. {"priority": "stroke", "expertise": "neuroradiology"}).
  sender_flags jsonb NOT NULL DEFAULT '{}'::jsonb,
  stable_at timestamptz
);
CREATE INDEX study_activity_unrouted_idx ON study_activity (last_instance_at) WHERE stable_at IS NULL;

-- One routing decision per study (the latest; history is in worklist_event).
CREATE TABLE routing_decision (
  study_instance_uid text COLLATE "C" PRIMARY KEY,
  decision text NOT NULL CHECK (decision IN ('routed', 'held', 'refused')),
  code text,
  rule text,
  pool text,
  reader text,
  reason text NOT NULL,
  decided_at timestamptz NOT NULL,
  item_id uuid
);

CREATE TABLE worklist_item (
  id uuid PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('read', 'second-opinion')),
  parent_id uuid REFERENCES worklist_item (id),
  study_instance_uid text COLLATE "C" NOT NULL,
  site text COLLATE "C" NOT NULL,
  territory text COLLATE "C" NOT NULL,
  modality text NOT NULL,
  body_part text,
  category text NOT NULL,
  priority text NOT NULL,
  priority_rank integer NOT NULL,
  status text NOT NULL CHECK (status IN ('SCHEDULED', 'IN PROGRESS', 'COMPLETED', 'CANCELED')),
  pool text COLLATE "C" NOT NULL,
  assignee text COLLATE "C",
  transaction_uid text,
  routed_at timestamptz NOT NULL,
  warning_at timestamptz NOT NULL,
  deadline timestamptz NOT NULL,
  claimed_at timestamptz,
  completed_at timestamptz,
  -- Escalation hops already taken (0 = none): a replayed escalation job never takes the same hop twice.
  escalation_level integer NOT NULL DEFAULT 0,
  outcome jsonb,
  version integer NOT NULL DEFAULT 1
);
-- Idempotency: a study has at most one reading item; a replayed routing job never makes a second one.
CREATE UNIQUE INDEX worklist_item_one_read_per_study ON worklist_item (study_instance_uid) WHERE kind = 'read';
-- At most one open second opinion per reading item and pool.
CREATE UNIQUE INDEX worklist_item_one_open_opinion ON worklist_item (parent_id, pool)
  WHERE kind = 'second-opinion' AND status IN ('SCHEDULED', 'IN PROGRESS');
CREATE INDEX worklist_item_pool_idx ON worklist_item (pool, status, priority_rank, deadline);
CREATE INDEX worklist_item_assignee_idx ON worklist_item (assignee, status, priority_rank, deadline);
CREATE INDEX worklist_item_territory_idx ON worklist_item (territory, status, priority_rank, deadline);
CREATE INDEX worklist_item_study_idx ON worklist_item (study_instance_uid);

-- Every state change, with who, when and why (append-only; the audit trail builds on it).
CREATE TABLE worklist_event (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  item_id uuid REFERENCES worklist_item (id),
  study_instance_uid text COLLATE "C" NOT NULL,
  type text NOT NULL,
  actor text NOT NULL,
  at timestamptz NOT NULL,
  detail jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX worklist_event_item_idx ON worklist_event (item_id, id);
CREATE INDEX worklist_event_study_idx ON worklist_event (study_instance_uid, id);

-- Technical incidents recorded on an item (traceability of each act: décret 2010-1229).
CREATE TABLE worklist_incident (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  item_id uuid NOT NULL REFERENCES worklist_item (id),
  reported_by text NOT NULL,
  at timestamptz NOT NULL,
  category text NOT NULL,
  description text NOT NULL
);

-- Patients who object to teleradiology / the exchange of their data: their studies are stored, never routed.
-- Keyed by Patient ID + issuer (the local IPP with its issuer, or the INS with OID 1.2.250.1.213.1.4.8...).
CREATE TABLE patient_opposition (
  patient_id text COLLATE "C" NOT NULL,
  issuer text COLLATE "C" NOT NULL DEFAULT '',
  recorded_by text NOT NULL,
  recorded_at timestamptz NOT NULL,
  reason text,
  lifted_by text,
  lifted_at timestamptz,
  PRIMARY KEY (patient_id, issuer)
);
