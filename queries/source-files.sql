-- name: source-files
-- description: Every file or object the store was loaded from, with its size, SHA-256 and ETag: the chain of custody.
-- parameters: none
-- chart: none
SELECT kind, uri, size, sha256, etag, last_modified, shape, records, events_new, read_at
FROM source_files
ORDER BY uri, file_id;
