-- exposure(event_source, event_name, record) on Trino (the macro queries/macros.sql defines for
-- DuckDB, same answers; it says what counts as opening a resource): inline functions, included
-- (the name in double braces) in a Trino text's WITH of functions. This fragment includes
-- s3_object: a text that includes exposure must not include s3_object again.
-- exposure returns row(resource, exposed_to, what), or NULL when the call opened nothing.
{{s3_object}},
FUNCTION th_exp_grant(v varchar, perm varchar)     -- an x-amz-grant-* header's public grantee
    RETURNS varchar
    RETURN CASE WHEN strpos(v, '/groups/global/AllUsers') > 0 THEN 'AllUsers ' || perm
                WHEN strpos(v, '/groups/global/AuthenticatedUsers') > 0 THEN 'AuthenticatedUsers ' || perm END,
FUNCTION th_exp_list(j json)       -- a JSON array's elements, an object as a list of one, else empty
    RETURNS array(json)
    RETURN CASE substr(json_format(j), 1, 1) WHEN '[' THEN CAST(j AS array(json)) WHEN '{' THEN ARRAY[j]
                ELSE CAST(ARRAY[] AS array(json)) END,
FUNCTION th_exp_array(j json)     -- a JSON array's elements (DuckDB's $.a[*]), else empty
    RETURNS array(json)
    RETURN CASE WHEN substr(json_format(j), 1, 1) = '[' THEN CAST(j AS array(json)) ELSE CAST(ARRAY[] AS array(json)) END,
FUNCTION th_exp_strings(j json)    -- a JSON array's elements as text (DuckDB's json_extract_string of $.a[*]), else empty
    RETURNS array(varchar)
    RETURN transform(th_exp_array(j), e -> json_extract_scalar(e, '$')),
FUNCTION exposure(event_source varchar, event_name varchar, record varchar)
    RETURNS row(resource varchar, exposed_to varchar, what varchar)
    BEGIN
        DECLARE rp json DEFAULT json_extract(record, '$.requestParameters');
        DECLARE bucket varchar DEFAULT json_extract_scalar(record, '$.requestParameters.bucketName');
        DECLARE g array(varchar);
        DECLARE obj varchar;
        DECLARE pol json;
        DECLARE pub array(json);
        DECLARE acts array(varchar);
        DECLARE pab json;
        DECLARE res varchar;
        IF event_source = 's3.amazonaws.com' AND event_name IN ('PutBucketAcl', 'PutObjectAcl') THEN
            SET g = concat(
                CASE lower(coalesce(json_extract_scalar(rp, '$["x-amz-acl"]'),
                                    json_extract_scalar(rp, '$.accessControlList["x-amz-acl"]'), ''))
                    WHEN 'public-read' THEN ARRAY['AllUsers READ']
                    WHEN 'public-read-write' THEN ARRAY['AllUsers READ', 'AllUsers WRITE']
                    WHEN 'authenticated-read' THEN ARRAY['AuthenticatedUsers READ']
                    ELSE CAST(ARRAY[] AS array(varchar)) END,
                ARRAY[
                    th_exp_grant(coalesce(json_extract_scalar(rp, '$["x-amz-grant-read"]'),
                                               json_extract_scalar(rp, '$.accessControlList["x-amz-grant-read"]'), ''), 'READ'),
                    th_exp_grant(coalesce(json_extract_scalar(rp, '$["x-amz-grant-write"]'),
                                               json_extract_scalar(rp, '$.accessControlList["x-amz-grant-write"]'), ''), 'WRITE'),
                    th_exp_grant(coalesce(json_extract_scalar(rp, '$["x-amz-grant-read-acp"]'),
                                               json_extract_scalar(rp, '$.accessControlList["x-amz-grant-read-acp"]'), ''), 'READ_ACP'),
                    th_exp_grant(coalesce(json_extract_scalar(rp, '$["x-amz-grant-write-acp"]'),
                                               json_extract_scalar(rp, '$.accessControlList["x-amz-grant-write-acp"]'), ''), 'WRITE_ACP'),
                    th_exp_grant(coalesce(json_extract_scalar(rp, '$["x-amz-grant-full-control"]'),
                                               json_extract_scalar(rp, '$.accessControlList["x-amz-grant-full-control"]'), ''),
                                      'FULL_CONTROL')],
                transform(th_exp_list(json_extract(rp, '$.AccessControlPolicy.AccessControlList.Grant')),
                    x -> nullif(regexp_extract(json_extract_scalar(x, '$.Grantee.URI'),
                                               '/groups/global/(AllUsers|AuthenticatedUsers)\z', 1), '')
                         || ' ' || coalesce(json_extract_scalar(x, '$.Permission'), '?')));
            SET g = array_sort(array_distinct(filter(g, x -> x IS NOT NULL)));
            IF cardinality(g) = 0 THEN
                RETURN NULL;
            END IF;
            SET obj = CASE event_name WHEN 'PutObjectAcl' THEN 'object ' || coalesce(s3_object(record), '?')
                                      ELSE 'bucket ' || coalesce(bucket, '?') END;
            RETURN ROW(split_part(obj, ' ', 2), array_join(g, ', '),
                CASE WHEN any_match(g, x -> starts_with(x, 'AllUsers'))
                     THEN 'made ' || obj || ' public (' || array_join(g, ', ') || ')'
                     ELSE 'opened ' || obj || ' to every AWS account (' || array_join(g, ', ') || ')' END);
        END IF;
        IF event_source = 's3.amazonaws.com' AND event_name = 'PutBucketPolicy' THEN
            SET pol = json_extract(rp, '$.bucketPolicy');
            IF substr(json_format(pol), 1, 1) = '"' THEN
                -- (json_parse sorts an object's keys; json_extract keeps them as written, as DuckDB does)
                SET pol = CASE WHEN try(json_parse(json_extract_scalar(rp, '$.bucketPolicy'))) IS NOT NULL
                               THEN json_extract(json_extract_scalar(rp, '$.bucketPolicy'), '$') END;
            ELSEIF substr(json_format(pol), 1, 1) <> '{' THEN
                SET pol = NULL;
            END IF;
            SET pub = filter(th_exp_list(json_extract(pol, '$.Statement')),
                st -> json_extract_scalar(st, '$.Effect') = 'Allow' AND (
                    json_extract_scalar(st, '$.Principal') = '*' OR json_extract_scalar(st, '$.Principal.AWS') = '*'
                    OR coalesce(contains(th_exp_strings(json_extract(st, '$.Principal.AWS')), '*'), false)));
            IF cardinality(pub) = 0 THEN
                RETURN NULL;
            END IF;
            SET acts = array_sort(array_distinct(flatten(transform(pub, st ->
                CASE WHEN substr(json_format(json_extract(st, '$.Action')), 1, 1) = '['
                     THEN th_exp_strings(json_extract(st, '$.Action'))
                     ELSE ARRAY[coalesce(json_extract_scalar(st, '$.Action'), '?')] END))));
            RETURN ROW(coalesce(bucket, '?'), '*',
                'made bucket ' || coalesce(bucket, '?') || ' public (its policy lets anyone, Principal "*", ' ||
                array_join(acts, ' ') ||
                CASE WHEN any_match(pub, st -> json_extract(st, '$.Condition') IS NOT NULL) THEN ', with conditions' ELSE '' END || ')');
        END IF;
        IF event_source = 's3.amazonaws.com' AND event_name IN ('DeleteBucketPublicAccessBlock', 'DeletePublicAccessBlock') THEN
            RETURN ROW(bucket, 'public access possible',
                'removed the public access block of bucket ' || coalesce(bucket, '?') ||
                ' (its ACLs and policy may now make it public)');
        END IF;
        IF event_source = 's3.amazonaws.com' AND event_name = 'DeleteAccountPublicAccessBlock' THEN
            RETURN ROW('account ' || coalesce(json_extract_scalar(record, '$.recipientAccountId'), '?'), 'public access possible',
                'removed the account''s S3 public access block (bucket ACLs and policies may now make buckets public)');
        END IF;
        IF event_source = 's3.amazonaws.com' AND event_name IN ('PutBucketPublicAccessBlock', 'PutPublicAccessBlock',
                                                                'PutAccountPublicAccessBlock') THEN
            SET pab = json_extract(rp, '$.PublicAccessBlockConfiguration');
            SET g = filter(ARRAY[
                    IF(lower(json_extract_scalar(pab, '$.BlockPublicAcls')) = 'false', 'BlockPublicAcls'),
                    IF(lower(json_extract_scalar(pab, '$.IgnorePublicAcls')) = 'false', 'IgnorePublicAcls'),
                    IF(lower(json_extract_scalar(pab, '$.BlockPublicPolicy')) = 'false', 'BlockPublicPolicy'),
                    IF(lower(json_extract_scalar(pab, '$.RestrictPublicBuckets')) = 'false', 'RestrictPublicBuckets')],
                x -> x IS NOT NULL);
            IF cardinality(g) = 0 THEN
                RETURN NULL;
            END IF;
            SET res = CASE WHEN event_name = 'PutAccountPublicAccessBlock'
                           THEN 'account ' || coalesce(json_extract_scalar(record, '$.recipientAccountId'), '?')
                           ELSE 'bucket ' || coalesce(bucket, '?') END;
            RETURN ROW(regexp_replace(res, '^bucket ', ''), 'public access possible',
                'turned off the public access block of ' || res || ' (' || array_join(g, ', ') || ' off)');
        END IF;
        IF (event_source = 'ec2.amazonaws.com' AND event_name IN ('ModifySnapshotAttribute', 'ModifyImageAttribute'))
           OR (event_source = 'rds.amazonaws.com' AND event_name IN ('ModifyDBSnapshotAttribute', 'ModifyDBClusterSnapshotAttribute')) THEN
            SET g = array_sort(array_distinct(filter(concat(
                    transform(th_exp_array(json_extract(rp, '$.createVolumePermission.add.items')), i -> json_extract_scalar(i, '$.userId')),
                    transform(th_exp_array(json_extract(rp, '$.createVolumePermission.add.items')), i -> json_extract_scalar(i, '$.group')),
                    transform(th_exp_array(json_extract(rp, '$.launchPermission.add.items')), i -> json_extract_scalar(i, '$.userId')),
                    transform(th_exp_array(json_extract(rp, '$.launchPermission.add.items')), i -> json_extract_scalar(i, '$.group')),
                    CASE WHEN coalesce(json_extract_scalar(rp, '$.attributeName'), 'restore') = 'restore'
                         THEN th_exp_strings(json_extract(rp, '$.valuesToAdd')) ELSE CAST(ARRAY[] AS array(varchar)) END),
                x -> x IS NOT NULL AND x <> '')));
            IF cardinality(g) = 0 THEN
                RETURN NULL;
            END IF;
            SET res = CASE event_name WHEN 'ModifySnapshotAttribute' THEN 'snapshot' WHEN 'ModifyImageAttribute' THEN 'image'
                                      WHEN 'ModifyDBSnapshotAttribute' THEN 'DB snapshot' ELSE 'DB cluster snapshot' END ||
                ' ' || coalesce(json_extract_scalar(rp, '$.snapshotId'), json_extract_scalar(rp, '$.imageId'),
                                json_extract_scalar(rp, '$.dBSnapshotIdentifier'),
                                json_extract_scalar(rp, '$.dBClusterSnapshotIdentifier'), '?');
            RETURN ROW(coalesce(regexp_extract(res, '([^ ]+)\z', 1), ''), array_join(g, ', '),
                CASE WHEN contains(g, 'all') THEN 'made ' || res || ' public'
                     ELSE 'shared ' || res || ' with account ' || array_join(g, ', ') END);
        END IF;
        RETURN NULL;
    END
