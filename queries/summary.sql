-- name: summary
-- description: The lineage (or the whole store) in one row: accounts, first and last activity, the attacker's source IPs and tools, regions, credentials and users created, compute launched.
-- parameters: keys (the lineage of these access keys; none = the whole store), from, to
-- chart: none
WITH RECURSIVE
-- lineage closure: begin
-- Every successful call that minted a credential, created an IAM user or gave one a password (few rows).
minted AS (
    SELECT access_key_id AS parent,
           coalesce(record->>'$.responseElements.credentials.accessKeyId',
                    record->>'$.responseElements.accessKey.accessKeyId') AS child_key,
           CASE WHEN event_name = 'CreateUser' THEN record->>'$.responseElements.user.userName'
                WHEN event_name IN ('CreateLoginProfile', 'UpdateLoginProfile')
                    THEN record->>'$.requestParameters.userName' END AS child_user,
           event_name AS via,
           event_time AS created_at
    FROM events
    WHERE error_code IS NULL AND access_key_id IS NOT NULL
      AND event_name IN ('GetSessionToken', 'AssumeRole', 'GetFederationToken', 'CreateAccessKey',
                         'CreateUser', 'CreateLoginProfile', 'UpdateLoginProfile')
),
-- Keys that signed as a user the lineage created (any of its keys), or as a user it gave a password
-- (that user's console sessions after the password was set).
user_keys AS (
    SELECT m.parent, e.access_key_id AS child, 'user ' || m.child_user AS via, min(e.event_time) AS created_at
    FROM minted m
    JOIN events e ON e.user_name = m.child_user AND e.identity_type = 'IAMUser' AND e.access_key_id IS NOT NULL
    WHERE m.child_user IS NOT NULL
      AND (m.via = 'CreateUser'
           OR (e.event_time >= m.created_at AND (e.record->>'$.sessionCredentialFromConsole') = 'true'))
    GROUP BY ALL
),
edges AS (
    SELECT parent, child_key AS child, via, created_at FROM minted WHERE child_key IS NOT NULL
    UNION ALL
    SELECT parent, child, via, created_at FROM user_keys
),
lineage(access_key_id, parent_access_key_id, via, created_at) AS (
    SELECT k, NULL::VARCHAR, 'seed', NULL::TIMESTAMPTZ FROM unnest($keys::VARCHAR[]) AS s(k)
    UNION
    SELECT e.child, l.access_key_id, e.via, e.created_at
    FROM edges e JOIN lineage l ON e.parent = l.access_key_id
),
-- lineage closure: end
scoped AS (
    SELECT event_time, event_source, event_name, aws_region, source_ip, user_agent, access_key_id,
           coalesce(recipient_account_id, account_id) AS account, error_code, record
    FROM events
    WHERE event_time IS NOT NULL
  AND (len($keys::VARCHAR[]) = 0 OR access_key_id IN (SELECT access_key_id FROM lineage))
  AND ($from::TIMESTAMPTZ IS NULL OR event_time >= $from::TIMESTAMPTZ)
  AND ($to::TIMESTAMPTZ IS NULL OR event_time < $to::TIMESTAMPTZ)
),
seeds AS (SELECT DISTINCT unnest($keys::VARCHAR[]) AS k),
-- The owner's usual source IPs: those that used a seed key on two or more UTC days before the
-- lineage's first derived credential. The leaked key's calls from them are taken as the owner's.
owner_ips AS (
    SELECT source_ip
    FROM events
    WHERE access_key_id IN (SELECT k FROM seeds) AND source_ip IS NOT NULL
      AND event_time < coalesce((SELECT min(created_at) FROM lineage WHERE via <> 'seed'), 'infinity'::TIMESTAMPTZ)
    GROUP BY source_ip
    HAVING count(DISTINCT date_trunc('day', event_time)) >= 2
),
attacker AS (
    SELECT * FROM scoped
    WHERE NOT (access_key_id IN (SELECT k FROM seeds) AND source_ip IN (SELECT source_ip FROM owner_ips))
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
    (SELECT list_sort(list(DISTINCT arn)) FROM events WHERE access_key_id IN (SELECT k FROM seeds)) AS seed_principals,
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
    (SELECT list_sort(list(DISTINCT aws_region)) FROM attacker)                     AS attacker_regions,
    (SELECT coalesce(sum(instances), 0) FROM launches)                              AS ec2_instances,
    (SELECT list_sort(list(DISTINCT aws_region)) FROM launches WHERE instances > 0) AS ec2_regions,
    (SELECT coalesce(sum(tasks), 0) FROM launches)                                  AS ecs_tasks,
    (SELECT list_sort(list(DISTINCT aws_region)) FROM launches WHERE tasks > 0)     AS ecs_regions;
