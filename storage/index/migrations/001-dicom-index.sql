-- The DICOM index: what QIDO-RS searches, and what retrieval needs to serve instances without re-reading files.
--
-- Searched text columns use COLLATE "C" (byte order): btree indexes then serve both `=` and `LIKE 'prefix%'`
-- whatever the database's locale (external servers), and DICOM dates/times (DA, TM) compare as strings.
-- Person names are also stored upper-cased (case-insensitive matching, PS3.4 C.2.2.2.1) and, for fuzzy
-- matching, as accent-stripped name components; both are computed by the application at insert time, so no
-- extension (unaccent, pg_trgm) is needed.

CREATE TABLE patient (
  pk bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- Identity of the row, computed by the application: site + issuer + Patient ID (patients of two sites never
  -- merge), or the Study Instance UID for a file without Patient ID (such studies never merge either).
  identity_key text NOT NULL UNIQUE,
  site text COLLATE "C",
  patient_id text COLLATE "C" NOT NULL DEFAULT '',
  issuer_of_patient_id text COLLATE "C" NOT NULL DEFAULT '',
  patient_name text,
  patient_name_upper text COLLATE "C",
  birth_date text COLLATE "C",
  sex text COLLATE "C",
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX patient_patient_id_idx ON patient (patient_id);
CREATE INDEX patient_issuer_idx ON patient (issuer_of_patient_id);
CREATE INDEX patient_name_upper_idx ON patient (patient_name_upper);
CREATE INDEX patient_birth_date_idx ON patient (birth_date);

-- Other Patient IDs Sequence (0010,1002) items, e.g. the INS (issuer 1.2.250.1.213.1.4.8).
CREATE TABLE patient_other_id (
  patient_pk bigint NOT NULL REFERENCES patient (pk) ON DELETE CASCADE,
  patient_id text COLLATE "C" NOT NULL,
  issuer text COLLATE "C" NOT NULL DEFAULT '',
  PRIMARY KEY (patient_pk, patient_id, issuer)
);
CREATE INDEX patient_other_id_id_idx ON patient_other_id (patient_id, issuer);

-- Fuzzy matching: every name component and word, accent-stripped and upper-cased
-- ('DUPRÉ^Élodie' -> DUPRE, ELODIE). A prefix LIKE on token uses the primary key index.
CREATE TABLE patient_name_token (
  token text COLLATE "C" NOT NULL,
  patient_pk bigint NOT NULL REFERENCES patient (pk) ON DELETE CASCADE,
  PRIMARY KEY (token, patient_pk)
);
CREATE INDEX patient_name_token_patient_idx ON patient_name_token (patient_pk);

CREATE TABLE study (
  pk bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  study_instance_uid text COLLATE "C" NOT NULL UNIQUE,
  patient_pk bigint NOT NULL REFERENCES patient (pk),
  study_date text COLLATE "C",
  study_time text COLLATE "C",
  -- Study Time as HHMMSS.FFFFFF (missing digits zero-filled) for range matching.
  study_time_key text COLLATE "C",
  accession_number text COLLATE "C",
  study_description text COLLATE "C",
  referring_physician_name text,
  referring_physician_name_upper text COLLATE "C",
  -- Accent-stripped words between spaces (' JEAN MARTIN '), matched with LIKE '% WORD%'.
  referring_physician_name_words text COLLATE "C",
  institution_name text COLLATE "C",
  study_id text COLLATE "C",
  -- FINESS of the site that owns the study (senders see their site's studies only); NULL: owned by no site.
  site text COLLATE "C",
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX study_patient_idx ON study (patient_pk);
-- Default QIDO order (newest first) and StudyDate ranges.
CREATE INDEX study_date_order_idx ON study (study_date DESC NULLS LAST, study_time_key DESC NULLS LAST, pk DESC);
CREATE INDEX study_accession_number_idx ON study (accession_number);
CREATE INDEX study_description_idx ON study (study_description);
CREATE INDEX study_referring_physician_idx ON study (referring_physician_name_upper);
CREATE INDEX study_institution_name_idx ON study (institution_name);
CREATE INDEX study_study_id_idx ON study (study_id);
CREATE INDEX study_site_idx ON study (site);

CREATE TABLE series (
  pk bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  series_instance_uid text COLLATE "C" NOT NULL UNIQUE,
  study_pk bigint NOT NULL REFERENCES study (pk),
  modality text COLLATE "C",
  series_number integer,
  series_description text COLLATE "C",
  body_part_examined text COLLATE "C",
  series_date text COLLATE "C",
  series_time text COLLATE "C",
  created_at timestamptz NOT NULL DEFAULT now()
);
-- Series of a study, and ModalitiesInStudy (EXISTS on study + modality).
CREATE INDEX series_study_modality_idx ON series (study_pk, modality);
CREATE INDEX series_modality_idx ON series (modality);
CREATE INDEX series_number_idx ON series (series_number);
CREATE INDEX series_description_idx ON series (series_description);
CREATE INDEX series_body_part_idx ON series (body_part_examined);

CREATE TABLE instance (
  pk bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  sop_instance_uid text COLLATE "C" NOT NULL UNIQUE,
  series_pk bigint NOT NULL REFERENCES series (pk),
  sop_class_uid text COLLATE "C" NOT NULL,
  transfer_syntax_uid text COLLATE "C" NOT NULL,
  instance_number integer,
  image_rows integer,
  image_columns integer,
  bits_allocated integer,
  number_of_frames integer NOT NULL DEFAULT 1,
  object_key text COLLATE "C" NOT NULL,
  size bigint NOT NULL,
  sha256 text COLLATE "C" NOT NULL,
  -- FINESS of the sending site; NULL for ingest paths not bound to a site.
  site text COLLATE "C",
  received_at timestamptz NOT NULL,
  -- Per frame, its fragments as [offset, length] pairs: [[[o, l]], [[o, l], [o, l]], ...].
  frames jsonb NOT NULL,
  -- Bulk data elements as [path, vr, offset, length].
  bulk_data jsonb NOT NULL,
  -- The instance's DICOM JSON object as text (BulkDataURI placeholders intact): served by concatenation.
  metadata text NOT NULL
);
CREATE INDEX instance_series_number_idx ON instance (series_pk, instance_number, sop_instance_uid);
CREATE INDEX instance_number_idx ON instance (instance_number);
CREATE INDEX instance_sop_class_idx ON instance (sop_class_uid);
CREATE INDEX instance_object_key_idx ON instance (object_key);
