-- timesketch on Trino over the lake (queries/canned/timesketch.sql has the header and the meaning).
-- The times come from the timestamp's text (yyyy-MM-dd HH:mm:ss.ffffff UTC): Trino's
-- format_datetime stops at milliseconds, and to_unixtime is a double.
WITH {{lineage_events}},
ts_rows AS (
    SELECT *,
        coalesce(user_name, CASE WHEN arn LIKE '%/%' THEN element_at(split(arn, '/'), -1) END, principal_id,
                 json_extract_scalar(record, '$.userIdentity.invokedBy')) AS who,
        nullif(array_join(filter(transform(try(CAST(json_extract(record, '$.resources') AS array(json))),
                                           x -> json_extract_scalar(x, '$.ARN')), x -> x IS NOT NULL), ', '), '') AS res,
        CAST(event_time AS varchar) AS th_t
    FROM lineage_events
    WHERE event_time IS NOT NULL
)
SELECT
    concat('User ', coalesce(who, '(unknown)'), ' performed ', coalesce(event_name, '(unknown)'),
           ' on [', coalesce(res, ''), ']',
           coalesce(' using access key ' || access_key_id, ''),
           coalesce(' from IP address ' || source_ip, ''),
           coalesce(' (failed: ' || error_code || ')', '')) AS message,
    substr(th_t, 1, 10) || 'T' || substr(th_t, 12, 15) || '+00:00' AS datetime,
    CAST(to_unixtime(date_trunc('second', event_time)) AS bigint) * 1000000 + CAST(substr(th_t, 21, 6) AS bigint) AS "timestamp",
    'Recorded Time' AS timestamp_desc,
    'aws:cloudtrail:entry' AS data_type,
    event_name, event_source, who AS user_name, arn AS user_identity_arn, access_key_id AS access_key,
    coalesce(account_id, recipient_account_id) AS account_identifier, source_ip, res AS resources,
    record AS cloud_trail_event,
    event_id, aws_region, user_agent, error_code, read_only
FROM ts_rows
ORDER BY event_time, event_id, cloud_trail_event
