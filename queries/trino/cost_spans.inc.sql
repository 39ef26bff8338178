-- cost_spans on Trino (the table macro of queries/macros.sql, same rows and columns; its comment
-- says what starts and ends what): the CTEs a Trino text gets where it includes this fragment
-- after WITH, once it has defined the CTE cost_launches(event_id, event_time) (the macro's
-- `launches`); then cost_spans is a CTE of the priced spans. $until is the macro's t_until,
-- $prices its prices (the fragment prices, included here). The text needs the inline functions is_compute_launch,
-- json_list, ecs_vcpu, ecs_gb, plain_number and epoch_us in its WITH FUNCTION part.
-- (Each CTE is referenced once where it can be: Trino plans a CTE at every reference.)
{{prices}},
cs_lim AS (     -- until; the first launch; the launches' ids; and the check that until is not before it
    SELECT coalesce(from_iso8601_timestamp($until), (SELECT max(event_time) FROM events)) AS until,
        min(event_time) AS first_launch, array_agg(event_id) AS ids,
        CASE WHEN from_iso8601_timestamp($until) < min(event_time)
             THEN fail('until ' || format_datetime(from_iso8601_timestamp($until), 'yyyy-MM-dd''T''HH:mm:ss''Z''') ||
                       ' is before the first launch in scope, at ' || format_datetime(min(event_time), 'yyyy-MM-dd''T''HH:mm:ss''Z'''))
             ELSE true END AS ok
    FROM cost_launches
),
cs_compute AS ( -- one scan of the store for the launches and for every event that can end something
    SELECT e.event_id, e.event_time, e.aws_region, e.event_source, e.event_name, e.access_key_id, e.user_agent,
        e.source_ip, e.identity_type, e.record, l.until,
        contains(l.ids, e.event_id) AND is_compute_launch(e.event_source, e.event_name) AND e.event_time < l.until AS is_launch
    FROM events e CROSS JOIN cs_lim l
    WHERE e.error_code IS NULL AND e.event_time <= l.until AND e.event_time >= l.first_launch AND l.ok AND (
           is_compute_launch(e.event_source, e.event_name)
        OR (e.event_source = 'ec2.amazonaws.com' AND e.event_name IN ('TerminateInstances', 'StopInstances', 'StartInstances', 'BidEvictedEvent'))
        OR (e.event_source = 'ecs.amazonaws.com' AND e.event_name IN ('StopTask', 'DeleteCluster', 'DeleteService', 'UpdateService'))
        OR (e.event_source = 'sagemaker.amazonaws.com' AND e.event_name IN ('StopNotebookInstance', 'StartNotebookInstance',
                'DeleteNotebookInstance', 'StopTrainingJob', 'StopProcessingJob', 'StopTransformJob'))
        OR (e.event_source = 'lightsail.amazonaws.com' AND e.event_name IN ('DeleteInstance', 'StopInstance', 'StartInstance'))
        OR (e.event_source = 'eks.amazonaws.com' AND e.event_name = 'DeleteCluster'))
),
cs_ends AS (    -- what stops, ends or restarts something: region, kind, name, ts, state, how, inferred, n
    SELECT x.region, x.kind, x.name, s.event_time AS ts, x.state, x.how, x.inferred, x.n
    FROM (SELECT *, json_parse(record) AS j FROM cs_compute
          WHERE NOT is_compute_launch(event_source, event_name)) s
    CROSS JOIN UNNEST(CASE
        WHEN event_source = 'ec2.amazonaws.com' THEN
            transform(CASE WHEN event_name = 'BidEvictedEvent'
                    THEN transform(json_list(json_extract(j, '$.serviceEventDetails.instanceIdSet')),
                             x -> coalesce(json_extract_scalar(x, '$.instanceId'), json_extract_scalar(x, '$')))
                    ELSE transform(TRY(CAST(json_extract(j, '$.requestParameters.instancesSet.items') AS array(json))),
                             x -> json_extract_scalar(x, '$.instanceId')) END,
                id -> ROW(aws_region, 'instance', id,
                    CASE event_name WHEN 'StartInstances' THEN 'running' WHEN 'StopInstances' THEN 'stopped' ELSE 'ended' END,
                    CASE WHEN event_name = 'BidEvictedEvent' THEN 'BidEvictedEvent (spot interruption)'
                         WHEN coalesce(starts_with(user_agent, 'aws-internal/') OR identity_type = 'AWSService', false)  -- by_aws
                             THEN event_name || ' by AWS (quarantine)'
                         ELSE event_name END,
                    false, CAST(NULL AS bigint)))
        WHEN event_source = 'ecs.amazonaws.com' THEN
            transform(ARRAY[ROW(json_extract_scalar(j, '$.requestParameters.cluster'), json_extract_scalar(j, '$.requestParameters.task'),
                                json_extract_scalar(j, '$.requestParameters.service'),
                                coalesce(json_extract_scalar(j, '$.requestParameters.desiredCount'),
                                         json_extract_scalar(j, '$.responseElements.service.desiredCount')))],
                f -> ROW(aws_region,
                    CASE WHEN event_name = 'StopTask' THEN 'task' WHEN event_name = 'DeleteCluster' THEN 'ecs-cluster' ELSE 'service' END,
                    CASE WHEN event_name = 'StopTask' THEN element_at(split(f[2], '/'), -1)
                         WHEN event_name = 'DeleteCluster' THEN element_at(split(f[1], '/'), -1)
                         ELSE element_at(split(coalesce(f[1], 'default'), '/'), -1) || '/' || element_at(split(f[3], '/'), -1) END,
                    CASE WHEN event_name = 'UpdateService' THEN 'running' ELSE 'ended' END,
                    CASE WHEN event_name = 'UpdateService' THEN 'UpdateService desiredCount ' || f[4] ELSE event_name END,
                    event_name = 'DeleteCluster',
                    CASE WHEN event_name = 'UpdateService' THEN try_cast(f[4] AS bigint) END))
        ELSE
            ARRAY[ROW(aws_region,
                CASE WHEN event_name LIKE '%NotebookInstance' THEN 'notebook' WHEN event_name = 'StopTrainingJob' THEN 'training-job'
                     WHEN event_name = 'StopProcessingJob' THEN 'processing-job' WHEN event_name = 'StopTransformJob' THEN 'transform-job'
                     WHEN event_source = 'lightsail.amazonaws.com' THEN 'lightsail-instance' ELSE 'eks-cluster' END,
                coalesce(json_extract_scalar(j, '$.requestParameters.notebookInstanceName'),
                         json_extract_scalar(j, '$.requestParameters.trainingJobName'),
                         json_extract_scalar(j, '$.requestParameters.processingJobName'),
                         json_extract_scalar(j, '$.requestParameters.transformJobName'),
                         json_extract_scalar(j, '$.requestParameters.instanceName'),
                         json_extract_scalar(j, '$.requestParameters.name')),
                CASE WHEN event_name LIKE 'Start%' THEN 'running' WHEN event_name IN ('StopNotebookInstance', 'StopInstance')
                     THEN 'stopped' ELSE 'ended' END,
                event_name, false, CAST(NULL AS bigint))]
    END) AS x(region, kind, name, state, how, inferred, n)
    WHERE event_name <> 'UpdateService' OR x.n IS NOT NULL
),
cs_launch AS (  -- the successful launches among cost_launches (one record per eventID)
    SELECT event_id, event_time, aws_region AS region, event_source, event_name, access_key_id, until, json_parse(record) AS j
    FROM (SELECT *, row_number() OVER (PARTITION BY event_id ORDER BY record) AS rn FROM cs_compute WHERE is_launch)
    WHERE rn = 1
),
cs_items AS (   -- what each launch started, as the macro's ec2_res, task_res, other_res and services rows
    SELECT l.event_id, l.event_time, l.region, l.event_source, l.event_name, l.access_key_id, l.until, l.j, x.how, x.it, x.fi
    FROM cs_launch l
    CROSS JOIN UNNEST(CASE
        WHEN event_name = 'RunInstances' THEN
            transform(TRY(CAST(json_extract(j, '$.responseElements.instancesSet.items') AS array(json))),
                it -> ROW('run', it, CAST(NULL AS json)))
        WHEN event_name = 'CreateFleet' THEN
            flatten(transform(json_list(json_extract(j, '$.responseElements.CreateFleetResponse.fleetInstanceSet.item')),
                fi -> transform(json_list(json_extract(fi, '$.instanceIds.item')), iid -> ROW('fleet', iid, fi))))
        WHEN event_name = 'RunScheduledInstances' THEN
            transform(json_list(json_extract(j, '$.responseElements.instanceIdSet.items')), it -> ROW('scheduled', it, CAST(NULL AS json)))
        WHEN event_name = 'RequestSpotInstances' THEN
            transform(TRY(CAST(json_extract(j, '$.responseElements.spotInstanceRequestSet.items') AS array(json))),
                it -> ROW('spot', it, CAST(NULL AS json)))
        WHEN event_name IN ('RunTask', 'StartTask') THEN
            transform(TRY(CAST(json_extract(j, '$.responseElements.tasks') AS array(json))), tk -> ROW('task', tk, CAST(NULL AS json)))
        WHEN event_name = 'CreateService' THEN ARRAY[ROW('service', CAST(NULL AS json), CAST(NULL AS json))]
        WHEN event_source IN ('sagemaker.amazonaws.com', 'lightsail.amazonaws.com', 'eks.amazonaws.com', 'lambda.amazonaws.com',
                              'batch.amazonaws.com') THEN
            transform(CASE WHEN event_source = 'lightsail.amazonaws.com'
                           THEN TRY(CAST(json_extract(j, '$.requestParameters.instanceNames') AS array(json)))
                           ELSE ARRAY[CAST(NULL AS json)] END, ln -> ROW('other', ln, CAST(NULL AS json)))
    END) AS x(how, it, fi)
),
cs_res_rows AS (    -- region, service, kind, name, resource_id, item, market, billing, vcpu, gb, start_at, cluster, cap_at, note
    SELECT y.*, i.access_key_id AS launched_by, i.event_id AS launch_event, i.until
    FROM cs_items i
    CROSS JOIN UNNEST(CASE
        WHEN how IN ('run', 'fleet', 'scheduled', 'spot') THEN transform(ARRAY[ROW(
                CASE how WHEN 'fleet' THEN json_extract_scalar(it, '$')
                         WHEN 'scheduled' THEN coalesce(json_extract_scalar(it, '$.instanceId'), json_extract_scalar(it, '$'))
                         ELSE json_extract_scalar(it, '$.instanceId') END,
                CASE WHEN how = 'spot' THEN json_extract_scalar(it, '$.spotInstanceRequestId') END,
                CASE how WHEN 'fleet' THEN json_extract_scalar(fi, '$.instanceType')
                         WHEN 'run' THEN coalesce(json_extract_scalar(it, '$.instanceType'), json_extract_scalar(j, '$.requestParameters.instanceType'))
                         WHEN 'spot' THEN coalesce(json_extract_scalar(it, '$.launchSpecification.instanceType'),
                                                   json_extract_scalar(j, '$.requestParameters.launchSpecification.instanceType'))
                         ELSE json_extract_scalar(j, '$.requestParameters.launchSpecification.instanceType') END,
                CASE how WHEN 'fleet' THEN json_extract_scalar(fi, '$.lifecycle') ELSE json_extract_scalar(it, '$.instanceLifecycle') END,
                json_extract_scalar(j, '$.requestParameters.instanceMarketOptions.marketType'),
                CASE WHEN how = 'run' THEN try_cast(json_extract_scalar(it, '$.cpuOptions.coreCount') AS double)
                    * coalesce(try_cast(json_extract_scalar(it, '$.cpuOptions.threadsPerCore') AS double), 1) END,
                CASE WHEN how = 'run' THEN try_cast(json_extract_scalar(it, '$.launchTime') AS bigint) END)],
            e -> ROW(region, 'ec2', CASE WHEN how = 'spot' AND e[1] IS NULL THEN 'spot-request' ELSE 'instance' END,
                coalesce(e[1], e[2]), coalesce(e[1], e[2]), e[3],
                CASE WHEN how = 'spot' OR e[4] = 'spot' OR e[5] = 'spot' THEN 'spot' ELSE 'on-demand' END,
                'hour', e[6], CAST(NULL AS double),
                coalesce(CASE WHEN abs(e[7] * 1000 - epoch_us(event_time)) < 86400000000
                              THEN CAST(from_unixtime_nanos(e[7] * 1000000) AS timestamp(6) with time zone) END, event_time),
                CAST(NULL AS varchar), CAST(NULL AS timestamp(6) with time zone),
                CASE WHEN how = 'spot' AND e[1] IS NULL THEN 'spot request: its fulfilment is not logged' END,
                CAST(NULL AS varchar), CAST(NULL AS varchar), CAST(NULL AS varchar), CAST(NULL AS bigint)))
        WHEN how = 'task' THEN transform(ARRAY[ROW(
                json_extract_scalar(it, '$.taskArn'),
                coalesce(json_extract_scalar(it, '$.cpu'), json_extract_scalar(j, '$.requestParameters.overrides.cpu')),
                coalesce(json_extract_scalar(it, '$.memory'), json_extract_scalar(j, '$.requestParameters.overrides.memory')),
                coalesce(json_extract_scalar(it, '$.launchType'), json_extract_scalar(j, '$.requestParameters.launchType')),
                coalesce(json_extract_scalar(it, '$.capacityProviderName'),
                         json_extract_scalar(j, '$.requestParameters.capacityProviderStrategy[0].capacityProvider')),
                CASE WHEN contains(transform(transform(TRY(CAST(json_extract(it, '$.attributes') AS array(json))),
                                                       a -> json_extract_scalar(a, '$.value')), v -> lower(v)), 'arm64')
                     THEN 'arm64' END,
                element_at(split(coalesce(json_extract_scalar(it, '$.clusterArn'), json_extract_scalar(j, '$.requestParameters.cluster'),
                                          'default'), '/'), -1))],
            t -> ROW(region, 'fargate', 'task', element_at(split(t[1], '/'), -1), t[1],
                CASE WHEN t[6] = 'arm64' THEN 'linux-arm64' ELSE 'linux-x86_64' END,
                CASE WHEN t[5] = 'FARGATE_SPOT' THEN 'spot' ELSE 'on-demand' END, 'fargate',
                ecs_vcpu(t[2]), ecs_gb(t[3]), event_time, t[7], CAST(NULL AS timestamp(6) with time zone), CAST(NULL AS varchar),
                t[4], t[5], CAST(NULL AS varchar), CAST(NULL AS bigint)))
        WHEN how = 'service' THEN transform(ARRAY[ROW(
                json_extract_scalar(j, '$.responseElements.service.clusterArn'), json_extract_scalar(j, '$.requestParameters.cluster'),
                json_extract_scalar(j, '$.responseElements.service.serviceName'), json_extract_scalar(j, '$.requestParameters.serviceName'),
                json_extract_scalar(j, '$.responseElements.service.serviceArn'),
                json_extract_scalar(j, '$.responseElements.service.desiredCount'), json_extract_scalar(j, '$.requestParameters.desiredCount'),
                json_extract_scalar(j, '$.responseElements.service.taskDefinition'), json_extract_scalar(j, '$.requestParameters.taskDefinition'),
                json_extract_scalar(j, '$.responseElements.service.launchType'), json_extract_scalar(j, '$.requestParameters.launchType'),
                json_extract_scalar(j, '$.responseElements.service.capacityProviderStrategy[0].capacityProvider'),
                json_extract_scalar(j, '$.requestParameters.capacityProviderStrategy[0].capacityProvider'))],
            s -> ROW(region, 'fargate', 'service', coalesce(s[3], element_at(split(s[4], '/'), -1)),
                coalesce(s[5], s[4]), CAST(NULL AS varchar), CAST(NULL AS varchar), 'service', CAST(NULL AS double),
                CAST(NULL AS double), event_time, element_at(split(coalesce(s[1], s[2], 'default'), '/'), -1),
                CAST(NULL AS timestamp(6) with time zone), CAST(NULL AS varchar), coalesce(s[10], s[11]), coalesce(s[12], s[13]),
                coalesce(s[8], s[9]), greatest(coalesce(try_cast(coalesce(s[6], s[7]) AS bigint), 0), 0)))
        WHEN how = 'other' THEN flatten(transform(ARRAY[ROW(
                CASE event_name WHEN 'CreateNotebookInstance' THEN 'notebook' WHEN 'CreateTrainingJob' THEN 'training-job'
                     WHEN 'CreateProcessingJob' THEN 'processing-job' WHEN 'CreateTransformJob' THEN 'transform-job'
                     WHEN 'SubmitJob' THEN 'batch-job' WHEN 'CreateCluster' THEN 'eks-cluster'
                     ELSE CASE WHEN event_source = 'lightsail.amazonaws.com' THEN 'lightsail-instance' ELSE 'function' END END,
                CASE WHEN event_source = 'lightsail.amazonaws.com' THEN json_extract_scalar(it, '$')
                     ELSE coalesce(json_extract_scalar(j, '$.requestParameters.notebookInstanceName'),
                                   json_extract_scalar(j, '$.requestParameters.trainingJobName'),
                                   json_extract_scalar(j, '$.requestParameters.processingJobName'),
                                   json_extract_scalar(j, '$.requestParameters.transformJobName'),
                                   json_extract_scalar(j, '$.requestParameters.name'),
                                   json_extract_scalar(j, '$.responseElements.functionName'),
                                   json_extract_scalar(j, '$.requestParameters.functionName'),
                                   json_extract_scalar(j, '$.responseElements.jobId'),
                                   json_extract_scalar(j, '$.requestParameters.jobName')) END,
                CASE WHEN event_source = 'sagemaker.amazonaws.com' THEN
                         coalesce(json_extract_scalar(j, '$.requestParameters.instanceType'),
                                  json_extract_scalar(j, '$.requestParameters.resourceConfig.instanceType'),
                                  json_extract_scalar(j, '$.requestParameters.processingResources.clusterConfig.instanceType'),
                                  json_extract_scalar(j, '$.requestParameters.transformResources.instanceType'))
                     WHEN event_source = 'lightsail.amazonaws.com' THEN json_extract_scalar(j, '$.requestParameters.bundleId')
                     WHEN event_source = 'eks.amazonaws.com' THEN 'cluster'
                     WHEN event_source = 'lambda.amazonaws.com'
                         THEN coalesce(json_extract_scalar(j, '$.requestParameters.memorySize') || ' MB', 'function')
                     ELSE 'job' END,
                greatest(coalesce(try_cast(coalesce(json_extract_scalar(j, '$.requestParameters.resourceConfig.instanceCount'),
                    json_extract_scalar(j, '$.requestParameters.processingResources.clusterConfig.instanceCount'),
                    json_extract_scalar(j, '$.requestParameters.transformResources.instanceCount'),
                    json_extract_scalar(j, '$.requestParameters.arrayProperties.size')) AS bigint), 1), 1),
                try_cast(json_extract_scalar(j, '$.requestParameters.stoppingCondition.maxRuntimeInSeconds') AS bigint))],
            o -> transform(sequence(0, least(o[4], 10000) - 1),
                i -> ROW(region, split_part(event_source, '.', 1), o[1], o[2],
                    CASE WHEN o[4] > 1 THEN o[2] || '#' || CAST(i + 1 AS varchar) ELSE o[2] END, o[3], 'on-demand',
                    CASE WHEN event_source IN ('lambda.amazonaws.com', 'batch.amazonaws.com') THEN 'none' ELSE 'hour' END,
                    CAST(NULL AS double), CAST(NULL AS double), event_time, CAST(NULL AS varchar),
                    CASE WHEN o[1] IN ('training-job', 'processing-job') THEN date_add('second', coalesce(o[5], 86400), event_time) END,
                    CASE WHEN event_source = 'lambda.amazonaws.com'
                             THEN 'billed per request and GB-second of its invocations, which management events do not show'
                         WHEN event_source = 'batch.amazonaws.com'
                             THEN 'runs on its compute environment (EC2 or Fargate capacity that AWS Batch launches; see it without -' || '-key)'
                    END,
                    CAST(NULL AS varchar), CAST(NULL AS varchar), CAST(NULL AS varchar), CAST(NULL AS bigint)))))
    END) AS y(region, service, kind, name, resource_id, item, market, billing, vcpu, gb, start_at, cluster, cap_at, note,
              lt, cp, taskdef, desired)
),
cs_taskdefs AS (    -- task definitions registered in the store (for a service's task size)
    SELECT aws_region AS region, event_time AS ts, f[1] AS arn, split_part(element_at(split(f[1], '/'), -1), ':', 1) AS family,
        coalesce(f[2], f[4]) AS cpu, coalesce(f[3], f[5]) AS memory, coalesce(f[6], f[7]) AS arch
    FROM (SELECT aws_region, event_time, transform(ARRAY[
              '$.responseElements.taskDefinition.taskDefinitionArn', '$.responseElements.taskDefinition.cpu',
              '$.responseElements.taskDefinition.memory', '$.requestParameters.cpu', '$.requestParameters.memory',
              '$.responseElements.taskDefinition.runtimePlatform.cpuArchitecture',
              '$.requestParameters.runtimePlatform.cpuArchitecture'], p -> json_extract_scalar(record, p)) AS f
          FROM events    -- (registered before the first launch, often)
          WHERE event_source = 'ecs.amazonaws.com' AND event_name = 'RegisterTaskDefinition' AND error_code IS NULL)
),
cs_res AS (     -- each resource once (the same instance can be in two launch records); a service sized by its task definition
    SELECT region, service, kind, name, resource_id, region || '|' || kind || '|' || resource_id AS rkey, start_at, cluster, cap_at,
        launched_by, launch_event, until, desired,
        CASE WHEN kind = 'service' THEN CASE WHEN lower(td_arch) = 'arm64' THEN 'linux-arm64' ELSE 'linux-x86_64' END ELSE item END AS item,
        CASE WHEN kind = 'service' THEN CASE WHEN cp = 'FARGATE_SPOT' THEN 'spot' ELSE 'on-demand' END ELSE market END AS market,
        CASE WHEN kind = 'service' THEN 'fargate' ELSE billing END AS billing,
        CASE WHEN kind = 'service' THEN ecs_vcpu(td_cpu) ELSE vcpu END AS vcpu,
        CASE WHEN kind = 'service' THEN ecs_gb(td_memory) ELSE gb END AS gb,
        CASE WHEN kind = 'service' THEN 'service: its tasks'' starts are not logged; desiredCount tasks counted from CreateService'
             ELSE note END AS note
    FROM (
        SELECT *, row_number() OVER (PARTITION BY region, kind, resource_id ORDER BY start_at, launch_event) AS rn
        FROM (
            SELECT r.*, td.cpu AS td_cpu, td.memory AS td_memory, td.arch AS td_arch,
                row_number() OVER (PARTITION BY r.launch_event, r.kind, r.resource_id
                    ORDER BY td.arn = r.taskdef DESC NULLS LAST, td.ts DESC NULLS LAST) AS tdn
            FROM cs_res_rows r
            LEFT JOIN cs_taskdefs td ON r.kind = 'service' AND td.region = r.region AND td.ts <= r.start_at
                AND (td.arn = r.taskdef OR (NOT starts_with(r.taskdef, 'arn:') AND td.family = split_part(r.taskdef, ':', 1)))
        )
        WHERE (kind <> 'service' OR tdn = 1)
          AND CASE kind WHEN 'service' THEN (lt = 'FARGATE' OR cp IN ('FARGATE', 'FARGATE_SPOT') OR (lt IS NULL AND cp IS NULL)) AND name IS NOT NULL
                        WHEN 'task' THEN resource_id IS NOT NULL AND (lt = 'FARGATE' OR cp IN ('FARGATE', 'FARGATE_SPOT') OR (lt IS NULL AND cp IS NULL))
                        ELSE resource_id IS NOT NULL END
    )
    WHERE rn = 1 OR kind = 'service'
),
cs_matched AS ( -- each resource with every end that follows it (a task: its cluster's deletion too; a service: its own and its cluster's)
    SELECT r.*, e.ts AS e_ts, e.state AS e_state, e.how AS e_how, e.inferred AS e_inferred, e.n AS e_n,
        row_number() OVER (PARTITION BY r.rkey, r.launch_event ORDER BY e.ts) AS mn
    FROM cs_res r
    LEFT JOIN cs_ends e ON r.billing <> 'none' AND e.region = r.region AND e.ts >= r.start_at AND (
           (r.kind <> 'service' AND e.kind = r.kind AND e.name = r.name)
        OR (r.kind = 'task' AND e.kind = 'ecs-cluster' AND e.name = r.cluster)
        OR (r.kind = 'service' AND ((e.kind = 'service' AND e.name = r.cluster || '/' || r.name) OR (e.kind = 'ecs-cluster' AND e.name = r.cluster))))
),
-- The macro's two ways to spans, in one: a resource is a service of at most one task (1 while running, 0 once
-- stopped or ended), so its spans are the islands of its running segments, as a service's task slots are
-- (slot k runs while desiredCount > k; deleting the service or its cluster ends them for good).
cs_slots AS (
    SELECT rkey, launch_event, slot, region, service, kind, resource_id, item, market, billing, vcpu, gb, cap_at, note,
        launched_by, until,
        min(ts) AS span_start, CASE WHEN bool_or(seg_end IS NULL) THEN NULL ELSE max(seg_end) END AS span_end,
        max_by(end_how, seg) FILTER (WHERE end_how IS NOT NULL) AS end_how,
        max_by(end_inferred, seg) FILTER (WHERE end_inferred IS NOT NULL) AS end_inferred
    FROM (
        SELECT *, seg - row_number() OVER (PARTITION BY rkey, launch_event, slot ORDER BY seg) AS island
        FROM (
            SELECT *, lead(ts) OVER w AS seg_end, lead(how) OVER w AS end_how, lead(inferred) OVER w AS end_inferred,
                row_number() OVER w AS seg
            FROM (
                SELECT *, min(CASE WHEN final THEN ts END) OVER (PARTITION BY rkey, launch_event) AS final_at
                FROM (
                    SELECT m.*, CASE o WHEN 0 THEN m.start_at ELSE m.e_ts END AS ts, o AS ord,
                        CASE WHEN m.kind = 'service' THEN
                                 CASE WHEN o = 0 THEN m.desired WHEN m.e_state = 'ended' THEN 0 ELSE greatest(coalesce(m.e_n, 0), 0) END
                             WHEN o = 0 OR m.e_state = 'running' THEN 1 ELSE 0 END AS n,
                        CASE WHEN o = 0 THEN NULL ELSE m.e_how END AS how,
                        CASE WHEN o = 0 THEN false ELSE m.e_inferred END AS inferred,
                        o = 1 AND m.e_state = 'ended' AS final
                    FROM cs_matched m CROSS JOIN UNNEST(ARRAY[0, 1]) AS u(o)
                    WHERE (o = 0 AND m.mn = 1) OR (o = 1 AND m.e_ts IS NOT NULL)
                )
            )
            WHERE (final_at IS NULL OR ts <= final_at) AND n IS NOT NULL
            WINDOW w AS (PARTITION BY rkey, launch_event ORDER BY ts, ord)
        )
        CROSS JOIN UNNEST(CASE WHEN n > 0 THEN sequence(0, least(n, 10000) - 1) ELSE CAST(ARRAY[] AS array(bigint)) END) AS r(slot)
    )
    GROUP BY rkey, launch_event, slot, island, region, service, kind, resource_id, item, market, billing, vcpu, gb, cap_at, note,
        launched_by, until
),
cs_billed AS (  -- the span's end: hi (the estimate) and lo (where the end is not logged: the one-minute minimum); Fargate per second, at least a minute
    SELECT *,
        CASE WHEN billing = 'fargate' THEN greatest(coalesce(run_s, 60), 60) ELSE run_s END AS bill_s,
        CASE WHEN billing = 'fargate' THEN greatest(coalesce(run_lo_s, 60), 60) ELSE run_lo_s END AS bill_lo_s
    FROM (
        SELECT *,
            CASE WHEN hi_end IS NOT NULL THEN greatest(CAST(epoch_us(hi_end) - epoch_us(span_start) AS double) / 1e6, 0) END AS run_s,
            CASE WHEN hi_end IS NULL THEN NULL
                 WHEN span_end IS NOT NULL AND NOT end_inferred THEN greatest(CAST(epoch_us(hi_end) - epoch_us(span_start) AS double) / 1e6, 0)
                 WHEN kind = 'spot-request' THEN 0
                 ELSE least(60, greatest(CAST(epoch_us(hi_end) - epoch_us(span_start) AS double) / 1e6, 0)) END AS run_lo_s
        FROM (
            SELECT *,
                CASE WHEN billing = 'none' THEN NULL
                     WHEN span_end IS NOT NULL THEN span_end
                     WHEN cap_at IS NOT NULL AND cap_at < until THEN cap_at
                     ELSE until END AS hi_end,
                span_end IS NULL AND billing <> 'none' AND (cap_at IS NULL OR cap_at > until) AS still_running,
                CASE WHEN billing = 'none' THEN NULL
                     WHEN span_end IS NOT NULL AND NOT end_inferred THEN 'ended: ' || end_how
                     WHEN span_end IS NOT NULL THEN 'ended by ' || end_how || ' (inferred): range from the one-minute minimum'
                     WHEN kind = 'spot-request' THEN 'spot request, fulfilment not logged: range from nothing to -' || '-until'
                     WHEN cap_at IS NOT NULL AND cap_at < until
                         THEN 'no end logged: at most its MaxRuntimeInSeconds; range from the one-minute minimum'
                     ELSE 'no end logged by -' || '-until: range from the one-minute minimum' END AS span_basis
            FROM (
                SELECT region, service, CASE WHEN kind = 'service' THEN 'service-task' ELSE kind END AS kind,
                    CASE WHEN kind = 'service' THEN resource_id || '#' || CAST(slot + 1 AS varchar) ELSE resource_id END AS resource_id,
                    item, market, billing, vcpu, gb, cap_at, note, launched_by, launch_event, until, span_start, span_end, end_how,
                    coalesce(end_inferred, false) AS end_inferred
                FROM cs_slots
            )
        )
    )
),
cs_priced AS (  -- each span with its rates: per unit, the region's own price (spot, then on-demand), else us-east-1's on-demand
    SELECT * FROM (
        SELECT *,
            max(CASE WHEN unit = 'hour' THEN p_usd END) OVER s AS rate_hour,
            max(CASE WHEN unit = 'vcpu-hour' THEN p_usd END) OVER s AS rate_vcpu,
            max(CASE WHEN unit = 'gb-hour' THEN p_usd END) OVER s AS rate_gb,
            bool_or(p_region <> region) OVER s AS estimated, bool_or(p_market <> market) OVER s AS spot_at_on_demand,
            min(p_source) OVER s AS source_lo, max(p_source) OVER s AS source_hi,   -- (at most two units a span)
            row_number() OVER s AS sn
        FROM (
            SELECT b.*, u.unit, p.usd AS p_usd, p.source AS p_source, p.region AS p_region, p.market AS p_market,
                row_number() OVER (PARTITION BY b.sid, u.unit
                    ORDER BY p.region = b.region DESC, p.market = b.market DESC, p.rank, p.source, p.usd) AS pn
            FROM (SELECT *, row_number() OVER () AS sid FROM cs_billed) b
            CROSS JOIN UNNEST(CASE b.billing WHEN 'fargate' THEN ARRAY['vcpu-hour', 'gb-hour'] WHEN 'hour' THEN ARRAY['hour']
                                             ELSE ARRAY[CAST(NULL AS varchar)] END) AS u(unit)
            LEFT JOIN (SELECT * FROM price_rows WHERE usd IS NOT NULL AND usd >= 0 AND is_finite(usd)) p
                ON p.service = b.service AND p.item = b.item AND p.unit = u.unit
                AND (p.region = b.region OR (p.region = 'us-east-1' AND p.market = 'on-demand'))
                AND (p.market = b.market OR p.market = 'on-demand')
        )
        WHERE pn = 1
        WINDOW s AS (PARTITION BY sid)
    )
    WHERE sn = 1
),
cost_spans AS (
    SELECT region, service,
        CASE WHEN billing = 'fargate' THEN coalesce(plain_number(vcpu) || ' vCPU / ' || plain_number(gb) || ' GB', 'unknown size')
                 || CASE WHEN item = 'linux-arm64' THEN ' arm64' ELSE '' END
             ELSE coalesce(item, 'unknown type') END AS resource_type,
        market, kind, resource_id, launched_by, launch_event, span_start, hi_end AS span_end,
        still_running, span_basis, note,
        bill_s AS seconds, bill_lo_s AS seconds_low, vcpu, gb,
        rate_hour, rate_vcpu, rate_gb,
        CASE billing WHEN 'hour' THEN bill_s / 3600 * rate_hour
                     WHEN 'fargate' THEN bill_s / 3600 * (vcpu * rate_vcpu + gb * rate_gb) END AS usd,
        CASE billing WHEN 'hour' THEN bill_lo_s / 3600 * rate_hour
                     WHEN 'fargate' THEN bill_lo_s / 3600 * (vcpu * rate_vcpu + gb * rate_gb) END AS usd_low,
        CASE billing WHEN 'hour' THEN 24 * rate_hour
                     WHEN 'fargate' THEN 24 * (vcpu * rate_vcpu + gb * rate_gb) END AS usd_per_day,
        CASE WHEN source_lo = source_hi THEN source_lo ELSE source_lo || '; ' || source_hi END AS price_source,
        CASE WHEN billing = 'none' THEN 'not priced'
             WHEN (billing = 'hour' AND rate_hour IS NULL) OR (billing = 'fargate' AND (rate_vcpu IS NULL OR rate_gb IS NULL))
                 THEN 'price unknown'
             ELSE concat_ws(', ',
                 CASE WHEN market = 'spot' AND spot_at_on_demand THEN 'spot: upper bound at the on-demand rate'
                      WHEN market = 'spot' THEN 'spot price' ELSE 'on-demand' END,
                 CASE WHEN estimated THEN 'estimated (us-east-1 rate)' END) END AS price_basis,
        until
    FROM cs_priced
)
