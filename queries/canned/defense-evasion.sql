-- name: defense-evasion
-- description: Attempts to blind the responder: CloudTrail, GuardDuty, Security Hub, Config, flow logs, alarms, organization.
-- parameters: keys, from, to
-- chart: timeline x=event_time y=event_name
-- title: Defense evasion
-- pack: file 22
--
-- `target` is the trail, detector, recorder, log group... acted on; `detail` flags what matters:
-- a PutEventSelectors that drops management events, an UpdateDetector that disables
-- GuardDuty, an UpdateTrail that changes the bucket. Failed attempts are listed too.
--
-- In the duckdb CLI (duckdb -readonly case.duckdb), paste the SELECT with $keys replaced by a
-- list (['AKIA...'], or []::VARCHAR[] for the whole store) and $from/$to by NULL or a time
-- (TIMESTAMPTZ '2026-11-07 00:00:00+00'), or prepare it:
--   PREPARE defense_evasion AS <the SELECT below>;
--   EXECUTE defense_evasion(keys := ['AKIAEXAMPLEKEY000001'], "from" := NULL, "to" := NULL);
SELECT event_time, access_key_id, aws_region AS region, event_source, event_name,
    list_filter(p, x -> x IS NOT NULL)[1] AS target,
    CASE
        WHEN event_name = 'PutEventSelectors' THEN
            CASE WHEN contains(coalesce(json_extract(record, '$.requestParameters.eventSelectors[*].includeManagementEvents')::VARCHAR, ''), 'false')
                 THEN 'management events turned off'
                 WHEN json_extract_string(record, '$.requestParameters.advancedEventSelectors') IS NOT NULL
                 THEN 'advanced event selectors replaced' END
        WHEN event_name = 'UpdateDetector' AND json_extract_string(record, '$.requestParameters.enable') = 'false'
            THEN 'GuardDuty detector disabled'
        WHEN event_name = 'UpdateTrail' THEN concat_ws(', ',
            'bucket ' || json_extract_string(record, '$.requestParameters.s3BucketName'),
            CASE WHEN json_extract_string(record, '$.requestParameters.isMultiRegionTrail') = 'false' THEN 'single-region' END,
            CASE WHEN json_extract_string(record, '$.requestParameters.includeGlobalServiceEvents') = 'false' THEN 'no global events' END,
            CASE WHEN json_extract_string(record, '$.requestParameters.enableLogFileValidation') = 'false' THEN 'no log file validation' END)
        WHEN event_name = 'PutBucketLifecycle' THEN 'expiration ' ||
            coalesce(json_extract_string(record, '$.requestParameters.LifecycleConfiguration.Rule.Expiration.Days'), '?') || ' days'
    END AS detail,
    error_code
FROM (
    SELECT *,
        json_extract_string(record, [
            '$.requestParameters.name', '$.requestParameters.trailName', '$.requestParameters.detectorId',
            '$.requestParameters.configurationRecorderName', '$.requestParameters.deliveryChannelName',
            '$.requestParameters.configRuleName', '$.requestParameters.DeleteFlowLogsRequest.FlowLogId.content',
            '$.requestParameters.flowLogIds', '$.requestParameters.logGroupName', '$.requestParameters.alarmNames',
            '$.requestParameters.analyzerName', '$.requestParameters.resolverQueryLogConfigId',
            '$.requestParameters.bucketName', '$.requestParameters.identity', '$.requestParameters.eventDataStore']) AS p
    FROM lineage_events($keys::VARCHAR[], $from::TIMESTAMPTZ, $to::TIMESTAMPTZ)
    WHERE (event_source = 'cloudtrail.amazonaws.com' AND event_name IN ('StopLogging', 'DeleteTrail', 'UpdateTrail',
            'PutEventSelectors', 'PutInsightSelectors', 'DeleteEventDataStore', 'StopEventDataStoreIngestion'))
       OR (event_source = 'guardduty.amazonaws.com' AND event_name IN ('DeleteDetector', 'UpdateDetector', 'CreateIPSet',
            'UpdateIPSet', 'CreateThreatIntelSet', 'CreateFilter', 'DeletePublishingDestination',
            'DisassociateFromMasterAccount', 'DisassociateFromAdministratorAccount', 'DeleteMembers',
            'StopMonitoringMembers', 'DeleteInvitations'))
       OR (event_source = 'securityhub.amazonaws.com' AND event_name IN ('DisableSecurityHub', 'BatchUpdateFindings',
            'UpdateFindings', 'DeleteInsight', 'UpdateInsight', 'DisableImportFindingsForProduct'))
       OR (event_source = 'config.amazonaws.com' AND event_name IN ('StopConfigurationRecorder', 'DeleteDeliveryChannel',
            'DeleteConfigurationRecorder', 'DeleteConfigRule'))
       OR (event_source = 'ec2.amazonaws.com' AND event_name IN ('DeleteFlowLogs', 'DisableEbsEncryptionByDefault'))
       OR (event_source = 'logs.amazonaws.com' AND event_name IN ('DeleteLogGroup', 'DeleteLogStream'))
       OR (event_source = 'monitoring.amazonaws.com' AND event_name IN ('DeleteAlarms', 'DisableAlarmActions'))
       OR (event_source = 'events.amazonaws.com' AND event_name IN ('DisableRule', 'DeleteRule', 'RemoveTargets'))
       OR (event_source = 'organizations.amazonaws.com' AND event_name = 'LeaveOrganization')
       OR (event_source = 'access-analyzer.amazonaws.com' AND event_name = 'DeleteAnalyzer')
       OR (event_source = 'route53resolver.amazonaws.com' AND event_name IN ('DeleteResolverQueryLogConfig',
            'DisassociateResolverQueryLogConfig'))
       OR (event_source = 's3.amazonaws.com' AND event_name = 'PutBucketLifecycle')
       OR (event_source = 'ses.amazonaws.com' AND event_name = 'DeleteIdentity')
)
ORDER BY event_time, event_id, variant;
