-- A sender stores instances only in studies of its own site. 004 let a sender add instances to a study without a
-- site (imported by an administrator) and answered a re-sent SOP Instance UID of another site's study with a
-- conflict naming "another study": both are now 'forbidden', with the same words as a study of another site, so a
-- refusal tells the sender only that this site cannot store there. An administrator (p_site NULL) stores anywhere.
-- Otherwise the semantics are those of 004.
CREATE OR REPLACE FUNCTION index_instance(
  p_site text,
  p_identity_key text, p_patient_id text, p_issuer text, p_patient_name text, p_patient_name_upper text,
  p_birth_date text, p_sex text, p_name_tokens text[], p_other_ids text[], p_other_issuers text[],
  p_study_uid text, p_study_date text, p_study_time text, p_study_time_key text, p_accession_number text,
  p_study_description text, p_referring text, p_referring_upper text, p_referring_words text,
  p_institution_name text, p_study_id text,
  p_series_uid text, p_modality text, p_series_number integer, p_series_description text,
  p_body_part_examined text, p_series_date text, p_series_time text,
  p_sop_instance_uid text, p_sop_class_uid text, p_transfer_syntax_uid text, p_instance_number integer,
  p_rows integer, p_columns integer, p_bits_allocated integer, p_number_of_frames integer,
  p_object_key text, p_size bigint, p_sha256 text, p_received_at timestamptz,
  p_frames jsonb, p_bulk_data jsonb, p_metadata text
) RETURNS TABLE (outcome text, existing_sha256 text, existing_object_key text, same_place boolean)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_study_pk bigint;
  v_study_site text;
  v_patient_pk bigint;
  v_series_pk bigint;
  v_series_study_pk bigint;
BEGIN
  SELECT s.pk, s.site INTO v_study_pk, v_study_site FROM study s WHERE s.study_instance_uid = p_study_uid;
  IF v_study_pk IS NOT NULL AND p_site IS NOT NULL AND v_study_site IS DISTINCT FROM p_site THEN
    RETURN QUERY SELECT 'forbidden'::text, NULL::text, NULL::text, NULL::boolean;
    RETURN;
  END IF;

  RETURN QUERY
    SELECT 'existing'::text, i.sha256::text, i.object_key::text,
           st.study_instance_uid = p_study_uid AND se.series_instance_uid = p_series_uid
      FROM instance i JOIN series se ON se.pk = i.series_pk JOIN study st ON st.pk = se.study_pk
     WHERE i.sop_instance_uid = p_sop_instance_uid
       AND (p_site IS NULL OR st.site IS NOT DISTINCT FROM p_site);
  IF FOUND THEN
    RETURN;
  END IF;
  IF p_site IS NOT NULL AND EXISTS (SELECT 1 FROM instance i WHERE i.sop_instance_uid = p_sop_instance_uid) THEN
    RETURN QUERY SELECT 'forbidden'::text, NULL::text, NULL::text, NULL::boolean;
    RETURN;
  END IF;

  IF v_study_pk IS NULL THEN
    -- The patient of a new study: created, or updated with the newest demographics.
    INSERT INTO patient AS p (identity_key, site, patient_id, issuer_of_patient_id, patient_name, patient_name_upper,
                              birth_date, sex)
    VALUES (p_identity_key, p_site, p_patient_id, p_issuer, p_patient_name, p_patient_name_upper, p_birth_date, p_sex)
    ON CONFLICT (identity_key) DO UPDATE SET
      patient_name = COALESCE(EXCLUDED.patient_name, p.patient_name),
      patient_name_upper = COALESCE(EXCLUDED.patient_name_upper, p.patient_name_upper),
      birth_date = COALESCE(EXCLUDED.birth_date, p.birth_date),
      sex = COALESCE(EXCLUDED.sex, p.sex),
      updated_at = now()
    RETURNING p.pk INTO v_patient_pk;
    -- Without a new name the stored one, and its tokens, stay.
    IF p_patient_name IS NOT NULL THEN
      DELETE FROM patient_name_token WHERE patient_pk = v_patient_pk;
      INSERT INTO patient_name_token (token, patient_pk)
      SELECT t, v_patient_pk FROM unnest(p_name_tokens) AS t ON CONFLICT DO NOTHING;
    END IF;
    IF cardinality(p_other_ids) > 0 THEN
      INSERT INTO patient_other_id (patient_pk, patient_id, issuer)
      SELECT v_patient_pk, o.id, o.issuer FROM unnest(p_other_ids, p_other_issuers) AS o (id, issuer)
      ON CONFLICT DO NOTHING;
    END IF;

    INSERT INTO study AS s (study_instance_uid, patient_pk, study_date, study_time, study_time_key, accession_number,
                            study_description, referring_physician_name, referring_physician_name_upper,
                            referring_physician_name_words, institution_name, study_id, site)
    VALUES (p_study_uid, v_patient_pk, p_study_date, p_study_time, p_study_time_key, p_accession_number,
            p_study_description, p_referring, p_referring_upper, p_referring_words, p_institution_name, p_study_id,
            p_site)
    ON CONFLICT (study_instance_uid) DO NOTHING
    RETURNING s.pk, s.site INTO v_study_pk, v_study_site;
    IF v_study_pk IS NULL THEN
      -- Created meanwhile by a concurrent transaction.
      SELECT s.pk, s.site INTO v_study_pk, v_study_site FROM study s WHERE s.study_instance_uid = p_study_uid;
      IF v_study_pk IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'AX001', MESSAGE = 'study-vanished';
      END IF;
    END IF;
    IF p_site IS NOT NULL AND v_study_site IS DISTINCT FROM p_site THEN
      RAISE EXCEPTION USING ERRCODE = 'AX001', MESSAGE = 'forbidden';
    END IF;
  END IF;

  SELECT se.pk, se.study_pk INTO v_series_pk, v_series_study_pk FROM series se WHERE se.series_instance_uid = p_series_uid;
  IF v_series_pk IS NULL THEN
    INSERT INTO series AS se (series_instance_uid, study_pk, modality, series_number, series_description,
                              body_part_examined, series_date, series_time)
    VALUES (p_series_uid, v_study_pk, p_modality, p_series_number, p_series_description, p_body_part_examined,
            p_series_date, p_series_time)
    ON CONFLICT (series_instance_uid) DO NOTHING
    RETURNING se.pk, se.study_pk INTO v_series_pk, v_series_study_pk;
    IF v_series_pk IS NULL THEN
      SELECT se.pk, se.study_pk INTO v_series_pk, v_series_study_pk FROM series se WHERE se.series_instance_uid = p_series_uid;
      IF v_series_pk IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'AX001', MESSAGE = 'series-vanished';
      END IF;
    END IF;
  END IF;
  IF v_series_study_pk <> v_study_pk THEN
    RAISE EXCEPTION USING ERRCODE = 'AX001', MESSAGE = 'series-in-another-study';
  END IF;

  INSERT INTO instance (sop_instance_uid, series_pk, sop_class_uid, transfer_syntax_uid, instance_number, image_rows,
                        image_columns, bits_allocated, number_of_frames, object_key, size, sha256, site, received_at,
                        frames, bulk_data, metadata)
  VALUES (p_sop_instance_uid, v_series_pk, p_sop_class_uid, p_transfer_syntax_uid, p_instance_number, p_rows,
          p_columns, p_bits_allocated, p_number_of_frames, p_object_key, p_size, p_sha256, p_site, p_received_at,
          p_frames, p_bulk_data, p_metadata)
  ON CONFLICT (sop_instance_uid) DO NOTHING;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'AX001', MESSAGE = 'instance-indexed-meanwhile';
  END IF;
  RETURN QUERY SELECT 'stored'::text, NULL::text, NULL::text, NULL::boolean;
END
$$;
