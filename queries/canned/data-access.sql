-- name: data-access
-- description: Data read or changed: S3 objects the lineage read, wrote, copied, deleted or listed, per bucket, with their keys.
-- parameters: keys, from, to
-- chart: bar x=bucket y=calls series=action
-- title: Data read or changed (S3 objects)
-- pack: table 7
-- empty: no S3 object was read, written or deleted with these credentials in the logs (a trail records object reads and writes only with S3 data events turned on).
--
-- S3 object operations are CloudTrail data events: they are in the logs only when the trail
-- records S3 data events (docs: cloudtrail-reference.md §2.5); without them this table is
-- empty, and that proves nothing was read. One row per bucket and action: read (GetObject,
-- SelectObjectContent), written (PutObject, CompleteMultipartUpload, CopyObject into the
-- bucket), deleted (DeleteObject, DeleteObjects), listed (ListObjects, ListObjectsV2,
-- ListObjectVersions: the attacker saw the names). `objects` counts the distinct objects of the
-- calls that succeeded, `object_keys` lists them (the first 50, sorted), `failed` the calls that
-- failed; `bytes` is what S3 says it sent (read) or received (written), from
-- additionalEventData. AWS's own calls on the caller's behalf (aws_origin) are left out.
-- `by_workload` is true for the calls a workload made itself with the session key an AWS
-- service issued it (at an address where its Lambda runtime, ECS or SSM agent called:
-- workload_agent), false for everyone else's: what a stolen key's holder did is the false rows.
--
-- In the duckdb CLI (duckdb -readonly case.duckdb), paste the SELECT with $keys replaced by a
-- list (['AKIA...'], or []::VARCHAR[] for the whole store) and $from/$to by NULL or a time
-- (TIMESTAMPTZ '2026-11-07 00:00:00+00'), or prepare it:
--   PREPARE data_access AS <the SELECT below>;
--   EXECUTE data_access(keys := ['AKIAEXAMPLEKEY000001'], "from" := NULL, "to" := NULL);
WITH
scope AS MATERIALIZED (
    SELECT event_time, event_name, access_key_id, arn, source_ip, user_agent, error_code,
        event_source = 's3.amazonaws.com'
            AND event_name IN ('GetObject', 'SelectObjectContent', 'PutObject', 'CompleteMultipartUpload', 'CopyObject',
                               'DeleteObject', 'DeleteObjects', 'ListObjects', 'ListObjectsV2', 'ListObjectVersions')
            AND aws_origin(source_ip, user_agent, identity_type,
                           CASE WHEN NOT ip_address(source_ip) THEN json_extract_string(record, '$.userIdentity.invokedBy') END) IS NULL
            AS data_op,
        CASE WHEN event_source = 's3.amazonaws.com' THEN record END AS record
    FROM lineage_events($keys::VARCHAR[], $from::TIMESTAMPTZ, $to::TIMESTAMPTZ)
),
workload AS (       -- (session, address) where a workload called with the session key AWS issued it
    SELECT DISTINCT arn, source_ip FROM scope
    WHERE workload_agent(user_agent) IS NOT NULL
      AND access_key_id IN (SELECT access_key_id FROM service_sessions
                            WHERE access_key_id IN (SELECT DISTINCT access_key_id FROM scope WHERE starts_with(access_key_id, 'ASIA')))
),
ops AS MATERIALIZED (
    SELECT event_time, access_key_id, error_code, record,
        (arn, source_ip) IN (SELECT (arn, source_ip) FROM workload) AS by_workload,
        CASE WHEN event_name IN ('GetObject', 'SelectObjectContent') THEN 'read'
             WHEN event_name IN ('PutObject', 'CompleteMultipartUpload', 'CopyObject') THEN 'written'
             WHEN event_name IN ('DeleteObject', 'DeleteObjects') THEN 'deleted'
             ELSE 'listed' END AS action,
        json_extract_string(record, '$.requestParameters.bucketName') AS bucket,
        CASE WHEN event_name = 'DeleteObjects'      -- the objects are in resources
             THEN list_transform(list_filter(json_extract_string(record, '$.resources[*].ARN'), x -> x LIKE 'arn:%:s3:::%/%'),
                                 x -> regexp_extract(x, '^arn:[^:]*:s3:::[^/]*/(.*)$', 1))
             WHEN event_name NOT IN ('ListObjects', 'ListObjectsV2', 'ListObjectVersions')
             THEN [coalesce(json_extract_string(record, '$.requestParameters.key'),
                            regexp_extract(s3_object(record), '^s3://[^/]*/(.*)$', 1))]
             ELSE [coalesce(json_extract_string(record, '$.requestParameters.prefix'), '') || '*'] END AS object_keys,
        CASE WHEN event_name IN ('GetObject', 'SelectObjectContent')
             THEN try_cast(json_extract_string(record, '$.additionalEventData.bytesTransferredOut') AS DOUBLE)
             ELSE try_cast(json_extract_string(record, '$.additionalEventData.bytesTransferredIn') AS DOUBLE) END AS bytes
    FROM scope
    WHERE data_op
)
SELECT coalesce(bucket, '?') AS bucket, action, by_workload,
    count(*) FILTER (WHERE error_code IS NULL) AS calls,
    count(*) FILTER (WHERE error_code IS NOT NULL) AS failed,
    CASE WHEN action <> 'listed' THEN
        len(list_distinct(list_filter(flatten(list(object_keys) FILTER (WHERE error_code IS NULL)), k -> k IS NOT NULL)))
    END AS objects,
    list_sort(list_distinct(list_filter(flatten(list(object_keys) FILTER (WHERE error_code IS NULL)), k -> k IS NOT NULL)))[1:50] AS object_keys,
    CAST(sum(bytes) FILTER (WHERE error_code IS NULL) AS BIGINT) AS bytes,
    min(event_time) AS first_seen, max(event_time) AS last_seen,
    list_sort(list(DISTINCT access_key_id) FILTER (WHERE access_key_id IS NOT NULL)) AS access_keys
FROM ops
GROUP BY coalesce(bucket, '?'), action, by_workload
ORDER BY bucket, by_workload, CASE action WHEN 'read' THEN 1 WHEN 'written' THEN 2 WHEN 'deleted' THEN 3 ELSE 4 END;
