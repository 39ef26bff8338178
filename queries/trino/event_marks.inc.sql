-- event_marks on Trino (the view queries/schema.sql defines for DuckDB, same rows): the CTEs a
-- Trino text gets where it includes this fragment (the name in double braces) right after WITH;
-- then event_marks is a CTE of the events to mark, one row per event (event_id, variant):
-- those from at least one tampered file (verdicts: the tampered files' verdicts, sorted;
-- uncorroborated: no verified file holds the event too), and those whose eventID has other
-- variants (conflicting). Self-contained (it does not include event_integrity or
-- event_conflicts, so that a text may include those too). The lake's views give each source
-- once across exports; a file is (file_id, export_id).
th_em_integrity AS (
    SELECT s.event_id, s.variant,
        array_sort(array_distinct(array_agg(v.verdict) FILTER (WHERE v.tampering))) AS verdicts,
        NOT bool_or(v.verdict = 'verified') AS uncorroborated
    FROM event_sources s
    JOIN verify_files v ON v.file_id = s.file_id AND v.export_id = s.export_id
    GROUP BY s.event_id, s.variant
    HAVING bool_or(v.tampering)
),
th_em_conflicts AS (
    SELECT event_id, variant
    FROM (SELECT event_id, variant, count(*) OVER (PARTITION BY event_id) AS th_variants FROM events)
    WHERE th_variants > 1
),
event_marks AS (
    SELECT coalesce(i.event_id, c.event_id) AS event_id, coalesce(i.variant, c.variant) AS variant,
        coalesce(i.verdicts, CAST(ARRAY[] AS array(varchar))) AS verdicts,
        coalesce(i.uncorroborated, false) AS uncorroborated,
        c.event_id IS NOT NULL AS conflicting
    FROM th_em_integrity i
    FULL OUTER JOIN th_em_conflicts c ON c.event_id = i.event_id AND c.variant = i.variant
)
