-- name: key-usage
-- description: Per access key: events, errors, first and last use, IPs, regions, user agents, and which IPs and agents are new to its principal.
-- parameters: keys, from, to
-- chart: gantt start=first_seen end=last_seen label=access_key_id
-- title: How each key was used (key usage)
-- pack: table 3
-- empty: no key of the lineage was used in this window.
--
-- The baseline of a principal (the IAM user, or the role of a role session) is what it used
-- before `suspect_since`: the first time it used, from a network address, an IP it had not
-- used in its first 24 hours in the store. The baseline of a workload's role (one whose
-- Lambda runtime, ECS or SSM agent called with it: workload_agent) is its own addresses and
-- agents only: every other address is new (see credential-misuse). A principal created inside the store (CreateUser,
-- CreateRole) has no baseline: suspect_since is its creation. new_source_ips and
-- new_user_agents are the key's IPs and user agents outside its principal's baseline (all of
-- them without a baseline). The baseline looks at the whole store, whatever the scope.
-- AWS's own quarantine calls are left out (they are AWS's, not the key holder's). What AWS did
-- with the key on its holder's behalf ("AWS Internal", a service's name as the source, a
-- console's or AWS's own agent: aws_origin and aws_agent, macros.sql) is never a source IP or
-- a user agent of the key, nor new: it is listed in `aws_services`. User agents are named
-- without S3's brackets (agent_name). `integrity` lists the marks the last `trailhound
-- verify` put on the key's events (view event_marks: modified, unlisted, ...; conflicting
-- for a record whose eventID other records share with other content) and
-- `marked_events` how many carry one; both NULL when none does, or verify never ran.
--
-- In the duckdb CLI (duckdb -readonly case.duckdb), paste the SELECT with $keys replaced by a
-- list (['AKIA...'], or []::VARCHAR[] for the whole store) and $from/$to by NULL or a time
-- (TIMESTAMPTZ '2026-11-07 00:00:00+00'), or prepare it:
--   PREPARE key_usage AS <the SELECT below>;
--   EXECUTE key_usage(keys := ['AKIAEXAMPLEKEY000001'], "from" := NULL, "to" := NULL);
WITH
scope AS MATERIALIZED (
    SELECT event_time, access_key_id, arn, who, aws_region, error_code,
        CASE WHEN aws IS NULL THEN source_ip END AS source_ip,
        CASE WHEN aws IS NULL AND NOT aws_agent(user_agent) THEN agent_name(user_agent) END AS user_agent,
        coalesce(aws, CASE WHEN aws_agent(user_agent) THEN agent_name(user_agent) END) AS aws_part, marks
    FROM (
        SELECT *, coalesce(session_issuer_arn, arn) AS who,
            aws_origin(source_ip, user_agent, identity_type,
                       CASE WHEN NOT ip_address(source_ip) THEN json_extract_string(record, '$.userIdentity.invokedBy') END) AS aws
        FROM lineage_events($keys::VARCHAR[], $from::TIMESTAMPTZ, $to::TIMESTAMPTZ)
        LEFT JOIN (SELECT event_id, variant, nullif(list_concat(verdicts, CASE WHEN conflicting THEN ['conflicting'] ELSE [] END), [])
                   AS marks FROM event_marks) USING (event_id, variant)
        WHERE access_key_id IS NOT NULL AND aws_quarantine(event_source, event_name, record) IS NULL
    )
),
seen AS MATERIALIZED (      -- when each principal first used each IP and user agent, in the whole store
    SELECT who, ip AS source_ip, agent AS user_agent, min(first) AS first, bool_or(own) AS own
    FROM (
        -- (each distinct source, agent and identity type classified once; the records are not
        -- read: invokedBy only matters for a source that is neither an address nor AWS's name)
        SELECT who, first,
            CASE WHEN aws_origin(source_ip, user_agent, identity_type, NULL) IS NULL THEN source_ip END AS ip,
            CASE WHEN NOT aws_agent(user_agent) THEN agent_name(user_agent) END AS agent,
            workload_agent(user_agent) IS NOT NULL AS own
        FROM (
            SELECT coalesce(session_issuer_arn, arn) AS who, source_ip, user_agent, identity_type, min(event_time) AS first
            FROM event_rows
            WHERE coalesce(session_issuer_arn, arn) IN (SELECT DISTINCT who FROM scope)
            GROUP BY ALL
        )
    )
    GROUP BY who, ip, agent
),
ips AS (
    SELECT who, source_ip, min(first) AS first, ip_address(source_ip) AS network, bool_or(own) AS own
    FROM seen WHERE source_ip IS NOT NULL GROUP BY who, source_ip
),
created AS (                -- principals whose creation the store shows
    SELECT coalesce(json_extract_string(record, '$.responseElements.user.arn'),
                    json_extract_string(record, '$.responseElements.role.arn')) AS who, min(event_time) AS at
    FROM event_rows
    WHERE event_source = 'iam.amazonaws.com' AND event_name IN ('CreateUser', 'CreateRole') AND error_code IS NULL
    GROUP BY ALL
),
suspect AS (                -- when the baseline ends: creation, or the first network IP new after day one
                            -- (a workload's: the first address that is not its own)
    SELECT p.who, bool_or(i.own) AS workload,
        CASE WHEN bool_or(i.own) THEN min(i.first) FILTER (WHERE i.network AND NOT i.own)
             ELSE coalesce(c.at, min(i.first) FILTER (WHERE i.network AND i.first >= p.first + INTERVAL 24 HOUR)) END AS since,
        c.at IS NOT NULL AS created_in_store
    FROM (SELECT who, min(first) AS first FROM seen GROUP BY who) p
    JOIN ips i USING (who)
    LEFT JOIN created c USING (who)
    GROUP BY p.who, p.first, c.at
),
baseline AS (              -- what the principal used before it became suspect, and its workload's own addresses
    SELECT s.who,
        list(DISTINCT x.source_ip) FILTER (WHERE x.source_ip IS NOT NULL) AS ips,
        list(DISTINCT x.user_agent) FILTER (WHERE x.user_agent IS NOT NULL) AS agents
    FROM seen x JOIN suspect s USING (who)
    WHERE CASE WHEN s.workload THEN x.own ELSE NOT s.created_in_store AND (s.since IS NULL OR x.first < s.since) END
    GROUP BY s.who
)
SELECT k.access_key_id, k.principal, k.events, k.errors, k.first_seen, k.last_seen, k.source_ips, k.regions,
    k.user_agents, s.since AS suspect_since,
    list_filter(k.source_ips, x -> NOT list_contains(coalesce(b.ips, []), x)) AS new_source_ips,
    list_filter(k.user_agents, x -> NOT list_contains(coalesce(b.agents, []), x)) AS new_user_agents,
    k.aws_services, k.integrity, k.marked_events
FROM (
    SELECT access_key_id, min(arn) AS principal, min(who) AS who, count(*) AS events,
        count(*) FILTER (WHERE error_code IS NOT NULL) AS errors,
        min(event_time) AS first_seen, max(event_time) AS last_seen,
        list_sort(list(DISTINCT source_ip) FILTER (WHERE source_ip IS NOT NULL)) AS source_ips,
        list_sort(list(DISTINCT aws_region) FILTER (WHERE aws_region IS NOT NULL)) AS regions,
        list_sort(list(DISTINCT user_agent) FILTER (WHERE user_agent IS NOT NULL)) AS user_agents,
        list_sort(list(DISTINCT aws_part) FILTER (WHERE aws_part IS NOT NULL)) AS aws_services,
        list_sort(list_distinct(flatten(list(marks) FILTER (WHERE marks IS NOT NULL)))) AS integrity,
        nullif(count(*) FILTER (WHERE marks IS NOT NULL), 0) AS marked_events
    FROM scope
    GROUP BY access_key_id
) k
LEFT JOIN suspect s USING (who)
LEFT JOIN baseline b USING (who)
ORDER BY k.first_seen, k.access_key_id;
