package sigma

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/trailhound/trailhound/queries"
)

// Levels in rising order.
var Levels = []string{"informational", "low", "medium", "high", "critical"}

// LevelRank is the position of level in Levels (-1 for none).
func LevelRank(level string) int { return slices.Index(Levels, strings.ToLower(level)) }

// Plan is a rule set ready to run: the rules that run (each its own finding rows), the
// ones that do not and why.
type Plan struct {
	Rules   []*Rule   // loaded rules (detections and correlations), in load order
	Run     []*Rule   // those whose findings are reported
	Skipped []Problem // loaded but not run, and why
}

// Prepare resolves correlations, checks every rule compiles, and picks the rules to report:
// all but those below minLevel and the rules a correlation uses without generate: true.
func Prepare(rules []*Rule, minLevel string) *Plan {
	p := &Plan{Rules: rules}
	byRef := map[string][]*Rule{}
	seenID := map[string]*Rule{}
	var ok []*Rule
	for _, r := range rules {
		if r.ID != "" {
			if prev := seenID[r.ID]; prev != nil {
				p.skip(r, fmt.Sprintf("id %s is also the id of %s: loaded once", r.ID, prev.Ref()))
				continue
			}
			seenID[r.ID] = r
			byRef[r.ID] = append(byRef[r.ID], r)
		}
		if r.Name != "" {
			byRef[r.Name] = append(byRef[r.Name], r)
		}
		ok = append(ok, r)
	}
	used := map[*Rule]bool{}
	var runnable []*Rule
	for _, r := range ok {
		if err := p.check(r, byRef, 0); err != nil {
			p.skip(r, err.Error())
			continue
		}
		if r.Correlation != nil && !r.Correlation.Generate {
			for _, u := range r.Correlation.resolved {
				used[u] = true
			}
		}
		runnable = append(runnable, r)
	}
	min := LevelRank(minLevel)
	for _, r := range runnable {
		if used[r] {
			continue
		}
		if min > 0 && LevelRank(r.Level) < min {
			continue
		}
		p.Run = append(p.Run, r)
	}
	return p
}

func (p *Plan) skip(r *Rule, reason string) {
	p.Skipped = append(p.Skipped, Problem{Source: r.Source, Rule: docRef(r), Reason: reason})
}

// check validates a rule (and, for a correlation, resolves the rules it names) by compiling it.
func (p *Plan) check(r *Rule, byRef map[string][]*Rule, depth int) error {
	if depth > 8 {
		return errf("correlations nest deeper than 8 (or refer to themselves)")
	}
	if d := r.Detection; d != nil {
		if d.Timeframe > 0 && d.Agg == nil {
			return errf("timeframe without an aggregation: the older form's time window would apply to nothing " +
				"(the condition holds per event); write the rule as a correlation rule")
		}
		c := &compiler{prefix: "chk"}
		_, err := c.condition(d.Condition, d)
		return err
	}
	corr := r.Correlation
	corr.resolved = nil
	for _, ref := range corr.Rules {
		cands := byRef[ref]
		if len(cands) == 0 {
			return errf("correlation uses rule %q, which is not loaded (load its file too, with --rules)", ref)
		}
		if len(cands) > 1 {
			return errf("correlation uses rule %q, which names %d loaded rules", ref, len(cands))
		}
		u := cands[0]
		if u == r {
			return errf("correlation uses itself")
		}
		if err := p.check(u, byRef, depth+1); err != nil {
			return errf("correlation uses rule %q, which cannot run: %v", ref, err)
		}
		corr.resolved = append(corr.resolved, u)
	}
	for alias, m := range corr.Aliases {
		for _, u := range corr.resolved {
			if m[u.Name] == "" {
				return errf("alias %s names no field for rule %q (aliases go by the rules' name)", alias, u.Key())
			}
		}
	}
	return nil
}

// Options scope a run.
type Options struct {
	Keys     []string  // the lineage of these keys (queries.Params.Keys); empty: the whole store
	From, To time.Time // zero: unbounded
}

// Columns are the result columns of Query, in order.
var Columns = []string{"rule_id", "title", "level", "tags", "author", "event_id", "variant", "event_time", "region", "event_name", "access_key_id", "source_ip"}

// statement builds the SQL of the plan's rules over scope: one row per (rule, event), in
// time order when ordered. Records that share an eventID with other content (variants) are
// events of their own: one row each.
func (p *Plan) statement(rules []*Rule, scope string, ordered bool) (string, []any, error) {
	var parts []string
	var args []any
	var ids, titles, levels, tags, authors []string
	var idxs []int64
	for i, r := range rules {
		c := &compiler{prefix: fmt.Sprintf("r%d_", i)}
		s, err := ruleMatches(r, i, scope, c, 0, false)
		if err != nil {
			return "", nil, fmt.Errorf("%s: %w", r.Ref(), err)
		}
		if r.Detection == nil || r.Detection.Agg != nil {
			// a correlation may list an event more than once (in several windows, or for
			// several of its rules): once per rule. A detection's SELECT lists each event of
			// the scope at most once already (each stored row, a variant of an eventID being
			// a row of its own), so the many rows of a common rule are not sorted again for this.
			s = "SELECT * FROM (" + s + ")\nQUALIFY row_number() OVER (PARTITION BY event_id, variant ORDER BY event_time NULLS LAST, event_name, source_ip) = 1"
		}
		parts = append(parts, s)
		args = append(args, c.args...)
		idxs = append(idxs, int64(i))
		ids = append(ids, r.Key())
		titles = append(titles, r.Title)
		levels = append(levels, r.Level)
		tags = append(tags, strings.Join(r.Tags, ", "))
		authors = append(authors, r.Author)
	}
	if len(parts) == 0 {
		parts = []string{"SELECT NULL::BIGINT AS rule_idx, NULL::VARCHAR AS event_id, NULL::BIGINT AS variant, NULL::TIMESTAMPTZ AS event_time, NULL::VARCHAR AS aws_region, " +
			"NULL::VARCHAR AS event_name, NULL::VARCHAR AS access_key_id, NULL::VARCHAR AS source_ip WHERE false"}
	}
	args = append(args, sql.Named("m_idx", idxs), sql.Named("m_id", ids), sql.Named("m_title", titles),
		sql.Named("m_level", levels), sql.Named("m_tags", tags), sql.Named("m_author", authors))
	q := `WITH meta AS (
    SELECT unnest($m_idx::BIGINT[]) AS rule_idx, unnest($m_id::VARCHAR[]) AS rule_id, unnest($m_title::VARCHAR[]) AS title,
        unnest($m_level::VARCHAR[]) AS level, unnest($m_tags::VARCHAR[]) AS tags, unnest($m_author::VARCHAR[]) AS author
),
hits AS (
` + strings.Join(parts, "\nUNION ALL\n") + `
)
SELECT m.rule_id, m.title, m.level, m.tags, m.author, h.event_id, h.variant, h.event_time, h.aws_region AS region, h.event_name,
    h.access_key_id, h.source_ip
FROM hits h JOIN meta m USING (rule_idx)`
	if ordered {
		q += "\nORDER BY h.event_time NULLS LAST, m.rule_id, h.event_id, h.variant"
	}
	return q, args, nil
}

// ruleMatches is a SELECT of (rule_idx, the match columns, and record when withRecord) for
// the events r flags. Only a rule inside a correlation needs the record (for its group-by
// and value fields); everywhere else leaving it out keeps the rows small.
func ruleMatches(r *Rule, idx int, scope string, c *compiler, depth int, withRecord bool) (string, error) {
	rec, recCol := "", ""
	if withRecord {
		rec, recCol = ", e.record", ", record"
	}
	if d := r.Detection; d != nil && d.Agg == nil {
		return detectionMatches(d, idx, scope, c, rec)
	}
	corr := r.Correlation
	if corr == nil { // the older aggregation form: a correlation over the rule's own condition
		a := r.Detection.Agg
		base := *r
		det := *r.Detection
		det.Agg = nil
		base.Detection = &det
		corr = &Correlation{Type: "event_count", Timespan: r.Detection.Timeframe, Cond: []Bound{{Op: a.Op, N: a.N}},
			resolved: []*Rule{&base}}
		if a.Field != "" {
			corr.Type, corr.Field = "value_count", a.Field
		}
		if a.By != "" {
			corr.GroupBy = []string{a.By}
		}
	}
	if depth > 8 {
		return "", errf("correlations nest too deeply")
	}
	var base []string
	for j, u := range corr.resolved {
		var groups []string
		for gi, g := range corr.GroupBy {
			field := g
			if m, ok := corr.Aliases[g]; ok {
				field = m[u.Name]
			}
			groups = append(groups, fmt.Sprintf(" AS g%d", gi))
			groups[gi] = field + groups[gi]
		}
		val := " AS v"
		if corr.Field != "" {
			val = corr.Field + val
		}
		if d := u.Detection; d != nil && d.Agg == nil && !withRecord {
			// the group and value fields read from the matched event itself: its record
			// is not carried through the windows
			cols := ", " + fieldValue("e", val)
			for _, g := range groups {
				cols += ", " + fieldValue("e", g)
			}
			s, err := detectionMatches(d, j, scope, c, cols)
			if err != nil {
				return "", err
			}
			base = append(base, s)
			continue
		}
		s, err := ruleMatches(u, j, scope, c, depth+1, true)
		if err != nil {
			return "", err
		}
		val = fieldValue("b", val)
		for gi, g := range groups {
			groups[gi] = fieldValue("b", g)
		}
		star := "b.* EXCLUDE (record)"
		if withRecord {
			star = "b.*"
		}
		cols := append([]string{star, val}, groups...)
		base = append(base, fmt.Sprintf("SELECT %s FROM (%s) b", strings.Join(cols, ", "), s))
	}
	var part []string
	for gi := range corr.GroupBy {
		part = append(part, fmt.Sprintf("g%d", gi))
	}
	partition := ""
	if len(part) > 0 {
		partition = "PARTITION BY " + strings.Join(part, ", ")
	}
	var agg string
	switch corr.Type {
	case "event_count":
		agg = "count(DISTINCT event_id)"
	case "value_count":
		agg = "count(DISTINCT v)"
	case "temporal":
		agg = "count(DISTINCT rule_idx)"
	}
	cond := corr.Cond
	if len(cond) == 0 { // temporal: every rule
		cond = []Bound{{Op: "gte", N: float64(len(corr.resolved))}}
	}
	var conds []string
	for _, b := range cond {
		op := map[string]string{"gt": ">", "gte": ">=", "lt": "<", "lte": "<=", "eq": "=", "neq": "<>"}[b.Op]
		conds = append(conds, fmt.Sprintf("n %s %s", op, c.bind(b.N)))
	}
	hit := strings.Join(conds, " AND ")
	union := strings.Join(base, "\nUNION ALL\n")
	cols := "rule_idx, event_id, variant, event_time, aws_region, event_name, access_key_id, source_ip" + recCol
	if corr.Timespan == 0 { // the older form without timeframe: the whole scope at once
		return fmt.Sprintf(`SELECT %d AS rule_idx, event_id, variant, event_time, aws_region, event_name, access_key_id, source_ip%s FROM (
    SELECT *, %s OVER (%s) AS n FROM (%s) u
) WHERE %s`, idx, recCol, agg, partition, union, hit), nil
	}
	span := interval(corr.Timespan)
	gcols := ""
	for _, p := range part {
		gcols += ", " + p
	}
	// counted: the rows with n, the count in the window [t - span, t] that ends at each
	// row (the rows at t included).
	var counted string
	frame := fmt.Sprintf("OVER (%s ORDER BY event_time RANGE BETWEEN %s PRECEDING AND CURRENT ROW)", partition, span)
	switch corr.Type {
	case "event_count": // an event counts once in its group, whichever of the rules matched it
		counted = fmt.Sprintf(`SELECT *, count(*) %s AS n FROM (
        SELECT * FROM u WHERE event_time IS NOT NULL QUALIFY row_number() OVER (PARTITION BY event_id, variant%s ORDER BY rule_idx) = 1)`, frame, gcols)
	case "temporal": // the rules with an event in the window
		var terms []string
		for j := range corr.resolved {
			terms = append(terms, fmt.Sprintf("bool_or(rule_idx = %d) %s::INTEGER", j, frame))
		}
		counted = fmt.Sprintf("SELECT *, %s AS n FROM u WHERE event_time IS NOT NULL", strings.Join(terms, " + "))
	case "value_count":
		counted = fmt.Sprintf("SELECT *, count(DISTINCT v) %s AS n FROM u WHERE event_time IS NOT NULL", frame)
		_ = cols
	}
	return fmt.Sprintf(`SELECT * FROM (WITH u AS (%s)
SELECT %d AS rule_idx, event_id, variant, event_time, aws_region, event_name, access_key_id, source_ip%s FROM (
    SELECT *, bool_or(%s) OVER (%s ORDER BY event_time RANGE BETWEEN CURRENT ROW AND %s FOLLOWING) AS hit FROM (
        %s
    )
) WHERE hit)`, union, idx, recCol, hit, partition, span, counted), nil
}

// Query is the SQL of the plan over opts' scope, and its arguments (every rule value
// bound, and $keys, $from, $to). With keys it reads lineage_events, so it runs on a
// queries.Scoped connection (or any, more slowly).
func (p *Plan) Query(opts Options) (string, []any, error) {
	return p.query(opts, true)
}

// query is Query, in time order only when ordered (Start's findings are sorted as read).
func (p *Plan) query(opts Options, ordered bool) (string, []any, error) {
	scope := wholeStoreSQL
	if len(opts.Keys) > 0 {
		scope = scopeSQL
	}
	q, args, err := p.statement(p.Run, scope, ordered)
	if err != nil {
		return "", nil, err
	}
	return q, append(args, scopeArgs(q, opts)...), nil
}

func scopeArgs(q string, opts Options) []any {
	var args []any
	if strings.Contains(q, "$keys") {
		keys := opts.Keys
		if keys == nil {
			keys = []string{}
		}
		args = append(args, sql.Named("keys", keys))
	}
	for _, t := range []struct {
		name string
		v    time.Time
	}{{"from", opts.From}, {"to", opts.To}} {
		if !strings.Contains(q, "$"+t.name) {
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

// Querier runs SQL: a *sql.Conn or a *queries.Scoped connection.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// Result is a run's findings, held in the temporary table th_findings of the connection
// that ran it (one row per rule and event, the columns of Columns).
type Result struct {
	conn  Querier
	close func() error
	plan  *Plan
}

// Start runs the plan on db over opts' scope (with keys, on a queries.Scoped connection, as
// the canned queries run) into th_findings. A rule DuckDB refuses is moved to the plan's
// Skipped with DuckDB's reason, and the others run.
func (p *Plan) Start(ctx context.Context, db *sql.DB, opts Options) (*Result, error) {
	res := &Result{plan: p}
	if len(opts.Keys) > 0 {
		sc, err := queries.NewScoped(ctx, db, queries.Params{Keys: opts.Keys, From: opts.From, To: opts.To})
		if err != nil {
			return nil, err
		}
		res.conn, res.close = sc, sc.Close
	} else {
		c, err := db.Conn(ctx)
		if err != nil {
			return nil, fmt.Errorf("detect: %w", err)
		}
		res.conn = c
		res.close = func() error {
			if rows, err := c.QueryContext(context.Background(), "DROP TABLE IF EXISTS th_findings"); err == nil {
				rows.Close()
			}
			return c.Close()
		}
	}
	if err := res.exec(ctx, opts); err != nil {
		res.Close()
		return nil, err
	}
	return res, nil
}

// Close releases the run's connection.
func (r *Result) Close() error { return r.close() }

func (r *Result) query(ctx context.Context, q string, args ...any) error {
	rows, err := r.conn.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	for rows.Next() {
	}
	err = rows.Err()
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	return err
}

func (r *Result) exec(ctx context.Context, opts Options) error {
	p := r.plan
	for {
		q, args, err := p.query(opts, false)
		if err != nil {
			return err
		}
		err = r.query(ctx, "CREATE OR REPLACE TEMP TABLE th_findings AS "+q, args...)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil || len(p.Run) == 0 {
			return fmt.Errorf("detect: %w", err)
		}
		bad := r.findBad(ctx, opts)
		if len(bad) == 0 {
			return fmt.Errorf("detect: %w", err)
		}
		var keep []*Rule
		for _, rule := range p.Run {
			if reason, ok := bad[rule]; ok {
				p.skip(rule, "DuckDB cannot run it: "+reason)
				continue
			}
			keep = append(keep, rule)
		}
		p.Run = keep
	}
}

// findBad runs each rule alone to find those DuckDB refuses.
func (r *Result) findBad(ctx context.Context, opts Options) map[*Rule]string {
	bad := map[*Rule]string{}
	scope := wholeStoreSQL
	if len(opts.Keys) > 0 {
		scope = scopeSQL
	}
	for _, rule := range r.plan.Run {
		q, args, err := r.plan.statement([]*Rule{rule}, scope, false)
		if err == nil {
			err = r.query(ctx, "SELECT count(*) FROM ("+q+")", append(args, scopeArgs(q, opts)...)...)
		}
		if err != nil && ctx.Err() == nil {
			bad[rule] = firstLine(err.Error())
		}
	}
	return bad
}

// Rows returns the findings in time order (then rule id, event id); the caller closes them.
func (r *Result) Rows(ctx context.Context) (*sql.Rows, error) {
	rows, err := r.conn.QueryContext(ctx, "SELECT * FROM th_findings ORDER BY event_time NULLS LAST, rule_id, event_id")
	if err != nil {
		return nil, fmt.Errorf("detect: read findings: %w", err)
	}
	return rows, nil
}

// Summary counts the findings by rule and level; loadProblems are the files and rules
// that did not load.
func (r *Result) Summary(ctx context.Context, loadProblems []Problem) (Summary, error) {
	p := r.plan
	s := Summary{Loaded: len(p.Rules), Run: len(p.Run), Fired: map[string]int{}, Titles: map[string]string{}, Levels: map[string]string{}, ByLevel: map[string]int{}}
	s.Skipped = append(append(s.Skipped, loadProblems...), p.Skipped...)
	for _, rule := range p.Run {
		s.Titles[rule.Key()], s.Levels[rule.Key()] = rule.Title, rule.Level
		if rule.Builtin {
			s.Builtin++
		}
	}
	rows, err := r.conn.QueryContext(ctx, "SELECT rule_id, level, count(*) FROM th_findings GROUP BY ALL")
	if err != nil {
		return s, fmt.Errorf("detect: count findings: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, level string
		var n int
		if err := rows.Scan(&id, &level, &n); err != nil {
			return s, fmt.Errorf("detect: count findings: %w", err)
		}
		s.Fired[id] += n
		s.ByLevel[level] += n
		s.Findings += n
	}
	return s, rows.Err()
}

// Summary is what a run found, for the summary on stderr.
type Summary struct {
	Loaded   int            // rules loaded
	Builtin  int            // of the rules run, trailhound's own
	Run      int            // rules run
	Skipped  []Problem      // files and rules not loaded or not run, with why
	Fired    map[string]int // findings per rule that fired (key: rule id)
	Titles   map[string]string
	Levels   map[string]string
	ByLevel  map[string]int // findings per level
	Findings int
}

// FiredRules returns the ids of the rules that fired, most findings first.
func (s Summary) FiredRules() []string {
	var ids []string
	for id := range s.Fired {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool {
		if s.Fired[ids[i]] != s.Fired[ids[j]] {
			return s.Fired[ids[i]] > s.Fired[ids[j]]
		}
		return ids[i] < ids[j]
	})
	return ids
}

var _ Querier = (*sql.DB)(nil)

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// nullCols are NULL stand-ins for the columns of a correlation's rows (u), for the marks
// that are not rows: rule_idx ... record, v and the group columns are rebuilt by position.
func nullCols(groups int, withRecord bool) string {
	c := "NULL::BIGINT, NULL::VARCHAR, event_time, NULL::VARCHAR, NULL::VARCHAR, NULL::VARCHAR, NULL::VARCHAR"
	if withRecord {
		c += ", NULL::VARCHAR"
	}
	c += ", NULL::VARCHAR" // v
	for i := 0; i < groups; i++ {
		c += ", NULL::VARCHAR"
	}
	return c
}

// fieldValue is "FIELD AS alias" (alias "" when FIELD is empty) as SQL: NULL::VARCHAR for
// no field, else fieldText of the row t.
func fieldValue(t, fieldAs string) string {
	field, alias, _ := strings.Cut(fieldAs, " AS ")
	if field == "" {
		return "NULL::VARCHAR AS " + alias
	}
	return fieldText(t, field) + " AS " + alias
}

// fieldText is json_extract_string(record, field) of a matched row t (an event, or a
// correlation's row that carries its record): a group-by or value_count field, read
// through objects only (an array on the way gives NULL), an array or object as its JSON
// text. A typed column holds the same text except that it is NULL for "": read the
// record only then.
func fieldText(t, field string) string {
	jes := fmt.Sprintf("json_extract_string(%s.record, %s)", t, jsonPath(strings.Split(field, "."), nil))
	if tc, ok := typedColumns[field]; ok && (t == "e" || tc.col == "aws_region" || tc.col == "event_name" || tc.col == "access_key_id" || tc.col == "source_ip") {
		return fmt.Sprintf("coalesce(%s.%s, %s)", t, tc.col, jes) // an event has every column, a matched row these
	}
	return jes
}

// detectionMatches is the SELECT of (rule_idx, the match columns, then cols) for the
// events of scope that detection d flags.
func detectionMatches(d *Detection, idx int, scope string, c *compiler, cols string) (string, error) {
	where, err := c.condition(d.Condition, d)
	if err != nil {
		return "", err
	}
	if nc := c.necessaryOf(d.Condition, d); nc != "" {
		where = nc + " AND " + where
	}
	return fmt.Sprintf("SELECT %d AS rule_idx, e.event_id, e.variant, e.event_time, e.aws_region, e.event_name, e.access_key_id, e.source_ip%s\nFROM %s e\nWHERE %s",
		idx, cols, scope, where), nil
}

// StartIn runs the plan as Start does, on q: a connection that already holds opts' scope (a
// queries.Scoped of the same keys, from and to, as the evidence pack has), so the lineage is
// not computed again. Close drops the findings; q stays open.
func (p *Plan) StartIn(ctx context.Context, q Querier, opts Options) (*Result, error) {
	res := &Result{plan: p, conn: q}
	res.close = func() error {
		rows, err := q.QueryContext(context.Background(), "DROP TABLE IF EXISTS th_findings")
		if err == nil {
			err = rows.Close()
		}
		return err
	}
	if err := res.exec(ctx, opts); err != nil {
		res.Close()
		return nil, err
	}
	return res, nil
}
