-- name: key-usage
-- description: Per access key: events, errors, first and last use, IPs, regions, user agents, and which IPs and agents are new to its principal.
-- parameters: keys, from, to
-- chart: gantt start=first_seen end=last_seen label=access_key_id
--
-- The baseline of a principal (the IAM user, or the role of a role session) is what it used
-- before `suspect_since`: the first time it used, from a network address, an IP it had not
-- used in its first 24 hours in the store. A principal created inside the store (CreateUser,
-- CreateRole) has no baseline: suspect_since is its creation. new_source_ips and
-- new_user_agents are the key's IPs and user agents outside its principal's baseline (all of
-- them without a baseline). The baseline looks at the whole store, whatever the scope.
-- AWS's own quarantine calls are left out (they are AWS's, not the key holder's).
--
-- In the duckdb CLI (duckdb -readonly case.duckdb), paste the SELECT with $keys replaced by a
-- list (['AKIA...'], or []::VARCHAR[] for the whole store) and $from/$to by NULL or a time
-- (TIMESTAMPTZ '2026-11-07 00:00:00+00'), or prepare it:
--   PREPARE key_usage AS <the SELECT below>;
--   EXECUTE key_usage(keys := ['AKIAEXAMPLEKEY000001'], "from" := NULL, "to" := NULL);
WITH
scope AS MATERIALIZED (
    SELECT event_time, access_key_id, arn, coalesce(session_issuer_arn, arn) AS who, source_ip, user_agent,
        aws_region, error_code
    FROM lineage_events($keys::VARCHAR[], $from::TIMESTAMPTZ, $to::TIMESTAMPTZ)
    WHERE access_key_id IS NOT NULL AND aws_quarantine(event_source, event_name, record) IS NULL
),
history AS MATERIALIZED (   -- everything those principals did in the store
    SELECT coalesce(session_issuer_arn, arn) AS who, event_time, source_ip, user_agent,
        regexp_matches(source_ip, '^[0-9]{1,3}(\.[0-9]{1,3}){3}$') OR contains(source_ip, ':') AS network
    FROM event_rows
    WHERE coalesce(session_issuer_arn, arn) IN (SELECT DISTINCT who FROM scope)
),
created AS (                -- principals whose creation the store shows
    SELECT coalesce(json_extract_string(record, '$.responseElements.user.arn'),
                    json_extract_string(record, '$.responseElements.role.arn')) AS who, min(event_time) AS at
    FROM event_rows
    WHERE event_source = 'iam.amazonaws.com' AND event_name IN ('CreateUser', 'CreateRole') AND error_code IS NULL
    GROUP BY ALL
),
first_day AS (
    SELECT who, min(event_time) AS first FROM history GROUP BY ALL
),
day_one_ips AS (
    SELECT DISTINCT h.who, h.source_ip
    FROM history h JOIN first_day f USING (who)
    WHERE h.event_time < f.first + INTERVAL 24 HOUR
),
suspect AS (
    SELECT f.who,
        coalesce(c.at, (SELECT min(h.event_time) FROM history h
                        WHERE h.who = f.who AND h.network AND h.event_time >= f.first
                          AND h.source_ip NOT IN (SELECT d.source_ip FROM day_one_ips d WHERE d.who = f.who))) AS since,
        c.at IS NOT NULL AS created_in_store
    FROM first_day f LEFT JOIN created c USING (who)
),
baseline AS (
    SELECT h.who, list(DISTINCT h.source_ip) AS ips, list(DISTINCT h.user_agent) AS agents
    FROM history h JOIN suspect s USING (who)
    WHERE NOT s.created_in_store AND (s.since IS NULL OR h.event_time < s.since)
    GROUP BY ALL
)
SELECT k.access_key_id, k.principal, k.events, k.errors, k.first_seen, k.last_seen, k.source_ips, k.regions,
    k.user_agents, s.since AS suspect_since,
    list_filter(k.source_ips, x -> NOT list_contains(coalesce(b.ips, []), x)) AS new_source_ips,
    list_filter(k.user_agents, x -> NOT list_contains(coalesce(b.agents, []), x)) AS new_user_agents
FROM (
    SELECT access_key_id, min(arn) AS principal, min(who) AS who, count(*) AS events,
        count(*) FILTER (WHERE error_code IS NOT NULL) AS errors,
        min(event_time) AS first_seen, max(event_time) AS last_seen,
        list_sort(list(DISTINCT source_ip) FILTER (WHERE source_ip IS NOT NULL)) AS source_ips,
        list_sort(list(DISTINCT aws_region) FILTER (WHERE aws_region IS NOT NULL)) AS regions,
        list_sort(list(DISTINCT user_agent) FILTER (WHERE user_agent IS NOT NULL)) AS user_agents
    FROM scope
    GROUP BY access_key_id
) k
LEFT JOIN suspect s USING (who)
LEFT JOIN baseline b USING (who)
ORDER BY k.first_seen, k.access_key_id;
