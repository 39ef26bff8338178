package queries

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/trailhound/trailhound/queries/prices"
)

// files holds the canned queries: one .sql file each in queries/canned/, with a comment
// header, apart from the store's own SQL (schema, macros, upgrades).
//
//go:embed canned/*.sql
var files embed.FS

// trinoFiles hold the canned queries' Trino texts, queries/trino/NAME.sql: the same query
// for the lake (trailhound export parquet) on Trino or Athena, where the dialects differ too
// much for one text. The header (name, description, parameters) is the DuckDB file's.
//
//go:embed trino/*.sql
var trinoFiles embed.FS

// Query is a canned query: its SQL file and the header at its top.
type Query struct {
	Name        string
	Description string
	Parameters  string // as the header writes them: "keys, from, to", or "none"
	Chart       string
	SQL         string
	// Trino is the query's text for Trino over the lake (queries/trino/NAME.sql); "" when it
	// has none yet.
	Trino string
	// Optional lists columns shown only when a parameter is given ("-- optional-columns:
	// currency = currency, local" in the header): without it, Run leaves them out.
	Optional map[string][]string
	// Title is what the evidence pack calls the query ("-- title:"), in words a victim
	// reads; ChartTitle titles its chart where that differs ("-- chart-title:").
	Title, ChartTitle string
	// Pack is whether and where the evidence pack shows the query ("-- pack:").
	Pack Pack
	// Empty is what the pack's page says when the query answers no rows ("-- empty:").
	Empty string
}

// Pack is a canned query's place in the evidence pack, from its header:
//
//	-- pack: chart 3                   a chart on the page (charts in this order)
//	-- pack: table 5                   a table on the page (tables in this order)
//	-- pack: file 20                   its CSV and JSONL in the pack, not on the page
//	-- pack: table 14, omitted when empty
//
// Every query in the pack is written whole as data/NAME.csv and data/NAME.jsonl.
type Pack struct {
	Kind      string // "" (not in the pack), "chart", "table" or "file"
	Order     int
	OmitEmpty bool // a table left off the page when it has no rows
}

// InPack lists the canned queries the evidence pack shows as kind (chart, table, or file;
// "tables" lists tables and files together), in the headers' order.
func InPack(kinds ...string) ([]Query, error) {
	qs, err := canned()
	if err != nil {
		return nil, err
	}
	var out []Query
	for _, q := range qs {
		if slices.Contains(kinds, q.Pack.Kind) {
			out = append(out, q)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Pack.Order < out[j].Pack.Order })
	return out, nil
}

var packRE = regexp.MustCompile(`^(chart|table|file) ([0-9]{1,4})(, omitted when empty)?$`)

// parsePack reads a "-- pack:" value.
func parsePack(val string) (Pack, error) {
	m := packRE.FindStringSubmatch(val)
	if m == nil {
		return Pack{}, fmt.Errorf("pack %q: want chart N, table N or file N (then, for a table, \", omitted when empty\")", val)
	}
	n, _ := strconv.Atoi(m[2])
	if m[3] != "" && m[1] != "table" {
		return Pack{}, fmt.Errorf("pack %q: only a table is omitted when empty", val)
	}
	return Pack{Kind: m[1], Order: n, OmitEmpty: m[3] != ""}, nil
}

// Params lists the parameters the query's header declares (keys, from, to), in order.
func (q Query) Params() []string {
	var ps []string
	for _, p := range strings.Split(q.Parameters, ",") {
		if p = strings.TrimSpace(p); p != "" && p != "none" {
			ps = append(ps, p)
		}
	}
	return ps
}

// Takes reports whether the query's header declares parameter name (keys, from or to).
func (q Query) Takes(name string) bool {
	return slices.Contains(q.Params(), name)
}

// uses reports whether the query's SQL, outside comments, refers to $name.
func (q Query) uses(name string) bool {
	return paramRE(name).MatchString(stripComments(q.SQL))
}

func paramRE(name string) *regexp.Regexp {
	return regexp.MustCompile(`\$` + regexp.QuoteMeta(name) + `\b`)
}

// stripComments drops "--" comments (the header and the documentation in a query file;
// the canned queries put no "--" inside string literals).
func stripComments(sql string) string {
	var b strings.Builder
	for _, line := range strings.Split(sql, "\n") {
		if i := strings.Index(line, "--"); i >= 0 {
			line = line[:i]
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return b.String()
}

// Canned lists the canned queries, sorted by name. The files are parsed once.
func Canned() ([]Query, error) {
	qs, err := canned()
	return slices.Clone(qs), err
}

var canned = sync.OnceValues(func() ([]Query, error) {
	entries, err := fs.Glob(files, "canned/*.sql")
	if err != nil {
		return nil, err
	}
	var qs []Query
	for _, e := range entries {
		b, err := files.ReadFile(e)
		if err != nil {
			return nil, fmt.Errorf("read queries/%s: %w", e, err)
		}
		base := path.Base(e)
		q, err := parseHeader(string(b))
		if err != nil {
			return nil, fmt.Errorf("queries/%s: %w", e, err)
		}
		if q.Name != strings.TrimSuffix(base, ".sql") {
			return nil, fmt.Errorf("queries/%s: header names it %q", e, q.Name)
		}
		if t, err := trinoFiles.ReadFile("trino/" + base); err == nil {
			q.Trino = string(t)
		}
		qs = append(qs, q)
	}
	sort.Slice(qs, func(i, j int) bool { return qs[i].Name < qs[j].Name })
	return qs, nil
})

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
// $to (TIMESTAMPTZ; NULL = unbounded, the window is [from, to)). The cost queries also take
// $until (TIMESTAMPTZ: where runs without an end stop counting; NULL = the last event in the
// store), $prices (VARCHAR: the price table as one JSON array; NULL = the store's view
// price_table, trailhound's own) and $currency/$rate (a
// currency code and its units per USD, for the converted columns; NULL = none). A query
// binds only the parameters its SQL names.
type Params struct {
	Keys     []string
	From, To time.Time // zero = unbounded
	Until    time.Time // zero = the last event in the store
	// Prices is the price table; nil = trailhound's own (the view price_table, which is
	// prices.Embedded), empty = none.
	Prices   []prices.Price
	Currency string  // "" = USD only
	Rate     float64 // units of Currency per USD
}

// args returns the named parameters q's SQL refers to.
func (q Query) args(p Params) []any {
	var args []any
	if q.uses("keys") {
		keys := p.Keys
		if keys == nil {
			keys = []string{}
		}
		args = append(args, sql.Named("keys", keys))
	}
	for _, t := range []struct {
		name string
		v    time.Time
	}{{"from", p.From}, {"to", p.To}, {"until", p.Until}} {
		if !q.uses(t.name) {
			continue
		}
		if t.v.IsZero() {
			args = append(args, sql.Named(t.name, nil))
		} else {
			args = append(args, sql.Named(t.name, t.v.UTC()))
		}
	}
	if q.uses("prices") {
		if p.Prices == nil {
			args = append(args, sql.Named("prices", nil)) // the store's price_table
		} else {
			args = append(args, sql.Named("prices", prices.JSON(p.Prices)))
		}
	}
	if q.uses("currency") {
		if p.Currency == "" {
			args = append(args, sql.Named("currency", nil))
		} else {
			args = append(args, sql.Named("currency", p.Currency))
		}
	}
	if q.uses("rate") {
		if p.Currency == "" {
			args = append(args, sql.Named("rate", nil))
		} else {
			args = append(args, sql.Named("rate", p.Rate))
		}
	}
	return args
}

// Given reports whether p sets the parameter name (for the optional columns).
func (p Params) Given(name string) bool {
	switch name {
	case "keys":
		return len(p.Keys) > 0
	case "from":
		return !p.From.IsZero()
	case "to":
		return !p.To.IsZero()
	case "until":
		return !p.Until.IsZero()
	case "prices":
		return p.Prices != nil
	case "currency", "rate":
		return p.Currency != ""
	}
	return false
}

// sqlFor is q's SQL for p: the columns of a parameter p does not give are left out.
func (q Query) sqlFor(p Params) string {
	var drop []string
	for _, param := range slices.Sorted(maps.Keys(q.Optional)) {
		if !p.Given(param) {
			drop = append(drop, q.Optional[param]...)
		}
	}
	if len(drop) == 0 {
		return q.SQL
	}
	// The column names come from the query's own header, never from input.
	body := strings.TrimSuffix(strings.TrimSpace(q.SQL), ";")
	return "SELECT * EXCLUDE (" + strings.Join(drop, ", ") + ") FROM (\n" + body + "\n)"
}

// Run runs a canned query with p bound; its rows are the caller's to close.
func (q Query) Run(ctx context.Context, db *sql.DB, p Params) (*sql.Rows, error) {
	rows, err := db.QueryContext(ctx, q.sqlFor(p), q.args(p)...)
	if err != nil {
		return nil, fmt.Errorf("query %s: %w", q.Name, err)
	}
	return rows, nil
}

// parseHeader reads the "-- key: value" lines at the top of a query file.
func parseHeader(text string) (Query, error) {
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
		case "title":
			q.Title = val
		case "chart-title":
			q.ChartTitle = val
		case "empty":
			q.Empty = val
		case "pack":
			p, err := parsePack(val)
			if err != nil {
				return q, err
			}
			q.Pack = p
		case "optional-columns":
			param, cols, ok := strings.Cut(val, "=")
			if !ok {
				continue
			}
			if q.Optional == nil {
				q.Optional = map[string][]string{}
			}
			for _, c := range strings.Split(cols, ",") {
				if c = strings.TrimSpace(c); identRE.MatchString(c) {
					q.Optional[strings.TrimSpace(param)] = append(q.Optional[strings.TrimSpace(param)], c)
				}
			}
		}
	}
	return q, nil
}

// ParseTime reads a time as every --from and --to flag takes it (ingest windows and query
// scopes alike), and returns it in UTC:
//
//   - RFC 3339: 2021-11-27T13:00:00Z, 2021-11-27T14:00:00+01:00, fractions allowed;
//   - the same without a zone, taken as UTC: 2021-11-27T13:00:00, 2021-11-27T13:00;
//   - a space instead of the T, and " UTC" or an offset after it, as trailhound's page and
//     DuckDB print times: 2021-11-27 13:00:00 UTC, 2021-11-27 13:00:00+00;
//   - a date: 2021-11-27 (midnight UTC);
//   - a duration back from now: a whole positive number of seconds, minutes, hours, days or
//     weeks: 90s, 30min, 12h, 7d, 2w. "m" alone is refused as ambiguous (minutes or months?),
//     and a zero duration is refused because it means now, which leaves an empty window.
func ParseTime(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if m := relativeRE.FindStringSubmatch(s); m != nil {
		unit := relativeUnits[m[2]]
		n, err := strconv.ParseInt(m[1], 10, 64)
		switch {
		case m[2] == "m":
			return time.Time{}, fmt.Errorf("time %q is ambiguous (minutes or months?): write %smin for minutes, "+
				"or a number of days (90d is about three months)", s, m[1])
		case err == nil && n == 0:
			return time.Time{}, fmt.Errorf("time %q is no time back: it means now, and leaves an empty window "+
				"(--to already defaults to now)", s)
		case err != nil || n > int64(200*365*24*time.Hour/unit):
			return time.Time{}, fmt.Errorf("time %q: too far back", s)
		}
		return now.Add(-time.Duration(n) * unit).UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	text := s
	if len(text) > 10 && text[10] == ' ' { // 2021-11-27 13:00:00 -> 2021-11-27T13:00:00
		text = text[:10] + "T" + strings.TrimLeft(text[11:], " ")
	}
	if rest, ok := strings.CutSuffix(text, "UTC"); ok {
		text = strings.TrimRight(rest, " ") + "Z"
	}
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, text); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("time %q: want RFC 3339 (2021-11-27T13:00:00Z; without a zone it is UTC), "+
		"a date (2021-11-27, UTC) or a duration back from now (90s, 30min, 12h, 7d, 2w)", s)
}

// identRE is a plain column name (the optional columns a header names).
var identRE = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// timeLayouts are the forms of a date and time ParseTime takes (after a space between date
// and time became T and a trailing UTC became Z); a layout without a zone reads as UTC.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04:05.999999999Z07",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02T15:04",
}

var relativeRE = regexp.MustCompile(`^([0-9]+)(s|min|m|h|d|w)$`)

var relativeUnits = map[string]time.Duration{"s": time.Second, "min": time.Minute, "m": time.Minute,
	"h": time.Hour, "d": 24 * time.Hour, "w": 7 * 24 * time.Hour}

// MissingKeys returns, sorted, the keys that neither sign nor are minted by any event in
// the store: a typo, or logs that do not cover the key.
func MissingKeys(ctx context.Context, db *sql.DB, keys []string) ([]string, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	rows, err := db.QueryContext(ctx, `SELECT DISTINCT k FROM unnest(?::VARCHAR[]) AS t(k)
		WHERE k NOT IN (SELECT access_key_id FROM event_rows WHERE access_key_id IS NOT NULL)
		  AND k NOT IN (SELECT minted_key_id FROM event_rows WHERE minted_key_id IS NOT NULL)
		ORDER BY k`, keys)
	if err != nil {
		return nil, fmt.Errorf("look up keys: %w", err)
	}
	defer rows.Close()
	var missing []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, fmt.Errorf("look up keys: %w", err)
		}
		missing = append(missing, k)
	}
	return missing, rows.Err()
}

// TrinoFragment returns a shared piece of the Trino texts (queries/trino/NAME): the view
// lineage_edges.view.sql (created with the lake's tables) and the pieces ExpandTrino
// includes.
func TrinoFragment(name string) string {
	b, err := trinoFiles.ReadFile("trino/" + name)
	if err != nil {
		panic("queries: no Trino fragment " + name) // embedded: a build without it is broken
	}
	return string(b)
}

var includeRE = regexp.MustCompile(`\{\{([a-z0-9_]+)\}\}`)

// ExpandTrino replaces each {{NAME}} in a Trino text by the fragment queries/trino/NAME.inc.sql
// (Trino has no macros: a fragment is CTEs, or inline functions "FUNCTION f(...) RETURNS ...",
// written where the text needs them). Fragments may include fragments; each is expanded
// where it is written, as often as it is written.
func ExpandTrino(text string) (string, error) {
	return expandTrino(text, nil)
}

func expandTrino(text string, stack []string) (string, error) {
	var err error
	out := includeRE.ReplaceAllStringFunc(text, func(m string) string {
		if err != nil {
			return ""
		}
		name := includeRE.FindStringSubmatch(m)[1]
		if slices.Contains(stack, name) {
			err = fmt.Errorf("trino fragment %s includes itself (%s)", name, strings.Join(append(stack, name), " -> "))
			return ""
		}
		b, rerr := trinoFiles.ReadFile("trino/" + name + ".inc.sql")
		if rerr != nil {
			err = fmt.Errorf("trino fragment {{%s}}: no file queries/trino/%s.inc.sql", name, name)
			return ""
		}
		var sub string
		sub, err = expandTrino(string(b), append(stack, name))
		return sub
	})
	return out, err
}
