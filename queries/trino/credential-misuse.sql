-- credential-misuse on Trino over the lake (queries/canned/credential-misuse.sql has the header and the
-- meaning). Trino plans a CTE again at each reference, and DuckDB's references origins six
-- times: here origins is read once, and what DuckDB joins back to it per session (own, held,
-- and the origin `l` where a person's key belongs) are window functions over the session's
-- rows; the two kinds of foreign origin (DuckDB's UNION ALL) are the two branches of an
-- UNNEST. minted and persons cover the whole store (DuckDB's filters on the sessions in scope
-- only save work: they are joined on the session or the address). A person's key's first
-- address is the earliest, the lowest address on a tie (DuckDB's arg_min).
WITH {{aws_origin}}, {{workload_agent}}, {{aws_quarantine}}
WITH {{lineage_events}}, {{service_sessions}},
cm_issued AS (      -- keys an AWS service obtained (a key's AssumeRole may be stored more than once)
    SELECT access_key_id, min(service) AS service, min(role_arn) AS role_arn,
        min(issued_at) AS issued_at, min(issued_event) AS issued_event
    FROM service_sessions
    GROUP BY access_key_id
),
cm_calls AS (       -- calls signed by a session key in scope, from an IP address, not AWS's own
    SELECT event_id, event_time, access_key_id, arn, identity_type, source_ip, acct, agent, workload, instance_session,
        service, role_arn, issued_at, issued_event,
        CASE WHEN workload IS NULL AND (instance_session OR by_service)
             THEN json_extract_scalar(record, '$.vpcEndpointId') END AS vpce,
        CASE WHEN workload IS NULL AND instance_session AND NOT by_service
             THEN nullif(json_format(json_extract(record, '$.userIdentity.sessionContext.ec2RoleDelivery')), 'null') END AS imds
    FROM (
        SELECT e.event_id, e.event_time, e.access_key_id, e.arn, e.identity_type, e.source_ip, e.record,
            coalesce(e.recipient_account_id, e.account_id) AS acct,
            CASE WHEN NOT aws_agent(e.user_agent) THEN agent_name(e.user_agent) END AS agent,
            workload_agent(e.user_agent) AS workload,
            regexp_like(e.arn, ':assumed-role/[^/]+/i-[0-9a-f]{8,17}\z') AS instance_session,
            i.access_key_id IS NOT NULL AS by_service,
            i.service, i.role_arn, i.issued_at, i.issued_event
        FROM lineage_events e
        LEFT JOIN cm_issued i ON i.access_key_id = e.access_key_id
        WHERE starts_with(e.access_key_id, 'ASIA') AND ip_address(e.source_ip)
          AND aws_origin(e.source_ip, e.user_agent, e.identity_type, CAST(NULL AS varchar)) IS NULL
    )
),
cm_sessions AS (    -- a workload's session (by its role session ARN), or a person's key on its own
    SELECT *,
        CASE WHEN svc AND identity_type = 'AssumedRole' THEN coalesce(arn, access_key_id) ELSE access_key_id END AS session,
        coalesce(arn, '') AS principal
    FROM (SELECT *, bool_or(service IS NOT NULL OR imds IS NOT NULL OR (instance_session AND workload IS NOT NULL))
                        OVER (PARTITION BY access_key_id) AS svc
          FROM cm_calls)
),
cm_origins AS (     -- per session and address
    SELECT session, principal, source_ip, bool_or(svc) AS svc, min(acct) AS account, min(event_time) AS first,
        max(event_time) AS last, count(*) AS calls,
        array_sort(array_agg(DISTINCT access_key_id)) AS keys,
        array_sort(array_agg(DISTINCT agent) FILTER (WHERE agent IS NOT NULL)) AS agents,
        array_sort(array_agg(DISTINCT coalesce(workload, CASE WHEN vpce IS NOT NULL THEN 'VPC endpoint' END))
                   FILTER (WHERE workload IS NOT NULL OR vpce IS NOT NULL)) AS own_how,
        bool_or(vpce IS NULL AND NOT regexp_like(source_ip, '\A(10\.|192\.168\.|172\.(1[6-9]|2[0-9]|3[01])\.|f[cd][0-9a-f]{2}:)'))
            FILTER (WHERE workload IS NOT NULL OR vpce IS NOT NULL) AS own_public,
        slice(array_agg(event_id ORDER BY event_time, event_id), 1, 20) AS evidence,
        min(arn) AS arn, min(service) AS service, min(role_arn) AS role_arn,
        min(issued_at) AS issued_at, min(issued_event) AS issued_event
    FROM cm_sessions
    GROUP BY session, principal, source_ip
),
cm_minted AS (      -- a key: who minted it, how, from where
    SELECT minted_key_id AS access_key_id, min(arn) AS minter, min(event_name) AS via, min(event_time) AS minted_at,
        min(event_id) AS mint_event, min(source_ip) FILTER (WHERE ip_address(source_ip)) AS mint_ip
    FROM events
    WHERE event_source IN ('sts.amazonaws.com', 'signin.amazonaws.com') AND error_code IS NULL AND minted_key_id IS NOT NULL
    GROUP BY minted_key_id
),
cm_per_session AS ( -- each origin with its session's own addresses (own) and, for a person's key, where it belongs (held)
    SELECT o.*, m.minter, m.via, m.minted_at, m.mint_event, m.mint_ip IS NOT NULL AS at_mint,
        count(CASE WHEN o.svc AND o.own_how IS NOT NULL THEN 1 END) OVER g AS own_n,
        array_join(array_agg(CASE WHEN o.svc AND o.own_how IS NOT NULL
                                  THEN o.source_ip || ' (' || array_join(o.own_how, ', ') || ')' END) OVER gs, ', ') AS own_legit,
        min(CASE WHEN o.svc AND o.own_how IS NOT NULL THEN o.first END) OVER g AS own_first,
        max(CASE WHEN o.svc AND o.own_how IS NOT NULL THEN o.last END) OVER g AS own_last,
        bool_or(CASE WHEN o.svc AND o.own_how IS NOT NULL THEN o.own_public END) OVER g AS own_pub,
        count(CASE WHEN NOT o.svc THEN 1 END) OVER g AS held_n,
        coalesce(m.mint_ip, element_at(filter(array_agg(CASE WHEN NOT o.svc THEN o.source_ip END) OVER gs, x -> x IS NOT NULL), 1))
            AS legit_ip
    FROM cm_origins o
    LEFT JOIN cm_minted m ON m.access_key_id = o.session
    WINDOW g AS (PARTITION BY o.session, o.principal),
        gs AS (PARTITION BY o.session, o.principal ORDER BY o.first, o.source_ip
               ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
),
cm_foreign AS (
    SELECT o.*,
        max(CASE WHEN o.source_ip = o.legit_ip THEN o.first END) OVER (PARTITION BY o.session, o.principal) AS l_first,
        max(CASE WHEN o.source_ip = o.legit_ip THEN o.last END) OVER (PARTITION BY o.session, o.principal) AS l_last
    FROM cm_per_session o
),
cm_f AS (
    SELECT f.*, f.held_n >= 2 AS held,
        CASE coalesce(f.service, 'ec2.amazonaws.com') WHEN 'ec2.amazonaws.com' THEN 'instance'
            WHEN 'lambda.amazonaws.com' THEN 'function' WHEN 'ecs-tasks.amazonaws.com' THEN 'task'
            ELSE 'workload' END AS noun,
        CASE WHEN f.own_n > 0 THEN f.own_legit END AS legit
    FROM cm_foreign f
    CROSS JOIN UNNEST(ARRAY[1, 2]) AS b(branch)
    WHERE (b.branch = 1 AND f.svc AND f.own_how IS NULL)
       OR (b.branch = 2 AND f.held_n >= 2 AND f.source_ip <> f.legit_ip)
),
cm_persons AS (     -- addresses that people (IAM users, the root user) of the same account used in the store
    SELECT source_ip, coalesce(recipient_account_id, account_id) AS account, min(arn) AS person
    FROM events
    WHERE identity_type IN ('IAMUser', 'Root') AND aws_quarantine(event_source, event_name, record) IS NULL
    GROUP BY 1, 2
)
SELECT f.session,
    CASE WHEN NOT f.svc THEN coalesce(f.arn, '?') || coalesce(' (' || CASE WHEN f.held THEN f.via END || ')', '')
         ELSE CASE coalesce(f.service, 'ec2.amazonaws.com')
                  WHEN 'ec2.amazonaws.com' THEN 'EC2 instance ' || element_at(split(f.arn, '/'), -1) || ' (instance profile, role '
                  WHEN 'lambda.amazonaws.com' THEN 'Lambda function ' || element_at(split(f.arn, '/'), -1) || ' (execution role '
                  WHEN 'ecs-tasks.amazonaws.com' THEN 'ECS task ' || element_at(split(f.arn, '/'), -1) || ' (task role '
                  ELSE f.service || ' session ' || element_at(split(f.arn, '/'), -1) || ' (role '
              END || coalesce(element_at(split(f.role_arn, '/'), -1),
                              CASE WHEN f.arn IS NOT NULL THEN coalesce(split_part(f.arn, '/', 2), '') END, '?') || ')' END AS issued_to,
    CASE WHEN f.svc THEN coalesce(f.service || ' (AssumeRole)', 'EC2 (the instance''s metadata service)')
         WHEN f.held THEN f.minter END AS issued_by,
    CASE WHEN f.svc THEN f.issued_at WHEN f.held THEN f.minted_at END AS issued_at,
    CASE WHEN f.svc THEN f.issued_event WHEN f.held THEN f.mint_event END AS issued_event,
    CASE WHEN f.svc THEN f.legit
         WHEN f.held THEN f.legit_ip || CASE WHEN f.at_mint THEN ' (where it was minted)' ELSE ' (where it was first used)' END
    END AS legit_origin,
    CASE WHEN f.svc THEN CASE WHEN f.own_n > 0 THEN f.own_first END WHEN f.held THEN f.l_first END AS legit_first,
    CASE WHEN f.svc THEN CASE WHEN f.own_n > 0 THEN f.own_last END WHEN f.held THEN f.l_last END AS legit_last,
    f.source_ip AS foreign_origin, f.agents AS foreign_agents, f.keys AS foreign_keys,
    f.first AS foreign_first, f.last AS foreign_last, f.calls AS foreign_calls,
    CASE WHEN f.svc AND (p.person IS NOT NULL OR (f.own_n > 0 AND f.own_pub)) THEN 'stolen' ELSE 'unknown' END AS verdict,
    CASE
        WHEN NOT f.svc THEN
            CASE WHEN f.held THEN
                'the key was ' || CASE WHEN f.at_mint THEN 'minted by ' || coalesce(f.minter, '?') || ' from ' ELSE 'first used from ' END ||
                f.legit_ip || ' and then used from this address too; a person may use a session key from more than one network, ' ||
                'so the logs cannot tell whether this is its holder' END
        WHEN p.person IS NOT NULL THEN
            'this address is also used by ' || p.person || ', a person, not the ' || f.noun ||
            coalesce('; the ' || f.noun || '''s own calls came from ' || f.legit, '')
        WHEN f.own_n > 0 AND f.own_pub THEN
            'the ' || f.noun || '''s own calls came from ' || f.legit || '; this address is not one of them'
        WHEN f.legit IS NOT NULL THEN
            'the ' || f.noun || '''s own calls came only through a VPC endpoint or a private address (' || f.legit ||
            '); this public address may be the same ' || f.noun || ' behind a NAT gateway'
        ELSE
            'the logs show no call by the ' || f.noun || ' itself (no Lambda runtime, ECS or SSM agent user agent, no VPC ' ||
            'endpoint) and no person at this address, so it may be the ' || f.noun || '''s own address'
    END AS why,
    f.evidence
FROM cm_f f
LEFT JOIN cm_persons p ON p.source_ip = f.source_ip AND p.account IS NOT DISTINCT FROM f.account
ORDER BY f.first, f.session, f.principal, f.source_ip
