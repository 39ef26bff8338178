-- name: instances-per-hour
-- description: EC2 instances started per hour (UTC) and region: the instances in the responses of successful RunInstances calls.
-- parameters: keys, from, to
-- chart: stacked-bar x=hour series=region y=instances
-- title: Virtual machines started per hour, by region (EC2 instances)
-- pack: chart 2
--
-- The scope is lineage_events (queries/macros.sql): the events signed by a key of the lineage,
-- and the console sign-ins of users it created; without keys, every event.
--
-- In the duckdb CLI (duckdb -readonly case.duckdb), paste the SELECT with $keys replaced by a
-- list (['AKIA...'], or []::VARCHAR[] for the whole store) and $from/$to by NULL or a time
-- (TIMESTAMPTZ '2026-11-07 00:00:00+00'), or prepare it:
--   PREPARE instances_per_hour AS <the SELECT below>;
--   EXECUTE instances_per_hour(keys := ['AKIAEXAMPLEKEY000001'], "from" := NULL, "to" := NULL);
SELECT date_trunc('hour', event_time) AS hour,
    aws_region AS region,
    sum(json_array_length(record, '$.responseElements.instancesSet.items')) AS instances
FROM lineage_events($keys::VARCHAR[], $from::TIMESTAMPTZ, $to::TIMESTAMPTZ)
WHERE event_source = 'ec2.amazonaws.com' AND event_name = 'RunInstances' AND error_code IS NULL
GROUP BY ALL
HAVING instances > 0
ORDER BY hour, region;
