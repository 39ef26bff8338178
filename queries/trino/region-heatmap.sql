-- region-heatmap on Trino over the lake (queries/canned/region-heatmap.sql has the header and the meaning).
WITH {{lineage_events}}
SELECT date_trunc('hour', event_time) AS hour,
    coalesce(aws_region, '(none)') AS region,
    count(*) AS calls
FROM lineage_events
WHERE event_time IS NOT NULL
GROUP BY 1, 2
ORDER BY hour, region
