-- name: summary
-- description: The lineage in one row: accounts, the attacker's first and last activity, IPs and tools, regions, credentials, users, compute.
-- parameters: keys, from, to
-- chart: none
--
-- The attacker's activity leaves out the leaked key's calls from its owner's usual source IPs:
-- those that used a seed key on two or more UTC days before the lineage's first derived
-- credential (owner_ips), and AWS's own quarantine of the key. Without keys, every event
-- counts as activity.
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
    SELECT event_time, event_source, event_name, aws_region, source_ip, user_agent, access_key_id,
        coalesce(recipient_account_id, account_id) AS account, error_code, record
    FROM lineage_events($keys::VARCHAR[], $from::TIMESTAMPTZ, $to::TIMESTAMPTZ)
    WHERE event_time IS NOT NULL
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
attacker AS MATERIALIZED (    -- neither the owner's calls nor AWS's own quarantine (aws_quarantine, macros.sql)
    SELECT * FROM scoped
    WHERE NOT (access_key_id IN (SELECT k FROM seeds) AND source_ip IN (SELECT source_ip FROM owner_ips))
      AND aws_quarantine(event_source, event_name, record) IS NULL
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
      WHERE regexp_full_match(source_ip, '[0-9a-fA-F:.]+'))                         AS attacker_ips,
    (SELECT list(user_agent ORDER BY n DESC, user_agent) FROM (
        SELECT user_agent, count(*) AS n FROM attacker WHERE user_agent IS NOT NULL
        GROUP BY ALL ORDER BY n DESC, user_agent LIMIT 10))                         AS attacker_user_agents,
    (SELECT list_sort(list(DISTINCT aws_region)) FROM attacker
      WHERE aws_region IS NOT NULL)                                                 AS attacker_regions,
    (SELECT coalesce(sum(instances), 0) FROM launches)                              AS ec2_instances,
    (SELECT list_sort(list(DISTINCT aws_region)) FROM launches WHERE instances > 0) AS ec2_regions,
    (SELECT coalesce(sum(tasks), 0) FROM launches)                                  AS ecs_tasks,
    (SELECT list_sort(list(DISTINCT aws_region)) FROM launches WHERE tasks > 0)     AS ecs_regions;
