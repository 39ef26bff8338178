-- cost-total on Trino over the lake (queries/canned/cost-total.sql has the header and the meaning).
WITH {{is_compute_launch}}, {{json_list}}, {{ecs_vcpu}}, {{ecs_gb}}, {{plain_number}}, {{epoch_us}},
FUNCTION iso_z(t timestamp(6) with time zone) RETURNS varchar   -- strftime(t, '%Y-%m-%dT%H:%M:%SZ')
RETURN format_datetime(t, 'yyyy-MM-dd''T''HH:mm:ss''Z''')
WITH {{lineage_events}},
cost_launches AS (
    SELECT event_id, event_time FROM lineage_events
    WHERE error_code IS NULL AND is_compute_launch(event_source, event_name)
),
{{cost_spans}},
sums AS (
    SELECT count(DISTINCT region || resource_id) AS resources,
        count(DISTINCT region || resource_id) FILTER (WHERE still_running) AS still_running,
        count(DISTINCT region || resource_id) FILTER (WHERE usd IS NULL) AS unpriced,
        coalesce(sum(usd), 0) AS usd, coalesce(sum(usd_low), 0) AS usd_low,
        coalesce(sum(usd_per_day) FILTER (WHERE still_running), 0) AS usd_per_day_running,
        min(span_start) AS first_start, max(span_end) AS last_end,
        coalesce(arbitrary(until), from_iso8601_timestamp($until), (SELECT max(event_time) FROM events)) AS until,
        listagg(DISTINCT price_source, '; ') WITHIN GROUP (ORDER BY price_source) AS price_sources,
        bool_or(price_basis LIKE '%estimated (us-east-1 rate)%') AS estimated,
        bool_or(price_basis LIKE 'spot: upper bound%') AS spot_upper,
        bool_or(usd IS NOT NULL AND usd_low < usd) AS ranged
    FROM cost_spans
)
SELECT resources, still_running, unpriced, round(usd, 2) AS usd, round(usd_low, 2) AS usd_low, round(usd, 2) AS usd_high,
    round(usd_per_day_running, 2) AS usd_per_day_running, first_start, last_end, until, price_sources,
    'Estimated cost of the compute launched in this scope: USD ' || format('%.2f', round(usd, 2)) ||
        CASE WHEN ranged THEN ' (between USD ' || format('%.2f', round(usd_low, 2)) || ' and USD ' || format('%.2f', round(usd, 2)) ||
             ', as some runs have no logged end)' ELSE '' END ||
        ', for ' || CAST(resources AS varchar) || ' resources from ' || coalesce(iso_z(first_start), '-') || ' to ' ||
        iso_z(until) || ' (UTC), at public list prices (' || coalesce(price_sources, 'none') ||
        '), excluding tax, discounts, storage and data transfer' ||
        CASE WHEN estimated THEN '; regions without their own price at the us-east-1 rate' ELSE '' END ||
        CASE WHEN spot_upper THEN '; spot capacity at the on-demand rate (an upper bound)' ELSE '' END ||
        CASE WHEN unpriced > 0 THEN '; ' || CAST(unpriced AS varchar) || ' resources not priced' ELSE '' END ||
        CASE WHEN still_running > 0 THEN '; ' || CAST(still_running AS varchar) || ' still running at ' || iso_z(until) ||
             ', accruing USD ' || format('%.2f', round(usd_per_day_running, 2)) || ' per day' ELSE '' END || '.' AS support_line,
    CAST($currency AS varchar) AS currency, round(usd * CAST($rate AS double), 2) AS local,
    round(usd_low * CAST($rate AS double), 2) AS local_low, round(usd * CAST($rate AS double), 2) AS local_high,
    round(usd_per_day_running * CAST($rate AS double), 2) AS local_per_day_running
FROM sums
