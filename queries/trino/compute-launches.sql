-- compute-launches on Trino over the lake (queries/canned/compute-launches.sql has the header and the meaning).
WITH {{utc_hour}},
FUNCTION json_len(j json) RETURNS bigint    -- DuckDB's json_array_length: 0 for what is not an array, NULL for no value
RETURN CASE WHEN j IS NULL THEN NULL ELSE coalesce(json_array_length(j), 0) END,
FUNCTION json_text(j json) RETURNS varchar  -- DuckDB's json_extract_string: a scalar's text, else the JSON
RETURN CASE WHEN j IS NULL OR json_format(j) = 'null' THEN NULL
            ELSE coalesce(json_extract_scalar(j, '$'), json_format(j)) END
WITH {{lineage_events}},
calls AS (
    SELECT utc_hour(event_time) AS hour, aws_region AS region, split_part(event_source, '.', 1) AS service,
        event_name AS action, error_code, j
    FROM (SELECT *, json_parse(record) AS j FROM lineage_events)
    WHERE (event_source = 'ec2.amazonaws.com'
           AND event_name IN ('RunInstances', 'StartInstances', 'RequestSpotInstances', 'RequestSpotFleet', 'CreateFleet'))
       OR (event_source = 'ecs.amazonaws.com' AND event_name IN ('RunTask', 'StartTask', 'CreateService', 'UpdateService'))
       OR (event_source = 'lambda.amazonaws.com' AND event_name LIKE 'CreateFunction%')
       OR (event_source = 'batch.amazonaws.com' AND event_name IN ('SubmitJob', 'CreateComputeEnvironment'))
       OR (event_source = 'sagemaker.amazonaws.com' AND event_name IN ('CreateNotebookInstance', 'CreateTrainingJob',
           'CreateProcessingJob', 'CreateTransformJob', 'CreateEndpoint'))
       OR (event_source = 'lightsail.amazonaws.com' AND event_name IN ('CreateInstances', 'CreateInstancesFromSnapshot'))
       OR (event_source = 'eks.amazonaws.com' AND event_name IN ('CreateCluster', 'CreateNodegroup', 'CreateFargateProfile'))
       OR (event_source = 'autoscaling.amazonaws.com' AND event_name IN ('CreateAutoScalingGroup', 'UpdateAutoScalingGroup'))
       OR (event_source = 'elasticmapreduce.amazonaws.com' AND event_name = 'RunJobFlow')
),
parsed AS (
    SELECT hour, region, service, action, error_code,
        ARRAY[
            json_text(json_extract(j, '$.requestParameters.instanceType')),                                       -- 1
            json_text(json_extract(j, '$.responseElements.instancesSet.items[0].instanceType')),                  -- 2
            json_text(json_extract(j, '$.requestParameters.launchTemplate.launchTemplateName')),                  -- 3
            json_text(json_extract(j, '$.requestParameters.launchTemplate.launchTemplateId')),                    -- 4
            json_text(json_extract(j, '$.requestParameters.instanceMarketOptions.marketType')),                   -- 5
            json_text(json_extract(j, '$.requestParameters.launchSpecification.instanceType')),                   -- 6
            json_text(json_extract(j, '$.requestParameters.spotFleetRequestConfig.targetCapacity')),              -- 7
            json_text(json_extract(j, '$.requestParameters.CreateFleetRequest.TargetCapacitySpecification.TotalTargetCapacity')), -- 8
            json_text(json_extract(j, '$.requestParameters.desiredCount')),                                       -- 9
            json_text(json_extract(j, '$.requestParameters.launchType')),                                         -- 10
            json_text(json_extract(j, '$.requestParameters.capacityProviderStrategy[0].capacityProvider')),       -- 11
            json_text(json_extract(j, '$.responseElements.tasks[0].launchType')),                                 -- 12
            json_text(json_extract(j, '$.responseElements.tasks[0].cpu')),                                        -- 13
            json_text(json_extract(j, '$.requestParameters.overrides.cpu')),                                      -- 14
            json_text(json_extract(j, '$.responseElements.tasks[0].memory')),                                     -- 15
            json_text(json_extract(j, '$.requestParameters.overrides.memory')),                                   -- 16
            json_text(json_extract(j, '$.requestParameters.runtime')),                                            -- 17
            json_text(json_extract(j, '$.requestParameters.memorySize')),                                         -- 18
            json_text(json_extract(j, '$.requestParameters.jobQueue')),                                           -- 19
            json_text(json_extract(j, '$.requestParameters.arrayProperties.size')),                               -- 20
            json_text(json_extract(j, '$.requestParameters.computeResources.type')),                              -- 21
            json_text(json_extract(j, '$.requestParameters.computeResources.maxvCpus')),                          -- 22
            json_text(json_extract(j, '$.requestParameters.computeResources.instanceTypes')),                     -- 23
            json_text(json_extract(j, '$.requestParameters.resourceConfig.instanceType')),                        -- 24
            json_text(json_extract(j, '$.requestParameters.resourceConfig.instanceCount')),                       -- 25
            json_text(json_extract(j, '$.requestParameters.processingResources.clusterConfig.instanceType')),     -- 26
            json_text(json_extract(j, '$.requestParameters.processingResources.clusterConfig.instanceCount')),    -- 27
            json_text(json_extract(j, '$.requestParameters.transformResources.instanceType')),                    -- 28
            json_text(json_extract(j, '$.requestParameters.transformResources.instanceCount')),                   -- 29
            json_text(json_extract(j, '$.requestParameters.bundleId')),                                           -- 30
            json_text(json_extract(j, '$.requestParameters.instanceTypes')),                                      -- 31
            json_text(json_extract(j, '$.requestParameters.scalingConfig.desiredSize')),                          -- 32
            json_text(json_extract(j, '$.requestParameters.capacityType')),                                       -- 33
            json_text(json_extract(j, '$.requestParameters.desiredCapacity')),                                    -- 34
            json_text(json_extract(j, '$.requestParameters.maxSize')),                                            -- 35
            json_text(json_extract(j, '$.requestParameters.instances.masterInstanceType')),                       -- 36
            json_text(json_extract(j, '$.requestParameters.instances.slaveInstanceType')),                        -- 37
            json_text(json_extract(j, '$.requestParameters.instances.instanceCount')),                            -- 38
            json_text(json_extract(j, '$.requestParameters.targetCapacitySpecification.totalTargetCapacity'))     -- 39
        ] AS f,
        ARRAY[
            json_len(json_extract(j, '$.responseElements.instancesSet.items')),              -- 1 instances started
            json_len(json_extract(j, '$.responseElements.spotInstanceRequestSet.items')),    -- 2 spot requests
            json_len(json_extract(j, '$.responseElements.tasks')),                           -- 3 ECS tasks started
            json_len(json_extract(j, '$.responseElements.failures')),                        -- 4 ECS tasks that failed to start
            json_len(json_extract(j, '$.requestParameters.instanceNames'))                   -- 5 Lightsail instances
        ] AS n
    FROM calls
),
facts AS (
    SELECT hour, region, service, action, error_code,
        CASE WHEN error_code IS NOT NULL THEN 0
             WHEN action IN ('RunInstances', 'StartInstances') THEN coalesce(n[1], 0)
             WHEN action = 'RequestSpotInstances' THEN coalesce(n[2], 0)
             WHEN action IN ('RunTask', 'StartTask') THEN coalesce(n[3], 0)
             WHEN action LIKE 'CreateFunction%' THEN 1
             WHEN action = 'SubmitJob' THEN coalesce(try_cast(f[20] AS bigint), 1)
             WHEN service = 'sagemaker' THEN coalesce(try_cast(coalesce(f[25], f[27], f[29]) AS bigint), 1)
             WHEN service = 'lightsail' THEN coalesce(n[5], 1)
             WHEN action = 'RunJobFlow' THEN coalesce(try_cast(f[38] AS bigint), 0)
             ELSE 0
        END AS launched,
        CASE WHEN action IN ('RunTask', 'StartTask') THEN coalesce(n[4], 0) ELSE 0 END AS listed_failures,
        CASE
            WHEN action IN ('RunInstances', 'StartInstances') THEN nullif(concat_ws(' ',
                coalesce(f[1], f[2], 'template ' || coalesce(f[3], f[4])),
                CASE WHEN action = 'StartInstances' THEN NULL WHEN f[5] = 'spot' THEN 'spot' ELSE 'on-demand' END), '')
            WHEN action = 'RequestSpotInstances' THEN concat_ws(' ', f[6], 'spot')
            WHEN action = 'RequestSpotFleet' THEN 'spot fleet of ' || coalesce(f[7], '?')
            WHEN action = 'CreateFleet' THEN 'fleet of ' || coalesce(f[8], f[39], '?')
            WHEN action IN ('RunTask', 'StartTask', 'CreateService', 'UpdateService') THEN concat_ws(' ',
                CASE WHEN action IN ('CreateService', 'UpdateService') THEN 'desired ' || coalesce(f[9], '?') END,
                coalesce(f[10], f[11], f[12]),
                CAST(try_cast(coalesce(f[13], f[14]) AS bigint) / 1024 AS varchar) || ' vCPU',
                CAST(try_cast(coalesce(f[15], f[16]) AS bigint) / 1024 AS varchar) || ' GiB')
            WHEN action LIKE 'CreateFunction%' THEN concat_ws(' ', f[17], f[18] || ' MB')
            WHEN action = 'SubmitJob' THEN 'queue ' || coalesce(f[19], '?')
            WHEN action = 'CreateComputeEnvironment' THEN concat_ws(' ', f[21], 'max ' || f[22] || ' vCPU', f[23])
            WHEN service = 'sagemaker' THEN coalesce(f[1], f[24], f[26], f[28])
            WHEN service = 'lightsail' THEN 'bundle ' || coalesce(f[30], '?')
            WHEN action = 'CreateNodegroup' THEN concat_ws(' ', f[31], 'desired ' || f[32], f[33])
            WHEN service = 'autoscaling' THEN concat_ws(' ', 'desired ' || f[34], 'max ' || f[35])
            WHEN action = 'RunJobFlow' THEN concat_ws(' ', f[36], f[37])
        END AS what
    FROM parsed
)
SELECT hour, region, service, action,
    sum(launched) AS launched,
    count(*) FILTER (WHERE error_code IS NOT NULL) + sum(listed_failures) AS failed,
    concat_ws('; ',
        listagg(DISTINCT what, ', ') WITHIN GROUP (ORDER BY what),
        'errors: ' || listagg(DISTINCT error_code, ', ') WITHIN GROUP (ORDER BY error_code)) AS detail
FROM facts
GROUP BY hour, region, service, action
ORDER BY hour, region, service, action
