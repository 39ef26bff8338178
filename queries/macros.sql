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
    -- (one row per user and key, whichever of its events name the account: a key is a console
    -- session if any of its events says so, so its `via` is the same however its events differ)
    SELECT user_name AS user, min(coalesce(account_id, recipient_account_id)) AS account, access_key_id,
        min(event_time) AS first_seen, min(arn) AS arn,
        bool_or(access_key_id LIKE 'ASIA%' AND json_extract_string(record, '$.sessionCredentialFromConsole') = 'true') AS console
    FROM event_rows
    WHERE identity_type = 'IAMUser' AND access_key_id IS NOT NULL
      AND user_name IN (SELECT user FROM iam WHERE event_name IN ('CreateUser', 'CreateLoginProfile', 'UpdateLoginProfile'))
    GROUP BY user_name, access_key_id
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


-- Who made a call: the key's holder, or AWS. CloudTrail records calls that AWS itself makes,
-- and calls an AWS service makes on a caller's behalf, under the caller's identity (its user,
-- its role session, even its access key), so the calls signed by a leaked key are not all the
-- key holder's. These macros are the one place that tells them apart; every query that names
-- source IP addresses or tools (summary, key-usage, credential-misuse, the evidence pack) uses
-- them. The rules come from CloudTrail's record contents and userIdentity documentation and
-- from real records (docs: cloudtrail-reference.md §1.2, §1.3, §1.4 and §4; ../shared/realdata):
--   * sourceIPAddress holds the caller's IP address, or, for a call an AWS service made, the
--     service's name (ec2.amazonaws.com, cloudformation.amazonaws.com, ...) or "AWS Internal"
--     ("aws.internal" in one sanitized sample); it is never an address of the key holder then;
--   * userIdentity.type AWSService: a service acting with its own credentials;
--   * userIdentity.invokedBy: the service that made the call on the principal's behalf (with a
--     service name as sourceIPAddress; when sourceIPAddress is an IP, e.g. signin.amazonaws.com
--     signing in a person, the address is still the person's);
--   * userAgent: AWS's own software is "AWS Internal", a service's or console's host name
--     (console.ec2.amazonaws.com, signin.amazonaws.com), the aws-internal/ SDK of the consoles
--     and of AWS's own actions ("[S3Console/0.4, aws-internal/3 aws-sdk-java/...]",
--     "EC2ConsoleFrontend, aws-internal/3 ..."), Coral/ (AWS's service framework), and the
--     consoles' own names ("AWS CloudWatch Console", "AWSConsole"). Such an agent is never the
--     attacker's tool, though the call's address may be the attacker's (a console session).
-- AWS's compromised-key quarantine (aws_quarantine below) comes from an Amazon IP address with
-- an aws-internal agent; queries leave it out of the key holder's activity on its own.

-- ip_address(s): true when s is an IPv4 or IPv6 address (not a service name, "AWS Internal", or
-- a placeholder such as "redacted" in a sanitized sample).
CREATE OR REPLACE MACRO ip_address(s) AS
coalesce(regexp_full_match(s, '[0-9]{1,3}(\.[0-9]{1,3}){3}')
         OR (contains(s, ':') AND regexp_full_match(s, '[0-9a-fA-F:.]+')), false);

-- agent_name(user_agent): the user agent without the square brackets S3 puts around it in its
-- own events: "[aws-cli/2.15.30 ...]" and "aws-cli/2.15.30 ..." are one tool.
CREATE OR REPLACE MACRO agent_name(ua) AS
CASE WHEN starts_with(ua, '[') AND ends_with(ua, ']') THEN trim(ua[2:-2]) ELSE ua END;

-- aws_agent(user_agent): true when the user agent is AWS's own software (see above). The
-- match is on the exact case AWS writes (lower() on millions of long user agents is slow).
CREATE OR REPLACE MACRO aws_agent(ua) AS
coalesce(contains(ua, 'aws-internal/')
         OR (ends_with(ua, '.amazonaws.com') AND NOT contains(ua, ' ') AND NOT contains(ua, '/'))
         OR ua IN ('AWS Internal', 'aws.internal', '[AWS Internal]', 'AWSConsole')
         OR starts_with(ua, 'Coral/')
         OR (starts_with(ua, 'AWS ') AND ends_with(ua, ' Console'))
         OR starts_with(ua, 'EC2Console'), false);

-- aws_origin(source_ip, user_agent, identity_type, invoked_by): the AWS service that made the
-- call (its name, or "AWS Internal"), or NULL when the call came from the caller itself. Pass
-- userIdentity.type and userIdentity.invokedBy; invoked_by counts only when the address is not
-- an IP address, so a caller may pass NULL for it when source_ip is one (saves parsing records).
CREATE OR REPLACE MACRO aws_origin(source_ip, user_agent, identity_type, invoked_by) AS
CASE
    WHEN identity_type = 'AWSService' THEN
        coalesce(CASE WHEN NOT ip_address(source_ip) THEN source_ip END, invoked_by, 'an AWS service')
    WHEN source_ip IN ('AWS Internal', 'aws.internal')
         OR (ends_with(source_ip, '.amazonaws.com') AND NOT contains(source_ip, ' ') AND NOT contains(source_ip, '/')) THEN source_ip
    WHEN invoked_by IS NOT NULL AND NOT ip_address(source_ip) THEN invoked_by
    WHEN source_ip IS NULL AND aws_agent(user_agent) THEN agent_name(user_agent)
END;

-- workload_agent(user_agent): the AWS runtime or agent that made a call from inside the workload
-- a session key was issued to, or NULL: the Lambda runtime (the SDKs add exec-env/AWS_Lambda_*
-- from AWS_EXECUTION_ENV), an ECS task (exec-env/AWS_ECS_EC2, exec-env/AWS_ECS_FARGATE), the SSM
-- agent that runs on EC2 instances (amazon-ssm-agent/...). Seen in ../shared/realdata (Panther,
-- Invictus). An attacker can copy a user agent; credential-misuse says so.
CREATE OR REPLACE MACRO workload_agent(ua) AS
CASE
    WHEN contains(ua, 'exec-env/AWS_Lambda_') THEN 'Lambda runtime'
    WHEN contains(ua, 'exec-env/AWS_ECS_') THEN 'ECS task runtime'
    WHEN contains(ua, 'amazon-ssm-agent') THEN 'SSM agent'
END;

-- service_sessions: the session keys an AWS service obtained for a workload, one row per
-- AssumeRole (a key's AssumeRole may be stored more than once): calls made by the service
-- itself (userIdentity.type AWSService): EC2 for an instance profile (the session is named
-- after the instance), Lambda for a function's execution role, ecs-tasks for a task role, and
-- every service-linked role. Columns: access_key_id, service (the service's name, from
-- sourceIPAddress or userAgent), role_arn, issued_at, issued_event (the AssumeRole's
-- event_id). Typed columns only, so that a join on access_key_id costs no JSON parsing.
CREATE OR REPLACE VIEW service_sessions AS
SELECT minted_key_id AS access_key_id,
    coalesce(CASE WHEN NOT ip_address(source_ip) THEN source_ip END,
             CASE WHEN ends_with(user_agent, '.amazonaws.com') THEN user_agent END, 'an AWS service') AS service,
    role_arn, event_time AS issued_at, event_id AS issued_event
FROM event_rows
WHERE event_source = 'sts.amazonaws.com' AND event_name = 'AssumeRole' AND minted_key_id IS NOT NULL
  AND identity_type = 'AWSService' AND error_code IS NULL;

-- creates_resource(event_source, event_name): true for the successful calls whose resources
-- left-running follows (instances, spot requests, key pairs, security groups, ECS clusters,
-- services and tasks, Lambda functions, Auto Scaling groups, IAM users, keys, passwords, roles).
CREATE OR REPLACE MACRO creates_resource(event_source, event_name) AS
   (event_source = 'ec2.amazonaws.com' AND event_name IN ('RunInstances', 'RequestSpotInstances',
        'CreateKeyPair', 'ImportKeyPair', 'CreateSecurityGroup'))
OR (event_source = 'ecs.amazonaws.com' AND event_name IN ('CreateCluster', 'CreateService', 'RunTask', 'StartTask'))
OR (event_source = 'lambda.amazonaws.com' AND event_name LIKE 'CreateFunction%')
OR (event_source = 'autoscaling.amazonaws.com' AND event_name = 'CreateAutoScalingGroup')
OR (event_source = 'iam.amazonaws.com' AND event_name IN ('CreateUser', 'CreateAccessKey', 'CreateLoginProfile', 'CreateRole'));

-- s3_object(record): the S3 object a data event names, as s3://bucket/key (requestParameters
-- bucketName and key, else the first AWS::S3::Object of resources), or NULL.
CREATE OR REPLACE MACRO s3_object(record) AS
coalesce('s3://' || json_extract_string(record, '$.requestParameters.bucketName') || '/' ||
             json_extract_string(record, '$.requestParameters.key'),
         's3://' || regexp_extract(list_filter(json_extract_string(record, '$.resources[*].ARN'),
                                               x -> x LIKE 'arn:%:s3:::%/%')[1], '^arn:[^:]*:s3:::(.*)$', 1));

-- exposure(event_source, event_name, record): what a call opened to the world or to another
-- account, as struct_pack(resource, exposed_to, what), or NULL when it opened nothing:
--   * PutBucketAcl, PutObjectAcl granting the groups AllUsers (anyone) or AuthenticatedUsers
--     (any AWS account): a canned ACL (x-amz-acl public-read, public-read-write,
--     authenticated-read), grant headers (x-amz-grant-read ...), or the grants of the
--     AccessControlPolicy body (requestParameters.AccessControlPolicy.AccessControlList.Grant);
--   * PutBucketPolicy whose Allow statements name Principal "*" (or {"AWS": "*"});
--   * DeleteBucketPublicAccessBlock / DeleteAccountPublicAccessBlock (the API's
--     DeletePublicAccessBlock), and PutBucketPublicAccessBlock / PutAccountPublicAccessBlock
--     (PutPublicAccessBlock) that turn any of the four blocks off;
--   * ModifySnapshotAttribute (createVolumePermission), ModifyImageAttribute (launchPermission),
--     ModifyDBSnapshotAttribute and ModifyDBClusterSnapshotAttribute (restore) that add an
--     account, or the group "all" (public).
-- Removing a grant opens nothing. `what` is one line: "made bucket X public (AllUsers READ)".
CREATE OR REPLACE MACRO exposure(event_source, event_name, record) AS
CASE
    WHEN event_source = 's3.amazonaws.com' AND event_name IN ('PutBucketAcl', 'PutObjectAcl') THEN
        list_transform([list_sort(list_distinct(list_filter(list_concat(
            CASE lower(coalesce(json_extract_string(record, '$.requestParameters."x-amz-acl"'),
                                json_extract_string(record, '$.requestParameters.accessControlList."x-amz-acl"'), ''))
                WHEN 'public-read' THEN ['AllUsers READ']
                WHEN 'public-read-write' THEN ['AllUsers READ', 'AllUsers WRITE']
                WHEN 'authenticated-read' THEN ['AuthenticatedUsers READ']
                ELSE []::VARCHAR[] END,
            list_transform([['x-amz-grant-read', 'READ'], ['x-amz-grant-write', 'WRITE'], ['x-amz-grant-read-acp', 'READ_ACP'],
                            ['x-amz-grant-write-acp', 'WRITE_ACP'], ['x-amz-grant-full-control', 'FULL_CONTROL']],
                h -> list_transform([coalesce(json_extract_string(record, '$.requestParameters."' || h[1] || '"'),
                                              json_extract_string(record, '$.requestParameters.accessControlList."' || h[1] || '"'), '')],
                         v -> CASE WHEN contains(v, '/groups/global/AllUsers') THEN 'AllUsers ' || h[2]
                                   WHEN contains(v, '/groups/global/AuthenticatedUsers') THEN 'AuthenticatedUsers ' || h[2] END)[1]),
            list_transform(
                CASE json_type(record, '$.requestParameters.AccessControlPolicy.AccessControlList.Grant')
                    WHEN 'ARRAY' THEN json_extract(record, '$.requestParameters.AccessControlPolicy.AccessControlList.Grant[*]')
                    WHEN 'OBJECT' THEN [json_extract(record, '$.requestParameters.AccessControlPolicy.AccessControlList.Grant')]
                    ELSE []::JSON[] END,
                x -> nullif(regexp_extract(json_extract_string(x, '$.Grantee.URI'), '/groups/global/(AllUsers|AuthenticatedUsers)$', 1), '')
                     || ' ' || coalesce(json_extract_string(x, '$.Permission'), '?'))),
            x -> x IS NOT NULL)))],
            g -> CASE WHEN len(g) > 0 THEN list_transform([
                     CASE event_name WHEN 'PutObjectAcl' THEN 'object ' || coalesce(s3_object(record), '?')
                          ELSE 'bucket ' || coalesce(json_extract_string(record, '$.requestParameters.bucketName'), '?') END],
                     obj -> struct_pack(resource := split_part(obj, ' ', 2), exposed_to := array_to_string(g, ', '),
                         what := CASE WHEN list_bool_or(list_transform(g, x -> starts_with(x, 'AllUsers')))
                                      THEN 'made ' || obj || ' public (' || array_to_string(g, ', ') || ')'
                                      ELSE 'opened ' || obj || ' to every AWS account (' || array_to_string(g, ', ') || ')' END))[1]
                 END)[1]
    WHEN event_source = 's3.amazonaws.com' AND event_name = 'PutBucketPolicy' THEN
        list_transform([list_transform([
            CASE json_type(record, '$.requestParameters.bucketPolicy')
                WHEN 'OBJECT' THEN json_extract(record, '$.requestParameters.bucketPolicy')
                WHEN 'VARCHAR' THEN CASE WHEN json_valid(json_extract_string(record, '$.requestParameters.bucketPolicy'))
                                         THEN json(json_extract_string(record, '$.requestParameters.bucketPolicy')) END
            END],
            pol -> list_filter(
                CASE json_type(pol, '$.Statement') WHEN 'ARRAY' THEN json_extract(pol, '$.Statement[*]')
                                                   WHEN 'OBJECT' THEN [json_extract(pol, '$.Statement')]
                                                   ELSE []::JSON[] END,
                st -> json_extract_string(st, '$.Effect') = 'Allow' AND (
                    json_extract_string(st, '$.Principal') = '*' OR json_extract_string(st, '$.Principal.AWS') = '*'
                    OR list_contains(coalesce(json_extract_string(st, '$.Principal.AWS[*]'), []), '*'))))[1]],
            pub -> CASE WHEN len(pub) > 0 THEN list_transform([coalesce(json_extract_string(record, '$.requestParameters.bucketName'), '?')],
                b -> struct_pack(resource := b, exposed_to := '*',
                    what := 'made bucket ' || b || ' public (its policy lets anyone, Principal "*", ' ||
                        array_to_string(list_sort(list_distinct(flatten(list_transform(pub, st ->
                            CASE json_type(st, '$.Action') WHEN 'ARRAY' THEN json_extract_string(st, '$.Action[*]')
                                 ELSE [coalesce(json_extract_string(st, '$.Action'), '?')] END)))), ' ') ||
                        CASE WHEN list_bool_or(list_transform(pub, st -> json_extract(st, '$.Condition') IS NOT NULL))
                             THEN ', with conditions' ELSE '' END || ')'))[1] END)[1]
    WHEN event_source = 's3.amazonaws.com' AND event_name IN ('DeleteBucketPublicAccessBlock', 'DeletePublicAccessBlock') THEN
        struct_pack(resource := json_extract_string(record, '$.requestParameters.bucketName'), exposed_to := 'public access possible',
            what := 'removed the public access block of bucket ' ||
                    coalesce(json_extract_string(record, '$.requestParameters.bucketName'), '?') ||
                    ' (its ACLs and policy may now make it public)')
    WHEN event_source = 's3.amazonaws.com' AND event_name = 'DeleteAccountPublicAccessBlock' THEN
        struct_pack(resource := 'account ' || coalesce(json_extract_string(record, '$.recipientAccountId'), '?'),
            exposed_to := 'public access possible',
            what := 'removed the account''s S3 public access block (bucket ACLs and policies may now make buckets public)')
    WHEN event_source = 's3.amazonaws.com' AND event_name IN ('PutBucketPublicAccessBlock', 'PutPublicAccessBlock',
                                                              'PutAccountPublicAccessBlock') THEN
        list_transform([list_filter(['BlockPublicAcls', 'IgnorePublicAcls', 'BlockPublicPolicy', 'RestrictPublicBuckets'],
                f -> lower(json_extract_string(record, '$.requestParameters.PublicAccessBlockConfiguration.' || f)) = 'false')],
            off -> CASE WHEN len(off) > 0 THEN list_transform([
                       CASE WHEN event_name = 'PutAccountPublicAccessBlock'
                            THEN 'account ' || coalesce(json_extract_string(record, '$.recipientAccountId'), '?')
                            ELSE 'bucket ' || coalesce(json_extract_string(record, '$.requestParameters.bucketName'), '?') END],
                       res -> struct_pack(resource := regexp_replace(res, '^bucket ', ''), exposed_to := 'public access possible',
                           what := 'turned off the public access block of ' || res || ' (' || array_to_string(off, ', ') || ' off)'))[1]
                   END)[1]
    WHEN (event_source = 'ec2.amazonaws.com' AND event_name IN ('ModifySnapshotAttribute', 'ModifyImageAttribute'))
      OR (event_source = 'rds.amazonaws.com' AND event_name IN ('ModifyDBSnapshotAttribute', 'ModifyDBClusterSnapshotAttribute')) THEN
        list_transform([list_sort(list_distinct(list_filter(list_concat(
                coalesce(json_extract_string(record, '$.requestParameters.createVolumePermission.add.items[*].userId'), []),
                coalesce(json_extract_string(record, '$.requestParameters.createVolumePermission.add.items[*].group'), []),
                coalesce(json_extract_string(record, '$.requestParameters.launchPermission.add.items[*].userId'), []),
                coalesce(json_extract_string(record, '$.requestParameters.launchPermission.add.items[*].group'), []),
                CASE WHEN coalesce(json_extract_string(record, '$.requestParameters.attributeName'), 'restore') = 'restore'
                     THEN coalesce(json_extract_string(record, '$.requestParameters.valuesToAdd[*]'), []) END),
                x -> x IS NOT NULL AND x <> '')))],
            who -> CASE WHEN len(who) > 0 THEN list_transform([
                       CASE event_name WHEN 'ModifySnapshotAttribute' THEN 'snapshot' WHEN 'ModifyImageAttribute' THEN 'image'
                                       WHEN 'ModifyDBSnapshotAttribute' THEN 'DB snapshot' ELSE 'DB cluster snapshot' END ||
                       ' ' || coalesce(json_extract_string(record, '$.requestParameters.snapshotId'),
                                       json_extract_string(record, '$.requestParameters.imageId'),
                                       json_extract_string(record, '$.requestParameters.dBSnapshotIdentifier'),
                                       json_extract_string(record, '$.requestParameters.dBClusterSnapshotIdentifier'), '?')],
                       res -> struct_pack(resource := regexp_extract(res, '([^ ]+)$', 1), exposed_to := array_to_string(who, ', '),
                           what := CASE WHEN list_contains(who, 'all') THEN 'made ' || res || ' public'
                                        ELSE 'shared ' || res || ' with account ' || array_to_string(who, ', ') END))[1]
                   END)[1]
END;

-- ---------------------------------------------------------------------------------------
-- What the compute cost: cost_spans and its helpers (queries cost, cost-per-hour, cost-total).

-- is_compute_launch(event_source, event_name): the calls whose success starts something
-- billed while it runs (or, for Lambda and Batch, something billed per use).
CREATE OR REPLACE MACRO is_compute_launch(src, name) AS
       (src = 'ec2.amazonaws.com' AND name IN ('RunInstances', 'CreateFleet', 'RequestSpotInstances', 'RunScheduledInstances'))
    OR (src = 'ecs.amazonaws.com' AND name IN ('RunTask', 'StartTask', 'CreateService'))
    OR (src = 'lambda.amazonaws.com' AND name LIKE 'CreateFunction%')
    OR (src = 'batch.amazonaws.com' AND name = 'SubmitJob')
    OR (src = 'sagemaker.amazonaws.com' AND name IN ('CreateNotebookInstance', 'CreateTrainingJob', 'CreateProcessingJob',
                                                     'CreateTransformJob'))
    OR (src = 'lightsail.amazonaws.com' AND name IN ('CreateInstances', 'CreateInstancesFromSnapshot'))
    OR (src = 'eks.amazonaws.com' AND name = 'CreateCluster');

-- json_list(j): a JSON array's elements, a single value as a list of one (CloudTrail writes
-- EC2's XML lists as either), NULL as NULL.
CREATE OR REPLACE MACRO json_list(j) AS
CASE json_type(j) WHEN 'ARRAY' THEN json_extract(j, '$[*]') WHEN 'NULL' THEN NULL ELSE [j::JSON] END;

-- ecs_vcpu(cpu), ecs_gb(memory): an ECS task's size as its API writes it ("1024" CPU units or
-- "1 vCPU"; "2048" MiB or "2 GB") in vCPU and GB (Fargate bills GB = 1024 MiB).
CREATE OR REPLACE MACRO ecs_vcpu(s) AS
CASE WHEN s ILIKE '%vcpu%' THEN try_cast(regexp_extract(s, '([0-9]+(\.[0-9]+)?)', 1) AS DOUBLE)
     ELSE try_cast(s AS DOUBLE) / 1024 END;
CREATE OR REPLACE MACRO ecs_gb(s) AS
CASE WHEN s ILIKE '%gb%' THEN try_cast(regexp_extract(s, '([0-9]+(\.[0-9]+)?)', 1) AS DOUBLE)
     ELSE try_cast(s AS DOUBLE) / 1024 END;

-- plain_number(x): x without trailing zeros (16, 0.25).
CREATE OR REPLACE MACRO plain_number(x) AS rtrim(rtrim(printf('%.3f', x), '0'), '.');

-- by_aws(user_agent, source_ip, identity_type): the call was made by AWS itself (an AWS-internal
-- agent, as AWS's compromised-key response signs, or an AWS service), not by a person. Narrower
-- than aws_agent: a console user's calls ("AWS Internal", AWSConsole) are a person's.
CREATE OR REPLACE MACRO by_aws(ua, ip, identity_type) AS
coalesce(starts_with(ua, 'aws-internal/') OR identity_type = 'AWSService', false);

-- cost_spans(launches, t_until, prices): what the successful launches among `launches` (a
-- list of {event_id, event_time}) ran, one row per running span, priced. (The launches and
-- the events after the first of them that end things are read in one scan: reading records
-- is what costs.)
-- A resource runs from its launch (RunInstances' instancesSet and launchTime, CreateFleet's
-- instant instances, RunScheduledInstances, a spot request, RunTask/StartTask Fargate tasks
-- with their cpu and memory, CreateService's desiredCount tasks sized by their task
-- definition, SageMaker notebooks and jobs, Lightsail instances, EKS clusters) to the first
-- event, by anyone anywhere in the store, that ended it: TerminateInstances, StopInstances (a
-- later StartInstances starts a new span), a spot interruption (BidEvictedEvent), StopTask,
-- an UpdateService desiredCount (the service's task slots) or DeleteService, DeleteCluster
-- (its tasks: inferred), the notebook/job/Lightsail/EKS stop or delete calls; else until
-- t_until (NULL: the last event in the store). An end that no event shows (a task that
-- exits, an instance shut down from inside) is unknown: such spans end at t_until (or a
-- job's MaxRuntimeInSeconds) with the one-minute minimum as their low end, and say so in
-- span_basis. Lambda functions and Batch jobs bill per use, which management events do
-- not show: one row each, unpriced.
-- prices is a JSON array of {service, region, item, market, unit, usd, source, rank}
-- (unit hour, vcpu-hour or gb-hour; lowest rank wins), or NULL for trailhound's own table
-- (the view price_table): a region's own price, else us-east-1's (price_basis says
-- `estimated (us-east-1 rate)`); spot and FARGATE_SPOT at the on-demand rate as an upper
-- bound unless a spot price is given; no price: usd NULL. Fargate bills per second with a
-- one-minute minimum.
CREATE OR REPLACE MACRO cost_spans(launches, t_until, prices) AS TABLE
SELECT * FROM (
WITH
lim AS MATERIALIZED (
    SELECT coalesce(t_until::TIMESTAMPTZ, (SELECT max(event_time) FROM event_rows)) AS until,
        (SELECT min(l.event_time) FROM (SELECT unnest(launches) AS l)) AS first_launch
),
compute AS MATERIALIZED ( -- one scan of the store for the launches and for every event that can end something
    SELECT event_id, event_time, aws_region, event_source, event_name, access_key_id, user_agent, source_ip, identity_type, record
    FROM event_rows
    WHERE error_code IS NULL AND event_time <= (SELECT until FROM lim) AND event_time >= (SELECT first_launch FROM lim) AND (
           is_compute_launch(event_source, event_name)
        OR (event_source = 'ec2.amazonaws.com' AND event_name IN ('TerminateInstances', 'StopInstances', 'StartInstances', 'BidEvictedEvent'))
        OR (event_source = 'ecs.amazonaws.com' AND event_name IN ('StopTask', 'DeleteCluster', 'DeleteService', 'UpdateService'))
        OR (event_source = 'sagemaker.amazonaws.com' AND event_name IN ('StopNotebookInstance', 'StartNotebookInstance',
                'DeleteNotebookInstance', 'StopTrainingJob', 'StopProcessingJob', 'StopTransformJob'))
        OR (event_source = 'lightsail.amazonaws.com' AND event_name IN ('DeleteInstance', 'StopInstance', 'StartInstance'))
        OR (event_source = 'eks.amazonaws.com' AND event_name = 'DeleteCluster'))
),
launch AS MATERIALIZED (   -- the successful launches among `launches` (one record per eventID)
    SELECT event_id, event_time, aws_region AS region, event_source, event_name, access_key_id, record
    FROM compute
    WHERE event_id IN (SELECT l.event_id FROM (SELECT unnest(launches) AS l)) AND is_compute_launch(event_source, event_name)
      AND event_time < (SELECT until FROM lim)
    QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY record) = 1
),
stops AS (SELECT * FROM compute WHERE NOT is_compute_launch(event_source, event_name)),
taskdefs AS MATERIALIZED ( -- task definitions registered in the store (for a service's task size)
    SELECT aws_region AS region, event_time AS ts, f[1] AS arn, split_part(split_part(f[1], '/', -1), ':', 1) AS family,
        coalesce(f[2], f[4]) AS cpu, coalesce(f[3], f[5]) AS memory, coalesce(f[6], f[7]) AS arch
    FROM (SELECT aws_region, event_time, json_extract_string(record, [
              '$.responseElements.taskDefinition.taskDefinitionArn', '$.responseElements.taskDefinition.cpu',
              '$.responseElements.taskDefinition.memory', '$.requestParameters.cpu', '$.requestParameters.memory',
              '$.responseElements.taskDefinition.runtimePlatform.cpuArchitecture',
              '$.requestParameters.runtimePlatform.cpuArchitecture']) AS f
          FROM event_rows    -- (registered before the first launch, often)
          WHERE event_source = 'ecs.amazonaws.com' AND event_name = 'RegisterTaskDefinition' AND error_code IS NULL)
),
ec2_items AS (  -- RunInstances' instances, an instant fleet's, scheduled ones, spot requests
    SELECT l.*, 'run' AS how, it, NULL::JSON AS fi FROM launch l, unnest(json_extract(l.record, '$.responseElements.instancesSet.items[*]')) AS t(it)
    WHERE l.event_name = 'RunInstances'
    UNION ALL
    SELECT l.* EXCLUDE (fi), 'fleet', iid, fi FROM (
        SELECT l.*, fi FROM launch l,
            unnest(json_list(json_extract(l.record, '$.responseElements.CreateFleetResponse.fleetInstanceSet.item'))) AS f(fi)
        WHERE l.event_name = 'CreateFleet') l, unnest(json_list(json_extract(fi, '$.instanceIds.item'))) AS i(iid)
    UNION ALL
    SELECT l.*, 'scheduled', it, NULL FROM launch l, unnest(json_list(json_extract(l.record, '$.responseElements.instanceIdSet.items'))) AS t(it)
    WHERE l.event_name = 'RunScheduledInstances'
    UNION ALL
    SELECT l.*, 'spot', it, NULL FROM launch l, unnest(json_extract(l.record, '$.responseElements.spotInstanceRequestSet.items[*]')) AS t(it)
    WHERE l.event_name = 'RequestSpotInstances'
),
ec2_res AS (
    SELECT region, 'ec2' AS service, CASE WHEN how = 'spot' AND iid IS NULL THEN 'spot-request' ELSE 'instance' END AS kind,
        coalesce(iid, rid) AS name, coalesce(iid, rid) AS resource_id, itype AS item,
        CASE WHEN how = 'spot' OR lifecycle = 'spot' OR req_market = 'spot' THEN 'spot' ELSE 'on-demand' END AS market,
        'hour' AS billing, vcpu, NULL::DOUBLE AS gb,
        coalesce(CASE WHEN abs(launch_ms * 1000 - epoch_us(event_time)) < 86400000000 THEN make_timestamptz(launch_ms * 1000) END,
                 event_time) AS start_at,
        NULL::VARCHAR AS cluster, NULL::TIMESTAMPTZ AS cap_at,
        CASE WHEN how = 'spot' AND iid IS NULL THEN 'spot request: its fulfilment is not logged' END AS note,
        access_key_id AS launched_by, event_id AS launch_event
    FROM (
        SELECT *,
            CASE how WHEN 'fleet' THEN json_extract_string(it, '$')
                     WHEN 'scheduled' THEN CASE WHEN json_type(it) = 'OBJECT' THEN json_extract_string(it, '$.instanceId')
                                                ELSE json_extract_string(it, '$') END
                     ELSE json_extract_string(it, '$.instanceId') END AS iid,
            CASE WHEN how = 'spot' THEN json_extract_string(it, '$.spotInstanceRequestId') END AS rid,
            CASE how WHEN 'fleet' THEN json_extract_string(fi, '$.instanceType')
                     WHEN 'run' THEN coalesce(json_extract_string(it, '$.instanceType'), json_extract_string(record, '$.requestParameters.instanceType'))
                     WHEN 'spot' THEN coalesce(json_extract_string(it, '$.launchSpecification.instanceType'),
                                               json_extract_string(record, '$.requestParameters.launchSpecification.instanceType'))
                     ELSE json_extract_string(record, '$.requestParameters.launchSpecification.instanceType') END AS itype,
            CASE how WHEN 'fleet' THEN json_extract_string(fi, '$.lifecycle') ELSE json_extract_string(it, '$.instanceLifecycle') END AS lifecycle,
            json_extract_string(record, '$.requestParameters.instanceMarketOptions.marketType') AS req_market,
            CASE WHEN how = 'run' THEN try_cast(json_extract_string(it, '$.cpuOptions.coreCount') AS DOUBLE)
                * coalesce(try_cast(json_extract_string(it, '$.cpuOptions.threadsPerCore') AS DOUBLE), 1) END AS vcpu,
            CASE WHEN how = 'run' THEN try_cast(json_extract_string(it, '$.launchTime') AS BIGINT) END AS launch_ms
        FROM ec2_items)
),
task_res AS (   -- Fargate tasks (tasks on EC2 capacity cost what their instances cost)
    SELECT region, 'fargate' AS service, 'task' AS kind, split_part(arn, '/', -1) AS name, arn AS resource_id,
        CASE WHEN arch = 'arm64' THEN 'linux-arm64' ELSE 'linux-x86_64' END AS item,
        CASE WHEN cp = 'FARGATE_SPOT' THEN 'spot' ELSE 'on-demand' END AS market, 'fargate' AS billing,
        ecs_vcpu(cpu) AS vcpu, ecs_gb(mem) AS gb, event_time AS start_at, cluster, NULL::TIMESTAMPTZ AS cap_at, NULL::VARCHAR AS note,
        access_key_id AS launched_by, event_id AS launch_event
    FROM (
        SELECT region, event_time, access_key_id, event_id,
            json_extract_string(tk, '$.taskArn') AS arn,
            coalesce(json_extract_string(tk, '$.cpu'), json_extract_string(record, '$.requestParameters.overrides.cpu')) AS cpu,
            coalesce(json_extract_string(tk, '$.memory'), json_extract_string(record, '$.requestParameters.overrides.memory')) AS mem,
            coalesce(json_extract_string(tk, '$.launchType'), json_extract_string(record, '$.requestParameters.launchType')) AS lt,
            coalesce(json_extract_string(tk, '$.capacityProviderName'),
                     json_extract_string(record, '$.requestParameters.capacityProviderStrategy[0].capacityProvider')) AS cp,
            CASE WHEN list_contains(list_transform(json_extract_string(tk, '$.attributes[*].value'), v -> lower(v)), 'arm64')
                 THEN 'arm64' END AS arch,
            split_part(coalesce(json_extract_string(tk, '$.clusterArn'), json_extract_string(record, '$.requestParameters.cluster'),
                                'default'), '/', -1) AS cluster
        FROM launch l, unnest(json_extract(l.record, '$.responseElements.tasks[*]')) AS t(tk)
        WHERE l.event_name IN ('RunTask', 'StartTask'))
    WHERE lt = 'FARGATE' OR cp IN ('FARGATE', 'FARGATE_SPOT') OR (lt IS NULL AND cp IS NULL)
),
other_res AS (  -- SageMaker notebooks and jobs (one resource per instance), Lightsail, EKS, Lambda, Batch
    SELECT region, service, kind, name, CASE WHEN n > 1 THEN name || '#' || (i + 1) ELSE name END AS resource_id, item,
        'on-demand' AS market, billing, NULL::DOUBLE AS vcpu, NULL::DOUBLE AS gb, event_time AS start_at, NULL::VARCHAR AS cluster,
        CASE WHEN kind IN ('training-job', 'processing-job') THEN event_time + to_seconds(coalesce(maxrt, 86400)) END AS cap_at,
        note, access_key_id AS launched_by, event_id AS launch_event
    FROM (
        SELECT region, event_time, access_key_id, event_id, split_part(event_source, '.', 1) AS service,
            CASE event_name WHEN 'CreateNotebookInstance' THEN 'notebook' WHEN 'CreateTrainingJob' THEN 'training-job'
                 WHEN 'CreateProcessingJob' THEN 'processing-job' WHEN 'CreateTransformJob' THEN 'transform-job'
                 WHEN 'SubmitJob' THEN 'batch-job' WHEN 'CreateCluster' THEN 'eks-cluster'
                 ELSE CASE WHEN event_source = 'lightsail.amazonaws.com' THEN 'lightsail-instance' ELSE 'function' END END AS kind,
            CASE WHEN event_source = 'lightsail.amazonaws.com' THEN lname
                 ELSE coalesce(f[1], f[2], f[3], f[4], f[13], f[14], f[15], f[16], f[17]) END AS name,
            CASE WHEN event_source = 'sagemaker.amazonaws.com' THEN coalesce(f[5], f[6], f[7], f[8])
                 WHEN event_source = 'lightsail.amazonaws.com' THEN f[18]
                 WHEN event_source = 'eks.amazonaws.com' THEN 'cluster'
                 WHEN event_source = 'lambda.amazonaws.com' THEN coalesce(f[19] || ' MB', 'function')
                 ELSE 'job' END AS item,
            CASE WHEN event_source IN ('lambda.amazonaws.com', 'batch.amazonaws.com') THEN 'none' ELSE 'hour' END AS billing,
            CASE WHEN event_source = 'lambda.amazonaws.com'
                     THEN 'billed per request and GB-second of its invocations, which management events do not show'
                 WHEN event_source = 'batch.amazonaws.com'
                     THEN 'runs on its compute environment (EC2 or Fargate capacity that AWS Batch launches; see it without --key)'
            END AS note,
            greatest(coalesce(try_cast(coalesce(f[9], f[10], f[11], f[20]) AS BIGINT), 1), 1) AS n,
            try_cast(f[12] AS BIGINT) AS maxrt
        FROM (SELECT *, json_extract_string(record, ['$.requestParameters.notebookInstanceName', '$.requestParameters.trainingJobName',
                    '$.requestParameters.processingJobName', '$.requestParameters.transformJobName', '$.requestParameters.instanceType',
                    '$.requestParameters.resourceConfig.instanceType', '$.requestParameters.processingResources.clusterConfig.instanceType',
                    '$.requestParameters.transformResources.instanceType', '$.requestParameters.resourceConfig.instanceCount',
                    '$.requestParameters.processingResources.clusterConfig.instanceCount',
                    '$.requestParameters.transformResources.instanceCount', '$.requestParameters.stoppingCondition.maxRuntimeInSeconds',
                    '$.requestParameters.name', '$.responseElements.functionName', '$.requestParameters.functionName',
                    '$.responseElements.jobId', '$.requestParameters.jobName', '$.requestParameters.bundleId',
                    '$.requestParameters.memorySize', '$.requestParameters.arrayProperties.size']) AS f,
                  CASE WHEN event_source = 'lightsail.amazonaws.com' THEN json_extract_string(record, '$.requestParameters.instanceNames[*]')
                       ELSE [NULL::VARCHAR] END AS lnames
              FROM launch
              WHERE event_source IN ('sagemaker.amazonaws.com', 'lightsail.amazonaws.com', 'eks.amazonaws.com', 'lambda.amazonaws.com',
                                     'batch.amazonaws.com')) x, unnest(lnames) AS ln(lname)
    ), unnest(range(least(n, 10000))) AS r(i)
),
res AS MATERIALIZED (  -- each resource once (the same instance can be in two launch records)
    SELECT *, region || '|' || kind || '|' || resource_id AS rkey
    FROM (SELECT * FROM ec2_res UNION ALL SELECT * FROM task_res UNION ALL SELECT * FROM other_res)
    WHERE resource_id IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY region, kind, resource_id ORDER BY start_at, launch_event) = 1
),
services AS MATERIALIZED (  -- CreateService: desiredCount Fargate tasks, sized by the task definition
    SELECT s.*, td.cpu, td.memory, td.arch FROM (
        SELECT region, event_time AS start_at, access_key_id AS launched_by, event_id AS launch_event,
            split_part(coalesce(f[1], f[2], 'default'), '/', -1) AS cluster, coalesce(f[3], split_part(f[4], '/', -1)) AS svc,
            coalesce(f[5], f[6]) AS arn, greatest(coalesce(try_cast(coalesce(f[7], f[8]) AS BIGINT), 0), 0) AS desired,
            coalesce(f[9], f[10]) AS taskdef, coalesce(f[11], f[12]) AS lt, coalesce(f[13], f[14]) AS cp
        FROM (SELECT *, json_extract_string(record, [
            '$.responseElements.service.clusterArn', '$.requestParameters.cluster', '$.responseElements.service.serviceName',
            '$.requestParameters.serviceName', '$.responseElements.service.serviceArn', '$.requestParameters.serviceName',
            '$.responseElements.service.desiredCount', '$.requestParameters.desiredCount', '$.responseElements.service.taskDefinition',
            '$.requestParameters.taskDefinition', '$.responseElements.service.launchType', '$.requestParameters.launchType',
            '$.responseElements.service.capacityProviderStrategy[0].capacityProvider',
            '$.requestParameters.capacityProviderStrategy[0].capacityProvider']) AS f
            FROM launch WHERE event_name = 'CreateService')
    ) s
    LEFT JOIN taskdefs td ON td.region = s.region AND td.ts <= s.start_at
        AND (td.arn = s.taskdef OR (NOT starts_with(s.taskdef, 'arn:') AND td.family = split_part(s.taskdef, ':', 1)))
    WHERE (s.lt = 'FARGATE' OR s.cp IN ('FARGATE', 'FARGATE_SPOT') OR (s.lt IS NULL AND s.cp IS NULL)) AND s.svc IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY s.launch_event ORDER BY td.arn = s.taskdef DESC NULLS LAST, td.ts DESC NULLS LAST) = 1
),
ends AS MATERIALIZED (   -- what stops, ends or restarts something: region, kind, name, ts, state, how, inferred, n
    SELECT aws_region AS region, kind, name, event_time AS ts, state, how, inferred, n
    FROM (
        SELECT aws_region, event_time, 'instance' AS kind, id AS name,
            CASE event_name WHEN 'StartInstances' THEN 'running' WHEN 'StopInstances' THEN 'stopped' ELSE 'ended' END AS state,
            CASE WHEN event_name = 'BidEvictedEvent' THEN 'BidEvictedEvent (spot interruption)'
                 WHEN by_aws(user_agent, source_ip, identity_type) THEN event_name || ' by AWS (quarantine)'
                 ELSE event_name END AS how,
            false AS inferred, NULL::BIGINT AS n
        FROM (SELECT * FROM stops WHERE event_source = 'ec2.amazonaws.com') e,
            unnest(CASE WHEN event_name = 'BidEvictedEvent'
                THEN list_transform(json_list(json_extract(record, '$.serviceEventDetails.instanceIdSet')),
                         x -> CASE WHEN json_type(x) = 'OBJECT' THEN json_extract_string(x, '$.instanceId') ELSE json_extract_string(x, '$') END)
                ELSE json_extract_string(record, '$.requestParameters.instancesSet.items[*].instanceId') END) AS t(id)
        UNION ALL
        SELECT aws_region, event_time,
            CASE WHEN event_name = 'StopTask' THEN 'task' WHEN event_name = 'DeleteCluster' THEN 'ecs-cluster' ELSE 'service' END,
            CASE WHEN event_name = 'StopTask' THEN split_part(f[2], '/', -1)
                 WHEN event_name = 'DeleteCluster' THEN split_part(f[1], '/', -1)
                 ELSE split_part(coalesce(f[1], 'default'), '/', -1) || '/' || split_part(f[3], '/', -1) END,
            CASE WHEN event_name = 'UpdateService' THEN 'running' ELSE 'ended' END,
            CASE WHEN event_name = 'UpdateService' THEN 'UpdateService desiredCount ' || coalesce(f[4], f[5]) ELSE event_name END,
            event_name = 'DeleteCluster',
            CASE WHEN event_name = 'UpdateService' THEN try_cast(coalesce(f[4], f[5]) AS BIGINT) END
        FROM (SELECT *, json_extract_string(record, ['$.requestParameters.cluster', '$.requestParameters.task',
                  '$.requestParameters.service', '$.requestParameters.desiredCount', '$.responseElements.service.desiredCount']) AS f
              FROM stops WHERE event_source = 'ecs.amazonaws.com')
        WHERE event_name <> 'UpdateService' OR try_cast(coalesce(f[4], f[5]) AS BIGINT) IS NOT NULL
        UNION ALL
        SELECT aws_region, event_time, kind, name, state, event_name, false, NULL
        FROM (SELECT *, CASE
                  WHEN event_name LIKE '%NotebookInstance' THEN 'notebook' WHEN event_name = 'StopTrainingJob' THEN 'training-job'
                  WHEN event_name = 'StopProcessingJob' THEN 'processing-job' WHEN event_name = 'StopTransformJob' THEN 'transform-job'
                  WHEN event_source = 'lightsail.amazonaws.com' THEN 'lightsail-instance' ELSE 'eks-cluster' END AS kind,
                  CASE WHEN event_name LIKE 'Start%' THEN 'running' WHEN event_name IN ('StopNotebookInstance', 'StopInstance')
                       THEN 'stopped' ELSE 'ended' END AS state,
                  coalesce(json_extract_string(record, '$.requestParameters.notebookInstanceName'),
                           json_extract_string(record, '$.requestParameters.trainingJobName'),
                           json_extract_string(record, '$.requestParameters.processingJobName'),
                           json_extract_string(record, '$.requestParameters.transformJobName'),
                           json_extract_string(record, '$.requestParameters.instanceName'),
                           json_extract_string(record, '$.requestParameters.name')) AS name
              FROM stops WHERE event_source IN ('sagemaker.amazonaws.com', 'lightsail.amazonaws.com', 'eks.amazonaws.com'))
    )
),
ev AS (         -- each resource's launch and what followed it, in order
    SELECT rkey, start_at AS ts, 0 AS ord, 'running' AS state, NULL AS how, false AS inferred FROM res WHERE billing <> 'none'
    UNION ALL
    SELECT r.rkey, e.ts, 1, e.state, e.how, e.inferred
    FROM res r JOIN ends e ON e.region = r.region AND e.kind = r.kind AND e.name = r.name AND e.ts >= r.start_at
    UNION ALL   -- deleting its cluster ends a task (inferred: the task's own end is not logged)
    SELECT r.rkey, e.ts, 1, 'ended', 'DeleteCluster', true
    FROM res r JOIN ends e ON r.kind = 'task' AND e.kind = 'ecs-cluster' AND e.region = r.region AND e.name = r.cluster AND e.ts >= r.start_at
),
flow AS (       -- nothing after the first end
    SELECT *, lag(state) OVER (PARTITION BY rkey ORDER BY ts, ord) AS prev
    FROM (SELECT *, min(ts) FILTER (WHERE state = 'ended') OVER (PARTITION BY rkey) AS ended_at FROM ev)
    WHERE ended_at IS NULL OR ts <= ended_at
),
turns AS (      -- where it starts or stops running
    SELECT *, lead(ts) OVER w AS next_at, lead(how) OVER w AS next_how, lead(inferred) OVER w AS next_inferred
    FROM flow WHERE prev IS NULL OR (state = 'running') <> (prev = 'running')
    WINDOW w AS (PARTITION BY rkey ORDER BY ts, ord)
),
svc_ev AS (     -- a service's desiredCount over time; deleting it or its cluster sets 0 for good
    SELECT s.launch_event, s.start_at AS ts, 0 AS ord, s.desired AS n, NULL AS how, false AS inferred, false AS final FROM services s
    UNION ALL
    SELECT s.launch_event, e.ts, 1, CASE WHEN e.state = 'ended' THEN 0 ELSE greatest(e.n, 0) END, e.how, e.inferred,
        e.state = 'ended'
    FROM services s JOIN ends e ON e.region = s.region AND e.ts >= s.start_at
        AND ((e.kind = 'service' AND e.name = s.cluster || '/' || s.svc) OR (e.kind = 'ecs-cluster' AND e.name = s.cluster))
),
svc_seg AS (    -- segments of constant desiredCount
    SELECT *, lead(ts) OVER w AS seg_end, lead(how) OVER w AS end_how, lead(inferred) OVER w AS end_inferred,
        row_number() OVER w AS seg
    FROM (SELECT *, min(ts) FILTER (WHERE final) OVER (PARTITION BY launch_event) AS final_at FROM svc_ev)
    WHERE (final_at IS NULL OR ts <= final_at) AND n IS NOT NULL
    WINDOW w AS (PARTITION BY launch_event ORDER BY ts, ord)
),
svc_slots AS (  -- task slot k runs while desiredCount > k
    SELECT launch_event, slot, min(ts) AS span_start,
        CASE WHEN bool_or(seg_end IS NULL) THEN NULL ELSE max(seg_end) END AS span_end,
        arg_max(end_how, seg) AS end_how, arg_max(end_inferred, seg) AS end_inferred
    FROM (SELECT *, seg - row_number() OVER (PARTITION BY launch_event, slot ORDER BY seg) AS island
          FROM svc_seg, unnest(range(least(n, 10000))) AS r(slot))
    GROUP BY launch_event, slot, island
),
spans AS (      -- every running span with what it is
    SELECT r.region, r.service, r.kind, r.resource_id, r.item, r.market, r.billing, r.vcpu, r.gb, r.cap_at, r.note,
        r.launched_by, r.launch_event, t.ts AS span_start, t.next_at AS span_end, t.next_how AS end_how,
        coalesce(t.next_inferred, false) AS end_inferred
    FROM turns t JOIN res r USING (rkey)
    WHERE t.state = 'running'
    UNION ALL
    SELECT region, service, kind, resource_id, item, market, billing, vcpu, gb, cap_at, note, launched_by, launch_event,
        start_at, NULL, NULL, false
    FROM res WHERE billing = 'none'
    UNION ALL
    SELECT s.region, 'fargate', 'service-task', s.arn || '#' || (x.slot + 1),
        CASE WHEN lower(s.arch) = 'arm64' THEN 'linux-arm64' ELSE 'linux-x86_64' END,
        CASE WHEN s.cp = 'FARGATE_SPOT' THEN 'spot' ELSE 'on-demand' END, 'fargate', ecs_vcpu(s.cpu), ecs_gb(s.memory), NULL,
        'service: its tasks'' starts are not logged; desiredCount tasks counted from CreateService',
        s.launched_by, s.launch_event, x.span_start, x.span_end, x.end_how, coalesce(x.end_inferred, false)
    FROM svc_slots x JOIN services s USING (launch_event)
),
timed AS (      -- the span's end: hi (the estimate) and lo (where the end is not logged: the one-minute minimum)
    SELECT *,
        CASE WHEN billing = 'none' THEN NULL
             WHEN span_end IS NOT NULL THEN span_end
             WHEN cap_at IS NOT NULL AND cap_at < (SELECT until FROM lim) THEN cap_at
             ELSE (SELECT until FROM lim) END AS hi_end,
        span_end IS NULL AND billing <> 'none' AND (cap_at IS NULL OR cap_at > (SELECT until FROM lim)) AS still_running,
        CASE WHEN billing = 'none' THEN NULL
             WHEN span_end IS NOT NULL AND NOT end_inferred THEN 'ended: ' || end_how
             WHEN span_end IS NOT NULL THEN 'ended by ' || end_how || ' (inferred): range from the one-minute minimum'
             WHEN kind = 'spot-request' THEN 'spot request, fulfilment not logged: range from nothing to --until'
             WHEN cap_at IS NOT NULL AND cap_at < (SELECT until FROM lim)
                 THEN 'no end logged: at most its MaxRuntimeInSeconds; range from the one-minute minimum'
             ELSE 'no end logged by --until: range from the one-minute minimum' END AS span_basis
    FROM spans
),
secs AS (
    SELECT *,
        CASE WHEN hi_end IS NOT NULL THEN greatest((epoch_us(hi_end) - epoch_us(span_start)) / 1e6, 0) END AS run_s,
        CASE WHEN hi_end IS NULL THEN NULL
             WHEN span_end IS NOT NULL AND NOT end_inferred THEN greatest((epoch_us(hi_end) - epoch_us(span_start)) / 1e6, 0)
             WHEN kind = 'spot-request' THEN 0
             ELSE least(60, greatest((epoch_us(hi_end) - epoch_us(span_start)) / 1e6, 0)) END AS run_lo_s
    FROM timed
),
billed AS (     -- Fargate: per second, at least a minute
    SELECT *,
        CASE WHEN billing = 'fargate' THEN greatest(run_s, 60) ELSE run_s END AS bill_s,
        CASE WHEN billing = 'fargate' THEN greatest(run_lo_s, 60) ELSE run_lo_s END AS bill_lo_s
    FROM secs
),
price_rows AS (  -- the prices given, or (NULL) trailhound's own table, price_table
    SELECT * FROM (
        SELECT p.service, p.region, p.item, coalesce(p.market, 'on-demand') AS market, p.unit, p.usd, p.source, coalesce(p.rank, 0) AS rank
        FROM (SELECT unnest(from_json(prices::JSON, '[{"service":"VARCHAR","region":"VARCHAR","item":"VARCHAR","market":"VARCHAR",
                     "unit":"VARCHAR","usd":"DOUBLE","source":"VARCHAR","rank":"INTEGER"}]')) AS p)
        WHERE prices IS NOT NULL
        UNION ALL
        SELECT service, region, item, market, unit, usd, source, 0 FROM price_table WHERE prices IS NULL
    )
    WHERE usd IS NOT NULL AND usd >= 0 AND isfinite(usd)
),
needs AS (SELECT DISTINCT b.service, b.region, b.item, b.market, u.unit
          FROM (SELECT DISTINCT service, region, item, market, billing FROM billed WHERE billing <> 'none') b,
              unnest(CASE b.billing WHEN 'fargate' THEN ['vcpu-hour', 'gb-hour'] ELSE ['hour'] END) AS u(unit)),
picked AS (     -- the region's own price (spot, then on-demand), else us-east-1's on-demand
    SELECT n.*, p.usd, p.source, p.region AS price_region, p.market AS price_market
    FROM needs n JOIN price_rows p ON p.service = n.service AND p.item = n.item AND p.unit = n.unit
        AND (p.region = n.region OR (p.region = 'us-east-1' AND p.market = 'on-demand'))
        AND (p.market = n.market OR p.market = 'on-demand')
    QUALIFY row_number() OVER (PARTITION BY n.service, n.region, n.item, n.market, n.unit
        ORDER BY p.region = n.region DESC, p.market = n.market DESC, p.rank, p.source, p.usd) = 1
),
rates AS (
    SELECT service, region, item, market,
        max(usd) FILTER (WHERE unit = 'hour') AS rate_hour,
        max(usd) FILTER (WHERE unit = 'vcpu-hour') AS rate_vcpu,
        max(usd) FILTER (WHERE unit = 'gb-hour') AS rate_gb,
        bool_or(price_region <> region) AS estimated, bool_or(price_market <> market) AS spot_at_on_demand,
        string_agg(DISTINCT source, '; ' ORDER BY source) AS price_source
    FROM picked GROUP BY ALL
)
SELECT b.region, b.service,
    CASE WHEN b.billing = 'fargate' THEN coalesce(plain_number(b.vcpu) || ' vCPU / ' || plain_number(b.gb) || ' GB', 'unknown size')
             || CASE WHEN b.item = 'linux-arm64' THEN ' arm64' ELSE '' END
         ELSE coalesce(b.item, 'unknown type') END AS resource_type,
    b.market, b.kind, b.resource_id, b.launched_by, b.launch_event, b.span_start, b.hi_end AS span_end,
    b.still_running, b.span_basis, b.note,
    b.bill_s AS seconds, b.bill_lo_s AS seconds_low, b.vcpu, b.gb,
    r.rate_hour, r.rate_vcpu, r.rate_gb,
    CASE b.billing WHEN 'hour' THEN b.bill_s / 3600 * r.rate_hour
                   WHEN 'fargate' THEN b.bill_s / 3600 * (b.vcpu * r.rate_vcpu + b.gb * r.rate_gb) END AS usd,
    CASE b.billing WHEN 'hour' THEN b.bill_lo_s / 3600 * r.rate_hour
                   WHEN 'fargate' THEN b.bill_lo_s / 3600 * (b.vcpu * r.rate_vcpu + b.gb * r.rate_gb) END AS usd_low,
    CASE b.billing WHEN 'hour' THEN 24 * r.rate_hour
                   WHEN 'fargate' THEN 24 * (b.vcpu * r.rate_vcpu + b.gb * r.rate_gb) END AS usd_per_day,
    r.price_source,
    CASE WHEN b.billing = 'none' THEN 'not priced'
         WHEN (b.billing = 'hour' AND r.rate_hour IS NULL) OR (b.billing = 'fargate' AND (r.rate_vcpu IS NULL OR r.rate_gb IS NULL))
             THEN 'price unknown'
         ELSE concat_ws(', ',
             CASE WHEN b.market = 'spot' AND r.spot_at_on_demand THEN 'spot: upper bound at the on-demand rate'
                  WHEN b.market = 'spot' THEN 'spot price' ELSE 'on-demand' END,
             CASE WHEN r.estimated THEN 'estimated (us-east-1 rate)' END) END AS price_basis,
    (SELECT until FROM lim) AS until
FROM billed b
LEFT JOIN rates r ON r.service = b.service AND r.region = b.region AND r.item = b.item AND r.market = b.market
);
