-- name: key-timeline
-- description: Each key of the lineage (without keys: each AKIA key of the store) from its first to its last use, and how it was obtained.
-- parameters: keys, from, to
-- chart: gantt start=first_seen end=last_seen label=access_key_id detail=via
-- title: Each key from its first to its last use (key timeline)
-- pack: chart 6
--
-- The scope is lineage_events (queries/macros.sql): the events signed by a key of the lineage,
-- and the console sign-ins of users it created; without keys, every event.
--
-- In the duckdb CLI (duckdb -readonly case.duckdb), paste the SELECT with $keys replaced by a
-- list (['AKIA...'], or []::VARCHAR[] for the whole store) and $from/$to by NULL or a time
-- (TIMESTAMPTZ '2026-11-07 00:00:00+00'), or prepare it:
--   PREPARE key_timeline AS <the SELECT below>;
--   EXECUTE key_timeline(keys := ['AKIAEXAMPLEKEY000001'], "from" := NULL, "to" := NULL);
WITH
keys AS (   -- the lineage (lineage_of, queries/macros.sql): each key once, by its first derivation
    SELECT access_key_id, parent_access_key_id, via, created_at
    FROM lineage_of($keys::VARCHAR[])
    WHERE len($keys::VARCHAR[]) > 0 AND access_key_id IS NOT NULL
),
used AS (
    SELECT access_key_id,
        min(event_time) AS first_seen,
        max(event_time) AS last_seen,
        count(*) AS events,
        count(*) FILTER (WHERE error_code IS NOT NULL) AS failed
    FROM event_rows
    WHERE event_time IS NOT NULL AND access_key_id IS NOT NULL
      AND CASE WHEN len($keys::VARCHAR[]) = 0 THEN access_key_id LIKE 'AKIA%'
               ELSE access_key_id IN (SELECT access_key_id FROM keys) END
      AND ($from::TIMESTAMPTZ IS NULL OR event_time >= $from::TIMESTAMPTZ)
      AND ($to::TIMESTAMPTZ IS NULL OR event_time < $to::TIMESTAMPTZ)
    GROUP BY access_key_id
)
SELECT u.access_key_id,
    coalesce(k.via, 'long-term key') AS via,
    k.parent_access_key_id,
    k.created_at AS obtained_at,
    u.first_seen,
    u.last_seen,
    u.events,
    u.failed
FROM used u LEFT JOIN keys k USING (access_key_id)
ORDER BY u.first_seen, u.access_key_id;
