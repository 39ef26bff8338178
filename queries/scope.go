package queries

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"regexp"
)

// Scoped runs canned queries that share one scope (keys, from, to) on one connection where
// the lineage (lineage_of) and its events (lineage_events) are computed once, into temporary
// tables, and the two macros are replaced, on that connection only, by macros that read them.
// A report that runs twenty queries over the same lineage then pays for it once. Every
// canned query calls the macros with its own $keys, $from and $to (TestScopedMacroCalls
// checks the text), so on a Scoped connection they always ask for the scope it holds; a call
// with other arguments fails rather than answer for the wrong scope.
type Scoped struct {
	conn *sql.Conn
	p    Params
}

// scopeSetup materialises the scope; each statement binds only the parameters it names.
var scopeSetup = []string{
	`CREATE OR REPLACE TEMP TABLE th_scope_params AS
	 SELECT $keys::VARCHAR[] AS seed_keys, $from::TIMESTAMPTZ AS scope_from, $to::TIMESTAMPTZ AS scope_to`,
	`CREATE OR REPLACE TEMP TABLE th_scope_events AS
	 SELECT * FROM lineage_events($keys::VARCHAR[], $from::TIMESTAMPTZ, $to::TIMESTAMPTZ)`,
	`CREATE OR REPLACE TEMP TABLE th_scope_lineage AS SELECT * FROM lineage_of($keys::VARCHAR[])`,
	`CREATE OR REPLACE TEMP MACRO lineage_events(keys, t_from, t_to) AS TABLE
	 SELECT e.* FROM th_scope_events e
	 WHERE (SELECT CASE WHEN p.seed_keys IS NOT DISTINCT FROM keys AND p.scope_from IS NOT DISTINCT FROM t_from
	                         AND p.scope_to IS NOT DISTINCT FROM t_to THEN true
	               ELSE error('lineage_events: this connection holds the events of another scope') END
	        FROM th_scope_params p)`,
	`CREATE OR REPLACE TEMP MACRO lineage_of(keys) AS TABLE
	 SELECT l.* FROM th_scope_lineage l
	 WHERE (SELECT CASE WHEN p.seed_keys IS NOT DISTINCT FROM keys THEN true
	               ELSE error('lineage_of: this connection holds the lineage of other keys') END
	        FROM th_scope_params p)`,
}

// NewScoped takes a connection from db and computes the scope p on it.
func NewScoped(ctx context.Context, db *sql.DB, p Params) (*Scoped, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("scope: %w", err)
	}
	s := &Scoped{conn: conn, p: p}
	for _, stmt := range scopeSetup {
		if _, err := conn.ExecContext(ctx, stmt, Query{SQL: stmt}.args(p)...); err != nil {
			s.Close()
			return nil, fmt.Errorf("scope: %w", err)
		}
	}
	return s, nil
}

// Run runs canned query q in the scope; its rows are the caller's to close.
func (s *Scoped) Run(ctx context.Context, q Query) (*sql.Rows, error) {
	rows, err := s.conn.QueryContext(ctx, q.sqlFor(s.p), q.args(s.p)...)
	if err != nil {
		return nil, fmt.Errorf("query %s: %w", q.Name, err)
	}
	return rows, nil
}

// Close closes the connection for good: it is not returned to the pool with the scope's
// macros on it.
func (s *Scoped) Close() error {
	err := s.conn.Raw(func(any) error { return driver.ErrBadConn })
	if cerr := s.conn.Close(); cerr != nil && !errors.Is(cerr, sql.ErrConnDone) {
		return cerr
	}
	if err != nil && !errors.Is(err, driver.ErrBadConn) {
		return err
	}
	return nil
}

// macroCallRE finds the calls of the two scope macros in a query's SQL.
var macroCallRE = regexp.MustCompile(`\b(lineage_events|lineage_of)\s*\(([^)]*)\)`)

// ScopeSafe reports whether every call q makes to lineage_events or lineage_of passes its
// own $keys, $from and $to, as a Scoped connection requires.
func (q Query) ScopeSafe() bool {
	for _, m := range macroCallRE.FindAllStringSubmatch(stripComments(q.SQL), -1) {
		want := "$keys::VARCHAR[], $from::TIMESTAMPTZ, $to::TIMESTAMPTZ"
		if m[1] == "lineage_of" {
			want = "$keys::VARCHAR[]"
		}
		if m[2] != want {
			return false
		}
	}
	return true
}

// QueryContext runs query on the scope's connection; the caller binds every parameter,
// $keys, $from and $to included (they must be the scope's: see lineage_events above).
func (s *Scoped) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return s.conn.QueryContext(ctx, query, args...)
}
