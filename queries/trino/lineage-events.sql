-- lineage-events on Trino over the lake (queries/canned/lineage-events.sql has the header and the meaning):
-- the record as the lake keeps it, whole.
WITH {{lineage_events}}
SELECT event_time, event_id, record
FROM lineage_events
ORDER BY event_time NULLS LAST, event_id, variant
