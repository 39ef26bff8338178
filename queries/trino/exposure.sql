-- exposure on Trino over the lake (queries/canned/exposure.sql has the header and the meaning).
WITH {{exposure}}
WITH {{lineage_events}}
SELECT event_time, access_key_id, aws_region AS region, event_source, event_name,
    x.resource, x.exposed_to, x.what AS detail, error_code
FROM (
    SELECT *, exposure(event_source, event_name, record) AS x
    FROM lineage_events
    WHERE event_name IN ('PutBucketAcl', 'PutObjectAcl', 'PutBucketPolicy', 'DeleteBucketPublicAccessBlock',
                         'DeletePublicAccessBlock', 'DeleteAccountPublicAccessBlock', 'PutBucketPublicAccessBlock',
                         'PutPublicAccessBlock', 'PutAccountPublicAccessBlock', 'ModifySnapshotAttribute',
                         'ModifyImageAttribute', 'ModifyDBSnapshotAttribute', 'ModifyDBClusterSnapshotAttribute')
)
WHERE x IS NOT NULL
ORDER BY event_time, event_id, variant
