-- name: prices
-- description: The price table the cost queries use: service, region, item, market, unit, usd, source (which table, which date).
-- parameters: prices
-- chart: table
--
-- Without --prices, trailhound's own table (the view price_table; its file,
-- queries/prices/aws-prices.csv, names the sources); with --prices FILE or live, those
-- prices first (rank 0), then trailhound's (rank 1): the cost queries take the lowest rank.
-- `--format json` prints it as the cost queries' $prices parameter takes it.
--
-- In the duckdb CLI (duckdb -readonly case.duckdb): SELECT * FROM price_table; or prepare it:
--   PREPARE prices AS <the SELECT below>;
--   EXECUTE prices(prices := NULL);
SELECT service, region, item, market, unit, usd, source, rank
FROM (
    SELECT p.service, p.region, p.item, coalesce(p.market, 'on-demand') AS market, p.unit, p.usd, p.source, coalesce(p.rank, 0) AS rank
    FROM (SELECT unnest(from_json($prices::JSON, '[{"service":"VARCHAR","region":"VARCHAR","item":"VARCHAR","market":"VARCHAR",
                 "unit":"VARCHAR","usd":"DOUBLE","source":"VARCHAR","rank":"INTEGER"}]')) AS p)
    WHERE $prices::VARCHAR IS NOT NULL
    UNION ALL
    SELECT service, region, item, market, unit, usd, source, 0 FROM price_table WHERE $prices::VARCHAR IS NULL
)
ORDER BY rank, service, region, item, market, unit, usd, source;
