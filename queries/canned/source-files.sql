-- name: source-files
-- description: Every file or object the store was loaded from, with its size, SHA-256, ETag and the last trailhound verify's verdict: the chain of custody.
-- parameters: none
-- chart: none
--
-- `verdict` and `verdict_detail` are the last `trailhound verify`'s on the file (table
-- verify_files; NULL when verify never ran, or the file was read after its last run).
SELECT f.kind, f.uri, f.size, f.sha256, f.etag, f.last_modified, f.shape, f.records, f.events_new, f.read_at,
    v.verdict, v.detail AS verdict_detail
FROM source_files f LEFT JOIN verify_files v USING (file_id)
ORDER BY f.uri, f.file_id;
