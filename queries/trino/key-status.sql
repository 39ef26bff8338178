-- key-status on Trino over the lake (queries/canned/key-status.sql has the header and the meaning).
-- lineage_of is planned once: its keys are aggregated into one row (an array, and a map of
-- each key's principal for a federated user's maker) and unnested. The store's correlated
-- subqueries are one join of each key to the IAM calls that may end it (ks_ends, matched on
-- what and name), aggregated per key; the last key change is the latest, a deletion over a
-- deactivation at the same time (DuckDB's arg_max over [time, rank]).
WITH {{lineage_of}},
ks_params AS (
    SELECT cardinality(CAST($keys AS array(varchar))) AS n_keys
),
ks_lin AS (
    SELECT array_agg(CAST(ROW(access_key_id, parent_access_key_id, via, created_at, principal)
               AS row(access_key_id varchar, parent_access_key_id varchar, via varchar,
                      created_at timestamp(6) with time zone, principal varchar))) AS keys,
        map_agg(access_key_id, principal) AS principals
    FROM lineage_of
    WHERE access_key_id IS NOT NULL
),
ks_who AS (
    SELECT l.access_key_id, l.parent_access_key_id, l.via, l.created_at, l.principal,
        CASE WHEN l.principal LIKE 'arn:%:iam::%:root' THEN 'root'
             WHEN l.principal LIKE 'arn:%:iam::%:user/%' THEN 'user'
             WHEN l.principal LIKE 'arn:%:sts::%:assumed-role/%' THEN 'role'
             WHEN l.principal LIKE 'arn:%:sts::%:federated-user/%' THEN 'federated'
        END AS identity,
        CASE WHEN l.principal LIKE 'arn:%:iam::%:user/%' THEN element_at(split(l.principal, '/'), -1)
             WHEN l.principal LIKE 'arn:%:sts::%:federated-user/%' AND p.principal LIKE 'arn:%:iam::%:user/%'
             THEN element_at(split(p.principal, '/'), -1)
        END AS user_name,
        CASE WHEN l.principal LIKE 'arn:%:sts::%:assumed-role/%' THEN split_part(l.principal, '/', 2) END AS role_name
    FROM ks_lin k
    CROSS JOIN UNNEST(k.keys) AS l(access_key_id, parent_access_key_id, via, created_at, principal)
    CROSS JOIN LATERAL (SELECT CASE WHEN l.parent_access_key_id IS NOT NULL
                                    THEN element_at(k.principals, l.parent_access_key_id) END AS principal) p
),
ks_used AS (
    SELECT e.access_key_id, min(e.event_time) AS first_used, max(e.event_time) AS last_used
    FROM events e CROSS JOIN ks_params p
    WHERE e.access_key_id IS NOT NULL
      AND (p.n_keys = 0 OR contains(CAST($lineage AS array(varchar)), e.access_key_id))
    GROUP BY e.access_key_id
),
ks_minted AS (  -- when a session key expires, as the call that made it says (two spellings, in UTC, or ISO 8601)
    SELECT minted_key_id, min(coalesce(
            with_timezone(CAST(try(parse_datetime(e, 'MMM d, yyyy, h:mm:ss a')) AS timestamp(6)), 'UTC'),
            with_timezone(CAST(try(parse_datetime(e, 'MMM d, yyyy h:mm:ss a')) AS timestamp(6)), 'UTC'),
            try(CAST(from_iso8601_timestamp(e) AS timestamp(6) with time zone)),
            try(CAST(e AS timestamp(6) with time zone)))) AS expires_at
    FROM (
        SELECT e.minted_key_id, json_extract_scalar(e.record, '$.responseElements.credentials.expiration') AS e
        FROM events e CROSS JOIN ks_params p
        WHERE e.event_source = 'sts.amazonaws.com' AND e.error_code IS NULL AND e.minted_key_id LIKE 'ASIA%'
          AND (p.n_keys = 0 OR contains(CAST($lineage AS array(varchar)), e.minted_key_id))
    )
    GROUP BY minted_key_id
),
ks_ends AS (    -- successful IAM calls that end a key, a user, a role, or sessions issued before a time
    SELECT event_time,
        CASE WHEN event_name IN ('UpdateAccessKey', 'DeleteAccessKey') THEN 'key'
             WHEN event_name = 'DeleteUser' THEN 'user'
             WHEN event_name = 'DeleteRole' THEN 'role'
             WHEN strpos(lower(doc), 'aws:tokenissuetime') > 0 AND strpos(lower(doc), 'deny') > 0
             THEN CASE event_name WHEN 'PutRolePolicy' THEN 'revoke-role' ELSE 'revoke-user' END
        END AS what,
        CASE WHEN event_name IN ('UpdateAccessKey', 'DeleteAccessKey') THEN key_id
             WHEN event_name IN ('DeleteUser', 'PutUserPolicy') THEN user_n
             ELSE role_n END AS name,
        CASE WHEN event_name = 'DeleteAccessKey' THEN 'deleted'
             WHEN event_name = 'UpdateAccessKey' AND lower(status) = 'inactive' THEN 'deactivated'
             WHEN event_name = 'UpdateAccessKey' AND lower(status) = 'active' THEN 'active' END AS change
    FROM (
        SELECT event_time, event_name,
            json_extract_scalar(record, '$.requestParameters.accessKeyId') AS key_id,
            json_extract_scalar(record, '$.requestParameters.status') AS status,
            json_extract_scalar(record, '$.requestParameters.userName') AS user_n,
            json_extract_scalar(record, '$.requestParameters.roleName') AS role_n,
            coalesce(json_extract_scalar(record, '$.requestParameters.policyDocument'),
                     json_format(json_extract(record, '$.requestParameters.policyDocument'))) AS doc
        FROM events
        WHERE event_source = 'iam.amazonaws.com' AND error_code IS NULL
          AND event_name IN ('UpdateAccessKey', 'DeleteAccessKey', 'DeleteUser', 'DeleteRole', 'PutRolePolicy', 'PutUserPolicy')
    )
),
ks_cand AS (    -- what may end each key: (what, name) to match in ks_ends, and from when
    SELECT w.*, m.expires_at, u.last_used, coalesce(w.created_at, u.first_used) AS since, c.what, c.name
    FROM ks_who w
    LEFT JOIN ks_used u ON u.access_key_id = w.access_key_id
    LEFT JOIN ks_minted m ON m.minted_key_id = w.access_key_id
    CROSS JOIN UNNEST(
        ARRAY['key', 'user', 'role', 'revoke-role', 'revoke-user'],
        ARRAY[w.access_key_id, w.user_name, w.role_name,
              CASE WHEN w.access_key_id LIKE 'ASIA%' THEN w.role_name END,
              CASE WHEN w.access_key_id LIKE 'ASIA%' THEN w.user_name END]) AS c(what, name)
),
ks_matched AS (
    SELECT c.access_key_id, c.parent_access_key_id, c.via, c.created_at, c.identity, c.user_name, c.role_name,
        c.expires_at, c.last_used, c.what, x.event_time, x.change,
        row_number() OVER (PARTITION BY c.access_key_id, c.what
            ORDER BY x.event_time DESC, CASE x.change WHEN 'deleted' THEN 2 WHEN 'deactivated' THEN 1 ELSE 0 END DESC) AS ks_n
    FROM ks_cand c
    LEFT JOIN ks_ends x ON x.what = c.what AND x.name = c.name
        AND CASE WHEN c.what = 'key' THEN x.change IS NOT NULL
                 ELSE c.since IS NULL OR x.event_time >= c.since END
),
ks_status AS (
    SELECT access_key_id, parent_access_key_id, via, created_at, identity, user_name, role_name, expires_at, last_used,
        max(CASE WHEN what = 'key' AND ks_n = 1 THEN change END) AS key_state,
        max(event_time) FILTER (WHERE what = 'key' AND change IS NOT NULL) AS key_state_at,
        min(event_time) FILTER (WHERE what = 'user') AS user_deleted_at,
        min(event_time) FILTER (WHERE what = 'role') AS role_deleted_at,
        min(event_time) FILTER (WHERE what IN ('revoke-role', 'revoke-user')) AS sessions_revoked_at
    FROM ks_matched
    GROUP BY access_key_id, parent_access_key_id, via, created_at, identity, user_name, role_name, expires_at, last_used
)
SELECT access_key_id,
    CASE WHEN access_key_id LIKE 'ASIA%' THEN 'session key' ELSE 'access key' END AS kind,
    via, identity, user_name, role_name, created_at, expires_at, last_used, key_state, key_state_at,
    user_deleted_at, role_deleted_at, sessions_revoked_at,
    CASE
        WHEN NOT access_key_id LIKE 'ASIA%' THEN
            CASE WHEN key_state = 'deleted' THEN 'deleted'
                 WHEN user_deleted_at IS NOT NULL THEN 'deleted with its user'
                 WHEN key_state = 'deactivated' THEN 'deactivated (it can be made active again until it is deleted)'
                 ELSE 'active, as far as the logs show' END
        WHEN role_deleted_at IS NOT NULL THEN 'ended: its role was deleted'
        WHEN user_deleted_at IS NOT NULL THEN 'ended: its user was deleted'
        WHEN sessions_revoked_at IS NOT NULL THEN
            'revoked: its ' || CASE identity WHEN 'role' THEN 'role' ELSE 'user' END || '''s older sessions are denied'
        WHEN identity = 'root' THEN 'works until it expires: a root user''s session key cannot be revoked'
        ELSE 'works until it expires, unless revoked'
    END AS status
FROM ks_status
ORDER BY via <> 'seed', created_at NULLS FIRST, access_key_id
