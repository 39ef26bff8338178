-- aws-markers on Trino over the lake (queries/canned/aws-markers.sql has the header and the meaning).
WITH {{aws_quarantine}}
WITH th_t AS (SELECT from_iso8601_timestamp($from) AS t_from, from_iso8601_timestamp($to) AS t_to)
SELECT event_time, event_name, marker, target
FROM (
    SELECT event_time, event_id, variant, event_name,
        CASE WHEN event_name IN ('AttachUserPolicy', 'PutUserPolicy')
             THEN aws_quarantine(event_source, event_name, record)
             WHEN regexp_like(coalesce(json_extract_scalar(record, '$.requestParameters.policyArn'),
                                       json_extract_scalar(record, '$.requestParameters.policyName')),
                              '(^|/)(AWSCompromisedKeyQuarantine(V[0-9]+)?|AWSExposedCredentialPolicy_DO_NOT_REMOVE)\z')
             THEN 'quarantine ' || element_at(split(coalesce(json_extract_scalar(record, '$.requestParameters.policyArn'),
                                                             json_extract_scalar(record, '$.requestParameters.policyName')), '/'), -1) ||
                  ' removed' || coalesce(' by ' || arn, '')
        END AS marker,
        coalesce(json_extract_scalar(record, '$.requestParameters.userName'), user_name) AS target
    FROM events CROSS JOIN th_t
    WHERE event_source = 'iam.amazonaws.com' AND error_code IS NULL
      AND event_name IN ('AttachUserPolicy', 'PutUserPolicy', 'DetachUserPolicy', 'DeleteUserPolicy')
      AND (t_from IS NULL OR event_time >= t_from) AND (t_to IS NULL OR event_time < t_to)
    UNION ALL
    SELECT event_time, event_id, variant, event_name, 'AWS Support (' || coalesce(arn, source_ip) || ')',
        coalesce(json_extract_scalar(record, '$.requestParameters.userName'),
                 json_extract_scalar(record, '$.requestParameters.roleName'),
                 json_extract_scalar(record, '$.requestParameters.instanceId'), aws_region)
    FROM events CROSS JOIN th_t
    WHERE (source_ip = 'support.amazonaws.com' OR user_agent = 'support.amazonaws.com')
      AND (t_from IS NULL OR event_time >= t_from) AND (t_to IS NULL OR event_time < t_to)
)
WHERE marker IS NOT NULL
ORDER BY event_time, event_id, variant
