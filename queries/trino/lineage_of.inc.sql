-- lineage_of on Trino (the macro queries/macros.sql defines for DuckDB, same rows): the CTEs a
-- Trino text gets where it includes this fragment (the name in double braces) right after WITH;
-- then lineage_of is a CTE of the lineage of $keys (columns access_key_id, parent_access_key_id,
-- via, created_at, principal, note). The walk itself runs in trailhound ($lineage: the keys
-- reachable from $keys over lineage_edges, at most 64 derivations deep, as lake.Engine computes
-- them); each key's derivation is then picked among the edges into it from a lineage key, as
-- DuckDB's walk picks it (the walk's depth, a tie-break after the time, is 1 for every edge here).
-- Each CTE is referenced once (Trino inlines a CTE at each reference, and lineage_edges is a
-- big view: referenced several times, the plan exceeds Trino's 150 stages).
th_lo_found AS (
    SELECT k AS access_key_id, CAST(NULL AS varchar) AS parent_access_key_id, 'seed' AS via,
        CAST(NULL AS timestamp(6) with time zone) AS created_at, CAST(NULL AS varchar) AS principal,
        false AS ambiguous, CAST(NULL AS varchar) AS opened_by, CAST(NULL AS varchar) AS role,
        CAST(NULL AS varchar) AS note, 0 AS depth
    FROM UNNEST(CAST($keys AS array(varchar))) AS s(k) WHERE k IS NOT NULL AND k <> ''
    UNION ALL
    SELECT e.child, e.parent, e.via, e.created_at, e.principal, e.ambiguous, e.opened_by, e.role, e.note, 1
    FROM lineage_edges e
    WHERE cardinality(CAST($keys AS array(varchar))) = 0
       OR (contains(CAST($lineage AS array(varchar)), e.parent) AND NOT contains(CAST($keys AS array(varchar)), e.child))
),
th_lo_picked AS (
    SELECT * FROM (
        SELECT *, row_number() OVER (PARTITION BY access_key_id
            ORDER BY depth = 0 DESC, ambiguous, created_at NULLS LAST, depth, parent_access_key_id, via) AS th_n
        FROM th_lo_found
    )
    WHERE th_n = 1
),
th_lo_used AS (     -- (every key of the lineage is in $lineage; without keys, every key)
    SELECT access_key_id, min(arn) AS arn, true AS seen
    FROM events
    WHERE access_key_id IS NOT NULL
      AND (cardinality(CAST($keys AS array(varchar))) = 0 OR contains(CAST($lineage AS array(varchar)), access_key_id))
    GROUP BY access_key_id
),
th_lo_minted AS (   -- what an unused key would have acted as, from the call that made it
    SELECT minted_key_id, min(coalesce(f1, f2,
        'arn:aws:iam::' || coalesce(recipient_account_id, account_id) || ':user/' || f3)) AS arn
    FROM (SELECT minted_key_id, recipient_account_id, account_id,
              json_extract_scalar(record, '$.responseElements.assumedRoleUser.arn') AS f1,
              json_extract_scalar(record, '$.responseElements.federatedUser.arn') AS f2,
              json_extract_scalar(record, '$.responseElements.accessKey.userName') AS f3
          FROM events
          WHERE minted_key_id IS NOT NULL
            AND (cardinality(CAST($keys AS array(varchar))) = 0 OR contains(CAST($lineage AS array(varchar)), minted_key_id)))
    GROUP BY minted_key_id
),
th_lo_rows AS (     -- th_sum: a session an AWS service opened whose key signed nothing (summed up per parent, service, role)
    SELECT p.*, u.seen, u.arn AS used_arn, m.arn AS minted_arn,
        p.opened_by IS NOT NULL AND u.seen IS NULL AS th_sum
    FROM th_lo_picked p
    LEFT JOIN th_lo_used u ON u.access_key_id = p.access_key_id
    LEFT JOIN th_lo_minted m ON m.minted_key_id = p.access_key_id
),
th_lo_w AS (
    SELECT *, count(*) OVER g AS th_c, min(created_at) OVER g AS th_min, max(created_at) OVER g AS th_max,
        row_number() OVER (PARTITION BY th_sum, parent_access_key_id, via, opened_by, role ORDER BY access_key_id) AS th_r
    FROM th_lo_rows
    WINDOW g AS (PARTITION BY th_sum, parent_access_key_id, via, opened_by, role)
),
lineage_of AS (
    SELECT CASE WHEN th_sum THEN NULL ELSE access_key_id END AS access_key_id, parent_access_key_id, via,
        CASE WHEN th_sum THEN th_min ELSE created_at END AS created_at,
        CASE WHEN NOT th_sum THEN coalesce(used_arn, principal,
            CASE WHEN seen IS NULL AND principal IS NULL AND opened_by IS NULL THEN minted_arn END) END AS principal,
        CASE WHEN NOT th_sum THEN note ELSE
            'ambiguous: ' || opened_by || ' opened ' ||
            CASE WHEN th_c = 1
                 THEN '1 session in role ' || role || ' at ' || format_datetime(th_min, 'yyyy-MM-dd''T''HH:mm:ss''Z''') ||
                      '; its key signed no event in the store'
                 ELSE CAST(th_c AS varchar) || ' sessions in role ' || role || ' from ' ||
                      format_datetime(th_min, 'yyyy-MM-dd''T''HH:mm:ss''Z''') || ' to ' ||
                      format_datetime(th_max, 'yyyy-MM-dd''T''HH:mm:ss''Z''') || '; none of their keys signed an event in the store'
            END
        END AS note
    FROM th_lo_w
    WHERE NOT th_sum OR th_r = 1
)
