-- by_aws on Trino (the macro queries/macros.sql defines for DuckDB, same answers): an inline
-- function for the WITH FUNCTION list at the start of a Trino text (see ip_address.inc.sql).
-- by_aws(ua, ip, identity_type): the call was made by AWS itself (an aws-internal/ agent, or
-- an AWS service), not by a person. (ip is unused, as in DuckDB's.)
FUNCTION by_aws(ua varchar, ip varchar, identity_type varchar) RETURNS boolean
RETURN (coalesce(starts_with(ua, 'aws-internal/') OR identity_type = 'AWSService', false))
