-- aws_origin on Trino (the macro queries/macros.sql defines for DuckDB, same answers): inline
-- functions for the WITH FUNCTION list at the start of a Trino text (see ip_address.inc.sql);
-- this fragment brings ip_address, aws_agent and agent_name along (a function must be
-- declared before one that calls it; declaring one twice, identically, is allowed).
-- aws_origin(source_ip, user_agent, identity_type, invoked_by): the AWS service that made the
-- call (its name, or "AWS Internal"), or NULL when the call came from the caller itself.
{{ip_address}},
{{aws_agent}},
{{agent_name}},
FUNCTION aws_origin(source_ip varchar, user_agent varchar, identity_type varchar, invoked_by varchar) RETURNS varchar
RETURN (CASE
    WHEN identity_type = 'AWSService' THEN
        coalesce(CASE WHEN NOT ip_address(source_ip) THEN source_ip END, invoked_by, 'an AWS service')
    WHEN source_ip IN ('AWS Internal', 'aws.internal')
         OR (source_ip LIKE '%.amazonaws.com' AND strpos(source_ip, ' ') = 0 AND strpos(source_ip, '/') = 0) THEN source_ip
    WHEN invoked_by IS NOT NULL AND NOT ip_address(source_ip) THEN invoked_by
    WHEN source_ip IS NULL AND aws_agent(user_agent) THEN agent_name(user_agent)
END)
