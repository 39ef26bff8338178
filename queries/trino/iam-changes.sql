-- iam-changes on Trino over the lake (queries/canned/iam-changes.sql has the header and the meaning).
WITH {{aws_quarantine}},
FUNCTION th_json_text(j json)   -- DuckDB's json_extract_string of a value: a scalar's text, an object's or array's JSON
    RETURNS varchar
    RETURN CASE WHEN j IS NULL OR json_format(j) = 'null' THEN NULL ELSE coalesce(json_extract_scalar(j, '$'), json_format(j)) END,
FUNCTION th_minified(s varchar) -- DuckDB's json(s)::VARCHAR where s is valid JSON, else s (json_parse would sort the keys)
    RETURNS varchar
    RETURN CASE WHEN try(json_parse(s)) IS NOT NULL THEN json_format(json_extract(s, '$')) ELSE s END,
FUNCTION th_principals(doc varchar)     -- DuckDB's json_extract(doc, '$.Statement[*].Principal')::VARCHAR
    RETURNS varchar
    RETURN '[' || array_join(transform(
                     filter(CASE WHEN substr(json_format(json_extract(doc, '$.Statement')), 1, 1) = '['
                                 THEN CAST(json_extract(doc, '$.Statement') AS array(json)) ELSE CAST(ARRAY[] AS array(json)) END,
                            s -> json_extract(s, '$.Principal') IS NOT NULL),
                     s -> json_format(json_extract(s, '$.Principal'))), ', ') || ']'
WITH {{lineage_events}},
th_iam AS (
    SELECT event_time, event_id, variant, event_name, access_key_id, user_name, minted_key_id, error_code,
        aws_quarantine(event_source, event_name, record) AS quarantine,
        th_json_text(json_extract(rp, '$.userName')) AS p1,
        th_json_text(json_extract(rp, '$.roleName')) AS p2,
        th_json_text(json_extract(rp, '$.groupName')) AS p3,
        th_json_text(json_extract(rp, '$.policyName')) AS p4,
        th_json_text(json_extract(rp, '$.name')) AS p5,
        th_json_text(json_extract(rp, '$.policyDocument')) AS p6,
        th_json_text(json_extract(rp, '$.accessKeyId')) AS p7,
        th_json_text(json_extract(rp, '$.status')) AS p8,
        th_json_text(json_extract(rp, '$.assumeRolePolicyDocument')) AS p9,
        th_json_text(json_extract(rp, '$.policyName')) AS p10,
        th_json_text(json_extract(rp, '$.policyArn')) AS p11,
        th_json_text(json_extract(rp, '$.instanceProfileName')) AS p12,
        th_json_text(json_extract(rp, '$.passwordResetRequired')) AS p13,
        th_json_text(json_extract(rp, '$.serialNumber')) AS p14,
        th_json_text(json_extract(rp, '$.url')) AS p15,
        th_json_text(json_extract(rp, '$.sAMLProviderArn')) AS p16
    FROM (
        SELECT *, json_extract(record, '$.requestParameters') AS rp
        FROM lineage_events
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
SELECT event_time, event_name, access_key_id,
    CASE WHEN event_name IN ('CreateAccessKey', 'ChangePassword', 'GetFederationToken') THEN coalesce(p1, user_name)
         WHEN event_name IN ('DeletePolicy', 'CreatePolicyVersion', 'SetDefaultPolicyVersion') THEN p11
         ELSE coalesce(p1, p2, p3, p4, p12, p14, p5) END AS target,
    CASE
        WHEN quarantine IS NOT NULL THEN 'AWS compromised-key quarantine ' || quarantine || ' (applied by AWS, not the attacker)'
        WHEN event_name = 'CreateAccessKey' THEN 'new key ' || coalesce(minted_key_id, '?')
        WHEN event_name = 'GetFederationToken' THEN
            'federated session ' || coalesce(p5, '?') || coalesce(' as key ' || minted_key_id, '') ||
            coalesce(', policy ' || substr(doc, 1, 300), '')
        WHEN event_name = 'UpdateAccessKey' THEN coalesce(p7, '?') || ' set ' || coalesce(p8, '?')
        WHEN event_name = 'DeleteAccessKey' THEN 'key ' || coalesce(p7, '?')
        WHEN event_name IN ('CreateRole', 'UpdateAssumeRolePolicy') THEN
            'trusts ' || CASE WHEN try(json_parse(coalesce(p9, p6))) IS NOT NULL THEN th_principals(coalesce(p9, p6))
                              ELSE coalesce(substr(coalesce(p9, p6), 1, 300), '?') END
        WHEN event_name LIKE 'Put%Policy' OR event_name LIKE 'Put%PermissionsBoundary' THEN
            concat_ws(': ', p10, substr(doc, 1, 300))
        WHEN event_name IN ('CreatePolicy', 'CreatePolicyVersion') THEN substr(doc, 1, 300)
        WHEN event_name IN ('AddUserToGroup', 'RemoveUserFromGroup') THEN 'group ' || coalesce(p3, '?')
        WHEN event_name IN ('AddRoleToInstanceProfile', 'RemoveRoleFromInstanceProfile') THEN 'instance profile ' || coalesce(p12, '?')
        WHEN event_name IN ('CreateLoginProfile', 'UpdateLoginProfile') THEN
            'console password set' || CASE WHEN p13 = 'true' THEN ', reset required' ELSE '' END
        WHEN event_name IN ('DeletePolicy', 'CreatePolicyVersion', 'SetDefaultPolicyVersion') THEN NULL
        ELSE coalesce(p11, p15, p16)
    END AS detail,
    error_code
FROM (SELECT *, th_minified(p6) AS doc FROM th_iam)
ORDER BY event_time, event_id, variant
