-- s3_object(record) on Trino (the macro queries/macros.sql defines for DuckDB, same answers):
-- an inline function, included (the name in double braces) in a Trino text's WITH of
-- functions. The S3 object a data event names, as s3://bucket/key (requestParameters
-- bucketName and key, else the first AWS::S3::Object of resources), or NULL.
-- (The exposure fragment includes this one: a text that includes exposure has s3_object too.
-- Trino's $ also matches before a final newline, DuckDB's does not: the patterns end in \z.)
FUNCTION s3_object(record varchar)
    RETURNS varchar
    BEGIN
        DECLARE arn varchar;
        SET arn = element_at(filter(transform(coalesce(try_cast(json_extract(record, '$.resources') AS array(json)),
                                                       CAST(ARRAY[] AS array(json))),
                                              r -> json_extract_scalar(r, '$.ARN')),
                                    x -> x LIKE 'arn:%:s3:::%/%'), 1);
        RETURN coalesce('s3://' || json_extract_scalar(record, '$.requestParameters.bucketName') || '/' ||
                            json_extract_scalar(record, '$.requestParameters.key'),
                        -- (DuckDB's regexp_extract gives '' where the pattern does not match)
                        's3://' || CASE WHEN arn IS NOT NULL THEN coalesce(regexp_extract(arn, '^arn:[^:]*:s3:::(.*)\z', 1), '') END);
    END
