-- coverage on Trino over the lake (queries/canned/coverage.sql has the header and the meaning).
-- Hours are whole numbers since 1970: th_us is DuckDB's epoch_us (microseconds; to_unixtime
-- is exact to the microsecond for these times), divided as DuckDB's // divides.
WITH
th_params AS (
    SELECT from_iso8601_timestamp($from) AS t_from, from_iso8601_timestamp($to) AS t_to
),
counts AS (
    SELECT CAST(round(to_unixtime(e.event_time) * 1000000) AS bigint) / 3600000000 AS h, e.aws_region AS region,
        count(*) AS events
    FROM events e CROSS JOIN th_params p
    WHERE e.event_time IS NOT NULL AND e.aws_region IS NOT NULL
      AND (p.t_from IS NULL OR e.event_time >= p.t_from) AND (p.t_to IS NULL OR e.event_time < p.t_to)
    GROUP BY 1, 2
),
th_c AS (   -- counts once (a CTE is planned at each reference), with the span's ends
    SELECT region, h, events, min(h) OVER () AS th_lo, max(h) OVER () AS th_hi,
        row_number() OVER (PARTITION BY region ORDER BY h) AS th_rn
    FROM counts
),
marks AS (  -- each region's hours with events, between sentinels just outside the store's span
    SELECT c.region, m.h, m.events
    FROM th_c c
    CROSS JOIN UNNEST(
        CASE WHEN c.th_rn = 1 THEN ARRAY[c.h, c.th_lo - 1, c.th_hi + 1] ELSE ARRAY[c.h] END,
        CASE WHEN c.th_rn = 1 THEN ARRAY[c.events, NULL, NULL] ELSE ARRAY[c.events] END) AS m(h, events)
),
runs AS (
    SELECT region, h, events, lead(h) OVER (PARTITION BY region ORDER BY h) - h - 1 AS after
    FROM marks
),
th_rows AS (
    SELECT r.region, x.h, x.events, x.gap_hours
    FROM runs r
    CROSS JOIN UNNEST(
        CASE WHEN r.events IS NOT NULL AND r.after > 0 THEN ARRAY[r.h, r.h + 1]
             WHEN r.events IS NOT NULL THEN ARRAY[r.h]
             WHEN r.after > 0 THEN ARRAY[r.h + 1]
             ELSE CAST(ARRAY[] AS array(bigint)) END,
        CASE WHEN r.events IS NOT NULL AND r.after > 0 THEN ARRAY[r.events, 0]
             WHEN r.events IS NOT NULL THEN ARRAY[r.events]
             WHEN r.after > 0 THEN ARRAY[0]
             ELSE CAST(ARRAY[] AS array(bigint)) END,
        CASE WHEN r.events IS NOT NULL AND r.after > 0 THEN ARRAY[0, r.after]
             WHEN r.events IS NOT NULL THEN ARRAY[0]
             WHEN r.after > 0 THEN ARRAY[r.after]
             ELSE CAST(ARRAY[] AS array(bigint)) END) AS x(h, events, gap_hours)
),
digest_hours AS (   -- hours a digest file covers, per region (the region is in the digest's S3 key)
    SELECT DISTINCT d.region, t.h
    FROM (SELECT coalesce(regexp_extract(digest_s3_object, '/CloudTrail-Digest/([^/]+)/', 1), '') AS region,
              CAST(round(to_unixtime(digest_start_time) * 1000000) AS bigint) / 3600000000 AS h0,
              (CAST(round(to_unixtime(digest_end_time) * 1000000) AS bigint) - 1) / 3600000000 AS h1
          FROM digests
          WHERE digest_start_time IS NOT NULL AND digest_end_time > digest_start_time
            AND digest_end_time - digest_start_time <= INTERVAL '2' DAY) d
    CROSS JOIN UNNEST(sequence(d.h0, d.h1)) AS t(h)
)
SELECT from_unixtime(r.h * 3600, 'UTC') AS hour, r.region, r.events, r.gap_hours, count(d.h) AS digest_hours
FROM th_rows r
LEFT JOIN digest_hours d ON d.region = r.region AND d.h >= r.h AND d.h < r.h + greatest(r.gap_hours, 1)
GROUP BY r.h, r.region, r.events, r.gap_hours
ORDER BY hour, r.region
