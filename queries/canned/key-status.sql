-- name: key-status
-- description: Each key of the lineage and whether it still works: deactivated or deleted, its user or role deleted, its sessions revoked, its expiry.
-- parameters: keys
-- chart: table
-- title: Can each key still be used? (key status)
-- pack: table 2
-- empty: no key of the lineage is in the store.
--
-- One row per key of lineage_of(keys) (queries/macros.sql). `identity` is what the key acts
-- as: an IAM user (`user`, named in `user_name`), a role (`role`, `role_name`), the account's
-- root user (`root`), or a federated user (`federated`: its permissions are those of the IAM
-- user whose key made it, `user_name`). What the store shows happening to the key, by anyone,
-- at any time after it was made (the whole store: no window):
--   * an access key (AKIA...): the last successful UpdateAccessKey (Active or Inactive) or
--     DeleteAccessKey of it (`key_state`, `key_state_at`), and DeleteUser of its user;
--   * a session key (ASIA...) cannot be deactivated or deleted: it works until it expires
--     (`expires_at`, from the call that made it: responseElements.credentials.expiration, NULL
--     when that call is not in the store), whatever happens to the key that made it, unless
--     what it acts as loses its permissions first: its role or user is deleted
--     (`role_deleted_at`, `user_deleted_at`), or an inline policy of the role or user denies
--     the sessions issued before a time (a PutRolePolicy or PutUserPolicy whose document names
--     aws:TokenIssueTime: the IAM console's "Revoke active sessions" on a role writes one,
--     AWSRevokeOlderSessions; `sessions_revoked_at` is the time of that call). A root user's
--     session keys cannot be revoked at all.
-- `status` says it in one phrase. What happened outside the store cannot count: check in IAM.
--
-- In the duckdb CLI (duckdb -readonly case.duckdb), paste the SELECT with $keys replaced by a
-- list, e.g. ['AKIAEXAMPLEKEY000001'], or prepare it:
--   PREPARE key_status AS <the SELECT below>;
--   EXECUTE key_status(keys := ['AKIAEXAMPLEKEY000001']);
WITH
lin AS MATERIALIZED (
    SELECT access_key_id, parent_access_key_id, via, created_at, principal
    FROM lineage_of($keys::VARCHAR[])
    WHERE access_key_id IS NOT NULL
),
who AS (        -- what each key acts as, from the ARN it acted as (a federated user: its maker's user)
    SELECT l.*,
        CASE WHEN l.principal LIKE 'arn:%:iam::%:root' THEN 'root'
             WHEN l.principal LIKE 'arn:%:iam::%:user/%' THEN 'user'
             WHEN l.principal LIKE 'arn:%:sts::%:assumed-role/%' THEN 'role'
             WHEN l.principal LIKE 'arn:%:sts::%:federated-user/%' THEN 'federated'
        END AS identity,
        CASE WHEN l.principal LIKE 'arn:%:iam::%:user/%' THEN split_part(l.principal, '/', -1)
             WHEN l.principal LIKE 'arn:%:sts::%:federated-user/%' AND p.principal LIKE 'arn:%:iam::%:user/%'
             THEN split_part(p.principal, '/', -1)
        END AS user_name,
        CASE WHEN l.principal LIKE 'arn:%:sts::%:assumed-role/%' THEN split_part(l.principal, '/', 2) END AS role_name
    FROM lin l
    LEFT JOIN lin p ON p.access_key_id = l.parent_access_key_id
),
used AS (       -- (unnest(list(...)): so that DuckDB hashes the keys, not event_rows)
    SELECT access_key_id, min(event_time) AS first_used, max(event_time) AS last_used
    FROM event_rows
    WHERE access_key_id IN (SELECT unnest(list(access_key_id)) FROM lin)
    GROUP BY ALL
),
minted AS (     -- when a session key expires, as the call that made it says (two spellings, or RFC 3339)
    SELECT minted_key_id, min(coalesce(
            timezone('UTC', try_strptime(e, ['%b %-d, %Y, %-I:%M:%S %p', '%b %-d, %Y %-I:%M:%S %p'])),
            try_cast(e AS TIMESTAMPTZ))) AS expires_at
    FROM (
        SELECT minted_key_id, json_extract_string(record, '$.responseElements.credentials.expiration') AS e
        FROM event_rows
        WHERE event_source = 'sts.amazonaws.com' AND error_code IS NULL
          AND minted_key_id IN (SELECT unnest(list(access_key_id)) FROM lin WHERE starts_with(access_key_id, 'ASIA'))
    )
    GROUP BY ALL
),
iam AS MATERIALIZED (   -- successful IAM calls that end a key, a user, a role, or sessions issued before a time
    SELECT event_time, event_name,
        json_extract_string(record, ['$.requestParameters.accessKeyId', '$.requestParameters.status',
                                     '$.requestParameters.userName', '$.requestParameters.roleName',
                                     '$.requestParameters.policyDocument']) AS f
    FROM event_rows
    WHERE event_source = 'iam.amazonaws.com' AND error_code IS NULL
      AND event_name IN ('UpdateAccessKey', 'DeleteAccessKey', 'DeleteUser', 'DeleteRole', 'PutRolePolicy', 'PutUserPolicy')
),
key_changes AS (
    SELECT f[1] AS access_key_id, event_time,
        CASE WHEN event_name = 'DeleteAccessKey' THEN 'deleted'
             WHEN lower(f[2]) = 'inactive' THEN 'deactivated'
             WHEN lower(f[2]) = 'active' THEN 'active' END AS change
    FROM iam
    WHERE event_name IN ('UpdateAccessKey', 'DeleteAccessKey')
),
revocations AS (        -- inline policies that deny sessions by their issue time
    SELECT event_time, CASE event_name WHEN 'PutRolePolicy' THEN 'role' ELSE 'user' END AS kind,
        CASE event_name WHEN 'PutRolePolicy' THEN f[4] ELSE f[3] END AS name
    FROM iam
    WHERE event_name IN ('PutRolePolicy', 'PutUserPolicy')
      AND contains(lower(f[5]), 'aws:tokenissuetime') AND contains(lower(f[5]), 'deny')
),
status AS (
    SELECT w.*, m.expires_at, u.last_used,
        -- the last change wins; at the same second, a deletion over a deactivation
        (SELECT arg_max(c.change, [epoch_us(c.event_time), CASE c.change WHEN 'deleted' THEN 2 WHEN 'deactivated' THEN 1 ELSE 0 END])
         FROM key_changes c
         WHERE c.access_key_id = w.access_key_id AND c.change IS NOT NULL) AS key_state,
        (SELECT max(c.event_time) FROM key_changes c
         WHERE c.access_key_id = w.access_key_id AND c.change IS NOT NULL) AS key_state_at,
        (SELECT min(i.event_time) FROM iam i
         WHERE i.event_name = 'DeleteUser' AND i.f[3] = w.user_name
           AND i.event_time >= coalesce(w.created_at, u.first_used, '-infinity'::TIMESTAMPTZ)) AS user_deleted_at,
        (SELECT min(i.event_time) FROM iam i
         WHERE i.event_name = 'DeleteRole' AND i.f[4] = w.role_name
           AND i.event_time >= coalesce(w.created_at, u.first_used, '-infinity'::TIMESTAMPTZ)) AS role_deleted_at,
        (SELECT min(r.event_time) FROM revocations r
         WHERE starts_with(w.access_key_id, 'ASIA')
           AND (r.kind = 'role' AND r.name = w.role_name OR r.kind = 'user' AND r.name = w.user_name)
           AND r.event_time >= coalesce(w.created_at, u.first_used, '-infinity'::TIMESTAMPTZ)) AS sessions_revoked_at
    FROM who w
    LEFT JOIN used u USING (access_key_id)
    LEFT JOIN minted m ON m.minted_key_id = w.access_key_id
)
SELECT access_key_id,
    CASE WHEN starts_with(access_key_id, 'ASIA') THEN 'session key' ELSE 'access key' END AS kind,
    via, identity, user_name, role_name, created_at, expires_at, last_used, key_state, key_state_at,
    user_deleted_at, role_deleted_at, sessions_revoked_at,
    CASE
        WHEN NOT starts_with(access_key_id, 'ASIA') THEN
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
FROM status
ORDER BY via <> 'seed', created_at NULLS FIRST, access_key_id;
