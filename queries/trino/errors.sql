-- errors on Trino over the lake (queries/canned/errors.sql has the header and the meaning).
WITH {{lineage_events}}
SELECT error_code, event_source, event_name, access_key_id,
    count(*) AS calls,
    count(DISTINCT aws_region) AS regions,
    min(event_time) AS first_seen,
    max(event_time) AS last_seen,
    substr(min(error_message), 1, 300) AS sample_message
FROM lineage_events
WHERE error_code IS NOT NULL
GROUP BY error_code, event_source, event_name, access_key_id
ORDER BY calls DESC, error_code, event_source, event_name, access_key_id NULLS LAST
