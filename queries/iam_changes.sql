-- name: iam_changes
-- description: Successful IAM and STS calls that create or widen access: users, keys, login profiles, policies, roles, session tokens.
-- parameters: none
-- chart: none
SELECT
    event_time,
    event_name,
    coalesce(record->>'$.requestParameters.userName', record->>'$.requestParameters.roleName') AS target,
    coalesce(record->>'$.responseElements.accessKey.accessKeyId',
             record->>'$.responseElements.credentials.accessKeyId')                            AS new_key,
    user_name,
    access_key_id,
    source_ip
FROM events
WHERE event_source IN ('iam.amazonaws.com', 'sts.amazonaws.com')
  AND error_code IS NULL
  AND event_name IN ('CreateUser', 'CreateAccessKey', 'CreateLoginProfile', 'UpdateLoginProfile',
                     'AttachUserPolicy', 'PutUserPolicy', 'AddUserToGroup', 'CreateRole', 'AttachRolePolicy',
                     'PutRolePolicy', 'UpdateAssumeRolePolicy', 'GetSessionToken', 'GetFederationToken')
ORDER BY event_time, event_id;
