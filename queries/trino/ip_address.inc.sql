-- ip_address on Trino (the macro queries/macros.sql defines for DuckDB, same answers): an inline
-- function, for the WITH FUNCTION list at the start of a Trino text (fragments of this kind
-- are comma-separated there; the CTEs follow in a second WITH):
--     WITH <this fragment's name in double braces> WITH <CTEs> SELECT ... ip_address(source_ip) ...
-- ip_address(s): true when s is an IPv4 or IPv6 address (not a service name, "AWS Internal",
-- or a placeholder such as "redacted"); false for NULL. (\A and \z: Trino's regular
-- expressions are Ruby's, where ^ and $ match at line breaks.)
FUNCTION ip_address(s varchar) RETURNS boolean
RETURN (coalesce(regexp_like(s, '\A[0-9]{1,3}(\.[0-9]{1,3}){3}\z')
                 OR (strpos(s, ':') > 0 AND regexp_like(s, '\A[0-9a-fA-F:.]+\z')), false))
