-- data-access on Trino over the lake (queries/canned/data-access.sql has the header and the meaning).
-- by_workload: DuckDB's (arn, source_ip) IN (the workload's pairs) compares the pairs with
-- NULL equal to NULL, as a window's partition does; the scope is read once.
WITH {{aws_origin}}, {{workload_agent}}, {{s3_object}}
WITH {{lineage_events}}, {{service_sessions}},
da_scope AS (
    SELECT event_time, event_name, access_key_id, arn, source_ip, user_agent, error_code,
        event_source = 's3.amazonaws.com'
            AND event_name IN ('GetObject', 'SelectObjectContent', 'PutObject', 'CompleteMultipartUpload', 'CopyObject',
                               'DeleteObject', 'DeleteObjects', 'ListObjects', 'ListObjectsV2', 'ListObjectVersions')
            AND aws_origin(source_ip, user_agent, identity_type,
                           CASE WHEN NOT ip_address(source_ip) THEN json_extract_scalar(record, '$.userIdentity.invokedBy') END) IS NULL
            AS data_op,
        -- (session, address) where a workload called with the session key AWS issued it
        workload_agent(user_agent) IS NOT NULL AND starts_with(access_key_id, 'ASIA')
            AND access_key_id IN (SELECT access_key_id FROM service_sessions) AS workload_call,
        CASE WHEN event_source = 's3.amazonaws.com' THEN record END AS record
    FROM lineage_events
),
da_ops AS (
    SELECT event_time, access_key_id, error_code, record, by_workload,
        CASE WHEN event_name IN ('GetObject', 'SelectObjectContent') THEN 'read'
             WHEN event_name IN ('PutObject', 'CompleteMultipartUpload', 'CopyObject') THEN 'written'
             WHEN event_name IN ('DeleteObject', 'DeleteObjects') THEN 'deleted'
             ELSE 'listed' END AS action,
        json_extract_scalar(record, '$.requestParameters.bucketName') AS bucket,
        -- (DuckDB's regexp_extract gives '' where the pattern does not match, Trino's NULL)
        CASE WHEN event_name = 'DeleteObjects'      -- the objects are in resources
             THEN transform(filter(transform(coalesce(try(CAST(json_extract(record, '$.resources') AS array(json))),
                                                      CAST(ARRAY[] AS array(json))),
                                             r -> json_extract_scalar(r, '$.ARN')),
                                   x -> x LIKE 'arn:%:s3:::%/%'),
                            x -> coalesce(regexp_extract(x, '\Aarn:[^:]*:s3:::[^/]*/(.*)\z', 1), ''))
             WHEN event_name NOT IN ('ListObjects', 'ListObjectsV2', 'ListObjectVersions')
             THEN ARRAY[coalesce(json_extract_scalar(record, '$.requestParameters.key'),
                                 CASE WHEN s3_object(record) IS NOT NULL
                                      THEN coalesce(regexp_extract(s3_object(record), '\As3://[^/]*/(.*)\z', 1), '') END)]
             ELSE ARRAY[coalesce(json_extract_scalar(record, '$.requestParameters.prefix'), '') || '*'] END AS object_keys,
        CASE WHEN event_name IN ('GetObject', 'SelectObjectContent')
             THEN try_cast(json_extract_scalar(record, '$.additionalEventData.bytesTransferredOut') AS double)
             ELSE try_cast(json_extract_scalar(record, '$.additionalEventData.bytesTransferredIn') AS double) END AS bytes
    FROM (SELECT *, coalesce(bool_or(workload_call) OVER (PARTITION BY arn, source_ip), false) AS by_workload FROM da_scope)
    WHERE data_op
)
SELECT coalesce(bucket, '?') AS bucket, action, by_workload,
    count(*) FILTER (WHERE error_code IS NULL) AS calls,
    count(*) FILTER (WHERE error_code IS NOT NULL) AS failed,
    CASE WHEN action <> 'listed' THEN
        cardinality(array_distinct(filter(flatten(array_agg(object_keys) FILTER (WHERE error_code IS NULL)), k -> k IS NOT NULL)))
    END AS objects,
    slice(array_sort(array_distinct(filter(flatten(array_agg(object_keys) FILTER (WHERE error_code IS NULL)), k -> k IS NOT NULL))), 1, 50)
        AS object_keys,
    CAST(sum(bytes) FILTER (WHERE error_code IS NULL) AS bigint) AS bytes,
    min(event_time) AS first_seen, max(event_time) AS last_seen,
    array_sort(array_agg(DISTINCT access_key_id) FILTER (WHERE access_key_id IS NOT NULL)) AS access_keys
FROM da_ops
GROUP BY coalesce(bucket, '?'), action, by_workload
ORDER BY 1, by_workload, CASE action WHEN 'read' THEN 1 WHEN 'written' THEN 2 WHEN 'deleted' THEN 3 ELSE 4 END
