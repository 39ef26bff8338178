-- epoch_us(t) on Trino (DuckDB's epoch_us): microseconds since 1970-01-01 UTC, exactly (the double
-- to_unixtime gives is within a quarter microsecond of it). An inline function (after a WITH, see
-- is_compute_launch).
FUNCTION epoch_us(t timestamp(6) with time zone) RETURNS bigint
RETURN CAST(round(to_unixtime(t) * 1e6) AS bigint)
