-- aws_quarantine on Trino (the macro queries/macros.sql defines for DuckDB, same answers):
-- inline functions for the WITH FUNCTION list at the start of a Trino text (see
-- ip_address.inc.sql). aws_quarantine(event_source, event_name, record): the name of the
-- compromised-key quarantine policy AWS itself puts on a user, else NULL.
-- th_aq_only_denies is DuckDB's policy_only_denies written out for it (true when doc is a
-- valid policy document whose statements all deny; as DuckDB's '$.Statement[*].Effect', a
-- statement without Effect is skipped, and none with one is no answer: false).
FUNCTION th_aq_only_denies(doc varchar) RETURNS boolean
RETURN (CASE WHEN doc IS NOT NULL AND try(json_parse(doc)) IS NOT NULL THEN
    coalesce(
        CASE WHEN try(CAST(json_extract(doc, '$.Statement') AS array(json))) IS NOT NULL THEN
                 cardinality(CAST(json_extract(doc, '$.Statement') AS array(json))) > 0
                 AND cardinality(filter(transform(CAST(json_extract(doc, '$.Statement') AS array(json)),
                                                  x -> json_extract(x, '$.Effect')), e -> e IS NOT NULL)) > 0
                 AND all_match(filter(transform(CAST(json_extract(doc, '$.Statement') AS array(json)),
                                                x -> json_extract(x, '$.Effect')), e -> e IS NOT NULL),
                               e -> json_extract_scalar(e, '$') IS NOT DISTINCT FROM 'Deny')
             WHEN try(CAST(json_extract(doc, '$.Statement') AS map(varchar, json))) IS NOT NULL THEN
                 json_extract_scalar(doc, '$.Statement.Effect') = 'Deny'
        END, false)
    ELSE false END),
FUNCTION aws_quarantine(event_source varchar, event_name varchar, record varchar) RETURNS varchar
RETURN (CASE WHEN event_source = 'iam.amazonaws.com' AND event_name IN ('AttachUserPolicy', 'PutUserPolicy') THEN
    CASE WHEN event_name = 'AttachUserPolicy'
              AND regexp_like(json_extract_scalar(record, '$.requestParameters.policyArn'),
                              '\Aarn:aws[a-z-]*:iam::aws:policy/AWSCompromisedKeyQuarantine(V[0-9]+)?\z')
         THEN element_at(split(json_extract_scalar(record, '$.requestParameters.policyArn'), '/'), -1)
         WHEN event_name = 'PutUserPolicy'
              AND regexp_like(json_extract_scalar(record, '$.requestParameters.policyName'),
                              '\A(AWSCompromisedKeyQuarantine(V[0-9]+)?|AWSExposedCredentialPolicy_DO_NOT_REMOVE)\z')
              AND th_aq_only_denies(coalesce(json_extract_scalar(record, '$.requestParameters.policyDocument'),
                                             json_format(json_extract(record, '$.requestParameters.policyDocument'))))
         THEN json_extract_scalar(record, '$.requestParameters.policyName')
    END
END)
