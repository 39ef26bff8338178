-- instances-per-hour on Trino over the lake (queries/canned/instances-per-hour.sql has the header and the meaning).
WITH {{lineage_events}}
SELECT hour, region, instances
FROM (
    SELECT date_trunc('hour', event_time) AS hour,
        aws_region AS region,
        sum(json_array_length(json_extract(record, '$.responseElements.instancesSet.items'))) AS instances
    FROM lineage_events
    WHERE event_source = 'ec2.amazonaws.com' AND event_name = 'RunInstances' AND error_code IS NULL
    GROUP BY 1, 2
)
WHERE instances > 0
ORDER BY hour, region
