-- name: regions
-- description: First and last activity per region: events, changes, errors, keys.
-- parameters: keys, from, to
-- chart: gantt start=first_seen end=last_seen label=region
-- title: Activity per region
-- pack: file 19
--
-- A region an owner never uses, with activity starting minutes after the leak, is where to
-- look for resources (see left-running). `writes` counts events not marked read-only.
--
-- In the duckdb CLI (duckdb -readonly case.duckdb), paste the SELECT with $keys replaced by a
-- list (['AKIA...'], or []::VARCHAR[] for the whole store) and $from/$to by NULL or a time
-- (TIMESTAMPTZ '2026-11-07 00:00:00+00'), or prepare it:
--   PREPARE regions AS <the SELECT below>;
--   EXECUTE regions(keys := ['AKIAEXAMPLEKEY000001'], "from" := NULL, "to" := NULL);
SELECT aws_region AS region,
    count(*) AS events,
    count(*) FILTER (WHERE read_only IS DISTINCT FROM true) AS writes,
    count(*) FILTER (WHERE error_code IS NOT NULL) AS errors,
    count(DISTINCT access_key_id) AS access_keys,
    min(event_time) AS first_seen,
    max(event_time) AS last_seen
FROM lineage_events($keys::VARCHAR[], $from::TIMESTAMPTZ, $to::TIMESTAMPTZ)
GROUP BY aws_region
ORDER BY first_seen, region NULLS LAST;
