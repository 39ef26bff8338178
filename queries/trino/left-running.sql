-- left-running on Trino over the lake (queries/canned/left-running.sql has the header and the meaning).
-- One scan of the lineage's events and one of the store's: each event gives an array of what it
-- creates (or ends), unnested (each CTE is referenced once: Trino plans a CTE at every reference).
WITH
FUNCTION json_items(j json, field varchar) RETURNS array(varchar)   -- DuckDB's '$.path[*].field': the field of each element
RETURN transform(TRY(CAST(j AS array(json))), x -> json_extract_scalar(x, '$.' || field))
WITH {{lineage_events}},
made AS (   -- successful calls in scope that create something (creates_resource in queries/macros.sql)
    SELECT event_time, aws_region, event_source, event_name, access_key_id, minted_key_id, json_parse(record) AS j
    FROM lineage_events
    WHERE error_code IS NULL AND (
           (event_source = 'ec2.amazonaws.com' AND event_name IN ('RunInstances', 'RequestSpotInstances',
                'CreateKeyPair', 'ImportKeyPair', 'CreateSecurityGroup'))
        OR (event_source = 'ecs.amazonaws.com' AND event_name IN ('CreateCluster', 'CreateService', 'RunTask', 'StartTask'))
        OR (event_source = 'lambda.amazonaws.com' AND event_name LIKE 'CreateFunction%')
        OR (event_source = 'autoscaling.amazonaws.com' AND event_name = 'CreateAutoScalingGroup')
        OR (event_source = 'iam.amazonaws.com' AND event_name IN ('CreateUser', 'CreateAccessKey', 'CreateLoginProfile', 'CreateRole')))
),
created AS (    -- region, service, resource_type, resource_id, key: what a delete names; owner: the IAM user it belongs to
    SELECT x.region, x.service, x.resource_type, x.resource_id, x.key, x.owner, m.event_time AS created_at,
        m.access_key_id AS created_by
    FROM made m
    CROSS JOIN UNNEST(CASE
        WHEN event_name = 'RunInstances' THEN
            transform(json_items(json_extract(j, '$.responseElements.instancesSet.items'), 'instanceId'),
                id -> ROW(aws_region, 'ec2', 'instance', id, id, CAST(NULL AS varchar)))
        WHEN event_name = 'RequestSpotInstances' THEN
            transform(json_items(json_extract(j, '$.responseElements.spotInstanceRequestSet.items'), 'spotInstanceRequestId'),
                id -> ROW(aws_region, 'ec2', 'spot-instance-request', id, id, CAST(NULL AS varchar)))
        WHEN event_name IN ('CreateKeyPair', 'ImportKeyPair') THEN
            transform(ARRAY[coalesce(json_extract_scalar(j, '$.responseElements.keyName'),
                                     json_extract_scalar(j, '$.requestParameters.keyName'))],
                k -> ROW(aws_region, 'ec2', 'key-pair', k, k, CAST(NULL AS varchar)))
        WHEN event_name = 'CreateSecurityGroup' THEN
            transform(ARRAY[json_extract_scalar(j, '$.responseElements.groupId')],
                id -> ROW(aws_region, 'ec2', 'security-group', id, id, CAST(NULL AS varchar)))
        WHEN event_source = 'ecs.amazonaws.com' AND event_name = 'CreateCluster' THEN
            transform(ARRAY[json_extract_scalar(j, '$.responseElements.cluster.clusterArn')],
                arn -> ROW(aws_region, 'ecs', 'cluster', arn, element_at(split(arn, '/'), -1), CAST(NULL AS varchar)))
        WHEN event_name = 'CreateService' THEN
            ARRAY[ROW(aws_region, 'ecs', 'service', json_extract_scalar(j, '$.responseElements.service.serviceArn'),
                element_at(split(json_extract_scalar(j, '$.responseElements.service.clusterArn'), '/'), -1) || '/' ||
                    json_extract_scalar(j, '$.responseElements.service.serviceName'),
                CAST(NULL AS varchar))]
        WHEN event_name IN ('RunTask', 'StartTask') THEN
            transform(json_items(json_extract(j, '$.responseElements.tasks'), 'taskArn'),
                arn -> ROW(aws_region, 'ecs', 'task', arn, element_at(split(arn, '/'), -1), CAST(NULL AS varchar)))
        WHEN event_source = 'lambda.amazonaws.com' THEN
            transform(ARRAY[coalesce(json_extract_scalar(j, '$.responseElements.functionName'),
                                     json_extract_scalar(j, '$.requestParameters.functionName'))],
                name -> ROW(aws_region, 'lambda', 'function', name, name, CAST(NULL AS varchar)))
        WHEN event_name = 'CreateAutoScalingGroup' THEN
            transform(ARRAY[json_extract_scalar(j, '$.requestParameters.autoScalingGroupName')],
                name -> ROW(aws_region, 'autoscaling', 'auto-scaling-group', name, name, CAST(NULL AS varchar)))
        WHEN event_name = 'CreateUser' THEN
            transform(ARRAY[coalesce(json_extract_scalar(j, '$.responseElements.user.userName'),
                                     json_extract_scalar(j, '$.requestParameters.userName'))],
                name -> ROW('global', 'iam', 'user', name, name, name))
        WHEN event_name = 'CreateAccessKey' THEN
            ARRAY[ROW('global', 'iam', 'access-key', minted_key_id, minted_key_id,
                json_extract_scalar(j, '$.responseElements.accessKey.userName'))]
        WHEN event_name = 'CreateLoginProfile' THEN
            transform(ARRAY[json_extract_scalar(j, '$.requestParameters.userName')],
                name -> ROW('global', 'iam', 'login-profile', name, name, name))
        WHEN event_name = 'CreateRole' THEN
            transform(ARRAY[json_extract_scalar(j, '$.requestParameters.roleName')],
                name -> ROW('global', 'iam', 'role', name, name, CAST(NULL AS varchar)))
    END) AS x(region, service, resource_type, resource_id, key, owner)
),
stops AS (      -- successful stops and deletes by anyone
    SELECT event_time, aws_region, event_source, event_name, json_parse(record) AS j
    FROM events
    WHERE error_code IS NULL AND (
           (event_source = 'ec2.amazonaws.com' AND event_name IN ('TerminateInstances', 'StopInstances',
                'CancelSpotInstanceRequests', 'DeleteKeyPair', 'DeleteSecurityGroup'))
        OR (event_source = 'ecs.amazonaws.com' AND event_name IN ('DeleteCluster', 'DeleteService', 'StopTask'))
        OR (event_source = 'lambda.amazonaws.com' AND event_name LIKE 'DeleteFunction%')
        OR (event_source = 'autoscaling.amazonaws.com' AND event_name = 'DeleteAutoScalingGroup')
        OR (event_source = 'iam.amazonaws.com'
            AND event_name IN ('DeleteUser', 'DeleteLoginProfile', 'DeleteRole', 'DeleteAccessKey', 'UpdateAccessKey')))
),
ends AS (       -- region, resource_type, key, ended_at
    SELECT x.region, x.resource_type, x.key, s.event_time AS ended_at
    FROM stops s
    CROSS JOIN UNNEST(CASE
        WHEN event_name IN ('TerminateInstances', 'StopInstances') THEN
            transform(json_items(json_extract(j, '$.requestParameters.instancesSet.items'), 'instanceId'),
                id -> ROW(aws_region, 'instance', id))
        WHEN event_name = 'CancelSpotInstanceRequests' THEN
            transform(json_items(json_extract(j, '$.requestParameters.spotInstanceRequestIdSet.items'), 'spotInstanceRequestId'),
                id -> ROW(aws_region, 'spot-instance-request', id))
        WHEN event_source = 'ec2.amazonaws.com' THEN
            ARRAY[ROW(aws_region, CASE event_name WHEN 'DeleteKeyPair' THEN 'key-pair' ELSE 'security-group' END,
                coalesce(json_extract_scalar(j, '$.requestParameters.keyName'), json_extract_scalar(j, '$.requestParameters.groupId'),
                         json_extract_scalar(j, '$.requestParameters.groupName')))]
        WHEN event_source = 'ecs.amazonaws.com' THEN
            ARRAY[ROW(aws_region,
                CASE event_name WHEN 'DeleteCluster' THEN 'cluster' WHEN 'DeleteService' THEN 'service' ELSE 'task' END,
                CASE event_name
                    WHEN 'DeleteCluster' THEN element_at(split(json_extract_scalar(j, '$.requestParameters.cluster'), '/'), -1)
                    WHEN 'DeleteService' THEN
                        element_at(split(coalesce(json_extract_scalar(j, '$.requestParameters.cluster'), 'default'), '/'), -1) || '/' ||
                        element_at(split(json_extract_scalar(j, '$.requestParameters.service'), '/'), -1)
                    ELSE element_at(split(json_extract_scalar(j, '$.requestParameters.task'), '/'), -1)
                END)]
        WHEN event_source = 'lambda.amazonaws.com' THEN
            transform(ARRAY[json_extract_scalar(j, '$.requestParameters.functionName')],
                f -> ROW(aws_region, 'function', CASE WHEN starts_with(f, 'arn:') THEN coalesce(split_part(f, ':', 7), '') ELSE f END))
        WHEN event_source = 'autoscaling.amazonaws.com' THEN
            ARRAY[ROW(aws_region, 'auto-scaling-group', json_extract_scalar(j, '$.requestParameters.autoScalingGroupName'))]
        WHEN event_name <> 'UpdateAccessKey' OR json_extract_scalar(j, '$.requestParameters.status') = 'Inactive' THEN
            ARRAY[ROW('global',
                CASE event_name WHEN 'DeleteUser' THEN 'user' WHEN 'DeleteLoginProfile' THEN 'login-profile'
                                WHEN 'DeleteRole' THEN 'role' ELSE 'access-key' END,
                CASE WHEN event_name IN ('DeleteAccessKey', 'UpdateAccessKey') THEN json_extract_scalar(j, '$.requestParameters.accessKeyId')
                     WHEN event_name = 'DeleteRole' THEN json_extract_scalar(j, '$.requestParameters.roleName')
                     ELSE json_extract_scalar(j, '$.requestParameters.userName') END)]
    END) AS x(region, resource_type, key)
)
SELECT c.region, c.service, c.resource_type, c.resource_id, c.created_at, c.created_by
FROM created c
WHERE c.resource_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM ends e     -- its own end, or its user deleted
                  WHERE ((e.resource_type = c.resource_type AND e.key = c.key AND e.region = c.region)
                         OR (e.resource_type = 'user' AND e.key = c.owner))
                    AND e.ended_at >= c.created_at)
ORDER BY c.created_at, c.region, c.service, c.resource_type, c.resource_id
