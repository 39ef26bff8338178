-- name: timeline
-- description: Every event of the lineage (or of the store) in time order, with a one-line summary.
-- parameters: keys, from, to
-- chart: timeline x=event_time y=event_name series=access_key_id
--
-- The scope is lineage_events (queries/macros.sql): the events signed by a key of the lineage,
-- and the console sign-ins of users it created. `summary` is built from the request and the
-- response (JSON) for the calls that matter; it is NULL for successful reads. AWS's own
-- quarantine of a leaked key is recorded under the victim's user, even with the leaked key:
-- its summary says it was AWS.
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
        WHEN read_only AND error_code IS NULL THEN NULL
        ELSE concat_ws(' ', what, CASE WHEN error_code IS NOT NULL THEN '(failed: ' || error_code || ')' END)
    END AS summary
FROM (
    SELECT *,
        CASE
            WHEN event_name IN ('GetSessionToken', 'GetFederationToken') THEN
                'minted session key ' || coalesce(minted_key_id, '?')
            WHEN event_name = 'AssumeRole' THEN
                'assumed role ' || coalesce(role_arn, '?') || coalesce(' as session key ' || minted_key_id, '')
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
            ELSE event_name || coalesce(' ' || list_filter(p, x -> x IS NOT NULL)[1], '')
        END AS what
    FROM (
        SELECT *,
            aws_quarantine(event_source, event_name, record) AS quarantine,
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
    )
)
ORDER BY event_time, event_id;
