-- Upgrade a version 2 (or 3) store to version 4 (not a canned query). schema.sql added the
-- integrity columns and tables; rows read before them have NULL content_sha256 (log files)
-- and NULL raw (digests), which trailhound verify reports as "not verifiable: re-ingest",
-- never as modified, and which the next ingest of the same files reads again (it does not
-- skip them as unchanged). Open runs this once, when the store says it is older.
UPDATE meta SET value = '4' WHERE key = 'schema_version' AND value IN ('2', '3');
