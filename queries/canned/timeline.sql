-- name: timeline
-- description: Every event of the lineage (or of the store) in time order, with a one-line summary.
-- parameters: keys, from, to
-- chart: timeline x=event_time y=event_name series=access_key_id
-- title: Every event of the lineage
-- pack: file 20
--
-- The scope is lineage_events (queries/macros.sql): the events signed by a key of the lineage,
-- and the console sign-ins of users it created. `summary` is built from the request and the
-- response (JSON) for the calls that matter. The calls that derive credentials always speak,
-- though CloudTrail marks some read-only (AssumeRole: "assumed role AdminRole as session key
-- ASIA..."; GetSessionToken: "minted session key ASIA..."), and so do S3 data events on
-- objects ("read s3://bucket/key", "wrote ...", "deleted ...", "listed s3://bucket/") and
-- whatever opens a resource to the world or another account (the exposure macro: "made bucket
-- X public (AllUsers READ)"); other successful reads have no summary. AWS's own quarantine of
-- a leaked key is recorded under the victim's user, even with the leaked key: its summary says
-- it was AWS; calls an AWS service made on the caller's behalf say which service (aws_origin).
-- `integrity` lists the marks the last `trailhound verify` put on the event (view
-- event_marks: e.g. modified, unlisted, trailing-data for an event read from such a file),
-- and `conflicting` when other records share its eventID with other content (query
-- conflicts); NULL when the event carries none.
--
-- In the duckdb CLI (duckdb -readonly case.duckdb), paste the SELECT with $keys replaced by a
-- list (['AKIA...'], or []::VARCHAR[] for the whole store) and $from/$to by NULL or a time
-- (TIMESTAMPTZ '2026-11-07 00:00:00+00'), or prepare it:
--   PREPARE timeline AS <the SELECT below>;
--   EXECUTE timeline(keys := ['AKIAEXAMPLEKEY000001'], "from" := NULL, "to" := NULL);
SELECT event_time, access_key_id, aws_region AS region, event_source, event_name, error_code, source_ip, user_agent,
    CASE
        WHEN quarantine IS NOT NULL THEN
            'AWS put its quarantine policy ' || quarantine || ' on user ' || coalesce(p[1], user_name) ||
            ' (AWS itself, not the attacker)'
        WHEN event_name = 'ConsoleLogin' THEN
            'console sign-in as ' || coalesce(user_name, arn, '?') || ': ' ||
            coalesce(json_extract_string(record, '$.responseElements.ConsoleLogin'), error_code, '?') ||
            ', MFA ' || coalesce(json_extract_string(record, '$.additionalEventData.MFAUsed'), '?')
        WHEN what IS NOT NULL OR NOT (coalesce(read_only, false) AND error_code IS NULL) THEN
            concat_ws(' ', coalesce(what, event_name || coalesce(' ' || list_filter(p, x -> x IS NOT NULL)[1], '')),
                      CASE WHEN error_code IS NOT NULL THEN '(failed: ' || error_code || ')' END,
                      CASE WHEN aws IS NOT NULL AND identity_type IS DISTINCT FROM 'AWSService'
                           THEN '(made by ' || aws || ' on the caller''s behalf)' END)
    END AS summary,
    event_id, marks AS integrity
FROM (
    SELECT *,
        CASE
            WHEN event_source = 'sts.amazonaws.com' AND event_name = 'GetSessionToken' THEN
                CASE WHEN error_code IS NULL THEN 'minted session key ' || coalesce(minted_key_id, '?')
                     ELSE 'tried to mint a session key' END
            WHEN event_source = 'sts.amazonaws.com' AND event_name = 'GetFederationToken' THEN
                CASE WHEN error_code IS NULL THEN 'minted federated session key ' || coalesce(minted_key_id, '?')
                     ELSE 'tried to mint a federated session key' END ||
                coalesce(' for ' || json_extract_string(record, '$.requestParameters.name'), '')
            WHEN event_source = 'sts.amazonaws.com' AND event_name IN ('AssumeRole', 'AssumeRoleWithSAML', 'AssumeRoleWithWebIdentity') THEN
                CASE WHEN identity_type = 'AWSService' THEN coalesce(aws || ' ', '') ELSE '' END ||
                CASE WHEN error_code IS NULL THEN 'assumed role ' ELSE 'tried to assume role ' END ||
                list_transform([coalesce(role_arn, nullif(regexp_extract(error_message,   -- (a denied call names it only there)
                                   'on resource: (arn:aws[a-z-]*:iam::[0-9]+:role/[^ ]+)', 1), ''))],
                    r -> coalesce(split_part(r, '/', -1) ||
                                  CASE WHEN split_part(r, ':', 5) NOT IN (coalesce(recipient_account_id, ''), coalesce(account_id, ''))
                                       THEN ' of account ' || split_part(r, ':', 5) ELSE '' END, '?'))[1] ||
                coalesce(' as session key ' || minted_key_id, '') ||
                CASE WHEN identity_type = 'AWSService' THEN coalesce(' for ' || json_extract_string(record, '$.requestParameters.roleSessionName'), '') ELSE '' END
            WHEN event_source = 'signin.amazonaws.com' AND event_name = 'GetSigninToken' THEN
                'turned session key ' || coalesce(access_key_id, '?') || ' into a console sign-in token'
            WHEN exposed IS NOT NULL THEN exposed.what
            WHEN event_source = 's3.amazonaws.com' AND event_name IN ('GetObject', 'SelectObjectContent') THEN
                CASE WHEN error_code IS NULL THEN 'read ' ELSE 'tried to read ' END || coalesce(s3_object(record), 'an object')
            WHEN event_source = 's3.amazonaws.com' AND event_name IN ('PutObject', 'CompleteMultipartUpload') THEN
                CASE WHEN error_code IS NULL THEN 'wrote ' ELSE 'tried to write ' END || coalesce(s3_object(record), 'an object')
            WHEN event_source = 's3.amazonaws.com' AND event_name = 'CopyObject' THEN
                CASE WHEN error_code IS NULL THEN 'copied ' ELSE 'tried to copy ' END || coalesce('s3://' || ltrim(json_extract_string(record, '$.requestParameters."x-amz-copy-source"'), '/') || ' ', '') ||
                'to ' || coalesce(s3_object(record), 'an object')
            WHEN event_source = 's3.amazonaws.com' AND event_name = 'DeleteObject' THEN
                CASE WHEN error_code IS NULL THEN 'deleted ' ELSE 'tried to delete ' END || coalesce(s3_object(record), 'an object')
            WHEN event_source = 's3.amazonaws.com' AND event_name = 'DeleteObjects' THEN
                CASE WHEN error_code IS NULL THEN 'deleted ' ELSE 'tried to delete ' END || CASE WHEN len(list_filter(json_extract_string(record, '$.resources[*].ARN'), x -> x LIKE 'arn:%:s3:::%/%')) > 0
                                   THEN len(list_filter(json_extract_string(record, '$.resources[*].ARN'), x -> x LIKE 'arn:%:s3:::%/%')) || ' objects'
                                   ELSE 'objects' END ||
                ' from s3://' || coalesce(json_extract_string(record, '$.requestParameters.bucketName'), '?')
            WHEN event_source = 's3.amazonaws.com' AND event_name IN ('ListObjects', 'ListObjectsV2', 'ListObjectVersions') THEN
                CASE WHEN error_code IS NULL THEN 'listed s3://' ELSE 'tried to list s3://' END || coalesce(json_extract_string(record, '$.requestParameters.bucketName'), '?') || '/' ||
                coalesce(json_extract_string(record, '$.requestParameters.prefix'), '')
            WHEN event_name = 'CreateAccessKey' THEN
                'created access key ' || coalesce(minted_key_id, '?') || ' for user ' || coalesce(p[1], user_name, '?')
            WHEN event_name = 'CreateUser' THEN 'created user ' || coalesce(p[1], '?')
            WHEN event_name IN ('CreateLoginProfile', 'UpdateLoginProfile') THEN
                'set a console password for user ' || coalesce(p[1], user_name, '?')
            WHEN event_name IN ('AttachUserPolicy', 'AttachRolePolicy', 'AttachGroupPolicy') THEN
                'attached ' || coalesce(p[4], '?') || ' to ' || coalesce(p[1], p[2], p[3], '?')
            WHEN event_name IN ('PutUserPolicy', 'PutRolePolicy', 'PutGroupPolicy') THEN
                'put inline policy ' || coalesce(p[5], '?') || ' on ' || coalesce(p[1], p[2], p[3], '?')
            WHEN event_name = 'CreateRole' THEN 'created role ' || coalesce(p[2], '?')
            WHEN event_name = 'UpdateAssumeRolePolicy' THEN 'changed who may assume role ' || coalesce(p[2], '?')
            WHEN event_name = 'RunInstances' THEN
                CASE WHEN error_code IS NULL
                     THEN 'launched ' || coalesce(json_array_length(record, '$.responseElements.instancesSet.items'), 0) ||
                          ' x ' || coalesce(p[6], '?') || ': ' ||
                          array_to_string(json_extract_string(record, '$.responseElements.instancesSet.items[*].instanceId'), ' ')
                     ELSE 'tried to launch ' ||
                          coalesce(json_extract_string(record, '$.requestParameters.instancesSet.items[0].maxCount'), '?') ||
                          ' x ' || coalesce(p[6], '?') END
            WHEN event_name IN ('TerminateInstances', 'StopInstances', 'StartInstances') THEN
                lower(replace(event_name, 'Instances', '')) || ' ' ||
                array_to_string(json_extract_string(record, '$.requestParameters.instancesSet.items[*].instanceId'), ' ')
            WHEN event_name IN ('RunTask', 'StartTask') THEN
                'started ' || coalesce(json_array_length(record, '$.responseElements.tasks'), 0) || ' task(s) of ' ||
                coalesce(p[7], '?') || ' on cluster ' || coalesce(p[8], 'default')
            WHEN event_name = 'CreateService' THEN
                'created ECS service ' || coalesce(p[9], '?') || ' (' ||
                coalesce(json_extract_string(record, '$.requestParameters.desiredCount'), '?') || ' tasks) on cluster ' ||
                coalesce(p[8], 'default')
            WHEN event_name = 'CreateCluster' AND event_source = 'ecs.amazonaws.com' THEN
                'created ECS cluster ' || coalesce(json_extract_string(record, '$.requestParameters.clusterName'), 'default')
            WHEN event_name = 'RegisterTaskDefinition' THEN
                'registered task definition ' || coalesce(json_extract_string(record, '$.requestParameters.family'), '?') ||
                coalesce(' (image ' || json_extract_string(record, '$.requestParameters.containerDefinitions[0].image') || ')', '')
            WHEN event_name = 'RequestServiceQuotaIncrease' THEN
                'asked for ' || coalesce(json_extract_string(record, '$.requestParameters.serviceCode'), '?') || ' quota ' ||
                coalesce(json_extract_string(record, '$.requestParameters.quotaCode'), '?') || ' = ' ||
                coalesce(json_extract_string(record, '$.requestParameters.desiredValue'), '?')
        END AS what
    FROM (
        SELECT *,
            aws_quarantine(event_source, event_name, record) AS quarantine,
            exposure(event_source, event_name, record) AS exposed,
            aws_origin(source_ip, user_agent, identity_type,
                       CASE WHEN NOT ip_address(source_ip) THEN json_extract_string(record, '$.userIdentity.invokedBy') END) AS aws,
            -- what the call acted on, when it is not a successful read (one parse per event)
            CASE WHEN NOT coalesce(read_only, false) OR error_code IS NOT NULL THEN
                json_extract_string(record, [
                    '$.requestParameters.userName', '$.requestParameters.roleName', '$.requestParameters.groupName',
                    '$.requestParameters.policyArn', '$.requestParameters.policyName', '$.requestParameters.instanceType',
                    '$.requestParameters.taskDefinition', '$.requestParameters.cluster', '$.requestParameters.serviceName',
                    '$.requestParameters.functionName', '$.requestParameters.bucketName', '$.requestParameters.name',
                    '$.requestParameters.keyName', '$.requestParameters.groupId', '$.requestParameters.trailName',
                    '$.requestParameters.detectorId', '$.requestParameters.service', '$.requestParameters.accessKeyId'])
            END AS p
        FROM lineage_events($keys::VARCHAR[], $from::TIMESTAMPTZ, $to::TIMESTAMPTZ)
        LEFT JOIN (SELECT event_id, variant, nullif(list_concat(verdicts, CASE WHEN conflicting THEN ['conflicting'] ELSE [] END), [])
                   AS marks FROM event_marks) USING (event_id, variant)
    )
)
ORDER BY event_time, event_id, variant;
