-- name: recon
-- description: Reconnaissance and key validation calls per key: how often, how many regions, when.
-- parameters: keys, from, to
-- chart: bar x=event_name y=calls series=access_key_id
--
-- The calls are the discovery calls seen in leaked-key cases (GetCallerIdentity, IAM listing,
-- DescribeRegions, GetServiceQuota, DescribeInstances, SES/SNS/Bedrock/Lightsail look-ups,
-- cost and organization queries, GuardDuty and CloudTrail checks). The same call in ten or
-- more regions within minutes is a region sweep: see `regions`.
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
WHERE event_name IN (
    'GetCallerIdentity', 'GetAccessKeyInfo', 'GetSessionToken',
    'GetUser', 'ListUsers', 'ListAccessKeys', 'ListAttachedUserPolicies', 'ListUserPolicies', 'ListGroupsForUser',
    'ListGroups', 'ListRoles', 'ListPolicies', 'GetPolicy', 'GetPolicyVersion', 'ListAttachedRolePolicies',
    'ListAttachedGroupPolicies', 'ListGroupPolicies', 'ListRolePolicies', 'ListAccountAliases', 'GetAccountSummary',
    'GetAccountAuthorizationDetails', 'SimulatePrincipalPolicy', 'GetLoginProfile', 'ListMFADevices',
    'ListBuckets', 'DescribeRegions', 'DescribeInstances', 'DescribeInstanceTypes', 'DescribeImages',
    'DescribeAccountAttributes', 'DescribeAvailabilityZones', 'DescribeVpcs', 'DescribeSubnets',
    'DescribeSecurityGroups', 'DescribeKeyPairs', 'DescribeLaunchTemplates', 'DescribeSpotPriceHistory',
    'GetRegionOptStatus', 'ListRegions', 'GetServiceQuota', 'ListServiceQuotas', 'GetAWSDefaultServiceQuota',
    'GetAccount', 'GetSendQuota', 'GetAccountSendingEnabled', 'ListIdentities', 'ListEmailIdentities',
    'GetIdentityVerificationAttributes', 'GetSMSAttributes', 'GetSMSSandboxAccountStatus', 'ListTopics',
    'ListSubscriptions', 'ListOriginationNumbers', 'GetCostAndUsage', 'GetCostForecast',
    'DescribeOrganization', 'ListAccounts', 'ListClusters', 'ListFunctions20150331', 'GetRegions', 'GetInstances',
    'GetBundles', 'ListTrainingJobs', 'ListModels', 'ListEndpoints', 'ListNotebookInstances',
    'ListFoundationModels', 'GetFoundationModelAvailability', 'GetModelInvocationLoggingConfiguration',
    'GetUseCaseForModelAccess', 'ListInferenceProfiles', 'ListDetectors', 'GetDetector', 'ListFindings',
    'DescribeTrails', 'GetTrailStatus', 'GetEventSelectors', 'LookupEvents', 'ListSecrets', 'DescribeParameters')
GROUP BY access_key_id, event_source, event_name
ORDER BY first_seen, access_key_id NULLS LAST, event_source, event_name;
