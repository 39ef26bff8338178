package queries

import (
	"context"
	"database/sql/driver"
	"encoding/hex"
	"fmt"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/trailhound/trailhound/internal/canonjson"
)

// upgrade5 moves a version 4 store to version 5 (variants). SchemaSQL added the columns:
// every row is variant 0 (an older store kept one row per eventID) and every source is of
// it; here each row gets its record_hash, the SHA-256 of the record's canonical JSON, as
// the ingest writer computes it, so that a later ingest tells a second delivery of a stored
// record from a variant. One transaction: a store killed during it is still version 4, and
// the next open does it again.
func (s *Store) upgrade5(ctx context.Context) (err error) {
	conn, err := s.DB.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "CREATE OR REPLACE TEMP TABLE upgrade_hashes (rid BIGINT, record_hash VARCHAR)"); err != nil {
		return err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS upgrade_hashes")
	rows, err := conn.QueryContext(ctx, "SELECT rowid, record FROM event_rows WHERE record_hash IS NULL")
	if err != nil {
		return err
	}
	type hashed struct {
		rid int64
		h   string
	}
	var all []hashed
	for rows.Next() {
		var rid int64
		var rec string
		if err := rows.Scan(&rid, &rec); err != nil {
			rows.Close()
			return err
		}
		sum, _ := canonjson.Sum([]byte(rec))
		all = append(all, hashed{rid, hex.EncodeToString(sum[:])})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	err = conn.Raw(func(dc any) error {
		a, err := duckdb.NewAppender(dc.(driver.Conn), "temp", "main", "upgrade_hashes")
		if err != nil {
			return err
		}
		for _, h := range all {
			if err := a.AppendRow(h.rid, h.h); err != nil {
				a.Close()
				return err
			}
		}
		return a.Close()
	})
	if err != nil {
		return fmt.Errorf("stage record hashes: %w", err)
	}
	if _, err := conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		}
	}()
	for _, q := range []string{
		`UPDATE event_rows SET record_hash = u.record_hash, variant = coalesce(variant, 0)
			FROM upgrade_hashes u WHERE event_rows.rowid = u.rid`,
		"UPDATE event_sources SET variant = 0 WHERE variant IS NULL",
		"UPDATE meta SET value = '5' WHERE key = 'schema_version' AND value = '4'",
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	_, err = conn.ExecContext(ctx, "COMMIT")
	return err
}
