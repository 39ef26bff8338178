-- agent_name on Trino (the macro queries/macros.sql defines for DuckDB, same answers): an inline
-- function for the WITH FUNCTION list at the start of a Trino text (see ip_address.inc.sql).
-- agent_name(ua): the user agent without the square brackets S3 puts around it in its own
-- events (DuckDB's trim removes spaces only: so does this one).
FUNCTION agent_name(ua varchar) RETURNS varchar
RETURN (CASE WHEN starts_with(ua, '[') AND ua LIKE '%]' THEN trim(BOTH ' ' FROM substr(ua, 2, length(ua) - 2)) ELSE ua END)
