-- name: lineage-events
-- description: Every event of the lineage (or of the whole store), whole: the original CloudTrail record, in time order.
-- parameters: keys, from, to
-- chart: none
--
-- The scope is lineage_events (queries/macros.sql): the events signed by a key of the lineage,
-- and the console sign-ins of users it created; without keys, every event.
--
-- In the duckdb CLI (duckdb -readonly case.duckdb), paste the SELECT with $keys replaced by a
-- list (['AKIA...'], or []::VARCHAR[] for the whole store) and $from/$to by NULL or a time
-- (TIMESTAMPTZ '2026-11-07 00:00:00+00'), or prepare it:
--   PREPARE lineage_events AS <the SELECT below>;
--   EXECUTE lineage_events(keys := ['AKIAEXAMPLEKEY000001'], "from" := NULL, "to" := NULL);
SELECT event_time, event_id, record
FROM lineage_events($keys::VARCHAR[], $from::TIMESTAMPTZ, $to::TIMESTAMPTZ)
ORDER BY event_time NULLS LAST, event_id, variant;
