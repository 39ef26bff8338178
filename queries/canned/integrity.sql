-- name: integrity
-- description: Findings of the last trailhound verify: log files and digests that fail the signed digest chains (tampering first).
-- parameters: none
-- chart: none
-- title: Findings of the last trailhound verify
-- pack: file 17
--
-- One row per finding of the last `trailhound verify` (table verify_findings; run verify
-- again after an ingest). `tampering` is true for a modification or a loss: modified,
-- missing, unlisted, trailing-data, unreadable, signature-invalid, digest-invalid,
-- previous-hash-mismatch, previous-signature-mismatch, digest-missing. It is false for what
-- was not ingested or could not be checked: not-ingested, unverifiable, no-digest,
-- chain-restart, digest-moved (a copy), needs-reingest. `object` is the S3 URI or path of
-- the log file or digest, `listed_by` the digest that lists it (or points to it),
-- `delivered` when CloudTrail delivered it (from its name), `expected` and `actual` the
-- hashes or signatures compared. Each source file's verdict is in verify_files.
SELECT kind, tampering, region, object, listed_by, delivered, expected, actual, detail
FROM verify_findings
ORDER BY tampering DESC, kind, account_id NULLS FIRST, region NULLS FIRST, delivered NULLS FIRST, object, listed_by;
