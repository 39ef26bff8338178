-- recon on Trino over the lake (queries/canned/recon.sql has the header and the meaning).
WITH {{lineage_events}},
th_calls AS (   -- the recon calls: service and name together
    SELECT DISTINCT s || '.amazonaws.com' AS src, name
    FROM (VALUES
            ('sts', ARRAY['GetCallerIdentity', 'GetAccessKeyInfo', 'GetSessionToken']),
            ('iam', ARRAY['GetUser', 'ListUsers', 'ListAccessKeys', 'ListAttachedUserPolicies', 'ListUserPolicies',
                           'ListGroupsForUser', 'ListGroups', 'ListRoles', 'ListPolicies', 'GetPolicy', 'GetPolicyVersion',
                           'ListAttachedRolePolicies', 'ListAttachedGroupPolicies', 'ListGroupPolicies', 'ListRolePolicies',
                           'ListAccountAliases', 'GetAccountSummary', 'GetAccountAuthorizationDetails', 'SimulatePrincipalPolicy',
                           'GetLoginProfile', 'ListMFADevices']),
            ('s3', ARRAY['ListBuckets']),
            ('ec2', ARRAY['DescribeRegions', 'DescribeInstances', 'DescribeInstanceTypes', 'DescribeImages',
                           'DescribeAccountAttributes', 'DescribeAvailabilityZones', 'DescribeVpcs', 'DescribeSubnets',
                           'DescribeSecurityGroups', 'DescribeKeyPairs', 'DescribeLaunchTemplates', 'DescribeSpotPriceHistory']),
            ('account', ARRAY['GetRegionOptStatus', 'ListRegions', 'GetAccountInformation']),
            ('servicequotas', ARRAY['GetServiceQuota', 'ListServiceQuotas', 'GetAWSDefaultServiceQuota']),
            ('ses', ARRAY['GetAccount', 'GetSendQuota', 'GetAccountSendingEnabled', 'ListIdentities', 'ListEmailIdentities',
                           'GetIdentityVerificationAttributes']),
            ('sns', ARRAY['GetSMSAttributes', 'GetSMSSandboxAccountStatus', 'ListTopics', 'ListSubscriptions',
                           'ListOriginationNumbers']),
            ('ce', ARRAY['GetCostAndUsage', 'GetCostForecast']),
            ('organizations', ARRAY['DescribeOrganization', 'ListAccounts']),
            ('ecs', ARRAY['ListClusters']),
            ('lambda', ARRAY['ListFunctions20150331', 'ListFunctions']),
            ('lightsail', ARRAY['GetRegions', 'GetInstances', 'GetBundles']),
            ('sagemaker', ARRAY['ListTrainingJobs', 'ListModels', 'ListEndpoints', 'ListNotebookInstances']),
            ('bedrock', ARRAY['ListFoundationModels', 'GetFoundationModelAvailability', 'GetModelInvocationLoggingConfiguration',
                         'GetUseCaseForModelAccess', 'ListInferenceProfiles']),
            ('guardduty', ARRAY['ListDetectors', 'GetDetector', 'ListFindings']),
            ('cloudtrail', ARRAY['DescribeTrails', 'GetTrailStatus', 'GetEventSelectors', 'LookupEvents']),
            ('secretsmanager', ARRAY['ListSecrets']),
            ('ssm', ARRAY['DescribeParameters'])
    ) AS t(s, names)
    CROSS JOIN UNNEST(names) AS u(name)
)
SELECT e.access_key_id, e.event_source, e.event_name,
    count(*) AS calls,
    count(*) FILTER (WHERE e.error_code IS NOT NULL) AS errors,
    count(DISTINCT e.aws_region) AS regions,
    min(e.event_time) AS first_seen,
    max(e.event_time) AS last_seen
FROM lineage_events e
JOIN th_calls c ON c.src = e.event_source AND c.name = e.event_name
GROUP BY e.access_key_id, e.event_source, e.event_name
ORDER BY first_seen, access_key_id NULLS LAST, event_source, event_name
