-- utc_hour(t) on Trino (the macro of queries/macros.sql): the start of t's hour, UTC (the
-- lake's times are UTC). An inline function (after a WITH, see is_compute_launch).
FUNCTION utc_hour(t timestamp(6) with time zone) RETURNS timestamp(6) with time zone
RETURN date_trunc('hour', t)
