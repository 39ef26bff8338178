-- name: exposure
-- description: Buckets, objects, snapshots, images opened to anyone or another account: public ACLs, policies, access blocks off, shares.
-- parameters: keys, from, to
-- chart: timeline x=event_time y=event_name
-- title: Made public or shared with another account
-- pack: table 6
-- empty: nothing was made public or shared with another account with these credentials.
--
-- iam-changes' sibling for resources: the calls that open a resource, as the exposure macro
-- (queries/macros.sql) reads them: S3 ACLs granting AllUsers (anyone) or AuthenticatedUsers
-- (any AWS account), bucket policies whose Allow statements name Principal "*", public access
-- blocks deleted or turned off, EBS snapshots, AMIs and RDS snapshots shared with another
-- account or made public ("all"). `resource` is what was opened, `exposed_to` to whom, `detail`
-- says it in one line ("made bucket X public (AllUsers READ)"). Failed attempts are listed with
-- their error_code; a share that is later removed is still listed (check `timeline`).
--
-- In the duckdb CLI (duckdb -readonly case.duckdb), paste the SELECT with $keys replaced by a
-- list (['AKIA...'], or []::VARCHAR[] for the whole store) and $from/$to by NULL or a time
-- (TIMESTAMPTZ '2026-11-07 00:00:00+00'), or prepare it:
--   PREPARE exposure AS <the SELECT below>;
--   EXECUTE exposure(keys := ['AKIAEXAMPLEKEY000001'], "from" := NULL, "to" := NULL);
SELECT event_time, access_key_id, aws_region AS region, event_source, event_name,
    x.resource, x.exposed_to, x.what AS detail, error_code
FROM (
    SELECT *, exposure(event_source, event_name, record) AS x
    FROM lineage_events($keys::VARCHAR[], $from::TIMESTAMPTZ, $to::TIMESTAMPTZ)
    WHERE event_name IN ('PutBucketAcl', 'PutObjectAcl', 'PutBucketPolicy', 'DeleteBucketPublicAccessBlock',
                         'DeletePublicAccessBlock', 'DeleteAccountPublicAccessBlock', 'PutBucketPublicAccessBlock',
                         'PutPublicAccessBlock', 'PutAccountPublicAccessBlock', 'ModifySnapshotAttribute',
                         'ModifyImageAttribute', 'ModifyDBSnapshotAttribute', 'ModifyDBClusterSnapshotAttribute')
)
WHERE x IS NOT NULL
ORDER BY event_time, event_id, variant;
