-- json_list(j) on Trino (the macro of queries/macros.sql): a JSON array's elements, a single
-- value as an array of one, JSON null as NULL; SQL NULL (a path not in the record) gives
-- ARRAY[NULL], as DuckDB's macro does. An inline function (after a WITH, see is_compute_launch).
FUNCTION json_list(j json) RETURNS array(json)
RETURN CASE WHEN j IS NULL THEN ARRAY[CAST(NULL AS json)]
            WHEN json_array_length(j) IS NOT NULL THEN CAST(j AS array(json))
            WHEN json_format(j) = 'null' THEN NULL
            ELSE ARRAY[j] END
