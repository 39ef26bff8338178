-- sources on Trino over the lake (queries/canned/sources.sql has the header and the meaning).
-- An event is (event_id, variant): counted as event_id || '/' || variant (a variant has no '/').
WITH th_params AS (
    SELECT from_iso8601_timestamp($from) AS t_from, from_iso8601_timestamp($to) AS t_to
),
th_e AS (
    SELECT e.aws_region, e.event_time, f.kind, e.event_id || '/' || CAST(e.variant AS varchar) AS th_ev
    FROM events e
    CROSS JOIN th_params p
    JOIN event_sources s ON s.event_id = e.event_id AND s.variant = e.variant
    JOIN source_files f ON f.file_id = s.file_id AND f.export_id = s.export_id
    WHERE (p.t_from IS NULL OR e.event_time >= p.t_from) AND (p.t_to IS NULL OR e.event_time < p.t_to)
)
SELECT aws_region AS region,
    count(DISTINCT th_ev) AS events,
    count(DISTINCT th_ev) FILTER (WHERE kind = 's3') AS from_s3,
    count(DISTINCT th_ev) FILTER (WHERE kind = 'history') AS from_history,
    count(DISTINCT th_ev) FILTER (WHERE kind = 'file') AS from_files,
    min(event_time) AS first_event,
    max(event_time) AS last_event
FROM th_e
GROUP BY aws_region
ORDER BY region NULLS LAST
