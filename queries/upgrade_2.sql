-- Upgrade a version 1 store to version 2 (not a canned query): derive the two credential
-- columns that schema.sql added from each record, exactly as insert_events.sql does for
-- new events. Open runs it once, when the store says it is at version 1.
UPDATE event_rows SET
    minted_key_id = coalesce(nullif(f[1], ''), nullif(f[2], '')),
    role_arn = nullif(f[3], '')
FROM (
    SELECT event_id AS id, json_extract_string(record, [
        '$.responseElements.credentials.accessKeyId', '$.responseElements.accessKey.accessKeyId',
        '$.requestParameters.roleArn']) AS f
    FROM event_rows
) AS derived
WHERE event_rows.event_id = derived.id;
UPDATE meta SET value = '2' WHERE key = 'schema_version' AND value = '1';
