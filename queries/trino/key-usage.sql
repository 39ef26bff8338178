-- key-usage on Trino over the lake (queries/canned/key-usage.sql has the header and the meaning).
-- ku_seen covers every principal of the store, not only those in scope (DuckDB's filter on the
-- scope only saves work: every later step is per principal): so the scope is planned once.
WITH {{aws_origin}}, {{aws_quarantine}}, {{workload_agent}}
WITH {{lineage_events}}, {{event_marks}},
ku_scope AS (
    SELECT event_time, access_key_id, arn, who, aws_region, error_code,
        CASE WHEN aws IS NULL THEN source_ip END AS source_ip,
        CASE WHEN aws IS NULL AND NOT aws_agent(user_agent) THEN agent_name(user_agent) END AS user_agent,
        coalesce(aws, CASE WHEN aws_agent(user_agent) THEN agent_name(user_agent) END) AS aws_part, marks
    FROM (
        SELECT e.*, coalesce(e.session_issuer_arn, e.arn) AS who,
            aws_origin(e.source_ip, e.user_agent, e.identity_type,
                       CASE WHEN NOT ip_address(e.source_ip) THEN json_extract_scalar(e.record, '$.userIdentity.invokedBy') END) AS aws,
            CASE WHEN cardinality(m.verdicts) + IF(m.conflicting, 1, 0) > 0
                 THEN concat(m.verdicts, IF(m.conflicting, ARRAY['conflicting'], CAST(ARRAY[] AS array(varchar)))) END AS marks
        FROM lineage_events e
        LEFT JOIN event_marks m ON m.event_id = e.event_id AND m.variant = e.variant
        WHERE e.access_key_id IS NOT NULL AND aws_quarantine(e.event_source, e.event_name, e.record) IS NULL
    )
),
ku_seen AS (      -- when each principal first used each IP and user agent, in the whole store
    SELECT who, ip AS source_ip, agent AS user_agent, min(first) AS first, bool_or(own) AS own
    FROM (
        SELECT who, first,
            CASE WHEN aws_origin(source_ip, user_agent, identity_type, CAST(NULL AS varchar)) IS NULL THEN source_ip END AS ip,
            CASE WHEN NOT aws_agent(user_agent) THEN agent_name(user_agent) END AS agent,
            workload_agent(user_agent) IS NOT NULL AS own
        FROM (
            SELECT coalesce(session_issuer_arn, arn) AS who, source_ip, user_agent, identity_type, min(event_time) AS first
            FROM events
            WHERE coalesce(session_issuer_arn, arn) IS NOT NULL
            GROUP BY 1, 2, 3, 4
        )
    )
    GROUP BY who, ip, agent
),
ku_ips AS (
    SELECT who, source_ip, min(first) AS first, ip_address(source_ip) AS network, bool_or(own) AS own
    FROM ku_seen WHERE source_ip IS NOT NULL GROUP BY who, source_ip
),
ku_created AS (   -- principals whose creation the store shows
    SELECT coalesce(json_extract_scalar(record, '$.responseElements.user.arn'),
                    json_extract_scalar(record, '$.responseElements.role.arn')) AS who, min(event_time) AS at
    FROM events
    WHERE event_source = 'iam.amazonaws.com' AND event_name IN ('CreateUser', 'CreateRole') AND error_code IS NULL
    GROUP BY 1
),
ku_suspect AS (   -- when the baseline ends: creation, or the first network IP new after day one
                  -- (a workload's: the first address that is not its own)
    SELECT p.who, bool_or(i.own) AS workload,
        CASE WHEN bool_or(i.own) THEN min(i.first) FILTER (WHERE i.network AND NOT i.own)
             ELSE coalesce(c.at, min(i.first) FILTER (WHERE i.network AND i.first >= p.first + INTERVAL '24' HOUR)) END AS since,
        c.at IS NOT NULL AS created_in_store
    FROM (SELECT who, min(first) AS first FROM ku_seen GROUP BY who) p
    JOIN ku_ips i ON i.who = p.who
    LEFT JOIN ku_created c ON c.who = p.who
    GROUP BY p.who, p.first, c.at
),
ku_baseline AS (  -- what the principal used before it became suspect, and its workload's own addresses
    SELECT s.who, s.since,
        array_agg(DISTINCT x.source_ip) FILTER (WHERE x.source_ip IS NOT NULL) AS ips,
        array_agg(DISTINCT x.user_agent) FILTER (WHERE x.user_agent IS NOT NULL) AS agents
    FROM ku_suspect s
    LEFT JOIN ku_seen x ON x.who = s.who
        AND CASE WHEN s.workload THEN x.own ELSE NOT s.created_in_store AND (s.since IS NULL OR x.first < s.since) END
    GROUP BY s.who, s.since
)
SELECT k.access_key_id, k.principal, k.events, k.errors, k.first_seen, k.last_seen, k.source_ips, k.regions,
    k.user_agents, b.since AS suspect_since,
    filter(k.source_ips, x -> NOT contains(coalesce(b.ips, CAST(ARRAY[] AS array(varchar))), x)) AS new_source_ips,
    filter(k.user_agents, x -> NOT contains(coalesce(b.agents, CAST(ARRAY[] AS array(varchar))), x)) AS new_user_agents,
    k.aws_services, k.integrity, k.marked_events
FROM (
    SELECT access_key_id, min(arn) AS principal, min(who) AS who, count(*) AS events,
        count(*) FILTER (WHERE error_code IS NOT NULL) AS errors,
        min(event_time) AS first_seen, max(event_time) AS last_seen,
        array_sort(array_agg(DISTINCT source_ip) FILTER (WHERE source_ip IS NOT NULL)) AS source_ips,
        array_sort(array_agg(DISTINCT aws_region) FILTER (WHERE aws_region IS NOT NULL)) AS regions,
        array_sort(array_agg(DISTINCT user_agent) FILTER (WHERE user_agent IS NOT NULL)) AS user_agents,
        array_sort(array_agg(DISTINCT aws_part) FILTER (WHERE aws_part IS NOT NULL)) AS aws_services,
        array_sort(array_distinct(flatten(array_agg(marks) FILTER (WHERE marks IS NOT NULL)))) AS integrity,
        nullif(count(*) FILTER (WHERE marks IS NOT NULL), 0) AS marked_events
    FROM ku_scope
    GROUP BY access_key_id
) k
LEFT JOIN ku_baseline b ON b.who = k.who
ORDER BY k.first_seen, k.access_key_id
