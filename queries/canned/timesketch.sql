-- name: timesketch
-- description: The events of the lineage (or of the store) in Timesketch's import format, with plaso's CloudTrail field names.
-- parameters: keys, from, to
-- chart: table
--
-- One row per event, in time order, as Timesketch imports JSON Lines (trailhound export
-- timesketch FILE writes them so): the three fields it requires, `message`, `datetime`
-- (ISO 8601 with an explicit +00:00, so that Timesketch never reads it in its server's
-- zone) and `timestamp_desc`, and `timestamp` (microseconds since the epoch, as Timesketch
-- computes it from `datetime`). The other fields are those plaso's CloudTrail parser gives
-- an event (data_type aws:cloudtrail:entry; timestamp_desc "Recorded Time"), so that
-- Timesketch's own aws_cloudtrail analyzer and its CloudTrailEvents graph work on the import
-- unchanged: `event_name`, `event_source`, `user_name`, `user_identity_arn`, `access_key`,
-- `account_identifier`, `source_ip`, `resources` (the resources' ARNs, ", "-joined) and
-- `cloud_trail_event` (the whole record, as event history's CloudTrailEvent holds it). The
-- message reads as plaso's does ("User NAME performed EVENT on [RESOURCES] using access key
-- KEY from IP address IP"), with the failure when the call failed. trailhound adds
-- `event_id`, `aws_region`, `user_agent`, `error_code` and `read_only`. The user is the
-- userName, else the last part of the ARN (a role session's name), else the principal, else
-- the AWS service that made the call.
-- The scope is lineage_events (queries/macros.sql), as for timeline; an event without a
-- time cannot be placed on a timeline and is left out.
--
-- In the duckdb CLI (duckdb -readonly case.duckdb), paste the SELECT with $keys replaced by a
-- list (['AKIA...'], or []::VARCHAR[] for the whole store) and $from/$to by NULL or a time
-- (TIMESTAMPTZ '2026-11-07 00:00:00+00'), or prepare it:
--   PREPARE timesketch AS <the SELECT below>;
--   EXECUTE timesketch(keys := ['AKIAEXAMPLEKEY000001'], "from" := NULL, "to" := NULL);
SELECT
    concat('User ', coalesce(who, '(unknown)'), ' performed ', coalesce(event_name, '(unknown)'),
           ' on [', coalesce(res, ''), ']',
           coalesce(' using access key ' || access_key_id, ''),
           coalesce(' from IP address ' || source_ip, ''),
           coalesce(' (failed: ' || error_code || ')', '')) AS message,
    strftime(event_time, '%Y-%m-%dT%H:%M:%S.%f') || '+00:00' AS datetime,
    epoch_us(event_time) AS "timestamp",
    'Recorded Time' AS timestamp_desc,
    'aws:cloudtrail:entry' AS data_type,
    event_name, event_source, who AS user_name, arn AS user_identity_arn, access_key_id AS access_key,
    coalesce(account_id, recipient_account_id) AS account_identifier, source_ip, res AS resources,
    record AS cloud_trail_event,
    event_id, aws_region, user_agent, error_code, read_only
FROM (
    SELECT *,
        coalesce(user_name, CASE WHEN arn LIKE '%/%' THEN split_part(arn, '/', -1) END, principal_id,
                 json_extract_string(record, '$.userIdentity.invokedBy')) AS who,
        nullif(array_to_string(list_filter(
            CASE WHEN json_type(record, '$.resources') = 'ARRAY'
                 THEN json_extract_string(record, '$.resources[*].ARN') END, x -> x IS NOT NULL), ', '), '') AS res
    FROM lineage_events($keys::VARCHAR[], $from::TIMESTAMPTZ, $to::TIMESTAMPTZ)
    WHERE event_time IS NOT NULL
)
ORDER BY event_time, event_id, cloud_trail_event;
