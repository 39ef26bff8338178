-- key-timeline on Trino over the lake (queries/canned/key-timeline.sql has the header and the meaning).
-- The keys are those of $lineage (the lineage's keys that signed an event are all in it), so
-- that lineage_of is planned once.
WITH {{lineage_of}},
kt_params AS (
    SELECT cardinality(CAST($keys AS array(varchar))) AS n_keys,
        from_iso8601_timestamp($from) AS t_from, from_iso8601_timestamp($to) AS t_to
),
kt_keys AS (
    SELECT access_key_id, parent_access_key_id, via, created_at
    FROM lineage_of
    WHERE cardinality(CAST($keys AS array(varchar))) > 0 AND access_key_id IS NOT NULL
),
kt_used AS (
    SELECT e.access_key_id,
        min(e.event_time) AS first_seen,
        max(e.event_time) AS last_seen,
        count(*) AS events,
        count(*) FILTER (WHERE e.error_code IS NOT NULL) AS failed
    FROM events e CROSS JOIN kt_params p
    WHERE e.event_time IS NOT NULL AND e.access_key_id IS NOT NULL
      AND CASE WHEN p.n_keys = 0 THEN e.access_key_id LIKE 'AKIA%'
               ELSE contains(CAST($lineage AS array(varchar)), e.access_key_id) END
      AND (p.t_from IS NULL OR e.event_time >= p.t_from)
      AND (p.t_to IS NULL OR e.event_time < p.t_to)
    GROUP BY e.access_key_id
)
SELECT u.access_key_id,
    coalesce(k.via, 'long-term key') AS via,
    k.parent_access_key_id,
    k.created_at AS obtained_at,
    u.first_seen,
    u.last_seen,
    u.events,
    u.failed
FROM kt_used u LEFT JOIN kt_keys k ON k.access_key_id = u.access_key_id
ORDER BY u.first_seen, u.access_key_id
