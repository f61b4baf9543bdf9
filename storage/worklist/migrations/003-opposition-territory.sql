-- The territory whose coordinator recorded an objection (NULL: recorded by an administrator, regional). The
-- objection holds the patient's studies everywhere; only a coordinator of that territory, or an administrator,
-- may lift it.
ALTER TABLE patient_opposition ADD COLUMN territory text;
