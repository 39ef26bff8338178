-- name: region-heatmap
-- description: API calls per region and hour (UTC): where and when the activity was.
-- parameters: keys, from, to
-- chart: heatmap x=hour y=region value=calls
-- title: Calls to AWS per region and hour (API calls)
-- pack: chart 5
--
-- The scope is lineage_events (queries/macros.sql): the events signed by a key of the lineage,
-- and the console sign-ins of users it created; without keys, every event.
--
-- In the duckdb CLI (duckdb -readonly case.duckdb), paste the SELECT with $keys replaced by a
-- list (['AKIA...'], or []::VARCHAR[] for the whole store) and $from/$to by NULL or a time
-- (TIMESTAMPTZ '2026-11-07 00:00:00+00'), or prepare it:
--   PREPARE region_heatmap AS <the SELECT below>;
--   EXECUTE region_heatmap(keys := ['AKIAEXAMPLEKEY000001'], "from" := NULL, "to" := NULL);
SELECT date_trunc('hour', event_time) AS hour,
    coalesce(aws_region, '(none)') AS region,
    count(*) AS calls
FROM lineage_events($keys::VARCHAR[], $from::TIMESTAMPTZ, $to::TIMESTAMPTZ)
WHERE event_time IS NOT NULL
GROUP BY ALL
ORDER BY hour, region;
