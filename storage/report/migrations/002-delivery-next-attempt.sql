-- When the queue will try a delivery again after a failed try: set while the delivery is retrying and the time is
-- known, cleared by its success or its final failure.
ALTER TABLE report_delivery ADD COLUMN next_attempt_at timestamptz,
  ADD CONSTRAINT report_delivery_next_attempt_only_retrying CHECK (next_attempt_at IS NULL OR status = 'retrying');

-- After each failed try, when the next one was planned (kept with the try, for the coordinator and the tests).
ALTER TABLE report_delivery_attempt ADD COLUMN next_attempt_at timestamptz;
