-- name: cost-per-hour
-- description: What the compute cost per hour and region (USD at list prices): the shape of the bill.
-- parameters: keys, from, to, until, prices
-- chart: stacked-bar x=hour series=region y=usd
-- title: What it cost per hour, by region (USD at public list prices: the shape of the bill)
-- pack: chart 3
--
-- Each run of query cost (its spans: cost_spans in queries/macros.sql) spread over the UTC
-- hours it ran, in proportion to its time in each: per hour and region, `usd` accrued in
-- that hour, `resources` running in it, and `cumulative_usd` (all regions, up to the end of
-- that hour). Runs whose price is unknown are not in it (query cost lists them). Same
-- parameters, prices and caveats as query cost.
--
-- In the duckdb CLI (duckdb -readonly case.duckdb), paste the SELECT with the parameters
-- replaced as query cost says, or prepare it:
--   PREPARE cost_per_hour AS <the SELECT below>;
--   EXECUTE cost_per_hour(keys := ['AKIAEXAMPLEKEY000001'], "from" := NULL, "to" := NULL, "until" := NULL, prices := NULL);
WITH
launches AS MATERIALIZED (  -- (their records are read in cost_spans, with the events that end things)
    SELECT event_id, event_time FROM lineage_events($keys::VARCHAR[], $from::TIMESTAMPTZ, $to::TIMESTAMPTZ)
    WHERE error_code IS NULL AND is_compute_launch(event_source, event_name)
),
checked AS (
    SELECT CASE WHEN $until::TIMESTAMPTZ < min(event_time)
        THEN error('until ' || strftime($until::TIMESTAMPTZ, '%Y-%m-%dT%H:%M:%SZ') || ' is before the first launch in scope, at '
                   || strftime(min(event_time), '%Y-%m-%dT%H:%M:%SZ'))
        ELSE true END AS ok
    FROM launches
),
spans AS MATERIALIZED (
    SELECT * FROM cost_spans((SELECT list({'event_id': event_id, 'event_time': event_time}) FROM launches), $until::TIMESTAMPTZ, $prices::VARCHAR)
    WHERE (SELECT ok FROM checked)
),
hourly AS (
    SELECT region, resource_id, h,
        CASE WHEN epoch_us(span_end) > epoch_us(span_start)
             THEN usd * (least(epoch_us(span_end), (h + 1) * 3600000000) - greatest(epoch_us(span_start), h * 3600000000))
                  / (epoch_us(span_end) - epoch_us(span_start))
             ELSE usd END AS part
    FROM spans, unnest(range(epoch_us(span_start) // 3600000000,        -- (at most ten years of hours a run)
                             least(greatest(epoch_us(span_end) - 1, epoch_us(span_start)) // 3600000000 + 1,
                                   epoch_us(span_start) // 3600000000 + 87600))) AS r(h)
    WHERE usd IS NOT NULL
)
SELECT make_timestamptz(h * 3600000000) AS hour, region, round(sum(part), 2) AS usd, count(DISTINCT resource_id) AS resources,
    round(sum(sum(part)) OVER (ORDER BY h RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW), 2) AS cumulative_usd
FROM hourly
GROUP BY h, region
ORDER BY hour, region;
