-- policy_only_denies(doc) on Trino (the macro queries/macros.sql defines for DuckDB, same
-- answers): an inline function. A Trino text includes this fragment (the name in double braces)
-- in its WITH of functions: WITH FUNCTION-fragments, comma-separated, then its own WITH of CTEs.
-- True when doc is a valid IAM policy document (JSON text) whose statements all have
-- "Effect": "Deny" (as DuckDB's $.Statement[*].Effect, statements without an Effect are
-- skipped; none with one is not all-deny). (RETURN takes a value expression: a comparison or an
-- AND goes in parentheses.)
FUNCTION policy_only_denies(doc varchar)
    RETURNS boolean
    BEGIN
        DECLARE st json;
        DECLARE effects array(varchar);
        IF doc IS NULL OR try(json_parse(doc)) IS NULL THEN
            RETURN false;
        END IF;
        SET st = json_extract(doc, '$.Statement');
        IF substr(json_format(st), 1, 1) = '[' THEN
            SET effects = transform(filter(CAST(st AS array(json)), s -> json_extract(s, '$.Effect') IS NOT NULL),
                                    s -> json_extract_scalar(s, '$.Effect'));
            RETURN (json_array_length(st) > 0 AND cardinality(effects) > 0
                AND all_match(effects, x -> x IS NOT DISTINCT FROM 'Deny'));
        END IF;
        IF substr(json_format(st), 1, 1) = '{' THEN
            RETURN coalesce(json_extract_scalar(st, '$.Effect') = 'Deny', false);
        END IF;
        RETURN false;
    END
