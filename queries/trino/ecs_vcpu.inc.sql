-- ecs_vcpu(cpu) on Trino (the macro of queries/macros.sql): an ECS task's CPU ("1024" units or
-- "1 vCPU") in vCPU. An inline function (after a WITH, see is_compute_launch).
FUNCTION ecs_vcpu(s varchar) RETURNS double
RETURN CASE WHEN lower(s) LIKE '%vcpu%' THEN try_cast(regexp_extract(s, '([0-9]+(\.[0-9]+)?)', 1) AS double)
            ELSE try_cast(s AS double) / 1024 END
