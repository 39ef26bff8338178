-- tasks-per-hour on Trino over the lake (queries/canned/tasks-per-hour.sql has the header and the meaning).
WITH {{lineage_events}}
SELECT hour, region, tasks
FROM (
    SELECT date_trunc('hour', event_time) AS hour,
        aws_region AS region,
        sum(json_array_length(json_extract(record, '$.responseElements.tasks'))) AS tasks
    FROM lineage_events
    WHERE event_source = 'ecs.amazonaws.com' AND event_name = 'RunTask' AND error_code IS NULL
    GROUP BY 1, 2
)
WHERE tasks > 0
ORDER BY hour, region
