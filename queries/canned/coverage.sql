-- name: coverage
-- description: Events per region per hour over the whole store, and the runs of hours with none: where the logs may have holes.
-- parameters: from, to
-- chart: heatmap x=hour y=region value=events
-- title: Where the logs may have holes: events per region and hour (log coverage)
-- pack: table 13
-- empty: no events in this window.
--
-- One row per region and hour (UTC) with events (`gap_hours` 0), and one row per run of
-- hours without any, from the store's first hour to its last (or within [from, to)):
-- `hour` is where the run starts, `gap_hours` how long it is, `events` 0. A run may be a
-- quiet time or missing logs (StopLogging, deleted files, a trail that skips the region).
-- `digest_hours` counts the hours of the row that a CloudTrail-Digest file covers for that
-- region: a digest for an hour without events means CloudTrail had nothing to deliver.
-- Not scoped to a lineage: it is about the logs, not the attacker.
--
-- In the duckdb CLI (duckdb -readonly case.duckdb), paste the SELECT with $from/$to replaced by
-- NULL or a time (TIMESTAMPTZ '2026-11-07 00:00:00+00'), or prepare it:
--   PREPARE coverage AS <the SELECT below>;
--   EXECUTE coverage("from" := NULL, "to" := NULL);
WITH
counts AS (     -- hours as whole numbers since 1970
    SELECT epoch_us(event_time) // 3600000000 AS h, aws_region AS region, count(*) AS events
    FROM event_rows
    WHERE event_time IS NOT NULL AND aws_region IS NOT NULL
      AND ($from::TIMESTAMPTZ IS NULL OR event_time >= $from::TIMESTAMPTZ)
      AND ($to::TIMESTAMPTZ IS NULL OR event_time < $to::TIMESTAMPTZ)
    GROUP BY ALL
),
marks AS (      -- each region's hours with events, between sentinels just outside the store's span
    SELECT region, h, events FROM counts
    UNION ALL
    SELECT r.region, s.h, NULL
    FROM (SELECT DISTINCT region FROM counts) r,
         (SELECT min(h) - 1 AS h FROM counts UNION ALL SELECT max(h) + 1 FROM counts) s
),
runs AS (
    SELECT region, h, events, lead(h) OVER (PARTITION BY region ORDER BY h) - h - 1 AS after
    FROM marks
),
rows AS (
    SELECT region, h, events, 0 AS gap_hours FROM runs WHERE events IS NOT NULL
    UNION ALL
    SELECT region, h + 1, 0, after FROM runs WHERE after > 0
),
digest_hours AS (   -- hours a digest file covers, per region (the region is in the digest's S3 key)
    SELECT DISTINCT regexp_extract(digest_s3_object, '/CloudTrail-Digest/([^/]+)/', 1) AS region,
        unnest(range(epoch_us(digest_start_time) // 3600000000, (epoch_us(digest_end_time) - 1) // 3600000000 + 1)) AS h
    FROM digests
    WHERE digest_start_time IS NOT NULL AND digest_end_time > digest_start_time
      AND digest_end_time - digest_start_time <= INTERVAL 2 DAY
)
SELECT make_timestamptz(r.h * 3600000000) AS hour, r.region, r.events, r.gap_hours,
    (SELECT count(*) FROM digest_hours d
     WHERE d.region = r.region AND d.h >= r.h AND d.h < r.h + greatest(r.gap_hours, 1)) AS digest_hours
FROM rows r
ORDER BY hour, r.region;
