-- defense-evasion on Trino over the lake (queries/canned/defense-evasion.sql has the header and the meaning).
WITH
FUNCTION th_json_text(j json)   -- DuckDB's json_extract_string of a value: a scalar's text, an object's or array's JSON
    RETURNS varchar
    RETURN CASE WHEN j IS NULL OR json_format(j) = 'null' THEN NULL ELSE coalesce(json_extract_scalar(j, '$'), json_format(j)) END
WITH {{lineage_events}},
th_de AS (
    SELECT event_time, event_id, variant, access_key_id, aws_region, event_source, event_name, error_code,
        json_extract(record, '$.requestParameters') AS rp
    FROM lineage_events
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
SELECT event_time, access_key_id, aws_region AS region, event_source, event_name,
    coalesce(th_json_text(json_extract(rp, '$.name')), th_json_text(json_extract(rp, '$.trailName')),
        th_json_text(json_extract(rp, '$.detectorId')), th_json_text(json_extract(rp, '$.configurationRecorderName')),
        th_json_text(json_extract(rp, '$.deliveryChannelName')), th_json_text(json_extract(rp, '$.configRuleName')),
        th_json_text(json_extract(rp, '$.DeleteFlowLogsRequest.FlowLogId.content')),
        th_json_text(json_extract(rp, '$.flowLogIds')), th_json_text(json_extract(rp, '$.logGroupName')),
        th_json_text(json_extract(rp, '$.alarmNames')), th_json_text(json_extract(rp, '$.analyzerName')),
        th_json_text(json_extract(rp, '$.resolverQueryLogConfigId')), th_json_text(json_extract(rp, '$.bucketName')),
        th_json_text(json_extract(rp, '$.identity')), th_json_text(json_extract(rp, '$.eventDataStore'))) AS target,
    CASE
        WHEN event_name = 'PutEventSelectors' THEN
            -- (DuckDB reads the flags as the text of the list of them, and looks for 'false' in it)
            CASE WHEN strpos(coalesce(array_join(transform(
                          CASE WHEN substr(json_format(json_extract(rp, '$.eventSelectors')), 1, 1) = '['
                               THEN CAST(json_extract(rp, '$.eventSelectors') AS array(json)) ELSE CAST(ARRAY[] AS array(json)) END,
                          s -> json_format(json_extract(s, '$.includeManagementEvents'))), ','), ''), 'false') > 0
                 THEN 'management events turned off'
                 WHEN th_json_text(json_extract(rp, '$.advancedEventSelectors')) IS NOT NULL
                 THEN 'advanced event selectors replaced' END
        WHEN event_name = 'UpdateDetector' AND json_extract_scalar(rp, '$.enable') = 'false'
            THEN 'GuardDuty detector disabled'
        WHEN event_name = 'UpdateTrail' THEN concat_ws(', ',
            'bucket ' || json_extract_scalar(rp, '$.s3BucketName'),
            CASE WHEN json_extract_scalar(rp, '$.isMultiRegionTrail') = 'false' THEN 'single-region' END,
            CASE WHEN json_extract_scalar(rp, '$.includeGlobalServiceEvents') = 'false' THEN 'no global events' END,
            CASE WHEN json_extract_scalar(rp, '$.enableLogFileValidation') = 'false' THEN 'no log file validation' END)
        WHEN event_name = 'PutBucketLifecycle' THEN 'expiration ' ||
            coalesce(json_extract_scalar(rp, '$.LifecycleConfiguration.Rule.Expiration.Days'), '?') || ' days'
    END AS detail,
    error_code
FROM th_de
ORDER BY event_time, event_id, variant
