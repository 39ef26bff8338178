-- name: conflicts
-- description: Records that share an eventID with different content (time, identity, address...): every variant, kept, with where each came from.
-- parameters: from, to
-- chart: none
-- title: Records that share an eventID with different content (each kept as its own event)
-- pack: table 14, omitted when empty
-- empty: no two records in the store share an eventID with different content.
--
-- CloudTrail gives every event its own eventID, so records with one eventID and different
-- content are a forgery, a broken export, or test data: never a second delivery, which the
-- store merges only when the canonical JSON is the same (keys sorted, no whitespace, one
-- escaping; ingest/variants.go). Each variant is a row of event_rows (view
-- event_conflicts); `variant` is 0 for the content the store saw first, then 1, 2...
-- `sources` lists the objects each variant came from (S3 URI, path, or event-history page).
-- An eventID is listed whole when any of its variants is in [from, to).
--
-- In the duckdb CLI (duckdb -readonly case.duckdb), paste the SELECT with $from/$to replaced by
-- NULL or a time (TIMESTAMPTZ '2026-11-07 00:00:00+00'), or prepare it:
--   PREPARE conflicts AS <the SELECT below>;
--   EXECUTE conflicts("from" := NULL, "to" := NULL);
WITH ids AS (
    SELECT DISTINCT event_id FROM event_conflicts
    WHERE ($from::TIMESTAMPTZ IS NULL OR event_time >= $from::TIMESTAMPTZ)
      AND ($to::TIMESTAMPTZ IS NULL OR event_time < $to::TIMESTAMPTZ)
)
SELECT c.event_id, c.variant, c.variants, c.event_time, c.event_source, c.event_name,
    coalesce(c.arn, c.user_name, c.identity_type) AS identity, c.access_key_id, c.source_ip, c.aws_region AS region,
    (SELECT string_agg(DISTINCT f.uri, '; ' ORDER BY f.uri) FROM event_sources s JOIN source_files f USING (file_id)
        WHERE s.event_id = c.event_id AND s.variant = c.variant) AS sources
FROM event_conflicts c SEMI JOIN ids USING (event_id)
ORDER BY c.event_id, c.variant;
