-- event_integrity on Trino (the view queries/schema.sql defines for DuckDB, same rows): the
-- CTE a Trino text gets where it includes this fragment (the name in double braces) right after
-- WITH: each event's (event_id, variant) source files with the last verify's verdict on each
-- (columns event_id, variant, file_id, uri, verdict, tampering, detail, and export_id: a file
-- is (file_id, export_id) in the lake, each source once across exports).
event_integrity AS (
    SELECT s.event_id, s.variant, f.file_id, f.uri, v.verdict, v.tampering, v.detail, f.export_id
    FROM event_sources s
    JOIN source_files f ON f.file_id = s.file_id AND f.export_id = s.export_id
    JOIN verify_files v ON v.file_id = s.file_id AND v.export_id = s.export_id
)
