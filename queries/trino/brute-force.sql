-- brute-force on Trino over the lake (queries/canned/brute-force.sql has the header and the meaning).
-- (calls is read twice, by the bursts and by what each burst allowed: Trino plans a CTE at
-- each reference, so the calls in a burst are joined once, not counted by two subqueries.)
WITH {{lineage_events}},
calls AS (
    SELECT event_time, event_id, access_key_id, arn, event_source, event_name, source_ip, error_code,
        error_code IS NOT NULL AND regexp_like(error_code, '(AccessDenied|Unauthorized|Forbidden|AuthorizationError)') AS denied
    FROM lineage_events
    WHERE access_key_id IS NOT NULL AND event_time IS NOT NULL
),
runs AS (       -- each denied call, numbered by the burst it belongs to
    SELECT *, sum(CASE WHEN gap IS NULL OR gap > INTERVAL '60' SECOND THEN 1 ELSE 0 END)
                  OVER (PARTITION BY access_key_id ORDER BY event_time, event_id ROWS UNBOUNDED PRECEDING) AS burst
    FROM (SELECT *, event_time - lag(event_time) OVER (PARTITION BY access_key_id ORDER BY event_time, event_id) AS gap
          FROM calls WHERE denied)
),
bursts AS (
    SELECT access_key_id, burst, min(arn) AS principal, min(event_time) AS first_seen, max(event_time) AS last_seen,
        count(*) AS denied_calls, count(DISTINCT event_source) AS services,
        array_sort(array_distinct(array_agg(split_part(event_source, '.', 1)))) AS service_names,
        array_sort(array_distinct(array_agg(source_ip) FILTER (WHERE source_ip IS NOT NULL))) AS source_ips
    FROM runs
    GROUP BY access_key_id, burst
    HAVING count(*) >= 10 AND count(DISTINCT event_source) >= 5
)
SELECT b.access_key_id, arbitrary(b.principal) AS principal, arbitrary(b.first_seen) AS first_seen,
    arbitrary(b.last_seen) AS last_seen,
    -- (DuckDB's date_diff counts the second boundaries crossed)
    date_diff('second', date_trunc('second', arbitrary(b.first_seen)), date_trunc('second', arbitrary(b.last_seen))) AS seconds,
    arbitrary(b.denied_calls) AS denied_calls, arbitrary(b.services) AS services,
    arbitrary(b.service_names) AS service_names, arbitrary(b.source_ips) AS source_ips,
    count(c.event_time) FILTER (WHERE NOT c.denied) AS other_calls,
    array_sort(array_distinct(array_agg(split_part(c.event_source, '.', 1) || ':' || c.event_name)
        FILTER (WHERE c.event_time IS NOT NULL AND c.error_code IS NULL))) AS allowed
FROM bursts b
LEFT JOIN calls c ON c.access_key_id = b.access_key_id AND NOT c.denied
    AND c.event_time BETWEEN b.first_seen AND b.last_seen
GROUP BY b.access_key_id, b.burst
ORDER BY first_seen, b.access_key_id
