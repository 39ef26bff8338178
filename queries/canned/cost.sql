-- name: cost
-- description: What the compute cost: resource-hours and an estimate at public list prices, per region, service and resource type.
-- parameters: keys, from, to, until, prices, currency, rate
-- chart: table
-- optional-columns: currency = currency, local, local_low, local_high
-- title: What it cost: resource-hours and an estimate at public list prices, per region and service (cost)
-- pack: table 11
-- empty: nothing the lineage launched ran, as far as the logs show: no compute cost.
--
-- One row per region, service, resource type and market (on-demand or spot) of what the
-- lineage's successful launches ran (failed launches cost nothing): `resources`, the first
-- start and last end, resource-`hours` (Fargate: vCPU and GB hours too), how many were
-- `still_running` at `until`, the rates used, `usd` (the estimate: hours x rates) with
-- `usd_low` and `usd_high` (they differ where an end is inferred or not logged: a task that
-- exits or an instance shut down from inside leaves no event, so such a run counts from
-- the one-minute minimum to `until`), `usd_per_day_running` (what the still-running ones
-- cost per day), `price_source` (which price table, which date) and `basis` (on-demand,
-- spot upper bound, `estimated (us-east-1 rate)`, price unknown; how the runs ended, with
-- how many of each). The spans come from cost_spans (queries/macros.sql), which says what
-- starts and ends what. Ends are taken from every event in the store, by anyone.
-- `until` defaults to the last event in the store; before the first launch it is an
-- error. Prices are the parameter $prices (a JSON array: a file's prices, or the Price List
-- API's answers, each over trailhound's own table; NULL = trailhound's own table, the view
-- price_table; query prices shows what is in use). List prices, USD, excluding tax,
-- discounts, storage (EBS) and data transfer. With $currency and $rate, `local` columns
-- convert the USD amounts (shown beside them, never instead).
-- Instances that AWS services launch for a group, a fleet or a Batch compute environment
-- are signed by AWS, not by a lineage key: run without --key to see them.
--
-- In the duckdb CLI (duckdb -readonly case.duckdb), paste the SELECT with $keys replaced by a
-- list (['AKIA...'], or []::VARCHAR[] for the whole store), $from/$to/$until by NULL or a time
-- (TIMESTAMPTZ '2026-11-07 00:00:00+00'), $prices by NULL (trailhound's table) or a JSON
-- array as `trailhound query prices --format json` prints it, $currency/$rate by NULL or
-- 'KRW'/1180, or prepare it:
--   PREPARE cost AS <the SELECT below>;
--   EXECUTE cost(keys := ['AKIAEXAMPLEKEY000001'], "from" := NULL, "to" := NULL, "until" := NULL, prices := NULL, currency := NULL, rate := NULL);
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
bases AS (      -- how the runs ended, with how many of each
    SELECT region, service, resource_type, market, string_agg(n || ' ' || span_basis, '; ' ORDER BY span_basis) AS ends
    FROM (SELECT region, service, resource_type, market, span_basis, count(DISTINCT resource_id) AS n
          FROM spans WHERE span_basis IS NOT NULL GROUP BY ALL)
    GROUP BY ALL
),
grouped AS (
    SELECT region, service, resource_type, market,
        count(DISTINCT resource_id) AS resources,
        min(span_start) AS first_start, max(span_end) AS last_end,
        sum(seconds) / 3600 AS hours, sum(seconds * vcpu) / 3600 AS vcpu_hours, sum(seconds * gb) / 3600 AS gb_hours,
        count(DISTINCT resource_id) FILTER (WHERE still_running) AS still_running,
        any_value(rate_hour) AS price_per_hour, any_value(rate_vcpu) AS price_per_vcpu_hour, any_value(rate_gb) AS price_per_gb_hour,
        CASE WHEN count(*) = count(usd) THEN sum(usd) END AS usd,
        CASE WHEN count(*) = count(usd) THEN sum(usd_low) END AS usd_low,
        CASE WHEN count(*) = count(usd) THEN coalesce(sum(usd_per_day) FILTER (WHERE still_running), 0) END AS usd_per_day_running,
        any_value(price_source) AS price_source, any_value(price_basis) AS price_basis,
        string_agg(DISTINCT note, '; ' ORDER BY note) AS notes
    FROM spans
    GROUP BY ALL
)
SELECT g.region, g.service, g.resource_type, g.market, g.resources, g.first_start, g.last_end,
    round(g.hours, 4) AS hours, round(g.vcpu_hours, 4) AS vcpu_hours, round(g.gb_hours, 4) AS gb_hours, g.still_running,
    g.price_per_hour, g.price_per_vcpu_hour, g.price_per_gb_hour,
    round(g.usd, 2) AS usd, round(g.usd_low, 2) AS usd_low, round(g.usd, 2) AS usd_high,
    round(g.usd_per_day_running, 2) AS usd_per_day_running,
    g.price_source, concat_ws('; ', g.price_basis, g.notes, b.ends) AS basis,
    $currency::VARCHAR AS currency, round(g.usd * $rate::DOUBLE, 2) AS local, round(g.usd_low * $rate::DOUBLE, 2) AS local_low,
    round(g.usd * $rate::DOUBLE, 2) AS local_high
FROM grouped g
LEFT JOIN bases b USING (region, service, resource_type, market)
ORDER BY g.region, g.service, g.resource_type, g.market;
