-- name: credential-misuse
-- description: Session keys used from more than one origin: issued to whom, the legitimate origin, the foreign one, stolen or unknown.
-- parameters: keys, from, to
-- chart: table
-- title: Stolen temporary keys: session keys used from more than one place
-- pack: table 4
-- empty: no session key of these credentials was used from more than one origin.
--
-- A session key (ASIA...) that an AWS service obtained for a workload (service_sessions,
-- queries/macros.sql: EC2 for an instance profile, Lambda for a function's role, ECS for a task
-- role) belongs to that workload: the workload's own calls come from its address, with its
-- runtime's or agent's user agent (workload_agent: exec-env/AWS_Lambda_*, exec-env/AWS_ECS_*,
-- amazon-ssm-agent) or through a VPC endpoint. The same session used from another address is
-- the classic sign of stolen credentials (SSRF to the instance metadata service, a function's
-- environment leaked). A session is grouped by its role session ARN (all the keys EC2 gives one
-- instance, all the cold starts of one function); a key with ec2RoleDelivery in its session, or
-- used by an SSM agent in a session named after an instance, counts as the instance's even
-- when the AssumeRole is not in the store. One row per session and
-- foreign address (an IP address; AWS's own calls on the caller's behalf, aws_origin, are not
-- origins). `verdict` is
--   * stolen: the foreign address is also used by a person (an IAM user or the root user of the
--     same account) in the store, or the workload's own calls came from a public address and this one differs;
--   * unknown: the logs cannot tell owner from attacker, and `why` says why (the workload's
--     own calls are not in the logs, or came only through a VPC endpoint, so a public address
--     may be the workload's own NAT).
-- A session key a person obtained (GetSessionToken, AssumeRole, a console session) is listed
-- when it was used from two or more addresses, with verdict unknown: a person changes
-- networks. `legit_origin` is the workload's own address and agent (or, for a person's key,
-- where it was minted, else where it was first used, the lowest address of those first used at
-- the same time); `evidence` holds the event ids of the
-- foreign calls (the first 20), `issued_event` the AssumeRole that issued the key;
-- `foreign_agents` leaves out AWS's own agents (aws_agent: a console's calls come from the
-- address of the person using it, which stays the origin).
--
-- In the duckdb CLI (duckdb -readonly case.duckdb), paste the SELECT with $keys replaced by a
-- list (['AKIA...'], or []::VARCHAR[] for the whole store) and $from/$to by NULL or a time
-- (TIMESTAMPTZ '2026-11-07 00:00:00+00'), or prepare it:
--   PREPARE credential_misuse AS <the SELECT below>;
--   EXECUTE credential_misuse(keys := ['AKIAEXAMPLEKEY000001'], "from" := NULL, "to" := NULL);
WITH
used AS MATERIALIZED (      -- calls signed by a session key in scope, from an IP address, not AWS's own
    SELECT event_id, event_time, access_key_id, arn, identity_type, source_ip, account, agent, workload, instance_session,
        -- (records are read only where they can tell: a call without a runtime's or agent's user agent)
        CASE WHEN workload IS NULL AND (instance_session OR by_service)
             THEN json_extract_string(record, '$.vpcEndpointId') END AS vpce,
        CASE WHEN workload IS NULL AND instance_session AND NOT by_service
             THEN json_extract_string(record, '$.userIdentity.sessionContext.ec2RoleDelivery') END AS imds
    FROM (
        SELECT *, coalesce(recipient_account_id, account_id) AS account,
            CASE WHEN NOT aws_agent(user_agent) THEN agent_name(user_agent) END AS agent,
            workload_agent(user_agent) AS workload,
            regexp_matches(arn, ':assumed-role/[^/]+/i-[0-9a-f]{8,17}$') AS instance_session,
            access_key_id IN (SELECT access_key_id FROM service_sessions) AS by_service
        FROM lineage_events($keys::VARCHAR[], $from::TIMESTAMPTZ, $to::TIMESTAMPTZ)
        WHERE starts_with(access_key_id, 'ASIA') AND ip_address(source_ip)
          AND aws_origin(source_ip, user_agent, identity_type, NULL) IS NULL
    )
),
issued AS MATERIALIZED (    -- keys an AWS service obtained (a key's AssumeRole may be stored more than once)
    SELECT access_key_id, min(service) AS service, min(role_arn) AS role_arn,
        min(issued_at) AS issued_at, min(issued_event) AS issued_event
    FROM service_sessions
    WHERE access_key_id IN (SELECT DISTINCT access_key_id FROM used)
    GROUP BY access_key_id
),
calls AS MATERIALIZED (
    SELECT u.*, i.service, i.role_arn, i.issued_at, i.issued_event
    FROM used u LEFT JOIN issued i USING (access_key_id)
),
sessions AS MATERIALIZED (  -- a workload's session (by its role session ARN), or a person's key on its own
    SELECT c.*, k.svc,
        CASE WHEN k.svc AND c.identity_type = 'AssumedRole' THEN coalesce(c.arn, c.access_key_id) ELSE c.access_key_id END AS session,
        coalesce(c.arn, '') AS principal
    FROM calls c
    JOIN (SELECT access_key_id, bool_or(service IS NOT NULL OR imds IS NOT NULL OR (instance_session AND workload IS NOT NULL)) AS svc
          FROM calls GROUP BY access_key_id) k
        USING (access_key_id)
),
origins AS MATERIALIZED (   -- per session and address
    SELECT session, principal, source_ip, bool_or(svc) AS svc, min(account) AS account, min(event_time) AS first, max(event_time) AS last, count(*) AS calls,
        list_sort(list(DISTINCT access_key_id)) AS keys,
        list_sort(list(DISTINCT agent) FILTER (WHERE agent IS NOT NULL)) AS agents,
        list_sort(list(DISTINCT coalesce(workload, CASE WHEN vpce IS NOT NULL THEN 'VPC endpoint' END))
                  FILTER (WHERE workload IS NOT NULL OR vpce IS NOT NULL)) AS own_how,
        bool_or(vpce IS NULL AND NOT regexp_matches(source_ip, '^(10\.|192\.168\.|172\.(1[6-9]|2[0-9]|3[01])\.|f[cd][0-9a-f]{2}:)'))
            FILTER (WHERE workload IS NOT NULL OR vpce IS NOT NULL) AS own_public,
        list(event_id ORDER BY event_time, event_id)[1:20] AS evidence,
        min(arn) AS arn, min(service) AS service, min(role_arn) AS role_arn,
        min(issued_at) AS issued_at, min(issued_event) AS issued_event
    FROM sessions
    GROUP BY session, principal, source_ip
),
own AS MATERIALIZED (       -- per workload session: the addresses its own runtime, agent or VPC endpoint used
    SELECT session, principal, string_agg(source_ip || ' (' || array_to_string(own_how, ', ') || ')', ', ' ORDER BY first, source_ip) AS legit,
        min(first) AS first, max(last) AS last, bool_or(own_public) AS public
    FROM origins WHERE svc AND own_how IS NOT NULL
    GROUP BY session, principal
),
minted AS MATERIALIZED (    -- a person's key: who minted it, how, from where
    SELECT minted_key_id AS access_key_id, min(arn) AS minter, min(event_name) AS via, min(event_time) AS minted_at,
        min(event_id) AS mint_event, min(source_ip) FILTER (WHERE ip_address(source_ip)) AS mint_ip
    FROM event_rows
    WHERE event_source IN ('sts.amazonaws.com', 'signin.amazonaws.com') AND error_code IS NULL
      AND minted_key_id IN (SELECT session FROM origins WHERE NOT svc)
    GROUP BY minted_key_id
),
held AS MATERIALIZED (      -- a person's key used from two or more addresses: where it belongs
    SELECT o.session, o.principal, coalesce(m.mint_ip, (list(o.source_ip ORDER BY o.first, o.source_ip))[1]) AS legit_ip, any_value(m.minter) AS minter,
        any_value(m.via) AS via, any_value(m.minted_at) AS minted_at, any_value(m.mint_event) AS mint_event,
        any_value(m.mint_ip) IS NOT NULL AS at_mint
    FROM origins o LEFT JOIN minted m ON m.access_key_id = o.session
    WHERE NOT o.svc
    GROUP BY o.session, o.principal, m.mint_ip
    HAVING count(*) >= 2
),
foreign_ AS MATERIALIZED (
    SELECT o.* FROM origins o WHERE o.svc AND o.own_how IS NULL
    UNION ALL
    SELECT o.* FROM origins o JOIN held h ON h.session = o.session AND h.principal = o.principal AND o.source_ip <> h.legit_ip
),
persons AS (                -- addresses that people (IAM users, the root user) of the same account used in the store
    SELECT source_ip, coalesce(recipient_account_id, account_id) AS account, min(arn) AS person
    FROM event_rows
    WHERE identity_type IN ('IAMUser', 'Root') AND source_ip IN (SELECT source_ip FROM foreign_ WHERE svc)
      AND aws_quarantine(event_source, event_name, record) IS NULL
    GROUP BY ALL
)
SELECT f.session,
    CASE WHEN NOT f.svc THEN coalesce(f.arn, '?') || coalesce(' (' || h.via || ')', '')
         ELSE CASE coalesce(f.service, 'ec2.amazonaws.com')
                  WHEN 'ec2.amazonaws.com' THEN 'EC2 instance ' || split_part(f.arn, '/', -1) || ' (instance profile, role '
                  WHEN 'lambda.amazonaws.com' THEN 'Lambda function ' || split_part(f.arn, '/', -1) || ' (execution role '
                  WHEN 'ecs-tasks.amazonaws.com' THEN 'ECS task ' || split_part(f.arn, '/', -1) || ' (task role '
                  ELSE f.service || ' session ' || split_part(f.arn, '/', -1) || ' (role '
              END || coalesce(split_part(f.role_arn, '/', -1), split_part(f.arn, '/', 2), '?') || ')' END AS issued_to,
    CASE WHEN f.svc THEN coalesce(f.service || ' (AssumeRole)', 'EC2 (the instance''s metadata service)') ELSE h.minter END AS issued_by,
    CASE WHEN f.svc THEN f.issued_at ELSE h.minted_at END AS issued_at,
    CASE WHEN f.svc THEN f.issued_event ELSE h.mint_event END AS issued_event,
    CASE WHEN f.svc THEN o.legit
         ELSE h.legit_ip || CASE WHEN h.at_mint THEN ' (where it was minted)' ELSE ' (where it was first used)' END END AS legit_origin,
    CASE WHEN f.svc THEN o.first ELSE l.first END AS legit_first,
    CASE WHEN f.svc THEN o.last ELSE l.last END AS legit_last,
    f.source_ip AS foreign_origin, f.agents AS foreign_agents, f.keys AS foreign_keys,
    f.first AS foreign_first, f.last AS foreign_last, f.calls AS foreign_calls,
    CASE WHEN f.svc AND (p.person IS NOT NULL OR o.public) THEN 'stolen' ELSE 'unknown' END AS verdict,
    list_transform([CASE coalesce(f.service, 'ec2.amazonaws.com') WHEN 'ec2.amazonaws.com' THEN 'instance'
                        WHEN 'lambda.amazonaws.com' THEN 'function' WHEN 'ecs-tasks.amazonaws.com' THEN 'task'
                        ELSE 'workload' END],
        noun -> CASE
            WHEN NOT f.svc THEN
                'the key was ' || CASE WHEN h.at_mint THEN 'minted by ' || coalesce(h.minter, '?') || ' from ' ELSE 'first used from ' END ||
                h.legit_ip || ' and then used from this address too; a person may use a session key from more than one network, ' ||
                'so the logs cannot tell whether this is its holder'
            WHEN p.person IS NOT NULL THEN
                'this address is also used by ' || p.person || ', a person, not the ' || noun ||
                coalesce('; the ' || noun || '''s own calls came from ' || o.legit, '')
            WHEN o.public THEN
                'the ' || noun || '''s own calls came from ' || o.legit || '; this address is not one of them'
            WHEN o.legit IS NOT NULL THEN
                'the ' || noun || '''s own calls came only through a VPC endpoint or a private address (' || o.legit ||
                '); this public address may be the same ' || noun || ' behind a NAT gateway'
            ELSE
                'the logs show no call by the ' || noun || ' itself (no Lambda runtime, ECS or SSM agent user agent, no VPC ' ||
                'endpoint) and no person at this address, so it may be the ' || noun || '''s own address'
        END)[1] AS why,
    f.evidence
FROM foreign_ f
LEFT JOIN own o ON o.session = f.session AND o.principal = f.principal
LEFT JOIN persons p ON p.source_ip = f.source_ip AND p.account IS NOT DISTINCT FROM f.account
LEFT JOIN held h ON h.session = f.session AND h.principal = f.principal
LEFT JOIN origins l ON l.session = h.session AND l.principal = h.principal AND l.source_ip = h.legit_ip
ORDER BY f.first, f.session, f.principal, f.source_ip;
