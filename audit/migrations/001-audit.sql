-- The audit trail: append-only, hash-chained (audit/audit-hash.ts describes the hash).
--
-- audit_event holds the events; audit_head the last (seq, hash). Appends go through audit_append(), which
-- locks the head row (FOR UPDATE, held until the caller's transaction ends), so seq is gapless and each
-- event links to the one before. Triggers refuse UPDATE, DELETE and TRUNCATE of events and any change of the
-- head other than one step along the chain. A superuser can still disable triggers: `astreinte audit verify`
-- then finds what was changed by recomputing the chain.

CREATE TABLE audit_event (
  seq bigint PRIMARY KEY CHECK (seq > 0),
  recorded_at timestamptz NOT NULL,
  type_code text NOT NULL,
  -- The event (audit/audit-event.ts AuditEvent); the hash covers its canonical JSON form.
  event jsonb NOT NULL,
  prev_hash text NOT NULL CHECK (prev_hash ~ '^[0-9a-f]{64}$'),
  hash text NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$')
);

-- Export by period.
CREATE INDEX audit_event_recorded_at ON audit_event (recorded_at, seq);

CREATE TABLE audit_head (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  seq bigint NOT NULL,
  hash text NOT NULL
);
INSERT INTO audit_head (singleton, seq, hash) VALUES (true, 0, repeat('0', 64));

CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the audit trail is append-only: % on % is refused', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'AUD01',
          HINT = 'Audit events can never be changed or deleted; record a new event (for example a correction) instead.';
END;
$$;

CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event
  FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON audit_head
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();

-- An event continues the chain: the next seq after the head, linked to the head's hash.
CREATE FUNCTION audit_event_check_link() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  head_seq bigint;
  head_hash text;
BEGIN
  SELECT seq, hash INTO head_seq, head_hash FROM audit_head WHERE singleton;
  IF NEW.seq IS DISTINCT FROM head_seq + 1 OR NEW.prev_hash IS DISTINCT FROM head_hash THEN
    RAISE EXCEPTION 'an audit event must continue the chain (seq % after head %): append with audit_append()', NEW.seq, head_seq
      USING ERRCODE = 'AUD02';
  END IF;
  RETURN NEW;
END;
$$;

CREATE TRIGGER audit_event_continues_chain BEFORE INSERT ON audit_event
  FOR EACH ROW EXECUTE FUNCTION audit_event_check_link();

-- The head only moves one step forward, onto the event just appended.
CREATE FUNCTION audit_head_check_move() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.singleton AND NEW.seq = OLD.seq + 1
     AND EXISTS (SELECT 1 FROM audit_event e WHERE e.seq = NEW.seq AND e.hash = NEW.hash AND e.prev_hash = OLD.hash) THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'the audit head only moves to the event just appended: % on audit_head is refused', TG_OP
    USING ERRCODE = 'AUD01';
END;
$$;

CREATE TRIGGER audit_head_moves_forward BEFORE INSERT OR UPDATE OR DELETE ON audit_head
  FOR EACH ROW EXECUTE FUNCTION audit_head_check_move();

-- Appends events given as canonical JSON texts (audit/canonical-json.ts), in array order; returns their seq and
-- hash in that order. Hashes are computed here, under the head lock, over exactly the texts received. Several
-- events in one call share one lock and one commit (the application batches concurrent appends).
CREATE FUNCTION audit_append(p_events text[]) RETURNS TABLE (appended_seq bigint, appended_hash text)
LANGUAGE plpgsql AS $$
DECLARE
  head_seq bigint;
  head_hash text;
  event_text text;
  body jsonb;
BEGIN
  SELECT h.seq, h.hash INTO head_seq, head_hash FROM audit_head h WHERE h.singleton FOR UPDATE;
  FOREACH event_text IN ARRAY p_events LOOP
    body := event_text::jsonb;
    appended_seq := head_seq + 1;
    appended_hash := encode(sha256(convert_to(
      'astreinte-audit-v1' || chr(10) || appended_seq::text || chr(10) || head_hash || chr(10) || event_text, 'UTF8')), 'hex');
    INSERT INTO audit_event (seq, recorded_at, type_code, event, prev_hash, hash)
      VALUES (appended_seq, (body ->> 'recorded')::timestamptz, body ->> 'type', body, head_hash, appended_hash);
    UPDATE audit_head SET seq = appended_seq, hash = appended_hash WHERE singleton;
    head_seq := appended_seq;
    head_hash := appended_hash;
    RETURN NEXT;
  END LOOP;
END;
$$;
