-- name: compute-launches
-- description: Compute launched per hour and region (EC2, ECS, Lambda, Batch, SageMaker, Lightsail, EKS...): started, failed, what.
-- parameters: keys, from, to
-- chart: stacked-bar x=hour series=region y=launched
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
    SELECT event_id, utc_hour(event_time) AS hour, aws_region AS region, split_part(event_source, '.', 1) AS service,
        event_name AS action, error_code, record
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
             WHEN action IN ('RunInstances', 'StartInstances') THEN
                 coalesce(json_array_length(record, '$.responseElements.instancesSet.items'), 0)
             WHEN action = 'RequestSpotInstances' THEN
                 coalesce(json_array_length(record, '$.responseElements.spotInstanceRequestSet.items'), 0)
             WHEN action IN ('RunTask', 'StartTask') THEN coalesce(json_array_length(record, '$.responseElements.tasks'), 0)
             WHEN action LIKE 'CreateFunction%' THEN 1
             WHEN action = 'SubmitJob' THEN
                 coalesce(try_cast(json_extract_string(record, '$.requestParameters.arrayProperties.size') AS BIGINT), 1)
             WHEN service = 'sagemaker' THEN
                 coalesce(try_cast(coalesce(json_extract_string(record, '$.requestParameters.resourceConfig.instanceCount'),
                                            json_extract_string(record, '$.requestParameters.processingResources.clusterConfig.instanceCount'),
                                            json_extract_string(record, '$.requestParameters.transformResources.instanceCount'))
                                   AS BIGINT), 1)
             WHEN service = 'lightsail' THEN coalesce(json_array_length(record, '$.requestParameters.instanceNames'), 1)
             WHEN action = 'RunJobFlow' THEN
                 coalesce(try_cast(json_extract_string(record, '$.requestParameters.instances.instanceCount') AS BIGINT), 0)
             ELSE 0
        END AS launched,
        CASE WHEN action IN ('RunTask', 'StartTask') THEN coalesce(json_array_length(record, '$.responseElements.failures'), 0)
             ELSE 0 END AS listed_failures,
        CASE
            WHEN action IN ('RunInstances', 'StartInstances') THEN nullif(concat_ws(' ',
                coalesce(json_extract_string(record, '$.requestParameters.instanceType'),
                         json_extract_string(record, '$.responseElements.instancesSet.items[0].instanceType'),
                         'template ' || coalesce(json_extract_string(record, '$.requestParameters.launchTemplate.launchTemplateName'),
                                                 json_extract_string(record, '$.requestParameters.launchTemplate.launchTemplateId'))),
                CASE WHEN action = 'StartInstances' THEN NULL
                     WHEN json_extract_string(record, '$.requestParameters.instanceMarketOptions.marketType') = 'spot' THEN 'spot'
                     ELSE 'on-demand' END), '')
            WHEN action = 'RequestSpotInstances' THEN concat_ws(' ',
                json_extract_string(record, '$.requestParameters.launchSpecification.instanceType'), 'spot')
            WHEN action = 'RequestSpotFleet' THEN
                'spot fleet of ' || coalesce(json_extract_string(record, '$.requestParameters.spotFleetRequestConfig.targetCapacity'), '?')
            WHEN action = 'CreateFleet' THEN
                'fleet of ' || coalesce(json_extract_string(record, '$.requestParameters.CreateFleetRequest.TargetCapacitySpecification.TotalTargetCapacity'),
                                        json_extract_string(record, '$.requestParameters.targetCapacitySpecification.totalTargetCapacity'), '?')
            WHEN action IN ('RunTask', 'StartTask', 'CreateService', 'UpdateService') THEN concat_ws(' ',
                CASE WHEN action IN ('CreateService', 'UpdateService')
                     THEN 'desired ' || coalesce(json_extract_string(record, '$.requestParameters.desiredCount'), '?') END,
                coalesce(json_extract_string(record, '$.requestParameters.launchType'),
                         json_extract_string(record, '$.requestParameters.capacityProviderStrategy[0].capacityProvider'),
                         json_extract_string(record, '$.responseElements.tasks[0].launchType')),
                (try_cast(coalesce(json_extract_string(record, '$.responseElements.tasks[0].cpu'),
                                   json_extract_string(record, '$.requestParameters.overrides.cpu')) AS BIGINT) // 1024) || ' vCPU',
                (try_cast(coalesce(json_extract_string(record, '$.responseElements.tasks[0].memory'),
                                   json_extract_string(record, '$.requestParameters.overrides.memory')) AS BIGINT) // 1024) || ' GiB')
            WHEN action LIKE 'CreateFunction%' THEN concat_ws(' ',
                json_extract_string(record, '$.requestParameters.runtime'),
                json_extract_string(record, '$.requestParameters.memorySize') || ' MB')
            WHEN action = 'SubmitJob' THEN 'queue ' || coalesce(json_extract_string(record, '$.requestParameters.jobQueue'), '?')
            WHEN action = 'CreateComputeEnvironment' THEN concat_ws(' ',
                json_extract_string(record, '$.requestParameters.computeResources.type'),
                'max ' || json_extract_string(record, '$.requestParameters.computeResources.maxvCpus') || ' vCPU',
                json_extract_string(record, '$.requestParameters.computeResources.instanceTypes'))
            WHEN service = 'sagemaker' THEN coalesce(
                json_extract_string(record, '$.requestParameters.instanceType'),
                json_extract_string(record, '$.requestParameters.resourceConfig.instanceType'),
                json_extract_string(record, '$.requestParameters.processingResources.clusterConfig.instanceType'),
                json_extract_string(record, '$.requestParameters.transformResources.instanceType'))
            WHEN service = 'lightsail' THEN 'bundle ' || coalesce(json_extract_string(record, '$.requestParameters.bundleId'), '?')
            WHEN action = 'CreateNodegroup' THEN concat_ws(' ',
                json_extract_string(record, '$.requestParameters.instanceTypes'),
                'desired ' || json_extract_string(record, '$.requestParameters.scalingConfig.desiredSize'),
                json_extract_string(record, '$.requestParameters.capacityType'))
            WHEN service = 'autoscaling' THEN concat_ws(' ',
                'desired ' || json_extract_string(record, '$.requestParameters.desiredCapacity'),
                'max ' || json_extract_string(record, '$.requestParameters.maxSize'))
            WHEN action = 'RunJobFlow' THEN concat_ws(' ',
                json_extract_string(record, '$.requestParameters.instances.masterInstanceType'),
                json_extract_string(record, '$.requestParameters.instances.slaveInstanceType'))
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
