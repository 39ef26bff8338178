-- name: errors
-- description: What failed, grouped by error code, call and key, with a sample message.
-- parameters: keys, from, to
-- chart: bar x=error_code y=calls series=event_name
-- title: What failed
-- pack: file 23
--
-- Limits (Client.VcpuLimitExceeded, the ECS task limit), permissions (AccessDenied,
-- UnauthorizedOperation), regions not opted in, throttling: what stopped the attacker, and
-- where. `sample_message` is the smallest message of the group, cut at 300 characters.
--
-- In the duckdb CLI (duckdb -readonly case.duckdb), paste the SELECT with $keys replaced by a
-- list (['AKIA...'], or []::VARCHAR[] for the whole store) and $from/$to by NULL or a time
-- (TIMESTAMPTZ '2026-11-07 00:00:00+00'), or prepare it:
--   PREPARE errors AS <the SELECT below>;
--   EXECUTE errors(keys := ['AKIAEXAMPLEKEY000001'], "from" := NULL, "to" := NULL);
SELECT error_code, event_source, event_name, access_key_id,
    count(*) AS calls,
    count(DISTINCT aws_region) AS regions,
    min(event_time) AS first_seen,
    max(event_time) AS last_seen,
    left(min(error_message), 300) AS sample_message
FROM lineage_events($keys::VARCHAR[], $from::TIMESTAMPTZ, $to::TIMESTAMPTZ)
WHERE error_code IS NOT NULL
GROUP BY error_code, event_source, event_name, access_key_id
ORDER BY calls DESC, error_code, event_source, event_name, access_key_id NULLS LAST;
