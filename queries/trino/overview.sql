-- overview on Trino over the lake (queries/canned/overview.sql has the header and the meaning).
SELECT
    aws_region,
    count(*)                                         AS events,
    count(*) FILTER (WHERE read_only IS DISTINCT FROM true) AS writes,
    count(*) FILTER (WHERE error_code IS NOT NULL)   AS errors,
    min(event_time)                                  AS first_event,
    max(event_time)                                  AS last_event
FROM events
GROUP BY aws_region
ORDER BY events DESC, aws_region
