-- name: compute-launches
-- description: Compute launched per hour and region (EC2, ECS, Lambda, Batch, SageMaker, Lightsail, EKS...): started, failed, what.
-- parameters: keys, from, to
-- chart: stacked-bar x=hour series=region y=launched
-- title: Machines and containers started, per hour and region (compute launched)
-- pack: table 9
-- empty: nothing was launched with these credentials.
--
-- `launched` counts what the response says started: instances (RunInstances, StartInstances,
-- from responseElements.instancesSet.items), ECS tasks (RunTask, StartTask: tasks), Lambda
-- functions, Batch jobs (array size), SageMaker and Lightsail instances, EMR instances; for
-- RequestSpotInstances the spot requests (their instances start later, when fulfilled).
-- Calls that only ask a service to start things later (CreateService, UpdateService,
-- CreateAutoScalingGroup, CreateFleet, RequestSpotFleet, CreateComputeEnvironment,
-- CreateNodegroup, ...) count 0: `detail` says how many were asked for. `failed` counts calls
-- that errored plus the failures a response lists (ECS failures[]); `detail` also names the
-- error codes. Instances that AWS services launch for a group or a fleet are not signed by
-- a lineage key: run without --key to see them.
--
-- In the duckdb CLI (duckdb -readonly case.duckdb), paste the SELECT with $keys replaced by a
-- list (['AKIA...'], or []::VARCHAR[] for the whole store) and $from/$to by NULL or a time
-- (TIMESTAMPTZ '2026-11-07 00:00:00+00'), or prepare it:
--   PREPARE compute_launches AS <the SELECT below>;
--   EXECUTE compute_launches(keys := ['AKIAEXAMPLEKEY000001'], "from" := NULL, "to" := NULL);
WITH
calls AS (
    SELECT utc_hour(event_time) AS hour, aws_region AS region, split_part(event_source, '.', 1) AS service,
        event_name AS action, error_code,
        -- one parse of the record for every fact below
        json_extract_string(record, [
            '$.requestParameters.instanceType',                                       -- 1
            '$.responseElements.instancesSet.items[0].instanceType',                  -- 2
            '$.requestParameters.launchTemplate.launchTemplateName',                  -- 3
            '$.requestParameters.launchTemplate.launchTemplateId',                    -- 4
            '$.requestParameters.instanceMarketOptions.marketType',                   -- 5
            '$.requestParameters.launchSpecification.instanceType',                   -- 6
            '$.requestParameters.spotFleetRequestConfig.targetCapacity',              -- 7
            '$.requestParameters.CreateFleetRequest.TargetCapacitySpecification.TotalTargetCapacity', -- 8
            '$.requestParameters.desiredCount',                                       -- 9
            '$.requestParameters.launchType',                                         -- 10
            '$.requestParameters.capacityProviderStrategy[0].capacityProvider',       -- 11
            '$.responseElements.tasks[0].launchType',                                 -- 12
            '$.responseElements.tasks[0].cpu',                                        -- 13
            '$.requestParameters.overrides.cpu',                                      -- 14
            '$.responseElements.tasks[0].memory',                                     -- 15
            '$.requestParameters.overrides.memory',                                   -- 16
            '$.requestParameters.runtime',                                            -- 17
            '$.requestParameters.memorySize',                                         -- 18
            '$.requestParameters.jobQueue',                                           -- 19
            '$.requestParameters.arrayProperties.size',                               -- 20
            '$.requestParameters.computeResources.type',                              -- 21
            '$.requestParameters.computeResources.maxvCpus',                          -- 22
            '$.requestParameters.computeResources.instanceTypes',                     -- 23
            '$.requestParameters.resourceConfig.instanceType',                        -- 24
            '$.requestParameters.resourceConfig.instanceCount',                       -- 25
            '$.requestParameters.processingResources.clusterConfig.instanceType',     -- 26
            '$.requestParameters.processingResources.clusterConfig.instanceCount',    -- 27
            '$.requestParameters.transformResources.instanceType',                    -- 28
            '$.requestParameters.transformResources.instanceCount',                   -- 29
            '$.requestParameters.bundleId',                                           -- 30
            '$.requestParameters.instanceTypes',                                      -- 31
            '$.requestParameters.scalingConfig.desiredSize',                          -- 32
            '$.requestParameters.capacityType',                                       -- 33
            '$.requestParameters.desiredCapacity',                                    -- 34
            '$.requestParameters.maxSize',                                            -- 35
            '$.requestParameters.instances.masterInstanceType',                       -- 36
            '$.requestParameters.instances.slaveInstanceType',                        -- 37
            '$.requestParameters.instances.instanceCount',                            -- 38
            '$.requestParameters.targetCapacitySpecification.totalTargetCapacity'     -- 39
        ]) AS f,
        json_array_length(record, [
            '$.responseElements.instancesSet.items',              -- 1 instances started
            '$.responseElements.spotInstanceRequestSet.items',    -- 2 spot requests
            '$.responseElements.tasks',                           -- 3 ECS tasks started
            '$.responseElements.failures',                        -- 4 ECS tasks that failed to start
            '$.requestParameters.instanceNames'                   -- 5 Lightsail instances
        ]) AS n
    FROM lineage_events($keys::VARCHAR[], $from::TIMESTAMPTZ, $to::TIMESTAMPTZ)
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
facts AS (
    SELECT hour, region, service, action, error_code,
        CASE WHEN error_code IS NOT NULL THEN 0
             WHEN action IN ('RunInstances', 'StartInstances') THEN coalesce(n[1], 0)
             WHEN action = 'RequestSpotInstances' THEN coalesce(n[2], 0)
             WHEN action IN ('RunTask', 'StartTask') THEN coalesce(n[3], 0)
             WHEN action LIKE 'CreateFunction%' THEN 1
             WHEN action = 'SubmitJob' THEN coalesce(try_cast(f[20] AS BIGINT), 1)
             WHEN service = 'sagemaker' THEN coalesce(try_cast(coalesce(f[25], f[27], f[29]) AS BIGINT), 1)
             WHEN service = 'lightsail' THEN coalesce(n[5], 1)
             WHEN action = 'RunJobFlow' THEN coalesce(try_cast(f[38] AS BIGINT), 0)
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
                (try_cast(coalesce(f[13], f[14]) AS BIGINT) // 1024) || ' vCPU',
                (try_cast(coalesce(f[15], f[16]) AS BIGINT) // 1024) || ' GiB')
            WHEN action LIKE 'CreateFunction%' THEN concat_ws(' ', f[17], f[18] || ' MB')
            WHEN action = 'SubmitJob' THEN 'queue ' || coalesce(f[19], '?')
            WHEN action = 'CreateComputeEnvironment' THEN concat_ws(' ', f[21], 'max ' || f[22] || ' vCPU', f[23])
            WHEN service = 'sagemaker' THEN coalesce(f[1], f[24], f[26], f[28])
            WHEN service = 'lightsail' THEN 'bundle ' || coalesce(f[30], '?')
            WHEN action = 'CreateNodegroup' THEN concat_ws(' ', f[31], 'desired ' || f[32], f[33])
            WHEN service = 'autoscaling' THEN concat_ws(' ', 'desired ' || f[34], 'max ' || f[35])
            WHEN action = 'RunJobFlow' THEN concat_ws(' ', f[36], f[37])
        END AS what
    FROM calls
)
SELECT hour, region, service, action,
    sum(launched) AS launched,
    count(*) FILTER (WHERE error_code IS NOT NULL) + sum(listed_failures) AS failed,
    concat_ws('; ',
        string_agg(DISTINCT what, ', ' ORDER BY what),
        'errors: ' || string_agg(DISTINCT error_code, ', ' ORDER BY error_code)) AS detail
FROM facts
GROUP BY hour, region, service, action
ORDER BY hour, region, service, action;
