-- name: summary
-- description: The lineage in one row: accounts, the attacker's first and last activity, IPs and tools, regions, credentials, users, compute.
-- parameters: keys, from, to
-- chart: none
--
-- The attacker's activity leaves out the leaked key's calls from its owner's usual source IPs:
-- those that used a seed key on two or more UTC days before the lineage's first derived
-- credential (owner_ips), AWS's own quarantine of the key, and the calls a workload made
-- itself with a session key an AWS service issued to it (an instance's SSM agent, a Lambda
-- function's runtime, through a VPC endpoint: see credential-misuse), whose addresses are
-- `workload_ips`, and what AWS did on the caller's behalf (aws_origin, macros.sql: "AWS
-- Internal", a service's name as the source); the attacker's tools leave out AWS's own
-- agents (aws_agent: the consoles'), and are named without S3's brackets (agent_name). Without
-- keys, every event counts as activity. `created_resources` counts the successful calls that
-- created something left-running follows (creates_resource).
-- The scope is lineage_events (queries/macros.sql): the events signed by a key of the lineage,
-- and the console sign-ins of users it created; without keys, every event.
--
-- In the duckdb CLI (duckdb -readonly case.duckdb), paste the SELECT with $keys replaced by a
-- list (['AKIA...'], or []::VARCHAR[] for the whole store) and $from/$to by NULL or a time
-- (TIMESTAMPTZ '2026-11-07 00:00:00+00'), or prepare it:
--   PREPARE summary AS <the SELECT below>;
--   EXECUTE summary(keys := ['AKIAEXAMPLEKEY000001'], "from" := NULL, "to" := NULL);
WITH
lineage AS MATERIALIZED (
    SELECT access_key_id, via, created_at FROM lineage_of($keys::VARCHAR[])
    WHERE len($keys::VARCHAR[]) > 0 AND access_key_id IS NOT NULL
),
scoped AS MATERIALIZED (
    SELECT event_time, event_source, event_name, aws_region, source_ip, user_agent, access_key_id, arn,
        coalesce(recipient_account_id, account_id) AS account, error_code, record,
        aws_origin(source_ip, user_agent, identity_type,
                   CASE WHEN NOT ip_address(source_ip) THEN json_extract_string(record, '$.userIdentity.invokedBy') END) AS aws
    FROM lineage_events($keys::VARCHAR[], $from::TIMESTAMPTZ, $to::TIMESTAMPTZ)
    WHERE event_time IS NOT NULL
),
issued AS MATERIALIZED (     -- session keys of the scope that an AWS service issued to a workload
    SELECT DISTINCT access_key_id FROM service_sessions
    WHERE access_key_id IN (SELECT DISTINCT access_key_id FROM scoped WHERE starts_with(access_key_id, 'ASIA'))
),
workload AS MATERIALIZED (   -- (session, address) pairs where such a workload called itself
    SELECT DISTINCT arn, source_ip FROM scoped
    WHERE access_key_id IN (SELECT access_key_id FROM issued) AND aws IS NULL
      AND (workload_agent(user_agent) IS NOT NULL OR json_extract_string(record, '$.vpcEndpointId') IS NOT NULL)
),
seeds AS (SELECT DISTINCT unnest($keys::VARCHAR[]) AS k),
owner_ips AS (
    SELECT source_ip
    FROM event_rows
    WHERE access_key_id IN (SELECT k FROM seeds) AND source_ip IS NOT NULL
      AND event_time < coalesce((SELECT min(created_at) FROM lineage WHERE via <> 'seed'), 'infinity'::TIMESTAMPTZ)
    GROUP BY source_ip
    HAVING count(DISTINCT date_trunc('day', event_time)) >= 2
),
attacker AS MATERIALIZED (    -- neither the owner's calls, nor AWS's own (aws_quarantine, aws_origin: macros.sql),
                              -- nor a workload's own calls with its own session
    SELECT * FROM scoped
    WHERE NOT (access_key_id IN (SELECT k FROM seeds) AND source_ip IN (SELECT source_ip FROM owner_ips))
      AND aws_quarantine(event_source, event_name, record) IS NULL AND aws IS NULL
      AND NOT (access_key_id IN (SELECT access_key_id FROM issued)
               AND (arn, source_ip) IN (SELECT (arn, source_ip) FROM workload))
),
launches AS (
    SELECT aws_region,
        CASE WHEN event_name = 'RunInstances'
             THEN json_array_length(record, '$.responseElements.instancesSet.items') END AS instances,
        CASE WHEN event_name = 'RunTask'
             THEN json_array_length(record, '$.responseElements.tasks') END AS tasks
    FROM scoped
    WHERE error_code IS NULL
      AND (event_source = 'ec2.amazonaws.com' AND event_name = 'RunInstances'
           OR event_source = 'ecs.amazonaws.com' AND event_name = 'RunTask')
)
SELECT
    (SELECT list_sort(list(DISTINCT account)) FROM scoped)                          AS accounts,
    list_sort(list_distinct($keys::VARCHAR[]))                                      AS seed_keys,
    (SELECT list_sort(list(DISTINCT arn)) FROM event_rows
      WHERE access_key_id IN (SELECT k FROM seeds) AND arn IS NOT NULL)             AS seed_principals,
    (SELECT count(DISTINCT access_key_id) FROM lineage)                             AS lineage_keys,
    (SELECT count(DISTINCT access_key_id) FROM lineage
      WHERE access_key_id NOT IN (SELECT k FROM seeds))                             AS derived_keys,
    (SELECT list_sort(list(DISTINCT record->>'$.responseElements.user.userName'))
       FROM scoped WHERE event_name = 'CreateUser' AND error_code IS NULL)           AS created_users,
    (SELECT count(*) FROM scoped)                                                   AS events,
    (SELECT count(*) FROM scoped WHERE error_code IS NOT NULL)                      AS failed_events,
    (SELECT min(event_time) FROM scoped)                                            AS first_activity,
    (SELECT max(event_time) FROM scoped)                                            AS last_activity,
    (SELECT list_sort(list(source_ip)) FROM owner_ips)                              AS owner_ips,
    (SELECT min(event_time) FROM attacker)                                          AS first_attacker_activity,
    (SELECT max(event_time) FROM attacker)                                          AS last_attacker_activity,
    (SELECT list_sort(list(DISTINCT source_ip)) FROM attacker
      WHERE ip_address(source_ip))                                                  AS attacker_ips,
    (SELECT list(agent ORDER BY n DESC, agent) FROM (
        SELECT agent_name(user_agent) AS agent, sum(n) AS n
        FROM (SELECT user_agent, count(*) AS n FROM attacker WHERE user_agent IS NOT NULL GROUP BY ALL)
        WHERE NOT aws_agent(user_agent)
        GROUP BY ALL ORDER BY n DESC, agent LIMIT 10))                              AS attacker_user_agents,
    (SELECT list_sort(list(DISTINCT source_ip)) FROM workload)                      AS workload_ips,
    (SELECT list_sort(list(DISTINCT aws_region)) FROM attacker
      WHERE aws_region IS NOT NULL)                                                 AS attacker_regions,
    (SELECT coalesce(sum(instances), 0) FROM launches)                              AS ec2_instances,
    (SELECT list_sort(list(DISTINCT aws_region)) FROM launches WHERE instances > 0) AS ec2_regions,
    (SELECT coalesce(sum(tasks), 0) FROM launches)                                  AS ecs_tasks,
    (SELECT list_sort(list(DISTINCT aws_region)) FROM launches WHERE tasks > 0)     AS ecs_regions,
    (SELECT count(*) FROM scoped
      WHERE error_code IS NULL AND creates_resource(event_source, event_name))      AS created_resources;
