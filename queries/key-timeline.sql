-- name: key-timeline
-- description: Each access key of the lineage (without keys: each long-term AKIA key) from its first to its last use, with how it was obtained.
-- parameters: keys (the lineage of these access keys; none = the long-term keys of the whole store), from, to
-- chart: gantt start=first_seen end=last_seen label=access_key_id detail=via
WITH RECURSIVE
-- lineage closure: begin
-- Every successful call that minted a credential, created an IAM user or gave one a password (few rows).
minted AS (
    SELECT access_key_id AS parent,
           coalesce(record->>'$.responseElements.credentials.accessKeyId',
                    record->>'$.responseElements.accessKey.accessKeyId') AS child_key,
           CASE WHEN event_name = 'CreateUser' THEN record->>'$.responseElements.user.userName'
                WHEN event_name IN ('CreateLoginProfile', 'UpdateLoginProfile')
                    THEN record->>'$.requestParameters.userName' END AS child_user,
           event_name AS via,
           event_time AS created_at
    FROM events
    WHERE error_code IS NULL AND access_key_id IS NOT NULL
      AND event_name IN ('GetSessionToken', 'AssumeRole', 'GetFederationToken', 'CreateAccessKey',
                         'CreateUser', 'CreateLoginProfile', 'UpdateLoginProfile')
),
-- Keys that signed as a user the lineage created (any of its keys), or as a user it gave a password
-- (that user's console sessions after the password was set).
user_keys AS (
    SELECT m.parent, e.access_key_id AS child, 'user ' || m.child_user AS via, min(e.event_time) AS created_at
    FROM minted m
    JOIN events e ON e.user_name = m.child_user AND e.identity_type = 'IAMUser' AND e.access_key_id IS NOT NULL
    WHERE m.child_user IS NOT NULL
      AND (m.via = 'CreateUser'
           OR (e.event_time >= m.created_at AND (e.record->>'$.sessionCredentialFromConsole') = 'true'))
    GROUP BY ALL
),
edges AS (
    SELECT parent, child_key AS child, via, created_at FROM minted WHERE child_key IS NOT NULL
    UNION ALL
    SELECT parent, child, via, created_at FROM user_keys
),
lineage(access_key_id, parent_access_key_id, via, created_at) AS (
    SELECT k, NULL::VARCHAR, 'seed', NULL::TIMESTAMPTZ FROM unnest($keys::VARCHAR[]) AS s(k)
    UNION
    SELECT e.child, l.access_key_id, e.via, e.created_at
    FROM edges e JOIN lineage l ON e.parent = l.access_key_id
),
-- lineage closure: end
-- The first way each key was obtained (a key can be reached twice, e.g. created and then used as its user).
keys AS (
    SELECT DISTINCT ON (access_key_id) access_key_id, parent_access_key_id, via, created_at
    FROM lineage
    ORDER BY access_key_id, created_at NULLS FIRST, via
),
used AS (
    SELECT access_key_id,
           min(event_time) AS first_seen,
           max(event_time) AS last_seen,
           count(*) AS events,
           count(*) FILTER (WHERE error_code IS NOT NULL) AS failed
    FROM events
    WHERE event_time IS NOT NULL
      AND (len($keys::VARCHAR[]) = 0 AND access_key_id LIKE 'AKIA%' OR access_key_id IN (SELECT access_key_id FROM keys))
      AND ($from::TIMESTAMPTZ IS NULL OR event_time >= $from::TIMESTAMPTZ)
      AND ($to::TIMESTAMPTZ IS NULL OR event_time < $to::TIMESTAMPTZ)
    GROUP BY access_key_id
)
SELECT u.access_key_id,
       coalesce(k.via, 'long-term key') AS via,
       k.parent_access_key_id,
       k.created_at AS obtained_at,
       u.first_seen,
       u.last_seen,
       u.events,
       u.failed
FROM used u LEFT JOIN keys k USING (access_key_id)
ORDER BY u.first_seen, u.access_key_id;
