-- name: coverage
-- description: Events per region and where they came from (S3 trail files, event history, local files), with the first and last event; an event delivered by several sources counts once in events.
-- parameters: from, to
-- chart: bar x=aws_region y=events
SELECT
    e.aws_region,
    count(DISTINCT e.event_id)                                      AS events,
    count(DISTINCT e.event_id) FILTER (WHERE f.kind = 's3')         AS from_s3,
    count(DISTINCT e.event_id) FILTER (WHERE f.kind = 'history')    AS from_history,
    count(DISTINCT e.event_id) FILTER (WHERE f.kind = 'file')       AS from_files,
    min(e.event_time)                                               AS first_event,
    max(e.event_time)                                               AS last_event
FROM event_rows e
JOIN event_sources s USING (event_id)
JOIN source_files f USING (file_id)
WHERE ($from IS NULL OR e.event_time >= $from)
  AND ($to IS NULL OR e.event_time < $to)
GROUP BY e.aws_region
ORDER BY e.aws_region NULLS LAST;
