-- lineage on Trino over the lake (queries/canned/lineage.sql has the header and the meaning).
WITH {{lineage_of}}
SELECT access_key_id, parent_access_key_id, via, created_at, principal, note
FROM lineage_of
ORDER BY via <> 'seed', created_at NULLS FIRST, access_key_id NULLS LAST, parent_access_key_id, note
