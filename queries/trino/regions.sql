-- regions on Trino over the lake (queries/regions.sql has the header and the meaning).
-- lineage_events: without keys, every event in [from, to); with keys, see lineage.sql.
WITH params AS (
    SELECT CAST($keys AS array(varchar)) AS keys,
        from_iso8601_timestamp($from) AS t_from, from_iso8601_timestamp($to) AS t_to
),
scoped AS (
    SELECT e.* FROM events e CROSS JOIN params p
    WHERE cardinality(p.keys) = 0
      AND (p.t_from IS NULL OR e.event_time >= p.t_from)
      AND (p.t_to IS NULL OR e.event_time < p.t_to)
)
SELECT aws_region AS region,
    count(*) AS events,
    count(*) FILTER (WHERE read_only IS DISTINCT FROM true) AS writes,
    count(*) FILTER (WHERE error_code IS NOT NULL) AS errors,
    count(DISTINCT access_key_id) AS access_keys,
    min(event_time) AS first_seen,
    max(event_time) AS last_seen
FROM scoped
GROUP BY aws_region
ORDER BY first_seen, region NULLS LAST
