-- "Send this study to AE X": one row per request of an administrator, the C-STORE status of each instance sent.
CREATE TABLE study_send (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  study_uid text COLLATE "C" NOT NULL,
  peer text COLLATE "C" NOT NULL,
  requested_by text NOT NULL,
  status text NOT NULL CHECK (status IN ('pending', 'sending', 'done', 'partly-failed', 'failed')),
  attempts integer NOT NULL DEFAULT 0,
  instances_total integer NOT NULL DEFAULT 0,
  instances_stored integer NOT NULL DEFAULT 0,
  instances_failed integer NOT NULL DEFAULT 0,
  last_error text,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  finished_at timestamptz
);
CREATE INDEX study_send_study ON study_send (study_uid, id);
CREATE INDEX study_send_unfinished ON study_send (id) WHERE status IN ('pending', 'sending');

CREATE TABLE study_send_instance (
  send_id bigint NOT NULL REFERENCES study_send (id),
  sop_instance_uid text COLLATE "C" NOT NULL,
  -- The peer's C-STORE status; NULL when the instance could not be sent (no presentation context accepted).
  status integer,
  comment text,
  PRIMARY KEY (send_id, sop_instance_uid)
);
