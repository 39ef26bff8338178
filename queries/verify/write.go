package verify

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// write replaces the last run's findings and verdicts with this run's, in one transaction.
func (v *run) write(ctx context.Context, db *sql.DB, started time.Time) (err error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("connect to store: %w", err)
	}
	defer conn.Close()
	for _, q := range []string{
		"CREATE OR REPLACE TEMP TABLE staged_findings AS SELECT * FROM verify_findings LIMIT 0",
		"CREATE OR REPLACE TEMP TABLE staged_verdicts AS SELECT * FROM verify_files LIMIT 0",
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("stage verify results: %w", err)
		}
	}
	err = conn.Raw(func(dc any) error {
		c := dc.(driver.Conn)
		fa, err := duckdb.NewAppender(c, "temp", "main", "staged_findings")
		if err != nil {
			return err
		}
		for _, f := range v.findings {
			if err := fa.AppendRow(f.Kind, IsTampering(f.Kind), str(f.Account), str(f.Region), str(f.Object), id(f.FileID),
				str(f.ListedBy), id(f.ListedID), when(f.Delivered), str(f.Expected), str(f.Actual), f.Detail); err != nil {
				fa.Close()
				return err
			}
		}
		if err := fa.Close(); err != nil {
			return err
		}
		va, err := duckdb.NewAppender(c, "temp", "main", "staged_verdicts")
		if err != nil {
			return err
		}
		for _, f := range v.files {
			if f.verdict == "" {
				f.verdict = "not-applicable"
			}
			if err := va.AppendRow(f.id, f.verdict, IsTampering(f.verdict) || f.verdict == "invalid",
				str(f.listed), str(f.detail)); err != nil {
				va.Close()
				return err
			}
		}
		return va.Close()
	})
	if err != nil {
		return fmt.Errorf("stage verify results: %w", err)
	}
	if _, err := conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	defer func() {
		if err != nil {
			conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		}
	}()
	var runID int64
	if err := conn.QueryRowContext(ctx, "SELECT coalesce(max(run_id), 0) + 1 FROM verify_runs").Scan(&runID); err != nil {
		return fmt.Errorf("read verify_runs: %w", err)
	}
	s := v.sum
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{"DELETE FROM verify_findings", nil},
		{"DELETE FROM verify_files", nil},
		{"INSERT INTO verify_findings SELECT * FROM staged_findings", nil},
		{"INSERT INTO verify_files SELECT * FROM staged_verdicts", nil},
		{"INSERT INTO verify_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", []any{runID, started.UTC(), v.opts.Now(), v.lastFile,
			s.Digests, s.DigestsValid, s.LogFiles, s.LogFilesVerified, s.Tampering, s.Findings}},
	} {
		if _, err := conn.ExecContext(ctx, q.sql, q.args...); err != nil {
			return fmt.Errorf("record verify results: %w", err)
		}
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("commit verify results: %w", err)
	}
	return nil
}

func str(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func id(n int64) any {
	if n == 0 {
		return nil
	}
	return n
}

func when(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}
