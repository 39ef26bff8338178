-- name: tampered-events
-- description: Events from log files the last trailhound verify found modified, unlisted or with data after the gzip stream.
-- parameters: keys, from, to
-- chart: none
-- title: Events of the lineage from files that did not verify
-- pack: file 18
--
-- Joins events to their source files (event_sources) and the verdict the last
-- `trailhound verify` gave each file (verify_files; view event_integrity): an event is
-- here once per tampered file it came from. `also_in_verified_file` says whether the same
-- event (its eventID and content) also came from a file that verified, which corroborates it; an event
-- only in tampered files may have been forged or altered. Empty until verify has run.
-- The scope is lineage_events (queries/macros.sql): the events signed by a key of the
-- lineage, and the console sign-ins of users it created; without keys, every event.
--
-- In the duckdb CLI (duckdb -readonly case.duckdb), paste the SELECT with $keys replaced by a
-- list (['AKIA...'], or []::VARCHAR[] for the whole store) and $from/$to by NULL or a time
-- (TIMESTAMPTZ '2026-11-07 00:00:00+00'), or prepare it:
--   PREPARE tampered AS <the SELECT below>;
--   EXECUTE tampered(keys := ['AKIAEXAMPLEKEY000001'], "from" := NULL, "to" := NULL);
WITH scope AS MATERIALIZED (
    SELECT event_id, variant, event_time, access_key_id, aws_region, event_source, event_name
    FROM lineage_events($keys::VARCHAR[], $from::TIMESTAMPTZ, $to::TIMESTAMPTZ)
)
SELECT e.event_time, e.access_key_id, e.aws_region AS region, e.event_source, e.event_name, e.event_id,
    i.verdict, i.uri AS object, i.detail,
    EXISTS (SELECT 1 FROM event_integrity o WHERE o.event_id = e.event_id AND o.variant = e.variant AND o.verdict = 'verified') AS also_in_verified_file
FROM scope e JOIN event_integrity i ON i.event_id = e.event_id AND i.variant = e.variant AND i.tampering
ORDER BY e.event_time, e.event_id, e.variant, i.uri;
