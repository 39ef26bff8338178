-- name: aws-markers
-- description: What AWS itself did: its compromised-key quarantine policy, AWS Support calls. Never the attacker.
-- parameters: from, to
-- chart: timeline x=event_time y=marker
-- title: What AWS itself did (its quarantine policy on the key's user, support)
-- pack: table 12
-- empty: the logs show no action by AWS on these credentials.
--
-- AWS records the quarantine (AttachUserPolicy of AWSCompromisedKeyQuarantine*, or
-- PutUserPolicy of AWSCompromisedKeyQuarantine* / AWSExposedCredentialPolicy_DO_NOT_REMOVE
-- with only Deny statements) under the victim's user, sometimes signed with the leaked key
-- itself, from an AWS-internal agent: it is not scoped to a lineage and is never attributed
-- to the attacker (see aws_quarantine in queries/macros.sql). An inline policy of that name
-- that allows anything is not AWS's and is not listed. Support: calls AWS Support made (source
-- IP or user agent support.amazonaws.com).
--
-- In the duckdb CLI (duckdb -readonly case.duckdb), paste the SELECT with $from/$to replaced by
-- NULL or a time (TIMESTAMPTZ '2026-11-07 00:00:00+00'), or prepare it:
--   PREPARE aws_markers AS <the SELECT below>;
--   EXECUTE aws_markers("from" := NULL, "to" := NULL);
SELECT event_time, event_name, marker, target
FROM (
    SELECT event_time, event_id, variant, event_name,
        CASE WHEN event_name IN ('AttachUserPolicy', 'PutUserPolicy')
             THEN aws_quarantine(event_source, event_name, record)
             WHEN regexp_matches(coalesce(json_extract_string(record, '$.requestParameters.policyArn'),
                                          json_extract_string(record, '$.requestParameters.policyName')),
                                 '(^|/)(AWSCompromisedKeyQuarantine(V[0-9]+)?|AWSExposedCredentialPolicy_DO_NOT_REMOVE)$')
             THEN 'quarantine ' || split_part(coalesce(json_extract_string(record, '$.requestParameters.policyArn'),
                                                       json_extract_string(record, '$.requestParameters.policyName')), '/', -1) ||
                  ' removed' || coalesce(' by ' || arn, '')
        END AS marker,
        coalesce(json_extract_string(record, '$.requestParameters.userName'), user_name) AS target
    FROM event_rows
    WHERE event_source = 'iam.amazonaws.com' AND error_code IS NULL
      AND event_name IN ('AttachUserPolicy', 'PutUserPolicy', 'DetachUserPolicy', 'DeleteUserPolicy')
      AND ($from::TIMESTAMPTZ IS NULL OR event_time >= $from::TIMESTAMPTZ)
      AND ($to::TIMESTAMPTZ IS NULL OR event_time < $to::TIMESTAMPTZ)
    UNION ALL
    SELECT event_time, event_id, variant, event_name, 'AWS Support (' || coalesce(arn, source_ip) || ')',
        coalesce(json_extract_string(record, '$.requestParameters.userName'),
                 json_extract_string(record, '$.requestParameters.roleName'),
                 json_extract_string(record, '$.requestParameters.instanceId'), aws_region)
    FROM (  -- (two scans with one equality each: DuckDB then reads only the matching rows)
        SELECT * FROM event_rows WHERE source_ip = 'support.amazonaws.com'
        UNION ALL
        SELECT * FROM event_rows
        WHERE user_agent = 'support.amazonaws.com' AND source_ip IS DISTINCT FROM 'support.amazonaws.com'
    )
    WHERE ($from::TIMESTAMPTZ IS NULL OR event_time >= $from::TIMESTAMPTZ)
      AND ($to::TIMESTAMPTZ IS NULL OR event_time < $to::TIMESTAMPTZ)
)
WHERE marker IS NOT NULL
ORDER BY event_time, event_id, variant;
