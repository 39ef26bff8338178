-- name: compute_by_region
-- description: Compute launched per region: EC2 instances started by RunInstances and ECS tasks started by RunTask, and the failed attempts.
-- parameters: none
-- chart: stacked-bar x=aws_region series=kind y=launched
SELECT
    aws_region,
    coalesce(sum(json_array_length(record, '$.responseElements.instancesSet.items'))
             FILTER (WHERE event_name = 'RunInstances' AND error_code IS NULL), 0)   AS ec2_instances,
    coalesce(sum(json_array_length(record, '$.responseElements.tasks'))
             FILTER (WHERE event_name = 'RunTask' AND error_code IS NULL), 0)        AS ecs_tasks,
    count(*) FILTER (WHERE error_code IS NOT NULL)                                   AS failed_calls,
    min(event_time)                                                                  AS first_launch
FROM events
WHERE (event_source = 'ec2.amazonaws.com' AND event_name = 'RunInstances')
   OR (event_source = 'ecs.amazonaws.com' AND event_name = 'RunTask')
GROUP BY aws_region
ORDER BY ec2_instances + ecs_tasks DESC, aws_region;
