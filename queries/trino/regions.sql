-- regions on Trino over the lake (queries/canned/regions.sql has the header and the meaning).
WITH {{lineage_events}}
SELECT aws_region AS region,
    count(*) AS events,
    count(*) FILTER (WHERE read_only IS DISTINCT FROM true) AS writes,
    count(*) FILTER (WHERE error_code IS NOT NULL) AS errors,
    count(DISTINCT access_key_id) AS access_keys,
    min(event_time) AS first_seen,
    max(event_time) AS last_seen
FROM lineage_events
GROUP BY aws_region
ORDER BY first_seen, region NULLS LAST
