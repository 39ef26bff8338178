package lake

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	_ "github.com/duckdb/duckdb-go/v2" // the in-memory database that shapes Trino's rows as the store's
	_ "github.com/trinodb/trino-go-client/trino"

	"github.com/trailhound/trailhound/queries"
	"github.com/trailhound/trailhound/queries/prices"
)

// Engine is a Trino (or Starburst) coordinator holding the lake's schema.
type Engine struct {
	URL     string // trino://USER@HOST:PORT/CATALOG/SCHEMA, as given (no password is kept in it)
	Catalog string
	Schema  string
	DB      *sql.DB
}

// ParseEngine reads trino://USER@HOST:PORT/CATALOG/SCHEMA (trinos:// for HTTPS).
func ParseEngine(s string) (dsn, catalog, schema string, err error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "trino" && u.Scheme != "trinos") || u.Host == "" {
		return "", "", "", fmt.Errorf("--engine %q: want trino://USER@HOST:PORT/CATALOG/SCHEMA", s)
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
		return "", "", "", fmt.Errorf("--engine %q: want trino://USER@HOST:PORT/CATALOG/SCHEMA (catalog and schema both)", s)
	}
	user := "trailhound"
	if u.User != nil && u.User.Username() != "" {
		user = u.User.Username()
	}
	scheme := "http"
	if u.Scheme == "trinos" {
		scheme = "https"
	}
	d := url.URL{Scheme: scheme, Host: u.Host, User: url.User(user)}
	if u.User != nil {
		if p, ok := u.User.Password(); ok {
			d.User = url.UserPassword(user, p)
		}
	}
	q := url.Values{}
	q.Set("catalog", parts[0])
	q.Set("schema", parts[1])
	q.Set("source", "trailhound")
	d.RawQuery = q.Encode()
	return d.String(), parts[0], parts[1], nil
}

// OpenEngine connects to the Trino that url names and checks that it answers.
func OpenEngine(ctx context.Context, engineURL string) (*Engine, error) {
	dsn, catalog, schema, err := ParseEngine(engineURL)
	if err != nil {
		return nil, err
	}
	db, err := sql.Open("trino", dsn)
	if err != nil {
		return nil, fmt.Errorf("engine %s: %w", redact(engineURL), err)
	}
	e := &Engine{URL: redact(engineURL), Catalog: catalog, Schema: schema, DB: db}
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var one int64
	if err := db.QueryRowContext(pctx, "SELECT 1").Scan(&one); err != nil {
		db.Close()
		return nil, fmt.Errorf("engine %s: unreachable: %w", e.URL, shortErr(err))
	}
	return e, nil
}

// Close closes the connection pool.
func (e *Engine) Close() error { return e.DB.Close() }

// Exec runs a script of statements separated by ";" at line ends (what DDL prints).
func (e *Engine) Exec(ctx context.Context, script string) error {
	for _, stmt := range SplitStatements(script) {
		rows, err := e.DB.QueryContext(ctx, stmt)
		if err != nil {
			return fmt.Errorf("engine %s: %s: %w", e.URL, firstLine(stmt), shortErr(err))
		}
		for rows.Next() {
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return fmt.Errorf("engine %s: %s: %w", e.URL, firstLine(stmt), shortErr(err))
		}
	}
	return nil
}

// SplitStatements splits a script at ";" ending a line, dropping "--" comment lines.
func SplitStatements(script string) []string {
	var out []string
	var cur []string
	for _, line := range strings.Split(script, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "--") {
			continue
		}
		cur = append(cur, line)
		if strings.HasSuffix(strings.TrimSpace(line), ";") {
			s := strings.TrimSuffix(strings.TrimSpace(strings.Join(cur, "\n")), ";")
			if s != "" {
				out = append(out, s)
			}
			cur = nil
		}
	}
	if s := strings.TrimSpace(strings.Join(cur, "\n")); s != "" {
		out = append(out, s)
	}
	return out
}

// paramTokenRE matches the parameters a Trino text may name (the DuckDB ones, and $lineage).
var paramTokenRE = regexp.MustCompile(`\$(keys|from|to|until|prices|currency|rate|lineage)\b`)

// maxDepth is the lineage walk's cap, as macros.sql's (w.depth < 64).
const maxDepth = 64

// lineageKeys walks lineage_edges on the engine from the seeds, one round trip per step:
// every key reachable from them in at most 64 derivations (the set DuckDB's recursive walk
// finds: a key on a simple path of at most 64 steps is at most 64 steps from a seed).
func (e *Engine) lineageKeys(ctx context.Context, q queries.Query, seeds []string) ([]string, error) {
	seen := map[string]bool{}
	var frontier, all []string
	for _, k := range seeds {
		if k != "" && !seen[k] {
			seen[k] = true
			frontier = append(frontier, k)
			all = append(all, k)
		}
	}
	for depth := 0; depth < maxDepth && len(frontier) > 0; depth++ {
		rows, err := e.DB.QueryContext(ctx, `SELECT DISTINCT child FROM lineage_edges
			WHERE child IS NOT NULL AND contains(CAST(? AS array(varchar)), parent)`, frontier)
		if err != nil {
			return nil, e.queryError(q, err)
		}
		frontier = nil
		for rows.Next() {
			var k string
			if err := rows.Scan(&k); err != nil {
				rows.Close()
				return nil, e.queryError(q, err)
			}
			if !seen[k] {
				seen[k] = true
				frontier = append(frontier, k)
				all = append(all, k)
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, e.queryError(q, err)
		}
	}
	slices.Sort(all)
	return all, nil
}

// Run runs canned query q's Trino text on the engine with p bound, and returns its rows as
// the store would: the rows are copied into an in-memory DuckDB table with the DuckDB type
// of each Trino column, then read back (without the optional columns p does not ask for), so
// that every output format prints them exactly as it prints the store's. The Trino text
// names the parameters as the DuckDB one does ($keys: array(varchar), $from/$to/$until: ISO
// 8601 varchar or NULL, $currency: varchar or NULL, $rate: double or NULL) but for $prices:
// always the price table as one JSON array (varchar), trailhound's own when p.Prices is nil,
// as the store's view price_table is; each is sent as a prepared statement's parameter, never
// formatted into the text by trailhound. The caller closes the returned rows and then the release func.
func (e *Engine) Run(ctx context.Context, q queries.Query, p queries.Params) (*sql.Rows, func(), error) {
	if q.Trino == "" {
		return nil, nil, fmt.Errorf("query %s has no Trino text yet (queries/trino/%s.sql): run it on a store", q.Name, q.Name)
	}
	body, err := queries.ExpandTrino(q.Trino)
	if err != nil {
		return nil, nil, fmt.Errorf("query %s: %w", q.Name, err)
	}
	var lineage []string
	if len(p.Keys) > 0 && strings.Contains(body, "$lineage") {
		var err error
		if lineage, err = e.lineageKeys(ctx, q, p.Keys); err != nil {
			return nil, nil, err
		}
	}
	if lineage == nil {
		lineage = []string{}
	}
	var args []any
	text := paramTokenRE.ReplaceAllStringFunc(stripComments(body), func(m string) string {
		switch m {
		case "$keys":
			keys := p.Keys
			if keys == nil {
				keys = []string{}
			}
			args = append(args, keys)
		case "$lineage":
			args = append(args, lineage)
		case "$from", "$to", "$until":
			t := p.From
			switch m {
			case "$to":
				t = p.To
			case "$until":
				t = p.Until
			}
			if t.IsZero() {
				args = append(args, nil)
			} else {
				args = append(args, t.UTC().Format("2006-01-02T15:04:05.999999Z"))
			}
		case "$prices":
			ps := p.Prices
			if ps == nil { // the store's view price_table is trailhound's own table, with rank 0
				ps = prices.Embedded().Prices
			}
			args = append(args, prices.JSON(ps))
		case "$currency":
			if p.Currency == "" {
				args = append(args, nil)
			} else {
				args = append(args, p.Currency)
			}
		case "$rate":
			if p.Currency == "" {
				args = append(args, nil)
			} else {
				args = append(args, p.Rate)
			}
		}
		return "?"
	})
	text = strings.TrimSuffix(strings.TrimSpace(text), ";")
	rows, err := e.DB.QueryContext(ctx, text, args...)
	if err != nil {
		return nil, nil, e.queryError(q, err)
	}
	defer rows.Close()
	cols, err := rows.ColumnTypes()
	if err != nil {
		return nil, nil, e.queryError(q, err)
	}
	mem, err := sql.Open("duckdb", "?enable_external_access=false&autoload_known_extensions=false&autoinstall_known_extensions=false")
	if err != nil {
		return nil, nil, fmt.Errorf("query %s: %w", q.Name, err)
	}
	mem.SetMaxOpenConns(1)
	release := func() { mem.Close() }
	fail := func(err error) (*sql.Rows, func(), error) { release(); return nil, nil, err }
	if _, err := mem.ExecContext(ctx, "SET TimeZone = 'UTC'"); err != nil {
		return fail(fmt.Errorf("query %s: %w", q.Name, err))
	}
	var defs, binds, sel []string
	types := make([]string, len(cols))
	for i, c := range cols {
		t, err := duckType(c.DatabaseTypeName())
		if err != nil {
			return fail(fmt.Errorf("query %s on engine %s: column %s: %w", q.Name, e.URL, c.Name(), err))
		}
		types[i] = t
		defs = append(defs, fmt.Sprintf("c%d %s", i, t))
		if strings.HasSuffix(t, "[]") {
			binds = append(binds, fmt.Sprintf("CAST(CAST(? AS JSON) AS %s)", t))
		} else {
			binds = append(binds, "?")
		}
	}
	drop := map[string]bool{}
	for param, names := range q.Optional {
		if !p.Given(param) {
			for _, n := range names {
				drop[n] = true
			}
		}
	}
	for i, c := range cols {
		if !drop[c.Name()] {
			sel = append(sel, fmt.Sprintf(`c%d AS "%s"`, i, strings.ReplaceAll(c.Name(), `"`, `""`)))
		}
	}
	if _, err := mem.ExecContext(ctx, "CREATE TABLE r (n BIGINT, "+strings.Join(defs, ", ")+")"); err != nil {
		return fail(fmt.Errorf("query %s: %w", q.Name, err))
	}
	ins, err := mem.PrepareContext(ctx, "INSERT INTO r VALUES (?, "+strings.Join(binds, ", ")+")")
	if err != nil {
		return fail(fmt.Errorf("query %s: %w", q.Name, err))
	}
	defer ins.Close()
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	n := int64(0)
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return fail(e.queryError(q, err))
		}
		row := []any{n}
		for i, v := range vals {
			if strings.HasSuffix(types[i], "[]") && v != nil {
				b, err := json.Marshal(v)
				if err != nil {
					return fail(fmt.Errorf("query %s: %w", q.Name, err))
				}
				v = string(b)
			}
			row = append(row, v)
		}
		if _, err := ins.ExecContext(ctx, row...); err != nil {
			return fail(fmt.Errorf("query %s: copy Trino's rows: %w", q.Name, err))
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return fail(e.queryError(q, err))
	}
	out, err := mem.QueryContext(ctx, "SELECT "+strings.Join(sel, ", ")+" FROM r ORDER BY n")
	if err != nil {
		return fail(fmt.Errorf("query %s: %w", q.Name, err))
	}
	return out, release, nil
}

// duckType is the DuckDB type of a Trino column type, as the trino driver names it.
func duckType(t string) (string, error) {
	t = strings.ToLower(t)
	switch {
	case t == "varchar" || strings.HasPrefix(t, "varchar(") || strings.HasPrefix(t, "char"):
		return "VARCHAR", nil
	case t == "json":
		return "JSON", nil
	case t == "bigint":
		return "BIGINT", nil
	case t == "integer":
		return "INTEGER", nil
	case t == "smallint", t == "tinyint":
		return "SMALLINT", nil
	case t == "double":
		return "DOUBLE", nil
	case t == "real":
		return "FLOAT", nil
	case t == "boolean":
		return "BOOLEAN", nil
	case strings.HasPrefix(t, "timestamp") && strings.HasSuffix(t, "with time zone"):
		return "TIMESTAMPTZ", nil
	case t == "date":
		return "DATE", nil
	case strings.HasPrefix(t, "array(varchar"):
		return "VARCHAR[]", nil
	case strings.HasPrefix(t, "array(bigint"):
		return "BIGINT[]", nil
	}
	return "", fmt.Errorf("Trino type %s has no DuckDB counterpart here", t)
}

// queryError names the engine and the query, and says what a missing table means.
func (e *Engine) queryError(q queries.Query, err error) error {
	msg := shortErr(err).Error()
	if strings.Contains(msg, "TABLE_NOT_FOUND") || strings.Contains(msg, "does not exist") {
		return fmt.Errorf("query %s on engine %s: %s: is %s.%s a trailhound lake? ('trailhound lake ddl' creates its tables)",
			q.Name, e.URL, msg, e.Catalog, e.Schema)
	}
	return fmt.Errorf("query %s on engine %s: the engine rejected it: %s", q.Name, e.URL, msg)
}

// shortErr keeps the first line of a driver error (Trino's carry the whole query).
func shortErr(err error) error {
	var ne net.Error
	if errors.As(err, &ne) {
		return err
	}
	msg := err.Error()
	if i := strings.IndexByte(msg, '\n'); i > 0 {
		msg = msg[:i]
	}
	return errors.New(msg)
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i > 0 {
		return s[:i]
	}
	return s
}

// redact drops a password from an engine URL.
func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// stripComments drops "--" comments (the Trino texts put none inside string literals).
func stripComments(s string) string {
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if i := strings.Index(line, "--"); i >= 0 {
			line = line[:i]
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return b.String()
}
