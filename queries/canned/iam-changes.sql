-- name: iam-changes
-- description: Identity persistence and privilege changes: users, keys, passwords, policies, roles and trust policies, groups.
-- parameters: keys, from, to
-- chart: timeline x=event_time y=event_name
-- title: Users, keys, passwords and permissions made or changed (IAM changes)
-- pack: table 5
-- empty: no IAM change was made with these credentials.
--
-- `target` is the user, role, group or policy acted on; `detail` what was done to it: the new
-- key, the policy, the principals a trust policy lets in. AWS's compromised-key quarantine
-- appears here too, marked as AWS's own (it is recorded under the victim's user).
--
-- In the duckdb CLI (duckdb -readonly case.duckdb), paste the SELECT with $keys replaced by a
-- list (['AKIA...'], or []::VARCHAR[] for the whole store) and $from/$to by NULL or a time
-- (TIMESTAMPTZ '2026-11-07 00:00:00+00'), or prepare it:
--   PREPARE iam_changes AS <the SELECT below>;
--   EXECUTE iam_changes(keys := ['AKIAEXAMPLEKEY000001'], "from" := NULL, "to" := NULL);
SELECT event_time, event_name, access_key_id,
    CASE WHEN event_name IN ('CreateAccessKey', 'ChangePassword', 'GetFederationToken') THEN coalesce(p[1], user_name)
         WHEN event_name IN ('DeletePolicy', 'CreatePolicyVersion', 'SetDefaultPolicyVersion') THEN p[11]
         ELSE coalesce(p[1], p[2], p[3], p[4], p[12], p[14], p[5]) END AS target,
    CASE
        WHEN quarantine IS NOT NULL THEN 'AWS compromised-key quarantine ' || quarantine || ' (applied by AWS, not the attacker)'
        WHEN event_name = 'CreateAccessKey' THEN 'new key ' || coalesce(minted_key_id, '?')
        WHEN event_name = 'GetFederationToken' THEN
            'federated session ' || coalesce(p[5], '?') || coalesce(' as key ' || minted_key_id, '') ||
            coalesce(', policy ' || left(doc, 300), '')
        WHEN event_name = 'UpdateAccessKey' THEN coalesce(p[7], '?') || ' set ' || coalesce(p[8], '?')
        WHEN event_name = 'DeleteAccessKey' THEN 'key ' || coalesce(p[7], '?')
        WHEN event_name IN ('CreateRole', 'UpdateAssumeRolePolicy') THEN
            'trusts ' || CASE WHEN json_valid(coalesce(p[9], p[6]))
                              THEN coalesce(json_extract(coalesce(p[9], p[6]), '$.Statement[*].Principal')::VARCHAR,
                                            json_extract(coalesce(p[9], p[6]), '$.Statement.Principal')::VARCHAR, '?')
                              ELSE coalesce(left(coalesce(p[9], p[6]), 300), '?') END
        WHEN event_name LIKE 'Put%Policy' OR event_name LIKE 'Put%PermissionsBoundary' THEN
            concat_ws(': ', p[10], left(doc, 300))
        WHEN event_name IN ('CreatePolicy', 'CreatePolicyVersion') THEN left(doc, 300)
        WHEN event_name IN ('AddUserToGroup', 'RemoveUserFromGroup') THEN 'group ' || coalesce(p[3], '?')
        WHEN event_name IN ('AddRoleToInstanceProfile', 'RemoveRoleFromInstanceProfile') THEN 'instance profile ' || coalesce(p[12], '?')
        WHEN event_name IN ('CreateLoginProfile', 'UpdateLoginProfile') THEN
            'console password set' || CASE WHEN p[13] = 'true' THEN ', reset required' ELSE '' END
        WHEN event_name IN ('DeletePolicy', 'CreatePolicyVersion', 'SetDefaultPolicyVersion') THEN NULL
        ELSE coalesce(p[11], p[15], p[16])
    END AS detail,
    error_code
FROM (
    SELECT *,
        -- a policy document, minified when it is valid JSON (it is attacker-controlled text)
        CASE WHEN json_valid(p[6]) THEN json(p[6])::VARCHAR ELSE p[6] END AS doc
    FROM (
    SELECT *,
        aws_quarantine(event_source, event_name, record) AS quarantine,
        json_extract_string(record, [
            '$.requestParameters.userName',                   -- 1
            '$.requestParameters.roleName',                   -- 2
            '$.requestParameters.groupName',                  -- 3
            '$.requestParameters.policyName',                 -- 4 CreatePolicy: the policy is the target
            '$.requestParameters.name',                       -- 5 GetFederationToken, Roles Anywhere
            '$.requestParameters.policyDocument',             -- 6 also GetFederationToken's policy
            '$.requestParameters.accessKeyId',                -- 7
            '$.requestParameters.status',                     -- 8
            '$.requestParameters.assumeRolePolicyDocument',   -- 9
            '$.requestParameters.policyName',                 -- 10
            '$.requestParameters.policyArn',                  -- 11
            '$.requestParameters.instanceProfileName',        -- 12
            '$.requestParameters.passwordResetRequired',      -- 13
            '$.requestParameters.serialNumber',               -- 14 MFA devices
            '$.requestParameters.url',                        -- 15 OIDC providers
            '$.requestParameters.sAMLProviderArn'             -- 16
        ]) AS p
    FROM lineage_events($keys::VARCHAR[], $from::TIMESTAMPTZ, $to::TIMESTAMPTZ)
    WHERE (event_source = 'iam.amazonaws.com' AND event_name IN (
            'CreateUser', 'DeleteUser', 'UpdateUser', 'CreateAccessKey', 'UpdateAccessKey', 'DeleteAccessKey',
            'CreateLoginProfile', 'UpdateLoginProfile', 'DeleteLoginProfile', 'ChangePassword',
            'AttachUserPolicy', 'DetachUserPolicy', 'PutUserPolicy', 'DeleteUserPolicy',
            'AttachRolePolicy', 'DetachRolePolicy', 'PutRolePolicy', 'DeleteRolePolicy',
            'AttachGroupPolicy', 'DetachGroupPolicy', 'PutGroupPolicy', 'DeleteGroupPolicy',
            'CreateGroup', 'DeleteGroup', 'AddUserToGroup', 'RemoveUserFromGroup',
            'CreateRole', 'DeleteRole', 'UpdateRole', 'UpdateAssumeRolePolicy', 'CreateServiceLinkedRole',
            'CreatePolicy', 'DeletePolicy', 'CreatePolicyVersion', 'SetDefaultPolicyVersion',
            'PutUserPermissionsBoundary', 'PutRolePermissionsBoundary',
            'CreateInstanceProfile', 'AddRoleToInstanceProfile', 'RemoveRoleFromInstanceProfile',
            'CreateVirtualMFADevice', 'EnableMFADevice', 'DeactivateMFADevice', 'DeleteVirtualMFADevice',
            'CreateOpenIDConnectProvider', 'CreateSAMLProvider', 'UpdateSAMLProvider',
            'UploadSSHPublicKey', 'CreateServiceSpecificCredential', 'UploadSigningCertificate'))
       OR (event_source = 'sts.amazonaws.com' AND event_name = 'GetFederationToken')
       OR (event_source = 'rolesanywhere.amazonaws.com' AND event_name IN ('CreateTrustAnchor', 'CreateProfile'))
    )
)
ORDER BY event_time, event_id, variant;
