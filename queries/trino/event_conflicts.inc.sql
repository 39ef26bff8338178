-- event_conflicts on Trino (the view queries/schema.sql defines for DuckDB, same rows): the
-- CTE a Trino text gets where it includes this fragment (the name in double braces) right after
-- WITH: every variant of every eventID the lake holds more than one content for, with how
-- many it holds (variants).
event_conflicts AS (
    SELECT event_id, variant, variants, record_hash, event_time, event_source, event_name, aws_region,
        source_ip, user_agent, identity_type, arn, user_name, access_key_id, account_id, error_code
    FROM (SELECT *, count(*) OVER (PARTITION BY event_id) AS variants FROM events)
    WHERE variants > 1
)
