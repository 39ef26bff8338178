-- name: coverage
-- description: Events per region per hour over the whole store, including hours with none: where the logs may have holes.
-- parameters: from, to
-- chart: heatmap x=hour y=region value=events
--
-- Every region that has events, every hour from the first to the last event of the store
-- (or of [from, to)): `events` is 0 where there are none. An hour without events may be a
-- quiet hour or missing logs (StopLogging, deleted files, a trail that skips the region);
-- `digest` says whether a CloudTrail-Digest file covers that hour for that region (a
-- digest for an hour without events means CloudTrail had nothing to deliver). Not scoped
-- to a lineage: it is about the logs, not the attacker.
--
-- In the duckdb CLI (duckdb -readonly case.duckdb), paste the SELECT with $from/$to replaced by
-- NULL or a time (TIMESTAMPTZ '2026-11-07 00:00:00+00'), or prepare it:
--   PREPARE coverage AS <the SELECT below>;
--   EXECUTE coverage("from" := NULL, "to" := NULL);
WITH
counts AS (
    SELECT date_trunc('hour', event_time) AS hour, aws_region AS region, count(*) AS events
    FROM event_rows
    WHERE event_time IS NOT NULL AND aws_region IS NOT NULL
      AND ($from::TIMESTAMPTZ IS NULL OR event_time >= $from::TIMESTAMPTZ)
      AND ($to::TIMESTAMPTZ IS NULL OR event_time < $to::TIMESTAMPTZ)
    GROUP BY ALL
),
hours AS (
    SELECT unnest(generate_series(min(hour), max(hour), INTERVAL 1 HOUR)) AS hour FROM counts
),
digest_hours AS (   -- hours a digest file covers, per region (from the digest's S3 key)
    SELECT DISTINCT regexp_extract(digest_s3_object, '/CloudTrail-Digest/([^/]+)/', 1) AS region,
        unnest(generate_series(date_trunc('hour', digest_start_time), digest_end_time - INTERVAL 1 SECOND,
                               INTERVAL 1 HOUR)) AS hour
    FROM digests
    WHERE digest_start_time IS NOT NULL AND digest_end_time > digest_start_time
      AND digest_end_time - digest_start_time <= INTERVAL 2 DAY
)
SELECT h.hour, r.region, coalesce(c.events, 0) AS events, d.hour IS NOT NULL AS digest
FROM hours h
CROSS JOIN (SELECT DISTINCT region FROM counts) r
LEFT JOIN counts c ON c.hour = h.hour AND c.region = r.region
LEFT JOIN digest_hours d ON d.hour = h.hour AND d.region = r.region
ORDER BY h.hour, r.region;
