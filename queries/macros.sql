-- The view and macros the canned queries share (not a canned query). trailhound stores them
-- in the store on every read-write open, so the canned queries and an analyst at the duckdb
-- prompt can use them:
--
--     SELECT * FROM lineage_of(['AKIAEXAMPLEKEY000001']);
--     SELECT event_time, event_name FROM lineage_events(['AKIAEXAMPLEKEY000001'], NULL, NULL) ORDER BY ALL;
--
-- When a read-only store holds another trailhound's versions, trailhound defines its own as
-- TEMP views and macros on every connection. (Macros here never call other table macros:
-- DuckDB plans a table macro nested in another one much worse; views nest fine.)

-- lineage_edges: every credential derivation the store records, as one row per
-- (parent key -> child key). A child is
--   * a session key the parent minted (GetSessionToken, AssumeRole, GetFederationToken:
--     responseElements.credentials.accessKeyId),
--   * an access key the parent created (CreateAccessKey: responseElements.accessKey.accessKeyId),
--   * a key seen acting as a user the parent created (CreateUser), whether or not the store
--     shows how the key was made: the user's own access keys and its console sessions,
--   * a console session of a user whose password the parent set (CreateLoginProfile,
--     UpdateLoginProfile) when that user was not created by the parent: ambiguous, the
--     user's owner may sign in too,
--   * a session someone else (an AWS service such as ecs-tasks or ec2, another account)
--     opened in a role the parent created or made assumable (CreateRole,
--     UpdateAssumeRolePolicy): ambiguous, and `note` says so.
-- Only successful calls count. `ambiguous` marks the last two kinds; `opened_by` and
-- `role` say who opened a session in which role.
CREATE OR REPLACE VIEW lineage_edges AS
WITH
iam AS MATERIALIZED (   -- successful IAM calls, made with a key, that create a key, a user, a password or a role
    SELECT event_time, event_name, access_key_id, minted_key_id, account,
        coalesce(f[1], f[2], user_name) AS user, f[3] AS role, f[4] AS role_arn
    FROM (
        SELECT event_time, event_name, access_key_id, minted_key_id, user_name,
            coalesce(recipient_account_id, account_id) AS account,
            json_extract_string(record, ['$.responseElements.user.userName', '$.requestParameters.userName',
                                         '$.requestParameters.roleName', '$.responseElements.role.arn']) AS f
        FROM event_rows
        WHERE event_source = 'iam.amazonaws.com' AND error_code IS NULL AND access_key_id IS NOT NULL
          AND event_name IN ('CreateAccessKey', 'CreateUser', 'CreateLoginProfile', 'UpdateLoginProfile', 'CreateRole',
                             'UpdateAssumeRolePolicy')
    )
),
user_keys AS MATERIALIZED (     -- keys seen acting as a user those calls created or set a password for
    SELECT user_name AS user, coalesce(account_id, recipient_account_id) AS account, access_key_id,
        min(event_time) AS first_seen, min(arn) AS arn,
        bool_or(access_key_id LIKE 'ASIA%' AND json_extract_string(record, '$.sessionCredentialFromConsole') = 'true') AS console
    FROM event_rows
    WHERE identity_type = 'IAMUser' AND access_key_id IS NOT NULL
      AND user_name IN (SELECT user FROM iam WHERE event_name IN ('CreateUser', 'CreateLoginProfile', 'UpdateLoginProfile'))
    GROUP BY ALL
),
assumed AS (    -- sessions opened in a role of that name (AWS services assume roles all the time: filter first;
                -- a minted key means the call succeeded)
    SELECT event_time, access_key_id, identity_type, arn, source_ip, account_id, minted_key_id, role_arn
    FROM event_rows
    WHERE event_source = 'sts.amazonaws.com' AND event_name = 'AssumeRole' AND minted_key_id IS NOT NULL
      AND (role_arn IN (SELECT role_arn FROM iam WHERE event_name = 'CreateRole')
           OR split_part(role_arn, '/', -1) IN (SELECT role FROM iam WHERE event_name = 'UpdateAssumeRolePolicy'))
),
role_sessions AS (  -- sessions opened in a role a key created (matched on its ARN) or made assumable (on its name)
    SELECT r.access_key_id AS parent, r.event_name AS parent_call, r.role, a.*
    FROM iam r JOIN assumed a ON a.role_arn = r.role_arn AND a.event_time >= r.event_time
    WHERE r.event_name = 'CreateRole'
    UNION ALL
    SELECT r.access_key_id, r.event_name, r.role, a.*
    FROM iam r JOIN assumed a ON ends_with(a.role_arn, '/' || r.role) AND a.event_time >= r.event_time
        AND (split_part(a.role_arn, ':', 5) = r.account OR r.account IS NULL)
    WHERE r.event_name = 'UpdateAssumeRolePolicy'
)
SELECT access_key_id AS parent, minted_key_id AS child, event_name AS via, event_time AS created_at,
    CASE WHEN event_name = 'GetSessionToken' THEN arn END AS principal,
    false AS ambiguous, NULL::VARCHAR AS opened_by, NULL::VARCHAR AS role, NULL::VARCHAR AS note
FROM event_rows
WHERE event_source = 'sts.amazonaws.com' AND access_key_id IS NOT NULL AND minted_key_id IS NOT NULL
  AND event_name IN ('GetSessionToken', 'AssumeRole', 'GetFederationToken')
UNION ALL
SELECT access_key_id, minted_key_id, event_name, event_time, NULL, false, NULL, NULL, NULL
FROM iam
WHERE event_name = 'CreateAccessKey' AND minted_key_id IS NOT NULL
UNION ALL
SELECT u.access_key_id, k.access_key_id, CASE WHEN k.console THEN 'ConsoleLogin' ELSE 'CreateUser' END,
    k.first_seen, k.arn, u.event_name <> 'CreateUser', NULL, NULL,
    CASE WHEN u.event_name <> 'CreateUser' THEN
        'ambiguous: console session of ' || u.user || ', whose password the parent set (' || u.event_name ||
        ') but did not create; the user''s owner may sign in too' END
FROM iam u
JOIN user_keys k ON k.user = u.user AND k.first_seen >= u.event_time
    AND (k.account = u.account OR k.account IS NULL OR u.account IS NULL)
WHERE u.event_name = 'CreateUser' OR (u.event_name IN ('CreateLoginProfile', 'UpdateLoginProfile') AND k.console)
UNION ALL
SELECT parent, minted_key_id, 'AssumeRole', event_time, NULL, true, opened_by, role,
    'ambiguous: ' || opened_by || ' assumed role ' || role || ', which the parent ' ||
    CASE parent_call WHEN 'CreateRole' THEN 'created' ELSE 'made assumable' END || '; the session may not be the attacker''s'
FROM (SELECT *, coalesce(CASE WHEN identity_type = 'AWSService' THEN source_ip END, arn, 'account ' || account_id,
                         'another principal') AS opened_by
      FROM role_sessions);

-- lineage_of(keys): the closure of credentials derived from the access keys in the list
-- `keys` (the seeds), following lineage_edges recursively, each key once: a seed as
-- `seed`, any other key by its earliest unambiguous derivation (ambiguous ones only when
-- there is no other). Columns: access_key_id, parent_access_key_id, via (the event name,
-- or seed), created_at, principal (the ARN the key acted as, or would have), note.
-- Sessions that AWS services opened in a lineage role and that never signed an event in
-- the store are summed up in one row per parent, service and role, with access_key_id
-- NULL and the count in `note`. With an empty list: every derivation in the store.
CREATE OR REPLACE MACRO lineage_of(keys) AS TABLE
WITH
edges AS MATERIALIZED (SELECT * FROM lineage_edges),
walk AS (   -- (the recursion sits in a subquery: DuckDB then computes edges once, not once per step)
    SELECT * FROM (
        WITH RECURSIVE w(access_key_id, parent_access_key_id, via, created_at, principal, ambiguous,
                         opened_by, role, note, depth, path) AS (
            SELECT k, NULL::VARCHAR, 'seed', NULL::TIMESTAMPTZ, NULL::VARCHAR, false, NULL::VARCHAR,
                NULL::VARCHAR, NULL::VARCHAR, 0, [k]
            FROM (SELECT DISTINCT k FROM unnest(coalesce(keys, []::VARCHAR[])) AS s(k) WHERE k IS NOT NULL AND k <> '')
            UNION ALL
            SELECT e.child, e.parent, e.via, e.created_at, e.principal, e.ambiguous, e.opened_by, e.role,
                e.note, w.depth + 1, list_append(w.path, e.child)
            FROM w
            JOIN edges e ON e.parent = w.access_key_id
            WHERE NOT list_contains(w.path, e.child) AND w.depth < 64     -- no cycles
        )
        SELECT * FROM w
    )
    -- A second reference to edges: a CTE referenced once is inlined, and DuckDB would then
    -- compute edges again at every step of the recursion.
    WHERE (SELECT count(*) FROM edges) >= 0
),
found AS (
    SELECT * EXCLUDE (path) FROM walk
    UNION ALL
    SELECT child, parent, via, created_at, principal, ambiguous, opened_by, role, note, 1
    FROM edges
    WHERE len(coalesce(keys, []::VARCHAR[])) = 0
),
picked AS MATERIALIZED (
    SELECT * FROM found
    QUALIFY row_number() OVER (PARTITION BY access_key_id
        ORDER BY depth = 0 DESC, ambiguous, created_at NULLS LAST, depth, parent_access_key_id, via) = 1
),
used AS MATERIALIZED (   -- (unnest(list(...)): so that DuckDB hashes the keys, not event_rows)
    SELECT access_key_id, min(arn) AS arn, true AS seen
    FROM event_rows
    WHERE access_key_id IN (SELECT unnest(list(access_key_id)) FROM picked)
    GROUP BY ALL
),
minted AS (    -- what an unused key would have acted as, from the call that made it (few rows: parse them)
    SELECT minted_key_id, min(coalesce(f[1], f[2],
        'arn:aws:iam::' || coalesce(recipient_account_id, account_id) || ':user/' || f[3])) AS arn
    FROM (SELECT minted_key_id, recipient_account_id, account_id,
              json_extract_string(record, ['$.responseElements.assumedRoleUser.arn',
                  '$.responseElements.federatedUser.arn', '$.responseElements.accessKey.userName']) AS f
          FROM event_rows
          WHERE minted_key_id IN (SELECT p.access_key_id FROM picked p LEFT JOIN used u USING (access_key_id)
                                  WHERE u.seen IS NULL AND p.principal IS NULL AND p.opened_by IS NULL))
    GROUP BY ALL
)
SELECT p.access_key_id, p.parent_access_key_id, p.via, p.created_at, coalesce(u.arn, p.principal, m.arn) AS principal,
    p.note
FROM picked p
LEFT JOIN used u USING (access_key_id)
LEFT JOIN minted m ON m.minted_key_id = p.access_key_id
WHERE p.opened_by IS NULL OR u.seen
UNION ALL
SELECT NULL, p.parent_access_key_id, p.via, min(p.created_at), NULL,
    'ambiguous: ' || p.opened_by || ' opened ' ||
    CASE WHEN count(*) = 1
         THEN '1 session in role ' || p.role || ' at ' || strftime(min(p.created_at), '%Y-%m-%dT%H:%M:%SZ') ||
              '; its key signed no event in the store'
         ELSE count(*) || ' sessions in role ' || p.role || ' from ' || strftime(min(p.created_at), '%Y-%m-%dT%H:%M:%SZ') ||
              ' to ' || strftime(max(p.created_at), '%Y-%m-%dT%H:%M:%SZ') || '; none of their keys signed an event in the store'
    END
FROM picked p
LEFT JOIN used u USING (access_key_id)
WHERE p.opened_by IS NOT NULL AND u.seen IS NULL
GROUP BY p.parent_access_key_id, p.via, p.opened_by, p.role;

-- lineage_events(keys, t_from, t_to): the events in scope. With keys: the events signed by
-- a key of lineage_of(keys), and the key-less events (console sign-ins) of users the
-- lineage created or set a password for, from then on. With an empty list: every event.
-- t_from and t_to bound event_time to [t_from, t_to); NULL leaves that side open.
-- Columns: those of event_rows.
-- (The CTEs sit in a subquery: a materialized CTE at the top of a table macro stops DuckDB
-- from reading only the columns a caller uses.)
CREATE OR REPLACE MACRO lineage_events(keys, t_from, t_to) AS TABLE
SELECT *
FROM event_rows
WHERE len(coalesce(keys, []::VARCHAR[])) = 0
  AND (t_from IS NULL OR event_time >= t_from) AND (t_to IS NULL OR event_time < t_to)
UNION ALL
SELECT e.*
FROM event_rows e
SEMI JOIN (
    WITH
    edges AS MATERIALIZED (SELECT parent, child FROM lineage_edges WHERE len(coalesce(keys, []::VARCHAR[])) > 0),
    lk AS MATERIALIZED (    -- the keys of lineage_of(keys), walked the same way
        SELECT DISTINCT access_key_id FROM (
            WITH RECURSIVE w(access_key_id, depth, path) AS (
                SELECT k, 0, [k]
                FROM (SELECT DISTINCT k FROM unnest(coalesce(keys, []::VARCHAR[])) AS s(k) WHERE k IS NOT NULL AND k <> '')
                UNION ALL
                SELECT e.child, w.depth + 1, list_append(w.path, e.child)
                FROM w
                JOIN edges e ON e.parent = w.access_key_id
                WHERE NOT list_contains(w.path, e.child) AND w.depth < 64
            )
            SELECT access_key_id FROM w
        )
        -- A second reference to edges: a CTE referenced once is inlined, and DuckDB would
        -- then compute edges again at every step of the recursion.
        WHERE (SELECT count(*) FROM edges) >= 0
    ),
    scope AS (      -- the keys, and as 'user:NAME' the users whose key-less events count from `since`
        SELECT access_key_id AS k, '-infinity'::TIMESTAMPTZ AS since FROM lk
        UNION ALL
        SELECT 'user:' || coalesce(json_extract_string(record, '$.responseElements.user.userName'),
                                   json_extract_string(record, '$.requestParameters.userName'), user_name),
            min(event_time)
        FROM event_rows
        WHERE event_source = 'iam.amazonaws.com' AND error_code IS NULL
          AND event_name IN ('CreateUser', 'CreateLoginProfile', 'UpdateLoginProfile')
          AND access_key_id IN (SELECT access_key_id FROM lk)
        GROUP BY ALL
    )
    -- unnest(list(...)): so that DuckDB hashes these few rows, not event_rows
    SELECT unnest(list(k)) AS k, unnest(list(since)) AS since FROM scope
) s ON s.k = CASE WHEN e.access_key_id IS NOT NULL THEN e.access_key_id
                  WHEN e.identity_type = 'IAMUser' THEN 'user:' || e.user_name END
    AND coalesce(e.event_time, 'infinity'::TIMESTAMPTZ) >= s.since
WHERE (t_from IS NULL OR e.event_time >= t_from) AND (t_to IS NULL OR e.event_time < t_to);

-- utc_hour(t): the start of t's hour (what date_trunc('hour', t) gives in UTC, without the
-- time zone machinery, which is slow on millions of rows).
CREATE OR REPLACE MACRO utc_hour(t) AS make_timestamptz((epoch_us(t) // 3600000000) * 3600000000);

-- policy_only_denies(doc): true when doc is a valid IAM policy document (JSON text) whose
-- statements all have "Effect": "Deny".
CREATE OR REPLACE MACRO policy_only_denies(doc) AS
CASE WHEN doc IS NOT NULL AND json_valid(doc) THEN
    coalesce(
        CASE json_type(doc, '$.Statement')
            WHEN 'ARRAY' THEN json_array_length(doc, '$.Statement') > 0
                AND list_bool_and(list_transform(json_extract_string(doc, '$.Statement[*].Effect'), x -> x IS NOT DISTINCT FROM 'Deny'))
            WHEN 'OBJECT' THEN json_extract_string(doc, '$.Statement.Effect') = 'Deny'
        END, false)
    ELSE false
END;

-- aws_quarantine(event_source, event_name, record): the name of the compromised-key
-- quarantine policy AWS itself puts on a user (AttachUserPolicy of the managed
-- AWSCompromisedKeyQuarantine*, or PutUserPolicy of AWSCompromisedKeyQuarantine* or
-- AWSExposedCredentialPolicy_DO_NOT_REMOVE whose statements all deny), else NULL. AWS
-- records it under the compromised user, sometimes with the leaked key: it is never the
-- attacker's doing. An inline policy of that name that allows anything is not AWS's.
CREATE OR REPLACE MACRO aws_quarantine(event_source, event_name, record) AS
CASE WHEN event_source = 'iam.amazonaws.com' AND event_name IN ('AttachUserPolicy', 'PutUserPolicy') THEN
    CASE WHEN event_name = 'AttachUserPolicy'
              AND regexp_matches(json_extract_string(record, '$.requestParameters.policyArn'),
                                 '^arn:aws[a-z-]*:iam::aws:policy/AWSCompromisedKeyQuarantine(V[0-9]+)?$')
         THEN split_part(json_extract_string(record, '$.requestParameters.policyArn'), '/', -1)
         WHEN event_name = 'PutUserPolicy'
              AND regexp_matches(json_extract_string(record, '$.requestParameters.policyName'),
                                 '^(AWSCompromisedKeyQuarantine(V[0-9]+)?|AWSExposedCredentialPolicy_DO_NOT_REMOVE)$')
              AND policy_only_denies(json_extract_string(record, '$.requestParameters.policyDocument'))
         THEN json_extract_string(record, '$.requestParameters.policyName')
    END
END;

