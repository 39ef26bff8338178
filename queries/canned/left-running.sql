-- name: left-running
-- description: The cleanup checklist: what the lineage created that nothing in the store stopped or deleted.
-- parameters: keys, from, to
-- chart: table
-- title: Still there, one by one: made and never stopped or deleted in the logs (left running)
-- pack: table 10
-- empty: everything these credentials created was later stopped or deleted (as far as the logs show).
--
-- A resource is created by a successful call in scope (the lineage, within [from, to)); it
-- is cleaned up by a later successful stop, terminate, cancel, delete (or deactivation, for
-- an access key) by anyone, anywhere in the store, matched on its id or name in the same
-- region (IAM resources are global: region `global`). A user's access keys and password go
-- with a DeleteUser. `resource_id` is what the delete call takes: an instance, request,
-- security group or access key id, a task, service or cluster ARN, a function, user, role,
-- key pair or group name. What the store does not show (events before or after it, a
-- region without logs) cannot count: check `coverage`.
--
-- In the duckdb CLI (duckdb -readonly case.duckdb), paste the SELECT with $keys replaced by a
-- list (['AKIA...'], or []::VARCHAR[] for the whole store) and $from/$to by NULL or a time
-- (TIMESTAMPTZ '2026-11-07 00:00:00+00'), or prepare it:
--   PREPARE left_running AS <the SELECT below>;
--   EXECUTE left_running(keys := ['AKIAEXAMPLEKEY000001'], "from" := NULL, "to" := NULL);
WITH
made AS MATERIALIZED (
    SELECT event_time, aws_region, event_source, event_name, access_key_id, minted_key_id, record
    FROM lineage_events($keys::VARCHAR[], $from::TIMESTAMPTZ, $to::TIMESTAMPTZ)
    WHERE error_code IS NULL AND creates_resource(event_source, event_name)   -- (macros.sql)
),
created AS (    -- region, service, resource_type, resource_id, key: what a delete names; owner: the IAM user it belongs to
    SELECT aws_region AS region, 'ec2' AS service, 'instance' AS resource_type, id AS resource_id, id AS key,
        NULL AS owner, event_time AS created_at, access_key_id AS created_by
    FROM made, unnest(json_extract_string(record, '$.responseElements.instancesSet.items[*].instanceId')) AS t(id)
    WHERE event_name = 'RunInstances'
    UNION ALL
    SELECT aws_region, 'ec2', 'spot-instance-request', id, id, NULL, event_time, access_key_id
    FROM made, unnest(json_extract_string(record, '$.responseElements.spotInstanceRequestSet.items[*].spotInstanceRequestId')) AS t(id)
    WHERE event_name = 'RequestSpotInstances'
    UNION ALL
    SELECT aws_region, 'ec2', 'key-pair', k, k, NULL, event_time, access_key_id
    FROM (SELECT *, coalesce(json_extract_string(record, '$.responseElements.keyName'),
                             json_extract_string(record, '$.requestParameters.keyName')) AS k
          FROM made WHERE event_name IN ('CreateKeyPair', 'ImportKeyPair'))
    UNION ALL
    SELECT aws_region, 'ec2', 'security-group', id, id, NULL, event_time, access_key_id
    FROM (SELECT *, json_extract_string(record, '$.responseElements.groupId') AS id FROM made WHERE event_name = 'CreateSecurityGroup')
    UNION ALL
    SELECT aws_region, 'ecs', 'cluster', arn, split_part(arn, '/', -1), NULL, event_time, access_key_id
    FROM (SELECT *, json_extract_string(record, '$.responseElements.cluster.clusterArn') AS arn FROM made
          WHERE event_source = 'ecs.amazonaws.com' AND event_name = 'CreateCluster')
    UNION ALL
    SELECT aws_region, 'ecs', 'service', arn,
        split_part(json_extract_string(record, '$.responseElements.service.clusterArn'), '/', -1) || '/' ||
            json_extract_string(record, '$.responseElements.service.serviceName'),
        NULL, event_time, access_key_id
    FROM (SELECT *, json_extract_string(record, '$.responseElements.service.serviceArn') AS arn FROM made
          WHERE event_name = 'CreateService')
    UNION ALL
    SELECT aws_region, 'ecs', 'task', arn, split_part(arn, '/', -1), NULL, event_time, access_key_id
    FROM made, unnest(json_extract_string(record, '$.responseElements.tasks[*].taskArn')) AS t(arn)
    WHERE event_name IN ('RunTask', 'StartTask')
    UNION ALL
    SELECT aws_region, 'lambda', 'function', name, name, NULL, event_time, access_key_id
    FROM (SELECT *, coalesce(json_extract_string(record, '$.responseElements.functionName'),
                             json_extract_string(record, '$.requestParameters.functionName')) AS name
          FROM made WHERE event_source = 'lambda.amazonaws.com')
    UNION ALL
    SELECT aws_region, 'autoscaling', 'auto-scaling-group', name, name, NULL, event_time, access_key_id
    FROM (SELECT *, json_extract_string(record, '$.requestParameters.autoScalingGroupName') AS name
          FROM made WHERE event_name = 'CreateAutoScalingGroup')
    UNION ALL
    SELECT 'global', 'iam', 'user', name, name, name, event_time, access_key_id
    FROM (SELECT *, coalesce(json_extract_string(record, '$.responseElements.user.userName'),
                             json_extract_string(record, '$.requestParameters.userName')) AS name
          FROM made WHERE event_name = 'CreateUser')
    UNION ALL
    SELECT 'global', 'iam', 'access-key', minted_key_id, minted_key_id,
        json_extract_string(record, '$.responseElements.accessKey.userName'), event_time, access_key_id
    FROM made WHERE event_name = 'CreateAccessKey'
    UNION ALL
    SELECT 'global', 'iam', 'login-profile', name, name, name, event_time, access_key_id
    FROM (SELECT *, json_extract_string(record, '$.requestParameters.userName') AS name
          FROM made WHERE event_name = 'CreateLoginProfile')
    UNION ALL
    SELECT 'global', 'iam', 'role', name, name, NULL, event_time, access_key_id
    FROM (SELECT *, json_extract_string(record, '$.requestParameters.roleName') AS name
          FROM made WHERE event_name = 'CreateRole')
),
ends AS (       -- successful stops and deletes by anyone: region, resource_type, key, ended_at
    SELECT aws_region AS region, 'instance' AS resource_type, id AS key, event_time AS ended_at
    FROM event_rows, unnest(json_extract_string(record, '$.requestParameters.instancesSet.items[*].instanceId')) AS t(id)
    WHERE event_source = 'ec2.amazonaws.com' AND event_name IN ('TerminateInstances', 'StopInstances') AND error_code IS NULL
    UNION ALL
    SELECT aws_region, 'spot-instance-request', id, event_time
    FROM event_rows, unnest(json_extract_string(record,
        '$.requestParameters.spotInstanceRequestIdSet.items[*].spotInstanceRequestId')) AS t(id)
    WHERE event_source = 'ec2.amazonaws.com' AND event_name = 'CancelSpotInstanceRequests' AND error_code IS NULL
    UNION ALL
    SELECT aws_region, CASE event_name WHEN 'DeleteKeyPair' THEN 'key-pair' ELSE 'security-group' END,
        coalesce(json_extract_string(record, '$.requestParameters.keyName'),
                 json_extract_string(record, '$.requestParameters.groupId'),
                 json_extract_string(record, '$.requestParameters.groupName')), event_time
    FROM event_rows
    WHERE event_source = 'ec2.amazonaws.com' AND event_name IN ('DeleteKeyPair', 'DeleteSecurityGroup') AND error_code IS NULL
    UNION ALL
    SELECT aws_region,
        CASE event_name WHEN 'DeleteCluster' THEN 'cluster' WHEN 'DeleteService' THEN 'service' ELSE 'task' END,
        CASE event_name
            WHEN 'DeleteCluster' THEN split_part(json_extract_string(record, '$.requestParameters.cluster'), '/', -1)
            WHEN 'DeleteService' THEN
                split_part(coalesce(json_extract_string(record, '$.requestParameters.cluster'), 'default'), '/', -1) || '/' ||
                split_part(json_extract_string(record, '$.requestParameters.service'), '/', -1)
            ELSE split_part(json_extract_string(record, '$.requestParameters.task'), '/', -1)
        END, event_time
    FROM event_rows
    WHERE event_source = 'ecs.amazonaws.com' AND event_name IN ('DeleteCluster', 'DeleteService', 'StopTask')
      AND error_code IS NULL
    UNION ALL
    SELECT aws_region, 'function',
        CASE WHEN starts_with(f, 'arn:') THEN split_part(f, ':', 7) ELSE f END, event_time
    FROM (SELECT *, json_extract_string(record, '$.requestParameters.functionName') AS f FROM event_rows
          WHERE event_source = 'lambda.amazonaws.com' AND event_name LIKE 'DeleteFunction%' AND error_code IS NULL)
    UNION ALL
    SELECT aws_region, 'auto-scaling-group', json_extract_string(record, '$.requestParameters.autoScalingGroupName'), event_time
    FROM event_rows
    WHERE event_source = 'autoscaling.amazonaws.com' AND event_name = 'DeleteAutoScalingGroup' AND error_code IS NULL
    UNION ALL
    SELECT 'global',
        CASE event_name WHEN 'DeleteUser' THEN 'user' WHEN 'DeleteLoginProfile' THEN 'login-profile'
                        WHEN 'DeleteRole' THEN 'role' ELSE 'access-key' END,
        CASE WHEN event_name IN ('DeleteAccessKey', 'UpdateAccessKey') THEN json_extract_string(record, '$.requestParameters.accessKeyId')
             WHEN event_name = 'DeleteRole' THEN json_extract_string(record, '$.requestParameters.roleName')
             ELSE json_extract_string(record, '$.requestParameters.userName') END,
        event_time
    FROM event_rows
    WHERE event_source = 'iam.amazonaws.com' AND error_code IS NULL
      AND event_name IN ('DeleteUser', 'DeleteLoginProfile', 'DeleteRole', 'DeleteAccessKey', 'UpdateAccessKey')
      AND (event_name <> 'UpdateAccessKey' OR json_extract_string(record, '$.requestParameters.status') = 'Inactive')
),
deleted_users AS (SELECT key AS name, ended_at FROM ends WHERE resource_type = 'user')
SELECT c.region, c.service, c.resource_type, c.resource_id, c.created_at, c.created_by
FROM created c
WHERE c.resource_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM ends e
                  WHERE e.resource_type = c.resource_type AND e.key = c.key AND e.region = c.region AND e.ended_at >= c.created_at)
  AND NOT EXISTS (SELECT 1 FROM deleted_users d WHERE d.name = c.owner AND d.ended_at >= c.created_at)
ORDER BY c.created_at, c.region, c.service, c.resource_type, c.resource_id;
