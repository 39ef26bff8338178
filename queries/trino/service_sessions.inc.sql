-- service_sessions on Trino (the view queries/macros.sql defines for DuckDB, same rows): a CTE,
-- for the WITH list of a Trino text (after any WITH FUNCTION list):
--     WITH <this fragment's name in double braces>, <more CTEs> SELECT ... FROM service_sessions ...
-- The session keys an AWS service obtained for a workload, one row per AssumeRole: columns
-- access_key_id, service, role_arn, issued_at, issued_event. (A CTE cannot bring an inline
-- function along: ip_address is written out here, as ip_address.inc.sql has it.)
service_sessions AS (
    SELECT minted_key_id AS access_key_id,
        coalesce(CASE WHEN NOT coalesce(regexp_like(source_ip, '\A[0-9]{1,3}(\.[0-9]{1,3}){3}\z')
                                        OR (strpos(source_ip, ':') > 0 AND regexp_like(source_ip, '\A[0-9a-fA-F:.]+\z')), false)
                      THEN source_ip END,
                 CASE WHEN user_agent LIKE '%.amazonaws.com' THEN user_agent END, 'an AWS service') AS service,
        role_arn, event_time AS issued_at, event_id AS issued_event
    FROM events
    WHERE event_source = 'sts.amazonaws.com' AND event_name = 'AssumeRole' AND minted_key_id IS NOT NULL
      AND identity_type = 'AWSService' AND error_code IS NULL
)
