-- lineage_edges on Trino (the view queries/macros.sql defines for DuckDB, same rows): every
-- credential derivation the lake records, one row per (parent key -> child key). Created by
-- 'trailhound lake ddl' in the lake's schema, over its events view.
WITH
iam AS (
    SELECT event_time, event_name, access_key_id, minted_key_id, account,
        coalesce(f1, f2, user_name) AS "user", f3 AS role, f4 AS role_arn
    FROM (
        SELECT event_time, event_name, access_key_id, minted_key_id, user_name,
            coalesce(recipient_account_id, account_id) AS account,
            json_extract_scalar(record, '$.responseElements.user.userName') AS f1,
            json_extract_scalar(record, '$.requestParameters.userName') AS f2,
            json_extract_scalar(record, '$.requestParameters.roleName') AS f3,
            json_extract_scalar(record, '$.responseElements.role.arn') AS f4
        FROM events
        WHERE event_source = 'iam.amazonaws.com' AND error_code IS NULL AND access_key_id IS NOT NULL
          AND event_name IN ('CreateAccessKey', 'CreateUser', 'CreateLoginProfile', 'UpdateLoginProfile', 'CreateRole',
                             'UpdateAssumeRolePolicy')
    )
),
user_keys AS (
    SELECT user_name AS "user", min(coalesce(account_id, recipient_account_id)) AS account, access_key_id,
        min(event_time) AS first_seen, min(arn) AS arn,
        bool_or(access_key_id LIKE 'ASIA%' AND json_extract_scalar(record, '$.sessionCredentialFromConsole') = 'true') AS console
    FROM events
    WHERE identity_type = 'IAMUser' AND access_key_id IS NOT NULL
      AND user_name IN (SELECT "user" FROM iam WHERE event_name IN ('CreateUser', 'CreateLoginProfile', 'UpdateLoginProfile'))
    GROUP BY user_name, access_key_id
),
assumed AS (
    SELECT event_time, access_key_id, identity_type, arn, source_ip, account_id, minted_key_id, role_arn
    FROM events
    WHERE event_source = 'sts.amazonaws.com' AND event_name = 'AssumeRole' AND minted_key_id IS NOT NULL
      AND (role_arn IN (SELECT role_arn FROM iam WHERE event_name = 'CreateRole')
           OR element_at(split(role_arn, '/'), -1) IN (SELECT role FROM iam WHERE event_name = 'UpdateAssumeRolePolicy'))
),
role_sessions AS (
    SELECT r.access_key_id AS parent, r.event_name AS parent_call, r.role, a.*
    FROM iam r JOIN assumed a ON a.role_arn = r.role_arn AND a.event_time >= r.event_time
    WHERE r.event_name = 'CreateRole'
    UNION ALL
    SELECT r.access_key_id, r.event_name, r.role, a.*
    FROM iam r JOIN assumed a ON substr(a.role_arn, greatest(length(a.role_arn) - length(r.role), 1)) = '/' || r.role
        AND a.event_time >= r.event_time
        AND (split_part(a.role_arn, ':', 5) = r.account OR r.account IS NULL)
    WHERE r.event_name = 'UpdateAssumeRolePolicy'
)
SELECT access_key_id AS parent, minted_key_id AS child, event_name AS via, event_time AS created_at,
    CASE WHEN event_name = 'GetSessionToken' THEN arn END AS principal,
    false AS ambiguous, CAST(NULL AS varchar) AS opened_by, CAST(NULL AS varchar) AS role, CAST(NULL AS varchar) AS note
FROM events
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
        'ambiguous: console session of ' || u."user" || ', whose password the parent set (' || u.event_name ||
        ') but did not create; the user''s owner may sign in too' END
FROM iam u
JOIN user_keys k ON k."user" = u."user" AND k.first_seen >= u.event_time
    AND (k.account = u.account OR k.account IS NULL OR u.account IS NULL)
WHERE u.event_name = 'CreateUser' OR (u.event_name IN ('CreateLoginProfile', 'UpdateLoginProfile') AND k.console)
UNION ALL
SELECT parent, minted_key_id, 'AssumeRole', event_time, NULL, true, opened_by, role,
    'ambiguous: ' || opened_by || ' assumed role ' || role || ', which the parent ' ||
    CASE parent_call WHEN 'CreateRole' THEN 'created' ELSE 'made assumable' END || '; the session may not be the attacker''s'
FROM (SELECT *, coalesce(CASE WHEN identity_type = 'AWSService' THEN source_ip END, arn, 'account ' || account_id,
                         'another principal') AS opened_by
      FROM role_sessions)
