-- name: sources
-- description: Events per region and where they came from (S3 trail files, event history, local files), with the first and last.
-- parameters: from, to
-- chart: bar x=region y=events
--
-- An event delivered by several sources (a trail file and event history, say) counts once
-- in `events` and once in each source's column. Records that share an eventID with other
-- content (query conflicts) are events of their own, counted each. Regions with events from event history
-- only are regions no trail file covered; `trailhound collect` prints this per region.
--
-- In the duckdb CLI (duckdb -readonly case.duckdb), paste the SELECT with $from/$to replaced by
-- NULL or a time (TIMESTAMPTZ '2026-11-07 00:00:00+00'), or prepare it:
--   PREPARE sources AS <the SELECT below>;
--   EXECUTE sources("from" := NULL, "to" := NULL);
SELECT e.aws_region AS region,
    count(DISTINCT (e.event_id, e.variant)) AS events,
    count(DISTINCT (e.event_id, e.variant)) FILTER (WHERE f.kind = 's3') AS from_s3,
    count(DISTINCT (e.event_id, e.variant)) FILTER (WHERE f.kind = 'history') AS from_history,
    count(DISTINCT (e.event_id, e.variant)) FILTER (WHERE f.kind = 'file') AS from_files,
    min(e.event_time) AS first_event,
    max(e.event_time) AS last_event
FROM event_rows e
JOIN event_sources s USING (event_id, variant)
JOIN source_files f USING (file_id)
WHERE ($from::TIMESTAMPTZ IS NULL OR e.event_time >= $from::TIMESTAMPTZ)
  AND ($to::TIMESTAMPTZ IS NULL OR e.event_time < $to::TIMESTAMPTZ)
GROUP BY e.aws_region
ORDER BY region NULLS LAST;
