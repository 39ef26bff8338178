package queries

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"time"
)

// files holds the canned queries: one .sql file each, with a comment header.
//
//go:embed *.sql
var files embed.FS

// Query is a canned query: its SQL file and the header at its top.
type Query struct {
	Name        string
	Description string
	Parameters  string
	Chart       string
	SQL         string
}

// Canned lists the canned queries, sorted by name (schema.sql and insert_events.sql are not ones).
func Canned() ([]Query, error) {
	entries, err := fs.Glob(files, "*.sql")
	if err != nil {
		return nil, err
	}
	var qs []Query
	for _, e := range entries {
		if e == "schema.sql" || e == "insert_events.sql" {
			continue // the store's own SQL, not canned queries
		}
		b, err := files.ReadFile(e)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", e, err)
		}
		q := parseHeader(string(b))
		if q.Name != strings.TrimSuffix(e, ".sql") {
			return nil, fmt.Errorf("%s: header names it %q", e, q.Name)
		}
		qs = append(qs, q)
	}
	sort.Slice(qs, func(i, j int) bool { return qs[i].Name < qs[j].Name })
	return qs, nil
}

// Lookup returns the canned query called name.
func Lookup(name string) (Query, error) {
	qs, err := Canned()
	if err != nil {
		return Query{}, err
	}
	for _, q := range qs {
		if q.Name == name {
			return q, nil
		}
	}
	return Query{}, fmt.Errorf("no canned query %q", name)
}

// Params scope a canned query. They are bound as DuckDB named parameters, never formatted
// into the SQL: $keys (VARCHAR[]: the seed access keys; empty = the whole store), $from and
// $to (TIMESTAMPTZ; NULL = unbounded, the window is [from, to)). A query binds only the
// parameters its SQL names.
type Params struct {
	Keys     []string
	From, To time.Time // zero = unbounded
}

// args returns the named parameters q's SQL refers to.
func (q Query) args(p Params) []any {
	var args []any
	if strings.Contains(q.SQL, "$keys") {
		keys := p.Keys
		if keys == nil {
			keys = []string{}
		}
		args = append(args, sql.Named("keys", keys))
	}
	for _, t := range []struct {
		name string
		v    time.Time
	}{{"from", p.From}, {"to", p.To}} {
		if !strings.Contains(q.SQL, "$"+t.name) {
			continue
		}
		if t.v.IsZero() {
			args = append(args, sql.Named(t.name, nil))
		} else {
			args = append(args, sql.Named(t.name, t.v.UTC()))
		}
	}
	return args
}

// Run runs a canned query with p bound; its rows are the caller's to close.
func (q Query) Run(ctx context.Context, db *sql.DB, p Params) (*sql.Rows, error) {
	rows, err := db.QueryContext(ctx, q.SQL, q.args(p)...)
	if err != nil {
		return nil, fmt.Errorf("query %s: %w", q.Name, err)
	}
	return rows, nil
}

// parseHeader reads the "-- key: value" lines at the top of a query file.
func parseHeader(text string) Query {
	q := Query{SQL: text}
	for _, line := range strings.Split(text, "\n") {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "--")
		if !ok {
			break
		}
		key, val, ok := strings.Cut(rest, ":")
		if !ok {
			continue
		}
		val = strings.TrimSpace(val)
		switch strings.TrimSpace(key) {
		case "name":
			q.Name = val
		case "description":
			q.Description = val
		case "parameters":
			q.Parameters = val
		case "chart":
			q.Chart = val
		}
	}
	return q
}
