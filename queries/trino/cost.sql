-- cost on Trino over the lake (queries/canned/cost.sql has the header and the meaning).
WITH {{is_compute_launch}}, {{json_list}}, {{ecs_vcpu}}, {{ecs_gb}}, {{plain_number}}, {{epoch_us}}
WITH {{lineage_events}},
cost_launches AS (
    SELECT event_id, event_time FROM lineage_events
    WHERE error_code IS NULL AND is_compute_launch(event_source, event_name)
),
{{cost_spans}},
ranked AS (     -- how many resources ended each way (distinct resource ids, for `basis`): a window, not a second pass
    SELECT *, max(CASE WHEN resource_id IS NOT NULL THEN dr END) OVER (PARTITION BY region, service, resource_type, market, span_basis) AS n_basis
    FROM (SELECT *, dense_rank() OVER (PARTITION BY region, service, resource_type, market, span_basis ORDER BY resource_id) AS dr,
              row_number() OVER (PARTITION BY region, service, resource_type, market, span_basis) AS br
          FROM cost_spans)
),
grouped AS (
    SELECT region, service, resource_type, market,
        count(DISTINCT resource_id) AS resources,
        min(span_start) AS first_start, max(span_end) AS last_end,
        sum(seconds) / 3600 AS hours, sum(seconds * vcpu) / 3600 AS vcpu_hours, sum(seconds * gb) / 3600 AS gb_hours,
        count(DISTINCT resource_id) FILTER (WHERE still_running) AS still_running,
        arbitrary(rate_hour) AS price_per_hour, arbitrary(rate_vcpu) AS price_per_vcpu_hour, arbitrary(rate_gb) AS price_per_gb_hour,
        CASE WHEN count(*) = count(usd) THEN sum(usd) END AS usd,
        CASE WHEN count(*) = count(usd) THEN sum(usd_low) END AS usd_low,
        CASE WHEN count(*) = count(usd) THEN coalesce(sum(usd_per_day) FILTER (WHERE still_running), 0) END AS usd_per_day_running,
        arbitrary(price_source) AS price_source, arbitrary(price_basis) AS price_basis,
        listagg(DISTINCT note, '; ') WITHIN GROUP (ORDER BY note) AS notes,
        listagg(CASE WHEN br = 1 AND span_basis IS NOT NULL THEN CAST(coalesce(n_basis, 0) AS varchar) || ' ' || span_basis END, '; ')
            WITHIN GROUP (ORDER BY span_basis) AS ends
    FROM ranked
    GROUP BY region, service, resource_type, market
)
SELECT region, service, resource_type, market, resources, first_start, last_end,
    round(hours, 4) AS hours, round(vcpu_hours, 4) AS vcpu_hours, round(gb_hours, 4) AS gb_hours, still_running,
    price_per_hour, price_per_vcpu_hour, price_per_gb_hour,
    round(usd, 2) AS usd, round(usd_low, 2) AS usd_low, round(usd, 2) AS usd_high,
    round(usd_per_day_running, 2) AS usd_per_day_running,
    price_source, concat_ws('; ', price_basis, notes, ends) AS basis,
    CAST($currency AS varchar) AS currency, round(usd * CAST($rate AS double), 2) AS local,
    round(usd_low * CAST($rate AS double), 2) AS local_low, round(usd * CAST($rate AS double), 2) AS local_high
FROM grouped
ORDER BY region, service, resource_type, market
