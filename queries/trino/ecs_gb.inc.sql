-- ecs_gb(memory) on Trino (the macro of queries/macros.sql): an ECS task's memory ("2048" MiB
-- or "2 GB") in GB (Fargate bills GB = 1024 MiB). An inline function (after a WITH, see
-- is_compute_launch).
FUNCTION ecs_gb(s varchar) RETURNS double
RETURN CASE WHEN lower(s) LIKE '%gb%' THEN try_cast(regexp_extract(s, '([0-9]+(\.[0-9]+)?)', 1) AS double)
            ELSE try_cast(s AS double) / 1024 END
