-- trailhound store schema (version 3). Every statement is idempotent: it runs on every open.
-- All times are TIMESTAMPTZ in UTC. JSON columns hold JSON exactly as CloudTrail wrote it.

CREATE TABLE IF NOT EXISTS meta (
    key   VARCHAR PRIMARY KEY,
    value VARCHAR NOT NULL
);

-- One row per CloudTrail event (eventID), as stored. Query the `events` view below, which
-- adds the JSON sub-documents. The typed columns are derived from `record`, the whole
-- original record, and can be rebuilt from it. `record` keeps the bytes CloudTrail wrote
-- (a JSON type would re-serialise them); every DuckDB JSON function and operator reads it
-- as JSON: record->>'$.requestParameters.userName', json_keys(record).
CREATE TABLE IF NOT EXISTS event_rows (
    event_id             VARCHAR NOT NULL, -- eventID; "th-<hex>" (SHA-256 of the canonical record) when the record has none
    event_time           TIMESTAMPTZ,      -- eventTime (or @timestamp), UTC; NULL when absent or unparseable
    event_source         VARCHAR,
    event_name           VARCHAR,
    aws_region           VARCHAR,
    source_ip            VARCHAR,          -- sourceIPAddress
    user_agent           VARCHAR,
    identity_type        VARCHAR,          -- userIdentity.type
    principal_id         VARCHAR,          -- userIdentity.principalId
    arn                  VARCHAR,          -- userIdentity.arn
    account_id           VARCHAR,          -- userIdentity.accountId
    access_key_id        VARCHAR,          -- userIdentity.accessKeyId: the credential that signed the call
    user_name            VARCHAR,          -- userIdentity.userName
    session_issuer_arn   VARCHAR,          -- userIdentity.sessionContext.sessionIssuer.arn
    error_code           VARCHAR,
    error_message        VARCHAR,
    read_only            BOOLEAN,          -- readOnly (true/false or "true"/"false")
    event_type           VARCHAR,
    event_category       VARCHAR,
    recipient_account_id VARCHAR,
    event_version        VARCHAR,
    record               VARCHAR NOT NULL, -- the whole original record: its JSON text
    -- Credential facts (version 2), derived like the columns above so that following a
    -- key's lineage never parses the records of the many AssumeRole calls AWS services make:
    minted_key_id        VARCHAR,          -- responseElements.credentials.accessKeyId (STS) or .accessKey.accessKeyId (CreateAccessKey)
    role_arn             VARCHAR           -- requestParameters.roleArn: the role an AssumeRole call asked for
);

-- A version 1 store gets the credential columns here; upgrade_2.sql derives them (once).
ALTER TABLE event_rows ADD COLUMN IF NOT EXISTS minted_key_id VARCHAR;
ALTER TABLE event_rows ADD COLUMN IF NOT EXISTS role_arn VARCHAR;

-- events: every stored column, plus the JSON sub-documents computed from record when read
-- (not stored twice, and not parsed at ingest). JSON null and absent are both SQL NULL.
CREATE OR REPLACE VIEW events AS
SELECT event_id, event_time, event_source, event_name, aws_region, source_ip, user_agent,
    identity_type, principal_id, arn, account_id, access_key_id, user_name, session_issuer_arn,
    error_code, error_message, read_only, event_type, event_category, recipient_account_id, event_version,
    minted_key_id, role_arn, record,
    CASE WHEN json_type(record, '$.requestParameters') <> 'NULL'
         THEN json_extract(record, '$.requestParameters') END AS request_parameters,
    CASE WHEN json_type(record, '$.responseElements') <> 'NULL'
         THEN json_extract(record, '$.responseElements') END AS response_elements,
    CASE WHEN json_type(record, '$.resources') <> 'NULL'
         THEN json_extract(record, '$.resources') END AS resources
FROM event_rows;

-- Every object events were read from: a local file, an S3 object, an event-history region.
-- The chain of custody: size and SHA-256 of the bytes as stored, when they were read.
CREATE TABLE IF NOT EXISTS source_files (
    file_id       BIGINT NOT NULL,     -- referenced by event_sources and digests
    kind          VARCHAR NOT NULL,    -- file | s3 | history
    uri           VARCHAR NOT NULL,    -- absolute path, s3://bucket/key, or history:REGION?start=…&end=…&page=N
    size          BIGINT,              -- bytes as stored (compressed)
    sha256        VARCHAR,             -- hex SHA-256 of those bytes
    etag          VARCHAR,
    last_modified TIMESTAMPTZ,
    shape         VARCHAR NOT NULL,    -- records | array | object | jsonl | lookup-events | digest
    records       BIGINT NOT NULL,     -- CloudTrail records kept from the object
    outside_window BIGINT NOT NULL DEFAULT 0, -- records left out: eventTime outside the ingest's --from/--to
    events_new    BIGINT NOT NULL,     -- of those, events first stored from this object
    read_at       TIMESTAMPTZ NOT NULL,
    run_id        BIGINT NOT NULL,
    -- Parts of the object not stored (version 3): lines of a JSON Lines file that are not
    -- whole events, records over the per-record limit; each is in ingest_errors. An object
    -- with any is read again by the next ingest.
    records_rejected BIGINT DEFAULT 0
);
ALTER TABLE source_files ADD COLUMN IF NOT EXISTS records_rejected BIGINT DEFAULT 0;

-- Which source every event came from (an event delivered twice has two rows).
CREATE TABLE IF NOT EXISTS event_sources (
    event_id VARCHAR NOT NULL,
    file_id  BIGINT NOT NULL
);

-- CloudTrail-Digest files, kept whole for integrity validation.
CREATE TABLE IF NOT EXISTS digests (
    file_id             BIGINT NOT NULL,
    account_id          VARCHAR,
    digest_start_time   TIMESTAMPTZ,
    digest_end_time     TIMESTAMPTZ,
    digest_s3_bucket    VARCHAR,
    digest_s3_object    VARCHAR,
    log_files           BIGINT,        -- entries in logFiles
    content             JSON NOT NULL
);

-- One row per ingest run, with its closing summary.
CREATE TABLE IF NOT EXISTS ingest_runs (
    run_id         BIGINT NOT NULL,
    command        VARCHAR NOT NULL,
    started_at     TIMESTAMPTZ NOT NULL,
    finished_at    TIMESTAMPTZ,
    files_read     BIGINT,
    files_skipped  BIGINT,             -- already ingested with the same content
    events_new     BIGINT,
    events_present BIGINT,
    files_rejected BIGINT,
    interrupted    BOOLEAN,            -- true for a run cut short (Ctrl-C, or found unfinished by the next ingest)
    records_rejected BIGINT            -- parts of objects not stored (version 3; see ingest_errors.line)
);
ALTER TABLE ingest_runs ADD COLUMN IF NOT EXISTS records_rejected BIGINT;

-- Inputs that could not be read, and why; and parts of inputs that could not be stored
-- while the rest was (a malformed line, a record over the size limit). A bad object never
-- stops the others. Reasons are terminal-safe text.
CREATE TABLE IF NOT EXISTS ingest_errors (
    run_id BIGINT NOT NULL,
    uri    VARCHAR NOT NULL,
    reason VARCHAR NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL,
    -- Version 3: part is true when only a part of the object was not stored (a record, a
    -- line), and line is that line of a JSON Lines file.
    part   BOOLEAN,
    line   BIGINT
);
ALTER TABLE ingest_errors ADD COLUMN IF NOT EXISTS part BOOLEAN;
ALTER TABLE ingest_errors ADD COLUMN IF NOT EXISTS line BIGINT;

-- Where each event came from, in words: "event history, us-east-1" (LookupEvents in that
-- region), "S3 s3://bucket/key", "file /path". An event delivered by several sources has a
-- row for each.
CREATE OR REPLACE VIEW event_origins AS
SELECT s.event_id, f.kind, f.uri, f.read_at,
    CASE f.kind
        WHEN 'history' THEN 'event history, ' || regexp_extract(f.uri, '^history:([^?#]*)', 1)
        WHEN 's3' THEN 'S3 ' || f.uri
        ELSE f.kind || ' ' || f.uri
    END AS origin
FROM event_sources s JOIN source_files f USING (file_id);

-- Event history (LookupEvents) queries, one row per region and StartTime/EndTime (a
-- NextToken is bound to both): where each stopped. A row is written in the same
-- transaction as the events of the pages it follows, so it never runs ahead of the store;
-- an interrupted query resumes from next_token, and a done one is not read again.
CREATE TABLE IF NOT EXISTS history_cursors (
    region       VARCHAR NOT NULL,
    query_start  TIMESTAMPTZ NOT NULL, -- StartTime sent
    query_end    TIMESTAMPTZ NOT NULL, -- EndTime sent
    kept_start   TIMESTAMPTZ NOT NULL, -- once done, the store holds every event of
    kept_end     TIMESTAMPTZ NOT NULL, -- [kept_start, kept_end) that event history had
    next_token   VARCHAR,              -- NULL when done
    pages        BIGINT NOT NULL,      -- pages read so far
    events       BIGINT NOT NULL,      -- events read so far
    oldest_event TIMESTAMPTZ,          -- oldest eventTime read (pages come newest first)
    done         BOOLEAN NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);

-- Prices the AWS Price List Query API gave (query cost --prices live), kept so that the
-- same types and regions are not asked for again. No schema version: the table is created
-- when missing, and older stores simply have none.
CREATE TABLE IF NOT EXISTS price_cache (
    service    VARCHAR NOT NULL,  -- ec2, fargate
    region     VARCHAR NOT NULL,
    item       VARCHAR NOT NULL,  -- instance type; Fargate: linux-x86_64, linux-arm64
    market     VARCHAR NOT NULL,  -- on-demand, spot
    unit       VARCHAR NOT NULL,  -- hour, vcpu-hour, gb-hour
    usd        DOUBLE NOT NULL,
    source     VARCHAR NOT NULL,  -- the API and the price's publication date
    fetched_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (service, region, item, market, unit)
);

INSERT INTO meta VALUES ('schema_version', '3') ON CONFLICT DO NOTHING;
-- A version 2 store has what version 3 adds once the statements above have run.
UPDATE meta SET value = '3' WHERE key = 'schema_version' AND value = '2';
