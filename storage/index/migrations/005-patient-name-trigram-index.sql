-- OHIF's study list searches patient names as *fragment* (LIKE '%FRAG%' on patient_name_upper), which no btree
-- index can serve: without this index each such search reads every patient row, a cost that grows with the
-- archive. A trigram index (pg_trgm) serves it. pg_trgm ships with PostgreSQL (contrib, in the embedded
-- binaries and Debian's postgresql package) and is a trusted extension since PostgreSQL 13: the owner of the
-- database may create it. Where it cannot be created (a managed server that refuses it, a role without CREATE
-- on the database) the migration still applies and searches still work, by reading every patient; the notice
-- says so. Creating the extension later and restarting does not add the index: run the CREATE INDEX below.

DO $$
BEGIN
  CREATE EXTENSION IF NOT EXISTS pg_trgm;
EXCEPTION WHEN OTHERS THEN
  RAISE NOTICE 'pg_trgm is not available (%): patient name searches with a leading wildcard will read every patient row', SQLERRM;
END $$;

DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
    CREATE INDEX IF NOT EXISTS patient_name_upper_trgm_idx ON patient USING gin (patient_name_upper gin_trgm_ops);
  END IF;
END $$;
