-- name: lineage
-- description: The credentials derived from the given keys, recursively: session keys, access keys, keys and console sessions of users they created.
-- parameters: keys
-- chart: graph source=parent_access_key_id target=access_key_id label=via
-- title: Credentials made from the leaked key (its lineage)
-- chart-title: Credentials made from the leaked key, as a tree (its lineage)
-- pack: table 1
-- empty: no credential was made from these keys in the store.
--
-- Each key appears once: a seed as `seed`, any other by its earliest derivation, `via` the
-- call that made it (GetSessionToken, AssumeRole, GetFederationToken, CreateAccessKey), or
-- CreateUser (a key seen acting as a user the parent created), or ConsoleLogin (a console
-- session of such a user). `principal` is the ARN the key acted as. `note` says when the
-- attribution is ambiguous: a session an AWS service (or another account) opened in a role
-- the lineage created. Such sessions whose keys never signed an event are summed up in one
-- row (access_key_id NULL). Without keys: every derivation the store records.
-- The logic is the lineage_of macro (queries/macros.sql), which trailhound stores in the store.
--
-- In the duckdb CLI (duckdb -readonly case.duckdb), paste the SELECT with $keys replaced by a
-- list, e.g. ['AKIAEXAMPLEKEY000001'], or prepare it:
--   PREPARE lineage AS <the SELECT below>;
--   EXECUTE lineage(keys := ['AKIAEXAMPLEKEY000001']);
SELECT access_key_id, parent_access_key_id, via, created_at, principal, note
FROM lineage_of($keys::VARCHAR[])
ORDER BY via <> 'seed', created_at NULLS FIRST, access_key_id NULLS LAST, parent_access_key_id, note;
