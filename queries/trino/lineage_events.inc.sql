-- lineage_events on Trino (the macro queries/macros.sql defines for DuckDB, same rows): the
-- CTEs a Trino text gets where it includes this fragment (written as the name in double braces) right after WITH; then
-- lineage_events is a CTE of the events in scope ($keys, $from, $to; $lineage: the keys
-- reachable from $keys over lineage_edges, as lake.Engine computes them).
th_params AS (
    SELECT CAST($keys AS array(varchar)) AS keys,
        from_iso8601_timestamp($from) AS t_from, from_iso8601_timestamp($to) AS t_to
),
th_lk AS (   -- the keys of the lineage: trailhound walks lineage_edges from the seeds first
    -- (a recursive WITH, unrolled 64 deep by Trino, took minutes to plan), and binds them as $lineage
    SELECT DISTINCT k AS access_key_id FROM UNNEST(CAST($lineage AS array(varchar))) AS s(k)
),
th_scope AS (
    SELECT access_key_id AS k, CAST(NULL AS timestamp(6) with time zone) AS since FROM th_lk
    UNION ALL
    SELECT 'user:' || coalesce(json_extract_scalar(record, '$.responseElements.user.userName'),
                               json_extract_scalar(record, '$.requestParameters.userName'), user_name),
        min(event_time)
    FROM events
    WHERE event_source = 'iam.amazonaws.com' AND error_code IS NULL
      AND event_name IN ('CreateUser', 'CreateLoginProfile', 'UpdateLoginProfile')
      AND access_key_id IN (SELECT access_key_id FROM th_lk)
    GROUP BY 1
),
lineage_events AS (
    SELECT e.* FROM events e CROSS JOIN th_params p
    WHERE cardinality(p.keys) = 0
      AND (p.t_from IS NULL OR e.event_time >= p.t_from) AND (p.t_to IS NULL OR e.event_time < p.t_to)
    UNION ALL
    SELECT e.* FROM events e CROSS JOIN th_params p
    WHERE EXISTS (SELECT 1 FROM th_scope s
                  WHERE s.k = CASE WHEN e.access_key_id IS NOT NULL THEN e.access_key_id
                                   WHEN e.identity_type = 'IAMUser' THEN 'user:' || e.user_name END
                    AND (s.since IS NULL OR (e.event_time IS NOT NULL AND e.event_time >= s.since)))
      AND (p.t_from IS NULL OR e.event_time >= p.t_from) AND (p.t_to IS NULL OR e.event_time < p.t_to)
)
