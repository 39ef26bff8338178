-- evidence-files on Trino over the lake (queries/canned/evidence-files.sql has the header and the
-- meaning). Each source file once across exports (the lake's views): a file is (file_id, export_id).
WITH {{lineage_events}},
ef_scope AS (
    SELECT event_id, min(event_time) AS event_time
    FROM lineage_events
    GROUP BY event_id
),
ef_files AS (
    SELECT s.file_id, s.export_id, count(*) AS events, min(e.event_time) AS first_event, max(e.event_time) AS last_event
    FROM ef_scope e JOIN event_sources s ON s.event_id = e.event_id
    GROUP BY s.file_id, s.export_id
)
SELECT f.kind, f.uri, v.verdict, v.tampering, x.events, x.first_event, x.last_event, f.sha256, v.listed_by, v.detail
FROM ef_files x
JOIN source_files f ON f.file_id = x.file_id AND f.export_id = x.export_id
LEFT JOIN verify_files v ON v.file_id = x.file_id AND v.export_id = x.export_id
ORDER BY v.tampering DESC NULLS LAST, v.verdict = 'verified', v.verdict NULLS LAST, f.uri, f.file_id
