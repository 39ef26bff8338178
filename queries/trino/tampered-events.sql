-- tampered-events on Trino over the lake (queries/canned/tampered-events.sql has the header and the
-- meaning). also_in_verified_file is a window over each event's sources (event_integrity is
-- planned once).
WITH {{lineage_events}}, {{event_integrity}},
th_i AS (
    SELECT event_id, variant, uri, verdict, detail, tampering,
        bool_or(verdict = 'verified') OVER (PARTITION BY event_id, variant) AS also_in_verified_file
    FROM event_integrity
)
SELECT e.event_time, e.access_key_id, e.aws_region AS region, e.event_source, e.event_name, e.event_id,
    i.verdict, i.uri AS object, i.detail, i.also_in_verified_file
FROM lineage_events e
JOIN th_i i ON i.event_id = e.event_id AND i.variant = e.variant AND i.tampering
ORDER BY e.event_time, e.event_id, e.variant, i.uri
