-- name: recon
-- description: Reconnaissance and key validation calls per key: how often, how many regions, when.
-- parameters: keys, from, to
-- chart: bar x=event_name y=calls series=access_key_id
-- title: Reconnaissance
-- pack: file 21
--
-- The calls are the discovery calls seen in leaked-key cases (GetCallerIdentity, IAM listing,
-- DescribeRegions, GetServiceQuota, DescribeInstances, SES/SNS/Bedrock/Lightsail look-ups,
-- cost and organization queries, GuardDuty and CloudTrail checks), each matched on its service
-- and its name together: ListGroups is IAM recon, greengrass's or resource-groups' ListGroups
-- is not (docs: cloudtrail-reference.md §2.1). The same call in ten or more regions within
-- minutes is a region sweep: see `regions`; a burst of denied calls over many services is
-- permission brute-forcing: see `brute-force`.
--
-- In the duckdb CLI (duckdb -readonly case.duckdb), paste the SELECT with $keys replaced by a
-- list (['AKIA...'], or []::VARCHAR[] for the whole store) and $from/$to by NULL or a time
-- (TIMESTAMPTZ '2026-11-07 00:00:00+00'), or prepare it:
--   PREPARE recon AS <the SELECT below>;
--   EXECUTE recon(keys := ['AKIAEXAMPLEKEY000001'], "from" := NULL, "to" := NULL);
SELECT access_key_id, event_source, event_name,
    count(*) AS calls,
    count(*) FILTER (WHERE error_code IS NOT NULL) AS errors,
    count(DISTINCT aws_region) AS regions,
    min(event_time) AS first_seen,
    max(event_time) AS last_seen
FROM lineage_events($keys::VARCHAR[], $from::TIMESTAMPTZ, $to::TIMESTAMPTZ)
SEMI JOIN (
    SELECT s || '.amazonaws.com' AS src, unnest(names) AS name
    FROM (VALUES
        ('sts', ['GetCallerIdentity', 'GetAccessKeyInfo', 'GetSessionToken']),
        ('iam', ['GetUser', 'ListUsers', 'ListAccessKeys', 'ListAttachedUserPolicies', 'ListUserPolicies',
                 'ListGroupsForUser', 'ListGroups', 'ListRoles', 'ListPolicies', 'GetPolicy', 'GetPolicyVersion',
                 'ListAttachedRolePolicies', 'ListAttachedGroupPolicies', 'ListGroupPolicies', 'ListRolePolicies',
                 'ListAccountAliases', 'GetAccountSummary', 'GetAccountAuthorizationDetails', 'SimulatePrincipalPolicy',
                 'GetLoginProfile', 'ListMFADevices']),
        ('s3', ['ListBuckets']),
        ('ec2', ['DescribeRegions', 'DescribeInstances', 'DescribeInstanceTypes', 'DescribeImages',
                 'DescribeAccountAttributes', 'DescribeAvailabilityZones', 'DescribeVpcs', 'DescribeSubnets',
                 'DescribeSecurityGroups', 'DescribeKeyPairs', 'DescribeLaunchTemplates', 'DescribeSpotPriceHistory']),
        ('account', ['GetRegionOptStatus', 'ListRegions', 'GetAccountInformation']),
        ('servicequotas', ['GetServiceQuota', 'ListServiceQuotas', 'GetAWSDefaultServiceQuota']),
        ('ses', ['GetAccount', 'GetSendQuota', 'GetAccountSendingEnabled', 'ListIdentities', 'ListEmailIdentities',
                 'GetIdentityVerificationAttributes']),
        ('sns', ['GetSMSAttributes', 'GetSMSSandboxAccountStatus', 'ListTopics', 'ListSubscriptions',
                 'ListOriginationNumbers']),
        ('ce', ['GetCostAndUsage', 'GetCostForecast']),
        ('organizations', ['DescribeOrganization', 'ListAccounts']),
        ('ecs', ['ListClusters']),
        ('lambda', ['ListFunctions20150331', 'ListFunctions']),
        ('lightsail', ['GetRegions', 'GetInstances', 'GetBundles']),
        ('sagemaker', ['ListTrainingJobs', 'ListModels', 'ListEndpoints', 'ListNotebookInstances']),
        ('bedrock', ['ListFoundationModels', 'GetFoundationModelAvailability', 'GetModelInvocationLoggingConfiguration',
                     'GetUseCaseForModelAccess', 'ListInferenceProfiles']),
        ('guardduty', ['ListDetectors', 'GetDetector', 'ListFindings']),
        ('cloudtrail', ['DescribeTrails', 'GetTrailStatus', 'GetEventSelectors', 'LookupEvents']),
        ('secretsmanager', ['ListSecrets']),
        ('ssm', ['DescribeParameters'])
    ) AS t(s, names)
) AS calls ON calls.src = event_source AND calls.name = event_name
GROUP BY access_key_id, event_source, event_name
ORDER BY first_seen, access_key_id NULLS LAST, event_source, event_name;
