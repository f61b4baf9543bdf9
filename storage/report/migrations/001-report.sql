-- Reports: drafts saved as typed, signed versions (immutable: enforced here, not only in code), addenda linked
-- to the report they correct, the readers' signing keys, delivery to the requesting site, and per-item step times.

-- One ECDSA P-256 key per reader (RPPS) at a time; the private half is stored encrypted (AES-256-GCM under the
-- server's report key secret) and never served. Retired keys stay, so old signatures still verify.
CREATE TABLE reader_signing_key (
  kid text COLLATE "C" PRIMARY KEY,
  rpps text COLLATE "C" NOT NULL,
  public_jwk jsonb NOT NULL,
  encrypted_private_key bytea NOT NULL,
  created_at timestamptz NOT NULL,
  retired_at timestamptz
);
CREATE UNIQUE INDEX reader_signing_key_one_active ON reader_signing_key (rpps) WHERE retired_at IS NULL;

-- The draft of an item's report, saved as the reader types (revision: optimistic concurrency between tabs).
CREATE TABLE report_draft (
  item_id uuid PRIMARY KEY REFERENCES worklist_item (id),
  author text COLLATE "C" NOT NULL,
  content jsonb NOT NULL,
  revision integer NOT NULL,
  updated_at timestamptz NOT NULL
);

-- Signed versions: the report (version 1) and its addenda (versions 2, 3, ... with original_id set).
CREATE TABLE signed_report (
  id uuid PRIMARY KEY,
  original_id uuid REFERENCES signed_report (id),
  version integer NOT NULL CHECK (version >= 1),
  kind text NOT NULL CHECK (kind IN ('report', 'addendum')),
  item_id uuid NOT NULL REFERENCES worklist_item (id),
  study_instance_uid text COLLATE "C" NOT NULL,
  site text COLLATE "C" NOT NULL,
  territory text COLLATE "C" NOT NULL,
  author_rpps text COLLATE "C" NOT NULL,
  -- The signed payload exactly as signed (its canonical text is what the signature covers).
  payload jsonb NOT NULL,
  signature text NOT NULL,
  key_id text COLLATE "C" NOT NULL REFERENCES reader_signing_key (kid),
  signed_at timestamptz NOT NULL,
  sr_series_instance_uid text COLLATE "C" NOT NULL,
  sr_sop_instance_uid text COLLATE "C" NOT NULL,
  sr_object_key text NOT NULL,
  sr_sha256 text NOT NULL,
  pdf_series_instance_uid text COLLATE "C" NOT NULL,
  pdf_sop_instance_uid text COLLATE "C" NOT NULL,
  pdf_object_key text NOT NULL,
  pdf_sha256 text NOT NULL,
  -- SHA-256 of the PDF document itself (inside the DICOM object), what a RIS receives by HL7.
  pdf_document_sha256 text NOT NULL,
  CHECK ((kind = 'report') = (original_id IS NULL))
);
CREATE UNIQUE INDEX signed_report_one_per_item ON signed_report (item_id) WHERE kind = 'report';
CREATE UNIQUE INDEX signed_report_version ON signed_report ((COALESCE(original_id, id)), version);
CREATE INDEX signed_report_study_idx ON signed_report (study_instance_uid);

CREATE FUNCTION signed_report_is_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'signed report % cannot be changed or deleted: write an addendum instead', COALESCE(OLD.id::text, '?')
    USING ERRCODE = 'integrity_constraint_violation';
END;
$$;
CREATE TRIGGER signed_report_no_update BEFORE UPDATE OR DELETE ON signed_report
  FOR EACH ROW EXECUTE FUNCTION signed_report_is_immutable();
-- TRUNCATE skips row triggers: refuse it too while any signed report exists (an empty table may be emptied,
-- e.g. by a TRUNCATE ... CASCADE of the worklist in a test database).
CREATE FUNCTION signed_report_not_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM signed_report) THEN
    RAISE EXCEPTION 'signed reports cannot be truncated' USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN NULL;
END;
$$;
CREATE TRIGGER signed_report_no_truncate BEFORE TRUNCATE ON signed_report
  FOR EACH STATEMENT EXECUTE FUNCTION signed_report_not_truncated();

-- One delivery per signed version and destination of the requesting site (the BullMQ job only carries its id).
CREATE TABLE report_delivery (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  report_id uuid NOT NULL REFERENCES signed_report (id),
  destination text COLLATE "C" NOT NULL,
  kind text NOT NULL,
  status text NOT NULL CHECK (status IN ('pending', 'retrying', 'delivered', 'failed')),
  attempts integer NOT NULL DEFAULT 0,
  last_error text,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  delivered_at timestamptz,
  UNIQUE (report_id, destination)
);

CREATE TABLE report_delivery_attempt (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  delivery_id bigint NOT NULL REFERENCES report_delivery (id),
  at timestamptz NOT NULL,
  ok boolean NOT NULL,
  detail text NOT NULL
);

-- When each step of an item happened the first time (opened, signed, delivered); routed and claimed are on
-- worklist_item, received and stable on study_activity.
CREATE TABLE item_step (
  item_id uuid NOT NULL REFERENCES worklist_item (id),
  step text NOT NULL CHECK (step IN ('opened', 'signed', 'delivered')),
  at timestamptz NOT NULL,
  PRIMARY KEY (item_id, step)
);
