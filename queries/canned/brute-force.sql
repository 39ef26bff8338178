-- name: brute-force
-- description: Permission brute-forcing: bursts of denied calls over many services within minutes, per key, with what was allowed.
-- parameters: keys, from, to
-- chart: gantt start=first_seen end=last_seen label=access_key_id
-- title: Trying what the key may do: bursts of refused calls (permission brute-forcing)
-- pack: table 8
-- empty: no burst of denied calls over many services.
--
-- Tools such as enumerate-iam and Pacu's iam__bruteforce_permissions find out what a stolen key
-- may do by calling hundreds of APIs of dozens of services, most of them denied, within a few
-- minutes. A burst is a run of one key's denied calls (an errorCode of the AccessDenied,
-- UnauthorizedOperation, Forbidden or AuthorizationError families) with no gap over 60 seconds
-- between one and the next; it is reported when it has at least 10 denied calls over at least 5
-- services (eventSource). A person hitting a missing permission retries one call; a region
-- sweep repeats one call in many regions (see `regions`): neither reaches 5 services in a
-- minute. `allowed` lists the calls of the same key that succeeded during the burst: what the
-- brute-forcer found it may do.
--
-- In the duckdb CLI (duckdb -readonly case.duckdb), paste the SELECT with $keys replaced by a
-- list (['AKIA...'], or []::VARCHAR[] for the whole store) and $from/$to by NULL or a time
-- (TIMESTAMPTZ '2026-11-07 00:00:00+00'), or prepare it:
--   PREPARE brute_force AS <the SELECT below>;
--   EXECUTE brute_force(keys := ['AKIAEXAMPLEKEY000001'], "from" := NULL, "to" := NULL);
WITH
calls AS MATERIALIZED (
    SELECT event_time, event_id, access_key_id, arn, event_source, event_name, source_ip, error_code,
        error_code IS NOT NULL AND regexp_matches(error_code, '(AccessDenied|Unauthorized|Forbidden|AuthorizationError)') AS denied
    FROM lineage_events($keys::VARCHAR[], $from::TIMESTAMPTZ, $to::TIMESTAMPTZ)
    WHERE access_key_id IS NOT NULL AND event_time IS NOT NULL
),
runs AS (       -- each denied call, numbered by the burst it belongs to
    SELECT *, sum(CASE WHEN gap IS NULL OR gap > INTERVAL 60 SECOND THEN 1 ELSE 0 END)
                  OVER (PARTITION BY access_key_id ORDER BY event_time, event_id ROWS UNBOUNDED PRECEDING) AS burst
    FROM (SELECT *, event_time - lag(event_time) OVER (PARTITION BY access_key_id ORDER BY event_time, event_id) AS gap
          FROM calls WHERE denied)
),
bursts AS (
    SELECT access_key_id, burst, min(arn) AS principal, min(event_time) AS first_seen, max(event_time) AS last_seen,
        count(*) AS denied_calls, count(DISTINCT event_source) AS services,
        list_sort(list(DISTINCT split_part(event_source, '.', 1))) AS service_names,
        list_sort(list(DISTINCT source_ip) FILTER (WHERE source_ip IS NOT NULL)) AS source_ips
    FROM runs
    GROUP BY access_key_id, burst
    HAVING count(*) >= 10 AND count(DISTINCT event_source) >= 5
)
SELECT b.access_key_id, b.principal, b.first_seen, b.last_seen,
    date_diff('second', b.first_seen, b.last_seen) AS seconds, b.denied_calls, b.services, b.service_names, b.source_ips,
    (SELECT count(*) FROM calls c WHERE c.access_key_id = b.access_key_id AND NOT c.denied
        AND c.event_time BETWEEN b.first_seen AND b.last_seen) AS other_calls,
    (SELECT list_sort(list(DISTINCT split_part(c.event_source, '.', 1) || ':' || c.event_name)) FROM calls c
      WHERE c.access_key_id = b.access_key_id AND c.error_code IS NULL
        AND c.event_time BETWEEN b.first_seen AND b.last_seen) AS allowed
FROM bursts b
ORDER BY b.first_seen, b.access_key_id;
