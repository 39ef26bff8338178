-- calls-per-hour on Trino over the lake (queries/canned/calls-per-hour.sql has the header and the meaning).
WITH {{lineage_events}}
SELECT date_trunc('hour', event_time) AS hour,
    CASE WHEN error_code IS NULL THEN 'succeeded' ELSE 'failed' END AS outcome,
    count(*) AS calls
FROM lineage_events
WHERE event_time IS NOT NULL
GROUP BY 1, 2
ORDER BY hour, outcome DESC
