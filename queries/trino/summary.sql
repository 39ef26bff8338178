-- summary on Trino over the lake (queries/canned/summary.sql has the header and the meaning).
-- Trino plans a CTE again at each reference: here the scope (lineage_events), the lineage
-- (lineage_of) and the owner's addresses are each read once, in a chain: su_owner is one row
-- (the lineage's counts and owner_ips), joined to every event of the scope (a LEFT JOIN, so
-- that it stays when the scope is empty), and the answer is one aggregate over that. The
-- workload's (session, address) pairs are a window (DuckDB's IN over pairs counts NULL equal
-- to NULL, as a window's partition does), and so is each attacker agent's count.
WITH {{aws_origin}}, {{aws_quarantine}}, {{workload_agent}}, {{creates_resource}}
WITH {{lineage_events}}, {{lineage_of}}, {{service_sessions}},
su_seeds AS (
    SELECT array_distinct(filter(CAST($keys AS array(varchar)), k -> k IS NOT NULL)) AS seeds
),
su_lin AS (       -- the lineage's keys: how many, how many derived, when the first was derived
    SELECT count(DISTINCT l.access_key_id) AS lineage_keys,
        count(DISTINCT l.access_key_id) FILTER (WHERE NOT contains(s.seeds, l.access_key_id)) AS derived_keys,
        min(l.created_at) FILTER (WHERE l.via <> 'seed') AS first_derived
    FROM lineage_of l CROSS JOIN su_seeds s
    WHERE cardinality(CAST($keys AS array(varchar))) > 0 AND l.access_key_id IS NOT NULL
),
su_owner_ips AS ( -- the seed keys' addresses and on how many UTC days they used them, before the first derived key
    SELECT l.lineage_keys, l.derived_keys, e.source_ip, count(DISTINCT date_trunc('day', e.event_time)) AS days
    FROM su_lin l
    LEFT JOIN (SELECT x.source_ip, x.event_time FROM events x CROSS JOIN su_seeds s
               WHERE contains(s.seeds, x.access_key_id) AND x.source_ip IS NOT NULL AND x.event_time IS NOT NULL) e
        ON l.first_derived IS NULL OR e.event_time < l.first_derived
    GROUP BY l.lineage_keys, l.derived_keys, e.source_ip
),
su_owner AS (
    SELECT arbitrary(lineage_keys) AS lineage_keys, arbitrary(derived_keys) AS derived_keys,
        array_sort(array_agg(source_ip) FILTER (WHERE source_ip IS NOT NULL AND days >= 2)) AS owner_ips
    FROM su_owner_ips
),
su_scoped AS (
    SELECT event_time, event_source, event_name, aws_region, source_ip, user_agent, access_key_id, arn, identity_type,
        coalesce(recipient_account_id, account_id) AS acct, error_code, record,
        aws_origin(source_ip, user_agent, identity_type,
                   CASE WHEN NOT ip_address(source_ip) THEN json_extract_scalar(record, '$.userIdentity.invokedBy') END) AS aws,
        -- a session key of the scope that an AWS service issued to a workload
        starts_with(access_key_id, 'ASIA') AND access_key_id IN (SELECT access_key_id FROM service_sessions) AS issued
    FROM lineage_events
    WHERE event_time IS NOT NULL
),
su_rows AS (
    SELECT o.lineage_keys, o.derived_keys, o.owner_ips, sd.seeds, s.*,
        -- where such a workload called itself
        s.issued AND s.aws IS NULL
            AND (workload_agent(s.user_agent) IS NOT NULL OR json_extract_scalar(s.record, '$.vpcEndpointId') IS NOT NULL) AS w_call,
        -- (DuckDB's x IN (list): NULL for a NULL x unless the list is empty)
        CASE WHEN s.access_key_id IS NULL THEN IF(cardinality(sd.seeds) = 0, false, NULL)
             ELSE contains(sd.seeds, s.access_key_id) END AS by_seed,
        CASE WHEN s.source_ip IS NULL THEN IF(coalesce(cardinality(o.owner_ips), 0) = 0, false, NULL)
             ELSE coalesce(contains(o.owner_ips, s.source_ip), false) END AS from_owner_ip
    FROM su_owner o CROSS JOIN su_seeds sd
    LEFT JOIN su_scoped s ON true
),
su_flags AS (
    SELECT *,
        NOT (by_seed AND from_owner_ip)
            AND aws_quarantine(event_source, event_name, record) IS NULL AND aws IS NULL
            AND NOT (issued AND coalesce(bool_or(w_call) OVER (PARTITION BY arn, source_ip), false)) AS attacker
    FROM su_rows
),
su_agents AS (
    SELECT *, attacker AND user_agent IS NOT NULL AND NOT aws_agent(user_agent) AS tool,
        count(*) OVER (PARTITION BY agent_name(user_agent),
                       coalesce(attacker AND user_agent IS NOT NULL AND NOT aws_agent(user_agent), false)) AS agent_n,
        CASE WHEN event_name = 'RunInstances'
             THEN json_array_length(json_extract(record, '$.responseElements.instancesSet.items')) END AS instances,
        CASE WHEN event_name = 'RunTask'
             THEN json_array_length(json_extract(record, '$.responseElements.tasks')) END AS tasks,
        error_code IS NULL AND (event_source = 'ec2.amazonaws.com' AND event_name = 'RunInstances'
                                OR event_source = 'ecs.amazonaws.com' AND event_name = 'RunTask') AS launch
    FROM su_flags
)
SELECT
    array_sort(array_agg(DISTINCT acct) FILTER (WHERE event_time IS NOT NULL))     AS accounts,
    array_sort(array_distinct(CAST($keys AS array(varchar))))                       AS seed_keys,
    (SELECT array_sort(array_agg(DISTINCT x.arn)) FROM events x CROSS JOIN su_seeds s
      WHERE contains(s.seeds, x.access_key_id) AND x.arn IS NOT NULL)               AS seed_principals,
    arbitrary(lineage_keys)                                                         AS lineage_keys,
    arbitrary(derived_keys)                                                         AS derived_keys,
    array_sort(array_agg(DISTINCT json_extract_scalar(record, '$.responseElements.user.userName'))
       FILTER (WHERE event_name = 'CreateUser' AND error_code IS NULL))             AS created_users,
    count(event_time)                                                               AS events,
    count(event_time) FILTER (WHERE error_code IS NOT NULL)                         AS failed_events,
    min(event_time)                                                                 AS first_activity,
    max(event_time)                                                                 AS last_activity,
    arbitrary(owner_ips)                                                            AS owner_ips,
    min(event_time) FILTER (WHERE attacker)                                         AS first_attacker_activity,
    max(event_time) FILTER (WHERE attacker)                                         AS last_attacker_activity,
    array_sort(array_agg(DISTINCT source_ip) FILTER (WHERE attacker AND ip_address(source_ip))) AS attacker_ips,
    transform(slice(array_sort(array_agg(DISTINCT CAST(ROW(-agent_n, agent_name(user_agent)) AS row(n bigint, agent varchar)))
                               FILTER (WHERE tool)), 1, 10), x -> x.agent) AS attacker_user_agents,
    array_sort(array_agg(DISTINCT source_ip) FILTER (WHERE w_call))                 AS workload_ips,
    array_sort(array_agg(DISTINCT aws_region) FILTER (WHERE attacker AND aws_region IS NOT NULL)) AS attacker_regions,
    coalesce(sum(instances) FILTER (WHERE launch), 0)                               AS ec2_instances,
    array_sort(array_agg(DISTINCT aws_region) FILTER (WHERE launch AND instances > 0)) AS ec2_regions,
    coalesce(sum(tasks) FILTER (WHERE launch), 0)                                   AS ecs_tasks,
    array_sort(array_agg(DISTINCT aws_region) FILTER (WHERE launch AND tasks > 0))  AS ecs_regions,
    count(event_time) FILTER (WHERE error_code IS NULL AND creates_resource(event_source, event_name)) AS created_resources
FROM su_agents
