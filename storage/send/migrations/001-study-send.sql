-- Studies sent by an administrator to a DICOM peer of the regional configuration (C-STORE SCU, worker/deliver).
-- The request is the truth; the BullMQ job carries its id only and is queued again by the sweep if lost.
CREATE TABLE study_send (
  id uuid PRIMARY KEY,
  study_instance_uid text COLLATE "C" NOT NULL,
  peer text COLLATE "C" NOT NULL,
  requested_by text NOT NULL,
  requested_at timestamptz NOT NULL,
  status text NOT NULL CHECK (status IN ('pending', 'sending', 'retrying', 'done', 'partly-failed', 'failed')),
  attempts integer NOT NULL DEFAULT 0,
  instances integer,
  stored integer,
  -- Per instance that was not stored: { sopInstanceUID, status, comment }.
  refused jsonb NOT NULL DEFAULT '[]',
  last_error text,
  updated_at timestamptz NOT NULL,
  finished_at timestamptz
);

CREATE INDEX study_send_study ON study_send (study_instance_uid, requested_at DESC);
CREATE INDEX study_send_open ON study_send (updated_at) WHERE status IN ('pending', 'sending', 'retrying');
