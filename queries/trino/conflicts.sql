-- conflicts on Trino over the lake (queries/canned/conflicts.sql has the header and the meaning).
-- An eventID is listed whole when any of its variants is in [from, to) (a window over the
-- eventID: event_conflicts is planned once).
WITH {{event_conflicts}},
th_params AS (
    SELECT from_iso8601_timestamp($from) AS t_from, from_iso8601_timestamp($to) AS t_to
),
th_c AS (
    SELECT c.*,
        max(CASE WHEN (p.t_from IS NULL OR c.event_time >= p.t_from) AND (p.t_to IS NULL OR c.event_time < p.t_to)
                 THEN 1 ELSE 0 END) OVER (PARTITION BY c.event_id) AS th_in
    FROM event_conflicts c CROSS JOIN th_params p
)
SELECT c.event_id, c.variant, c.variants, c.event_time, c.event_source, c.event_name,
    coalesce(c.arn, c.user_name, c.identity_type) AS identity, c.access_key_id, c.source_ip, c.aws_region AS region,
    array_join(array_sort(array_distinct(array_agg(f.uri) FILTER (WHERE f.uri IS NOT NULL))), '; ') AS sources
FROM th_c c
LEFT JOIN event_sources s ON s.event_id = c.event_id AND s.variant = c.variant
LEFT JOIN source_files f ON f.file_id = s.file_id AND f.export_id = s.export_id
WHERE c.th_in = 1
GROUP BY c.event_id, c.variant, c.variants, c.event_time, c.event_source, c.event_name, c.arn, c.user_name,
    c.identity_type, c.access_key_id, c.source_ip, c.aws_region
ORDER BY c.event_id, c.variant
