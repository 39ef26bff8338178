-- The price table on Trino: the CTE price_rows (service, region, item, market, unit, usd,
-- source, rank) from $prices, which lake.Engine.Run always binds as one JSON array (the prices
-- given, or trailhound's own table, the store's view price_table, with rank 0): the CTEs a
-- Trino text gets where it includes this fragment after WITH.
price_rows AS (
    SELECT p.service, p.region, p.item, coalesce(p.market, 'on-demand') AS market, p.unit, p.usd, p.source,
        coalesce(p.rank, 0) AS rank
    FROM UNNEST(CAST(json_parse($prices) AS array(row(service varchar, region varchar, item varchar, market varchar,
        unit varchar, usd double, source varchar, rank integer)))) AS p(service, region, item, market, unit, usd, source, rank)
)
