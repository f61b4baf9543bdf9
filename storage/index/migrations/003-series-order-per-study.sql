-- A study's series in number order: the representative instance of a study (its first series' first instance,
-- read for includefield attributes that have no column) is then two index lookups, not a scan of every series.
CREATE INDEX series_study_order_idx ON series (study_pk, series_number NULLS LAST, pk);
