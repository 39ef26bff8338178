-- name: calls-per-hour
-- description: API calls per hour (UTC) that succeeded and that failed (an errorCode in the record).
-- parameters: keys, from, to
-- chart: stacked-bar x=hour series=outcome y=calls
-- title: Calls to AWS per hour, succeeded and failed (API calls)
-- pack: chart 4
--
-- The scope is lineage_events (queries/macros.sql): the events signed by a key of the lineage,
-- and the console sign-ins of users it created; without keys, every event.
--
-- In the duckdb CLI (duckdb -readonly case.duckdb), paste the SELECT with $keys replaced by a
-- list (['AKIA...'], or []::VARCHAR[] for the whole store) and $from/$to by NULL or a time
-- (TIMESTAMPTZ '2026-11-07 00:00:00+00'), or prepare it:
--   PREPARE calls_per_hour AS <the SELECT below>;
--   EXECUTE calls_per_hour(keys := ['AKIAEXAMPLEKEY000001'], "from" := NULL, "to" := NULL);
SELECT date_trunc('hour', event_time) AS hour,
    CASE WHEN error_code IS NULL THEN 'succeeded' ELSE 'failed' END AS outcome,
    count(*) AS calls
FROM lineage_events($keys::VARCHAR[], $from::TIMESTAMPTZ, $to::TIMESTAMPTZ)
WHERE event_time IS NOT NULL
GROUP BY ALL
ORDER BY hour, outcome DESC;
