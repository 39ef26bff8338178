-- cost-per-hour on Trino over the lake (queries/canned/cost-per-hour.sql has the header and the meaning).
WITH {{is_compute_launch}}, {{json_list}}, {{ecs_vcpu}}, {{ecs_gb}}, {{plain_number}}, {{epoch_us}},
FUNCTION hours_between(a bigint, b bigint) RETURNS array(bigint)   -- DuckDB's range(a, b), a < b (sequence stops at 10000 entries)
RETURN flatten(transform(sequence(0, (b - 1 - a) / 10000), k -> sequence(a + k * 10000, least(a + k * 10000 + 9999, b - 1))))
WITH {{lineage_events}},
cost_launches AS (
    SELECT event_id, event_time FROM lineage_events
    WHERE error_code IS NULL AND is_compute_launch(event_source, event_name)
),
{{cost_spans}},
hourly AS (
    SELECT region, resource_id, h,
        CASE WHEN epoch_us(span_end) > epoch_us(span_start)
             THEN usd * (least(epoch_us(span_end), (h + 1) * 3600000000) - greatest(epoch_us(span_start), h * 3600000000))
                  / (epoch_us(span_end) - epoch_us(span_start))
             ELSE usd END AS part
    FROM cost_spans
    CROSS JOIN UNNEST(hours_between(epoch_us(span_start) / 3600000000,     -- (at most ten years of hours a run)
                                    least(greatest(epoch_us(span_end) - 1, epoch_us(span_start)) / 3600000000 + 1,
                                          epoch_us(span_start) / 3600000000 + 87600))) AS r(h)
    WHERE usd IS NOT NULL
)
SELECT CAST(from_unixtime_nanos(h * 3600000000000) AS timestamp(6) with time zone) AS hour, region,
    round(sum(part), 2) AS usd, count(DISTINCT resource_id) AS resources,
    round(sum(sum(part)) OVER (ORDER BY h RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW), 2) AS cumulative_usd
FROM hourly
GROUP BY h, region
ORDER BY hour, region
