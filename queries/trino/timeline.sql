-- timeline on Trino over the lake (queries/canned/timeline.sql has the header and the meaning).
-- th_tl_text is DuckDB's json_extract_string of a value (a string's text, JSON null as NULL,
-- anything else as JSON text, numbers written as DuckDB writes them: json_format does);
-- th_tl_items(j, field) is DuckDB's json_extract_string of $.a[*].field (the field of each
-- element of an array that has it; nothing for a missing path or a non-array).
WITH {{aws_quarantine}}, {{exposure}}, {{aws_origin}},
FUNCTION th_tl_text(j json) RETURNS varchar
RETURN (CASE WHEN j IS NULL OR json_format(j) = 'null' THEN NULL
             WHEN substr(json_format(j), 1, 1) = '"' THEN json_extract_scalar(j, '$')
             ELSE json_format(j) END),
FUNCTION th_tl_items(j json, field varchar) RETURNS array(varchar)
RETURN (transform(filter(coalesce(try(CAST(j AS array(json))), CAST(ARRAY[] AS array(json))),
                         x -> try(CAST(x AS map(varchar, json))) IS NOT NULL
                              AND contains(map_keys(CAST(x AS map(varchar, json))), field)),
                  x -> th_tl_text(element_at(CAST(x AS map(varchar, json)), field))))
WITH {{lineage_events}}, {{event_marks}},
tl_base AS (
    SELECT e.*,
        aws_quarantine(e.event_source, e.event_name, e.record) AS quarantine,
        exposure(e.event_source, e.event_name, e.record) AS exposed,
        aws_origin(e.source_ip, e.user_agent, e.identity_type,
                   CASE WHEN NOT ip_address(e.source_ip) THEN json_extract_scalar(e.record, '$.userIdentity.invokedBy') END) AS aws,
        -- what the call acted on, when it is not a successful read
        CASE WHEN NOT coalesce(e.read_only, false) OR e.error_code IS NOT NULL THEN
            transform(ARRAY[
                '$.requestParameters.userName', '$.requestParameters.roleName', '$.requestParameters.groupName',
                '$.requestParameters.policyArn', '$.requestParameters.policyName', '$.requestParameters.instanceType',
                '$.requestParameters.taskDefinition', '$.requestParameters.cluster', '$.requestParameters.serviceName',
                '$.requestParameters.functionName', '$.requestParameters.bucketName', '$.requestParameters.name',
                '$.requestParameters.keyName', '$.requestParameters.groupId', '$.requestParameters.trailName',
                '$.requestParameters.detectorId', '$.requestParameters.service', '$.requestParameters.accessKeyId'],
                path -> th_tl_text(json_extract(e.record, path)))
        END AS p,
        CASE WHEN cardinality(m.verdicts) + IF(m.conflicting, 1, 0) > 0
             THEN concat(m.verdicts, IF(m.conflicting, ARRAY['conflicting'], CAST(ARRAY[] AS array(varchar)))) END AS marks
    FROM lineage_events e
    LEFT JOIN event_marks m ON m.event_id = e.event_id AND m.variant = e.variant
),
tl_what AS (
    SELECT *,
        CASE
            WHEN event_source = 'sts.amazonaws.com' AND event_name = 'GetSessionToken' THEN
                CASE WHEN error_code IS NULL THEN 'minted session key ' || coalesce(minted_key_id, '?')
                     ELSE 'tried to mint a session key' END
            WHEN event_source = 'sts.amazonaws.com' AND event_name = 'GetFederationToken' THEN
                CASE WHEN error_code IS NULL THEN 'minted federated session key ' || coalesce(minted_key_id, '?')
                     ELSE 'tried to mint a federated session key' END ||
                coalesce(' for ' || th_tl_text(json_extract(record, '$.requestParameters.name')), '')
            WHEN event_source = 'sts.amazonaws.com' AND event_name IN ('AssumeRole', 'AssumeRoleWithSAML', 'AssumeRoleWithWebIdentity') THEN
                CASE WHEN identity_type = 'AWSService' THEN coalesce(aws || ' ', '') ELSE '' END ||
                CASE WHEN error_code IS NULL THEN 'assumed role ' ELSE 'tried to assume role ' END ||
                element_at(transform(ARRAY[coalesce(role_arn, nullif(regexp_extract(error_message,   -- (a denied call names it only there)
                                   'on resource: (arn:aws[a-z-]*:iam::[0-9]+:role/[^ ]+)', 1), ''))],
                    r -> coalesce(element_at(split(r, '/'), -1) ||
                                  CASE WHEN coalesce(split_part(r, ':', 5), '') NOT IN (coalesce(recipient_account_id, ''), coalesce(account_id, ''))
                                       THEN ' of account ' || coalesce(split_part(r, ':', 5), '') ELSE '' END, '?')), 1) ||
                coalesce(' as session key ' || minted_key_id, '') ||
                CASE WHEN identity_type = 'AWSService'
                     THEN coalesce(' for ' || th_tl_text(json_extract(record, '$.requestParameters.roleSessionName')), '') ELSE '' END
            WHEN event_source = 'signin.amazonaws.com' AND event_name = 'GetSigninToken' THEN
                'turned session key ' || coalesce(access_key_id, '?') || ' into a console sign-in token'
            WHEN exposed IS NOT NULL THEN exposed.what
            WHEN event_source = 's3.amazonaws.com' AND event_name IN ('GetObject', 'SelectObjectContent') THEN
                CASE WHEN error_code IS NULL THEN 'read ' ELSE 'tried to read ' END || coalesce(s3_object(record), 'an object')
            WHEN event_source = 's3.amazonaws.com' AND event_name IN ('PutObject', 'CompleteMultipartUpload') THEN
                CASE WHEN error_code IS NULL THEN 'wrote ' ELSE 'tried to write ' END || coalesce(s3_object(record), 'an object')
            WHEN event_source = 's3.amazonaws.com' AND event_name = 'CopyObject' THEN
                CASE WHEN error_code IS NULL THEN 'copied ' ELSE 'tried to copy ' END ||
                coalesce('s3://' || ltrim(th_tl_text(json_extract(record, '$.requestParameters["x-amz-copy-source"]')), '/') || ' ', '') ||
                'to ' || coalesce(s3_object(record), 'an object')
            WHEN event_source = 's3.amazonaws.com' AND event_name = 'DeleteObject' THEN
                CASE WHEN error_code IS NULL THEN 'deleted ' ELSE 'tried to delete ' END || coalesce(s3_object(record), 'an object')
            WHEN event_source = 's3.amazonaws.com' AND event_name = 'DeleteObjects' THEN
                CASE WHEN error_code IS NULL THEN 'deleted ' ELSE 'tried to delete ' END ||
                CASE WHEN cardinality(filter(th_tl_items(json_extract(record, '$.resources'), 'ARN'), x -> x LIKE 'arn:%:s3:::%/%')) > 0
                     THEN CAST(cardinality(filter(th_tl_items(json_extract(record, '$.resources'), 'ARN'), x -> x LIKE 'arn:%:s3:::%/%')) AS varchar) || ' objects'
                     ELSE 'objects' END ||
                ' from s3://' || coalesce(th_tl_text(json_extract(record, '$.requestParameters.bucketName')), '?')
            WHEN event_source = 's3.amazonaws.com' AND event_name IN ('ListObjects', 'ListObjectsV2', 'ListObjectVersions') THEN
                CASE WHEN error_code IS NULL THEN 'listed s3://' ELSE 'tried to list s3://' END ||
                coalesce(th_tl_text(json_extract(record, '$.requestParameters.bucketName')), '?') || '/' ||
                coalesce(th_tl_text(json_extract(record, '$.requestParameters.prefix')), '')
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
                     THEN 'launched ' ||
                          CAST(coalesce(json_array_length(json_extract(record, '$.responseElements.instancesSet.items')), 0) AS varchar) ||
                          ' x ' || coalesce(p[6], '?') || ': ' ||
                          array_join(th_tl_items(json_extract(record, '$.responseElements.instancesSet.items'), 'instanceId'), ' ')
                     ELSE 'tried to launch ' ||
                          coalesce(th_tl_text(json_extract(record, '$.requestParameters.instancesSet.items[0].maxCount')), '?') ||
                          ' x ' || coalesce(p[6], '?') END
            WHEN event_name IN ('TerminateInstances', 'StopInstances', 'StartInstances') THEN
                lower(replace(event_name, 'Instances', '')) || ' ' ||
                array_join(th_tl_items(json_extract(record, '$.requestParameters.instancesSet.items'), 'instanceId'), ' ')
            WHEN event_name IN ('RunTask', 'StartTask') THEN
                'started ' || CAST(coalesce(json_array_length(json_extract(record, '$.responseElements.tasks')), 0) AS varchar) ||
                ' task(s) of ' || coalesce(p[7], '?') || ' on cluster ' || coalesce(p[8], 'default')
            WHEN event_name = 'CreateService' THEN
                'created ECS service ' || coalesce(p[9], '?') || ' (' ||
                coalesce(th_tl_text(json_extract(record, '$.requestParameters.desiredCount')), '?') || ' tasks) on cluster ' ||
                coalesce(p[8], 'default')
            WHEN event_name = 'CreateCluster' AND event_source = 'ecs.amazonaws.com' THEN
                'created ECS cluster ' || coalesce(th_tl_text(json_extract(record, '$.requestParameters.clusterName')), 'default')
            WHEN event_name = 'RegisterTaskDefinition' THEN
                'registered task definition ' || coalesce(th_tl_text(json_extract(record, '$.requestParameters.family')), '?') ||
                coalesce(' (image ' || th_tl_text(json_extract(record, '$.requestParameters.containerDefinitions[0].image')) || ')', '')
            WHEN event_name = 'RequestServiceQuotaIncrease' THEN
                'asked for ' || coalesce(th_tl_text(json_extract(record, '$.requestParameters.serviceCode')), '?') || ' quota ' ||
                coalesce(th_tl_text(json_extract(record, '$.requestParameters.quotaCode')), '?') || ' = ' ||
                coalesce(th_tl_text(json_extract(record, '$.requestParameters.desiredValue')), '?')
        END AS what
    FROM tl_base
)
SELECT event_time, access_key_id, aws_region AS region, event_source, event_name, error_code, source_ip, user_agent,
    CASE
        WHEN quarantine IS NOT NULL THEN
            'AWS put its quarantine policy ' || quarantine || ' on user ' || coalesce(p[1], user_name) ||
            ' (AWS itself, not the attacker)'
        WHEN event_name = 'ConsoleLogin' THEN
            'console sign-in as ' || coalesce(user_name, arn, '?') || ': ' ||
            coalesce(th_tl_text(json_extract(record, '$.responseElements.ConsoleLogin')), error_code, '?') ||
            ', MFA ' || coalesce(th_tl_text(json_extract(record, '$.additionalEventData.MFAUsed')), '?')
        WHEN what IS NOT NULL OR NOT (coalesce(read_only, false) AND error_code IS NULL) THEN
            concat_ws(' ', coalesce(what, event_name || coalesce(' ' || element_at(filter(p, x -> x IS NOT NULL), 1), '')),
                      CASE WHEN error_code IS NOT NULL THEN '(failed: ' || error_code || ')' END,
                      CASE WHEN aws IS NOT NULL AND identity_type IS DISTINCT FROM 'AWSService'
                           THEN '(made by ' || aws || ' on the caller''s behalf)' END)
    END AS summary,
    event_id, marks AS integrity
FROM tl_what
ORDER BY event_time, event_id, variant
