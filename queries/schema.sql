-- trailhound store schema (version 5). Every statement is idempotent: it runs on every open.
-- All times are TIMESTAMPTZ in UTC. JSON columns hold JSON exactly as CloudTrail wrote it.

CREATE TABLE IF NOT EXISTS meta (
    key   VARCHAR PRIMARY KEY,
    value VARCHAR NOT NULL
);

-- One row per CloudTrail event, as stored: per eventID and content (version 5). A record
-- delivered again (the same eventID and canonical JSON) is one row with a source for each
-- delivery; a record with a stored eventID and other content is a variant of it, a row of
-- its own (view event_conflicts). Query the `events` view below, which
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
    role_arn             VARCHAR,          -- requestParameters.roleArn: the role an AssumeRole call asked for
    -- Variants (version 5): several rows may share an eventID, one per content.
    variant              INTEGER DEFAULT 0, -- 0 for the first content the store saw for this eventID, 1, 2... for others
    record_hash          VARCHAR           -- hex SHA-256 of record's canonical JSON (keys sorted, no whitespace, one escaping: internal/canonjson)
);

-- A version 1 store gets the credential columns here; upgrade_2.sql derives them (once).
ALTER TABLE event_rows ADD COLUMN IF NOT EXISTS minted_key_id VARCHAR;
ALTER TABLE event_rows ADD COLUMN IF NOT EXISTS role_arn VARCHAR;
-- A version 4 store gets the variant columns here (its rows are variant 0); the upgrade to
-- version 5 computes record_hash (in Go: queries/upgrade5.go).
ALTER TABLE event_rows ADD COLUMN IF NOT EXISTS variant INTEGER DEFAULT 0;
ALTER TABLE event_rows ADD COLUMN IF NOT EXISTS record_hash VARCHAR;

-- events: every stored column, plus the JSON sub-documents computed from record when read
-- (not stored twice, and not parsed at ingest). JSON null and absent are both SQL NULL.
CREATE OR REPLACE VIEW events AS
SELECT event_id, event_time, event_source, event_name, aws_region, source_ip, user_agent,
    identity_type, principal_id, arn, account_id, access_key_id, user_name, session_issuer_arn,
    error_code, error_message, read_only, event_type, event_category, recipient_account_id, event_version,
    minted_key_id, role_arn, variant, record,
    CASE WHEN json_type(record, '$.requestParameters') <> 'NULL'
         THEN json_extract(record, '$.requestParameters') END AS request_parameters,
    CASE WHEN json_type(record, '$.responseElements') <> 'NULL'
         THEN json_extract(record, '$.responseElements') END AS response_elements,
    CASE WHEN json_type(record, '$.resources') <> 'NULL'
         THEN json_extract(record, '$.resources') END AS resources
FROM event_rows;

-- Records that share an eventID with other content (version 5): every variant of every
-- eventID the store holds more than one row for, with how many it holds. A true second
-- delivery (same canonical JSON) is not here: it is one row with two sources.
CREATE OR REPLACE VIEW event_conflicts AS
SELECT e.event_id, e.variant, n.variants, e.record_hash, e.event_time, e.event_source, e.event_name, e.aws_region,
    e.source_ip, e.user_agent, e.identity_type, e.arn, e.user_name, e.access_key_id, e.account_id, e.error_code
FROM event_rows e
JOIN (SELECT event_id, count(*) AS variants FROM event_rows GROUP BY event_id HAVING count(*) > 1) n USING (event_id);

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
    records_rejected BIGINT DEFAULT 0,
    -- What integrity validation needs (version 4), recorded as the object is read so that
    -- trailhound verify never reads the files again; NULL in rows read before version 4.
    content_sha256 VARCHAR,            -- hex SHA-256 of the content: the first gzip stream decompressed (what a CloudTrail digest lists), or the bytes as stored when not gzipped
    trailing_bytes BIGINT              -- bytes after the end of the first gzip stream (neither decoded nor hashed); NULL when not gzipped
);
ALTER TABLE source_files ADD COLUMN IF NOT EXISTS records_rejected BIGINT DEFAULT 0;
ALTER TABLE source_files ADD COLUMN IF NOT EXISTS content_sha256 VARCHAR;
ALTER TABLE source_files ADD COLUMN IF NOT EXISTS trailing_bytes BIGINT;

-- Which source every event came from (an event delivered twice has two rows). An event
-- is one variant of an eventID: join on (event_id, variant).
CREATE TABLE IF NOT EXISTS event_sources (
    event_id VARCHAR NOT NULL,
    file_id  BIGINT NOT NULL,
    variant  INTEGER DEFAULT 0         -- version 5: which of the eventID's rows in event_rows
);
ALTER TABLE event_sources ADD COLUMN IF NOT EXISTS variant INTEGER DEFAULT 0;

-- CloudTrail-Digest files, kept whole for integrity validation.
CREATE TABLE IF NOT EXISTS digests (
    file_id             BIGINT NOT NULL,
    account_id          VARCHAR,
    digest_start_time   TIMESTAMPTZ,
    digest_end_time     TIMESTAMPTZ,
    digest_s3_bucket    VARCHAR,
    digest_s3_object    VARCHAR,
    log_files           BIGINT,        -- entries in logFiles
    content             JSON NOT NULL, -- as decoded (surrounding space and a BOM trimmed, invalid UTF-8 repaired): raw has the exact bytes
    -- Version 4: the bytes the signature covers, and the signature, which CloudTrail keeps
    -- in the S3 object's metadata, not in the file (ingest s3 records it; a local copy has
    -- none, and verify takes it from the next digest's previousDigestSignature).
    raw                 BLOB,          -- the digest file decompressed, byte for byte
    signature           VARCHAR,       -- x-amz-meta-signature (hex), as the object carried it
    signature_algorithm VARCHAR,       -- x-amz-meta-signature-algorithm (SHA256withRSA)
    backfill_generated  VARCHAR        -- x-amz-meta-backfill-generation-timestamp (backfill digests)
);
ALTER TABLE digests ADD COLUMN IF NOT EXISTS raw BLOB;
ALTER TABLE digests ADD COLUMN IF NOT EXISTS signature VARCHAR;
ALTER TABLE digests ADD COLUMN IF NOT EXISTS signature_algorithm VARCHAR;
ALTER TABLE digests ADD COLUMN IF NOT EXISTS backfill_generated VARCHAR;

-- S3 windows an ingest listed whole (version 4): every object under prefix, of the
-- accounts, organizations and regions named (empty: all), whose name puts its delivery
-- in [name_from, name_to). A log file a digest lists inside one is missing when it is not
-- in the store; outside every window it was just not ingested.
CREATE TABLE IF NOT EXISTS ingest_windows (
    run_id    BIGINT NOT NULL,
    prefix    VARCHAR NOT NULL,    -- s3://bucket/[prefix/]AWSLogs/
    accounts  VARCHAR[] NOT NULL,
    regions   VARCHAR[] NOT NULL,
    org_ids   VARCHAR[] NOT NULL,
    name_from TIMESTAMPTZ NOT NULL,
    name_to   TIMESTAMPTZ NOT NULL
);

-- CloudTrail's public keys (version 4), per region, from ListPublicKeys or a
-- --public-keys file (region ''), kept so that later verify runs are offline.
CREATE TABLE IF NOT EXISTS public_keys (
    region         VARCHAR NOT NULL,   -- '' for a key from a file: matched by fingerprint in any region
    fingerprint    VARCHAR NOT NULL,   -- as listed (CloudTrail's is the MD5 of value)
    value          BLOB NOT NULL,      -- DER: PKCS#1 RSAPublicKey (or SubjectPublicKeyInfo)
    validity_start TIMESTAMPTZ,
    validity_end   TIMESTAMPTZ,
    source         VARCHAR NOT NULL,   -- ListPublicKeys, or the file's path
    fetched_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (region, fingerprint)
);

-- The last trailhound verify run (version 4): one row per finding (tampering is true for
-- modifications and losses, false for what could not be checked or was not ingested),
-- and the verdict on every source file. Each run replaces them.
CREATE TABLE IF NOT EXISTS verify_runs (
    run_id      BIGINT NOT NULL,
    started_at  TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ NOT NULL,
    last_file_id BIGINT NOT NULL,      -- the newest source file it saw: files read later are not verified
    digests     BIGINT NOT NULL,
    digests_valid BIGINT NOT NULL,
    log_files   BIGINT NOT NULL,
    log_files_verified BIGINT NOT NULL,
    tampering   BIGINT NOT NULL,       -- findings of tampering or loss
    findings    BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS verify_findings (
    kind        VARCHAR NOT NULL,      -- modified, missing, unlisted, trailing-data, unreadable, signature-invalid, previous-hash-mismatch, previous-signature-mismatch, digest-missing; not-ingested, unverifiable, no-digest, chain-restart, digest-moved, needs-reingest
    tampering   BOOLEAN NOT NULL,
    account_id  VARCHAR,
    region      VARCHAR,
    object      VARCHAR,               -- the S3 URI or path of the object the finding is about
    file_id     BIGINT,                -- its source_files row, when it is in the store
    listed_by   VARCHAR,               -- the digest that lists it (or points to it)
    listed_by_file_id BIGINT,
    delivered   TIMESTAMPTZ,           -- when CloudTrail delivered the object (from its name; a digest's end time)
    expected    VARCHAR,               -- hash or signature the digest records
    actual      VARCHAR,               -- what the store holds
    detail      VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS verify_files (
    file_id   BIGINT NOT NULL,
    verdict   VARCHAR NOT NULL,        -- verified, unverified, modified, unlisted, trailing-data, no-digest, needs-reingest, signature-invalid, unverifiable, invalid, not-applicable
    tampering BOOLEAN NOT NULL,
    listed_by VARCHAR,                 -- the digest it was checked against (log files)
    detail    VARCHAR
);

-- Each event's integrity: the verdict on every source file it came from (last verify
-- run). An event whose every source is tampered has only tampered rows.
CREATE OR REPLACE VIEW event_integrity AS
SELECT s.event_id, s.variant, f.file_id, f.uri, v.verdict, v.tampering, v.detail
FROM event_sources s JOIN source_files f USING (file_id) JOIN verify_files v USING (file_id);

-- The events to mark, one row per event (eventID and variant): those from at least one
-- tampered file (modified, unlisted, trailing-data), with the verdicts ([] for none) and
-- whether no verified file corroborates them; and (version 5) those whose eventID has
-- other variants (conflicting: the store holds records with this eventID and other
-- content; view event_conflicts).
CREATE OR REPLACE VIEW event_marks AS
WITH integrity AS (
    SELECT event_id, variant, list(DISTINCT verdict ORDER BY verdict) FILTER (WHERE tampering) AS verdicts,
        NOT bool_or(verdict = 'verified') AS uncorroborated
    FROM event_integrity
    GROUP BY event_id, variant
    HAVING bool_or(tampering)
)
SELECT event_id, variant, coalesce(i.verdicts, []::VARCHAR[]) AS verdicts, coalesce(i.uncorroborated, false) AS uncorroborated,
    c.event_id IS NOT NULL AS conflicting
FROM integrity i FULL OUTER JOIN (SELECT event_id, variant FROM event_conflicts) c USING (event_id, variant);

-- Every source file with the last verify's verdict (NULL: read after that run, or an
-- older read of an object read again), e.g. for a manifest of the files behind a report.
CREATE OR REPLACE VIEW file_integrity AS
SELECT f.file_id, f.kind, f.uri, f.sha256, f.content_sha256, v.verdict, v.tampering, v.listed_by, v.detail
FROM source_files f LEFT JOIN verify_files v USING (file_id);

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
    records_rejected BIGINT,           -- parts of objects not stored (version 3; see ingest_errors.line)
    events_conflicting BIGINT          -- version 5: of events_new, variants of an eventID stored with other content
);
ALTER TABLE ingest_runs ADD COLUMN IF NOT EXISTS records_rejected BIGINT;
ALTER TABLE ingest_runs ADD COLUMN IF NOT EXISTS events_conflicting BIGINT;

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
SELECT s.event_id, s.variant, f.kind, f.uri, f.read_at,
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

INSERT INTO meta VALUES ('schema_version', '5') ON CONFLICT DO NOTHING;
-- A version 2 store has what version 3 adds once the statements above have run (upgrade_4.sql
-- then takes it to version 4).
UPDATE meta SET value = '3' WHERE key = 'schema_version' AND value = '2';
