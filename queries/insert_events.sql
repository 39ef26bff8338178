-- How the ingest writer turns a batch into rows of event_rows (not a canned query).
-- The writer stages each new event as (event_id, variant, record_hash, event_time, record,
-- fields, file_id) in the temporary table staged_events: Go decides the id (eventID, or a
-- synthetic one), the variant and hash (see ingest/variants.go) and the time (eventTime or
-- @timestamp, in any of the formats real exports use).
-- Every other typed column is what json_extract_string reads from the record at the
-- paths below (nullif '': absent, null and "" are all NULL). The ingest's scanner reads
-- those values on its one pass over each record and hands them over in `fields`, joined
-- by chr(31), which spares DuckDB a second parse of every record (1M events: about 4 s of
-- a 2-core ingest). A record whose field is a number or an object, or holds chr(31), comes
-- with fields NULL and is read here. So the typed columns can always be rebuilt from
-- record with these paths (schema.sql's upgrade from version 1 does that for
-- minted_key_id and role_arn), and a test checks every real record against them.
INSERT INTO event_rows (event_id, event_time, event_source, event_name, aws_region, source_ip, user_agent,
    identity_type, principal_id, arn, account_id, access_key_id, user_name, session_issuer_arn,
    error_code, error_message, read_only, event_type, event_category, recipient_account_id,
    event_version, record,
    minted_key_id, role_arn, variant, record_hash)
SELECT event_id, event_time,
    nullif(f[1], ''), nullif(f[2], ''), nullif(f[3], ''), nullif(f[4], ''), nullif(f[5], ''),
    nullif(f[6], ''), nullif(f[7], ''), nullif(f[8], ''), nullif(f[9], ''), nullif(f[10], ''),
    nullif(f[11], ''), nullif(f[12], ''), nullif(f[13], ''), nullif(f[14], ''),
    try_cast(f[15] AS BOOLEAN),
    nullif(f[16], ''), nullif(f[17], ''), nullif(f[18], ''), nullif(f[19], ''),
    record,
    coalesce(nullif(f[20], ''), nullif(f[21], '')), nullif(f[22], ''), variant, record_hash
FROM (
    SELECT event_id, variant, record_hash, event_time, record,
        CASE WHEN fields IS NOT NULL THEN string_split(fields, chr(31))
        ELSE json_extract_string(record, [
            '$.eventSource', '$.eventName', '$.awsRegion', '$.sourceIPAddress', '$.userAgent',
            '$.userIdentity.type', '$.userIdentity.principalId', '$.userIdentity.arn',
            '$.userIdentity.accountId', '$.userIdentity.accessKeyId', '$.userIdentity.userName',
            '$.userIdentity.sessionContext.sessionIssuer.arn', '$.errorCode', '$.errorMessage',
            '$.readOnly', '$.eventType', '$.eventCategory', '$.recipientAccountId', '$.eventVersion',
            '$.responseElements.credentials.accessKeyId', '$.responseElements.accessKey.accessKeyId',
            '$.requestParameters.roleArn'
        ]) END AS f
    FROM staged_events
);
