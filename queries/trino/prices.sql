-- prices on Trino over the lake (queries/canned/prices.sql has the header and the meaning): the table
-- lake.Engine.Run binds as $prices (the prices given, or trailhound's own, rank 0).
WITH {{prices}}
SELECT service, region, item, market, unit, usd, source, rank
FROM price_rows
ORDER BY rank, service, region, item, market, unit, usd, source
