-- What escalation needs to decide from the database and the clock alone (a lost or replayed job changes nothing):
-- the chain the item follows, when its next hop falls due, who has been offered it, which pools were told about
-- it, and whether the coordinator was already alerted that its deadline passed.
ALTER TABLE worklist_item
  -- Escalation chain id of the region config (NULL: the rule has none).
  ADD COLUMN escalation_chain text,
  -- When the next hop (index escalation_level in the chain) falls due; NULL once the chain is exhausted.
  ADD COLUMN next_escalation_at timestamptz,
  -- RPPS of readers an escalation hop offered the item to, besides the assignee (territory readers, pole members).
  ADD COLUMN offered_to text[] NOT NULL DEFAULT '{}',
  -- Pools told about the item without owning it (stroke: the neuroradiology pole).
  ADD COLUMN notified_pools text[] NOT NULL DEFAULT '{}',
  -- Set once the coordinator was alerted that the deadline passed with the item still open.
  ADD COLUMN deadline_alerted_at timestamptz;

-- Sweeps: unclaimed items whose next hop is due, and open items past their deadline not yet reported.
CREATE INDEX worklist_item_escalation_due_idx ON worklist_item (next_escalation_at)
  WHERE status = 'SCHEDULED' AND next_escalation_at IS NOT NULL;
CREATE INDEX worklist_item_deadline_due_idx ON worklist_item (deadline)
  WHERE deadline_alerted_at IS NULL AND status IN ('SCHEDULED', 'IN PROGRESS');
CREATE INDEX worklist_item_offered_to_idx ON worklist_item USING gin (offered_to);
CREATE INDEX worklist_item_notified_pools_idx ON worklist_item USING gin (notified_pools);
