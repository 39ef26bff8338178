-- file_integrity on Trino (the view queries/schema.sql defines for DuckDB, same rows): the CTE
-- a Trino text gets where it includes this fragment (the name in double braces) right after
-- WITH: every source file (each once across exports) with the last verify's verdict on it,
-- NULL when there is none (columns file_id, kind, uri, sha256, content_sha256, verdict,
-- tampering, listed_by, detail, and export_id: a file is (file_id, export_id) in the lake).
file_integrity AS (
    SELECT f.file_id, f.kind, f.uri, f.sha256, f.content_sha256, v.verdict, v.tampering, v.listed_by, v.detail,
        f.export_id
    FROM source_files f
    LEFT JOIN verify_files v ON v.file_id = f.file_id AND v.export_id = f.export_id
)
