-- name: overview
-- description: Events per region: how many, from when to when, how many changed something, how many failed.
-- parameters: none
-- chart: bar x=aws_region y=events
SELECT
    aws_region,
    count(*)                                         AS events,
    count(*) FILTER (WHERE read_only IS DISTINCT FROM true) AS writes,
    count(*) FILTER (WHERE error_code IS NOT NULL)   AS errors,
    min(event_time)                                  AS first_event,
    max(event_time)                                  AS last_event
FROM events
GROUP BY aws_region
ORDER BY events DESC, aws_region;
