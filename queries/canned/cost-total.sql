-- name: cost-total
-- description: What the compute cost in all: the estimate, its range and basis, what still runs and costs per day, and a line for AWS Support.
-- parameters: keys, from, to, until, prices, currency, rate
-- chart: table
-- optional-columns: currency = currency, local, local_low, local_high, local_per_day_running
-- title: What it cost in all
-- pack: file 16
--
-- query cost summed: `usd` (the estimate) with `usd_low`/`usd_high`, `resources` launched,
-- `still_running` at `until` and what they cost per day (`usd_per_day_running`), `unpriced`
-- (resources whose price is unknown or that bill per use: not in the sums), the first start
-- and last end, `until`, the price sources, and `support_line`: one sentence stating the
-- estimate, its basis and its price source, for the AWS Support case. Same parameters,
-- prices and caveats as query cost.
--
-- In the duckdb CLI (duckdb -readonly case.duckdb), paste the SELECT with the parameters
-- replaced as query cost says, or prepare it:
--   PREPARE cost_total AS <the SELECT below>;
--   EXECUTE cost_total(keys := ['AKIAEXAMPLEKEY000001'], "from" := NULL, "to" := NULL, "until" := NULL, prices := NULL, currency := NULL, rate := NULL);
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
sums AS (
    SELECT count(DISTINCT region || resource_id) AS resources,
        count(DISTINCT region || resource_id) FILTER (WHERE still_running) AS still_running,
        count(DISTINCT region || resource_id) FILTER (WHERE usd IS NULL) AS unpriced,
        coalesce(sum(usd), 0) AS usd, coalesce(sum(usd_low), 0) AS usd_low,
        coalesce(sum(usd_per_day) FILTER (WHERE still_running), 0) AS usd_per_day_running,
        min(span_start) AS first_start, max(span_end) AS last_end,
        coalesce(any_value(until), coalesce($until::TIMESTAMPTZ, (SELECT max(event_time) FROM event_rows))) AS until,
        string_agg(DISTINCT price_source, '; ' ORDER BY price_source) AS price_sources,
        bool_or(price_basis LIKE '%estimated (us-east-1 rate)%') AS estimated,
        bool_or(price_basis LIKE 'spot: upper bound%') AS spot_upper,
        bool_or(usd IS NOT NULL AND usd_low < usd) AS ranged
    FROM spans
)
SELECT resources, still_running, unpriced, round(usd, 2) AS usd, round(usd_low, 2) AS usd_low, round(usd, 2) AS usd_high,
    round(usd_per_day_running, 2) AS usd_per_day_running, first_start, last_end, until, price_sources,
    'Estimated cost of the compute launched in this scope: USD ' || printf('%.2f', round(usd, 2)) ||
        CASE WHEN ranged THEN ' (between USD ' || printf('%.2f', round(usd_low, 2)) || ' and USD ' || printf('%.2f', round(usd, 2)) ||
             ', as some runs have no logged end)' ELSE '' END ||
        ', for ' || resources || ' resources from ' || coalesce(strftime(first_start, '%Y-%m-%dT%H:%M:%SZ'), '-') || ' to ' ||
        strftime(until, '%Y-%m-%dT%H:%M:%SZ') || ' (UTC), at public list prices (' || coalesce(price_sources, 'none') ||
        '), excluding tax, discounts, storage and data transfer' ||
        CASE WHEN estimated THEN '; regions without their own price at the us-east-1 rate' ELSE '' END ||
        CASE WHEN spot_upper THEN '; spot capacity at the on-demand rate (an upper bound)' ELSE '' END ||
        CASE WHEN unpriced > 0 THEN '; ' || unpriced || ' resources not priced' ELSE '' END ||
        CASE WHEN still_running > 0 THEN '; ' || still_running || ' still running at ' || strftime(until, '%Y-%m-%dT%H:%M:%SZ') ||
             ', accruing USD ' || printf('%.2f', round(usd_per_day_running, 2)) || ' per day' ELSE '' END || '.' AS support_line,
    $currency::VARCHAR AS currency, round(usd * $rate::DOUBLE, 2) AS local, round(usd_low * $rate::DOUBLE, 2) AS local_low,
    round(usd * $rate::DOUBLE, 2) AS local_high, round(usd_per_day_running * $rate::DOUBLE, 2) AS local_per_day_running
FROM sums;
