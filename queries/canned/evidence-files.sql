-- name: evidence-files
-- description: The files the lineage's events came from, with the last trailhound verify's verdict on each (tampering first).
-- parameters: keys, from, to
-- chart: none
-- title: Can the logs be trusted? The CloudTrail files behind these tables, checked against CloudTrail's signed digests (integrity)
-- pack: table 15
-- empty: no event of the lineage is in the store, so no file is behind these tables.
--
-- One row per source file (log file, S3 object, event-history page) that holds at least one
-- event of the scope: the files behind every table of the evidence pack. `verdict` is the
-- last `trailhound verify`'s (table verify_files): verified, modified, unlisted,
-- trailing-data, unverified (no digest lists it although one covers it), no-digest (no
-- digest covers its hour), not-applicable (an event-history page: nothing signs it), ...;
-- NULL when verify never ran on the store or the file was read after its last run.
-- `tampering` is true for a file modified after delivery, unlisted by its digest or with data
-- after its gzip stream. `events` counts the scope's events in the file (an event delivered
-- by several files counts in each), with the first and last of them.
-- The scope is lineage_events (queries/macros.sql); without keys, every event.
--
-- In the duckdb CLI (duckdb -readonly case.duckdb), paste the SELECT with $keys replaced by a
-- list (['AKIA...'], or []::VARCHAR[] for the whole store) and $from/$to by NULL or a time
-- (TIMESTAMPTZ '2026-11-07 00:00:00+00'), or prepare it:
--   PREPARE evidence_files AS <the SELECT below>;
--   EXECUTE evidence_files(keys := ['AKIAEXAMPLEKEY000001'], "from" := NULL, "to" := NULL);
WITH scope AS MATERIALIZED (
    SELECT event_id, min(event_time) AS event_time
    FROM lineage_events($keys::VARCHAR[], $from::TIMESTAMPTZ, $to::TIMESTAMPTZ)
    GROUP BY event_id
),
files AS (
    SELECT s.file_id, count(*) AS events, min(e.event_time) AS first_event, max(e.event_time) AS last_event
    FROM scope e JOIN event_sources s USING (event_id)
    GROUP BY s.file_id
)
SELECT f.kind, f.uri, v.verdict, v.tampering, x.events, x.first_event, x.last_event, f.sha256, v.listed_by, v.detail
FROM files x JOIN source_files f USING (file_id) LEFT JOIN verify_files v USING (file_id)
ORDER BY v.tampering DESC NULLS LAST, v.verdict = 'verified', v.verdict NULLS LAST, f.uri, f.file_id;
