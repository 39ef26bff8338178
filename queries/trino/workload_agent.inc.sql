-- workload_agent on Trino (the macro queries/macros.sql defines for DuckDB, same answers): an
-- inline function for the WITH FUNCTION list at the start of a Trino text (see ip_address.inc.sql).
-- workload_agent(ua): the AWS runtime or agent that made a call from inside the workload a
-- session key was issued to (Lambda runtime, ECS task runtime, SSM agent), or NULL.
FUNCTION workload_agent(ua varchar) RETURNS varchar
RETURN (CASE
    WHEN strpos(ua, 'exec-env/AWS_Lambda_') > 0 THEN 'Lambda runtime'
    WHEN strpos(ua, 'exec-env/AWS_ECS_') > 0 THEN 'ECS task runtime'
    WHEN strpos(ua, 'amazon-ssm-agent') > 0 THEN 'SSM agent'
END)
