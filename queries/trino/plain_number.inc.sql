-- plain_number(x) on Trino (the macro of queries/macros.sql): x to three decimals without
-- trailing zeros (16, 0.25). Java's format rounds a tie in the fourth decimal (0.0625) up
-- where DuckDB's printf rounds it to even: ECS sizes (multiples of 1/4 vCPU, of 0.5 GB) have
-- none. An inline function (after a WITH, see is_compute_launch).
FUNCTION plain_number(x double) RETURNS varchar
RETURN regexp_replace(regexp_replace(format('%.3f', x), '0+$', ''), '\.$', '')
