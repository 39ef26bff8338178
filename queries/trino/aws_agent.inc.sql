-- aws_agent on Trino (the macro queries/macros.sql defines for DuckDB, same answers): an inline
-- function for the WITH FUNCTION list at the start of a Trino text (see ip_address.inc.sql).
-- aws_agent(ua): true when the user agent is AWS's own software; false for NULL.
FUNCTION aws_agent(ua varchar) RETURNS boolean
RETURN (coalesce(strpos(ua, 'aws-internal/') > 0
                 OR (ua LIKE '%.amazonaws.com' AND strpos(ua, ' ') = 0 AND strpos(ua, '/') = 0)
                 OR ua IN ('AWS Internal', 'aws.internal', '[AWS Internal]', 'AWSConsole')
                 OR starts_with(ua, 'Coral/')
                 OR (starts_with(ua, 'AWS ') AND ua LIKE '% Console')
                 OR starts_with(ua, 'EC2Console'), false))
