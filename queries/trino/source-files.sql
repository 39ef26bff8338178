-- source-files on Trino over the lake (queries/canned/source-files.sql has the header and the meaning).
-- Each source file once across exports (the lake's source_files view), with its verdict.
SELECT f.kind, f.uri, f.size, f.sha256, f.etag, f.last_modified, f.shape, f.records, f.events_new, f.read_at,
    v.verdict, v.detail AS verdict_detail
FROM source_files f
LEFT JOIN verify_files v ON v.file_id = f.file_id AND v.export_id = f.export_id
ORDER BY f.uri, f.file_id
