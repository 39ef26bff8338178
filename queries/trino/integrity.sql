-- integrity on Trino over the lake (queries/canned/integrity.sql has the header and the meaning).
SELECT kind, tampering, region, object, listed_by, delivered, expected, actual, detail
FROM verify_findings
ORDER BY tampering DESC, kind, account_id NULLS FIRST, region NULLS FIRST, delivered NULLS FIRST, object, listed_by
