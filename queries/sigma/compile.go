package sigma

import (
	"database/sql"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// maxPathDepth bounds a field path: where arrays may sit on the path, the compiler reads
// every way through them (2^depth JSON paths).
const maxPathDepth = 6

// typedColumns are the columns of event_rows that hold a field's text as
// nullif(json_extract_string(record, path), ”): absent, null and "" are all NULL there, so
// a column decides a value only when it is not NULL and not an array's text. parent is
// the SQL that is true when the path's parent is known to be an object (then NULL means
// absent, null or "").
var typedColumns = map[string]struct{ col, parent string }{
	"eventSource":              {"event_source", "true"},
	"eventName":                {"event_name", "true"},
	"awsRegion":                {"aws_region", "true"},
	"sourceIPAddress":          {"source_ip", "true"},
	"userAgent":                {"user_agent", "true"},
	"errorCode":                {"error_code", "true"},
	"errorMessage":             {"error_message", "true"},
	"eventType":                {"event_type", "true"},
	"eventCategory":            {"event_category", "true"},
	"recipientAccountId":       {"recipient_account_id", "true"},
	"eventVersion":             {"event_version", "true"},
	"userIdentity.type":        {"identity_type", userIdentityKnown},
	"userIdentity.principalId": {"principal_id", userIdentityKnown},
	"userIdentity.arn":         {"arn", userIdentityKnown},
	"userIdentity.accountId":   {"account_id", userIdentityKnown},
	"userIdentity.accessKeyId": {"access_key_id", userIdentityKnown},
	"userIdentity.userName":    {"user_name", userIdentityKnown},
	"userIdentity.sessionContext.sessionIssuer.arn": {"session_issuer_arn", "false"},
	"requestParameters.roleArn":                     {"role_arn", "false"},
}

// userIdentityKnown: one of the userIdentity columns has a value, so userIdentity is an object.
const userIdentityKnown = "(e.identity_type IS NOT NULL OR e.principal_id IS NOT NULL OR e.arn IS NOT NULL OR " +
	"e.account_id IS NOT NULL OR e.access_key_id IS NOT NULL OR e.user_name IS NOT NULL)"

// compiler turns one rule into SQL; its bound values are named p<rule>_<n>.
type compiler struct {
	prefix string
	args   []any
	lambda int
}

func (c *compiler) bind(v any) string {
	name := fmt.Sprintf("%s%d", c.prefix, len(c.args)+1)
	c.args = append(c.args, sql.Named(name, v))
	return "$" + name
}

func (c *compiler) fresh(base string) string {
	c.lambda++
	return fmt.Sprintf("%s%d", base, c.lambda)
}

// jsonPath quotes path segments as a DuckDB JSON path; wild[i] adds [*] after segment i.
func jsonPath(path []string, wild []bool) string {
	var b strings.Builder
	b.WriteString("$")
	for i, s := range path {
		b.WriteString(`."`)
		b.WriteString(strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s))
		b.WriteString(`"`)
		if wild != nil && wild[i] {
			b.WriteString("[*]")
		}
	}
	return sqlString(b.String())
}

// sqlString is s as a SQL string literal. Only the compiler's own text (JSON paths of
// checked field names, regular expressions it built) goes through here; rule values are
// bound.
func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// textOf is the SQL text of the JSON value x (NULL for absent and JSON null).
func textOf(x string) string {
	return fmt.Sprintf("CASE WHEN %[1]s IS NULL OR %[1]s::VARCHAR = 'null' THEN NULL WHEN starts_with(%[1]s::VARCHAR, '\"') "+
		"THEN json_extract_string(%[1]s, '$') ELSE %[1]s::VARCHAR END", x)
}

// condition compiles a condition to SQL that is true or false (never NULL) for a row e.
func (c *compiler) condition(x Expr, d *Detection) (string, error) {
	switch x := x.(type) {
	case And:
		return c.join(x.X, d, " AND ")
	case Or:
		return c.join(x.X, d, " OR ")
	case Not:
		s, err := c.condition(x.X, d)
		return "(NOT " + s + ")", err
	case Ident:
		return c.search(d.Searches[x.Name])
	case OfThem:
		var xs []Expr
		for _, n := range x.Names {
			xs = append(xs, Ident{n})
		}
		if x.All {
			return c.join(xs, d, " AND ")
		}
		return c.join(xs, d, " OR ")
	}
	return "", fmt.Errorf("unknown condition node %T", x)
}

func (c *compiler) join(xs []Expr, d *Detection, op string) (string, error) {
	var parts []string
	for _, x := range xs {
		s, err := c.condition(x, d)
		if err != nil {
			return "", err
		}
		parts = append(parts, s)
	}
	return "(" + strings.Join(parts, op) + ")", nil
}

func (c *compiler) search(s *Search) (string, error) {
	var parts []string
	op := " AND "
	if len(s.Any) > 0 {
		op = " OR "
		for _, sub := range s.Any {
			p, err := c.search(sub)
			if err != nil {
				return "", err
			}
			parts = append(parts, p)
		}
	}
	for _, it := range s.Items {
		p, err := c.item(it)
		if err != nil {
			return "", err
		}
		parts = append(parts, p)
	}
	return "(" + strings.Join(parts, op) + ")", nil
}

func (c *compiler) item(it *Item) (string, error) {
	if len(it.Path) > maxPathDepth {
		return "", errf("field %s: deeper than %d parts is not supported", it.Field, maxPathDepth)
	}
	var vals []string
	for _, alts := range it.Values {
		var as []string
		for _, m := range alts {
			s, err := c.atom(it, m)
			if err != nil {
				return "", err
			}
			as = append(as, s)
		}
		vals = append(vals, "("+strings.Join(as, " OR ")+")")
	}
	op := " OR "
	if it.All {
		op = " AND "
	}
	s := "(" + strings.Join(vals, op) + ")"
	if it.Neg {
		s = "(NOT " + s + ")"
	}
	return s, nil
}

// atom is the SQL for "the item's field matches m".
func (c *compiler) atom(it *Item, m Matcher) (string, error) {
	if it.Field == "" { // keywords: the record's text
		t, err := c.textMatch(m, "e.record")
		if err != nil {
			return "", err
		}
		return "coalesce(" + t + ", false)", nil
	}
	if m.Kind == MatchFieldRef {
		if len(m.Ref) > maxPathDepth {
			return "", errf("fieldref %s: deeper than %d parts is not supported", m.RefField, maxPathDepth)
		}
		x, y := c.fresh("x"), c.fresh("y")
		cmp := c.refCompare(m, textOf(x), textOf(y))
		return fmt.Sprintf("coalesce(list_bool_or(list_transform(%s, %s -> list_bool_or(list_transform(%s, %s -> coalesce(%s, false))))), false)",
			c.values(it.Path), x, c.values(m.Ref), y, cmp), nil
	}
	// One JSON read gives the text when no array is on the path (a path through an array
	// reads as NULL, a value that is an array as text starting with "["); only then are
	// the types along the path read, and only with an array on it every way through arrays.
	s, ty := c.fresh("s"), c.fresh("ty")
	n := len(it.Path)
	var prefixes []string
	for i := range it.Path {
		prefixes = append(prefixes, jsonPath(it.Path[:i+1], nil))
	}
	hasArray := fmt.Sprintf("list_contains(%s, 'ARRAY')", ty)
	var onePred, sure, listPred string
	switch m.Kind {
	case MatchNull:
		sure = "false"
		onePred = fmt.Sprintf("(%[1]s[%[2]d] IS NULL OR %[1]s[%[2]d] = 'NULL')", ty, n)
		x := c.fresh("x")
		listPred = fmt.Sprintf("(len(%[1]s) = 0 OR coalesce(list_bool_or(list_transform(%[1]s, %[2]s -> %[2]s::VARCHAR = 'null')), false))",
			c.slowValues(it.Path), x)
	case MatchExists:
		sure = strconv.FormatBool(m.Exists)
		onePred = fmt.Sprintf("(%s[%d] IS NOT NULL)", ty, n)
		listPred = c.slowExists(it.Path)
		if !m.Exists {
			onePred, listPred = "(NOT "+onePred+")", "(NOT "+listPred+")"
		}
	default:
		t, err := c.textMatch(m, s)
		if err != nil {
			return "", err
		}
		sure = "coalesce(" + t + ", false)"
		onePred = sure
		x := c.fresh("x")
		tx, err := c.textMatch(m, textOf(x))
		if err != nil {
			return "", err
		}
		listPred = fmt.Sprintf("coalesce(list_bool_or(list_transform(%s, %s -> coalesce(%s, false))), false)", c.slowValues(it.Path), x, tx)
	}
	jsonPred := fmt.Sprintf("(list_transform([json_extract_string(e.record, %[1]s)], %[2]s -> CASE WHEN %[2]s IS NOT NULL AND NOT "+arrayText("%[2]s")+" THEN %[3]s "+
		"ELSE (list_transform([json_type(e.record, [%[4]s])], %[5]s -> CASE WHEN %[6]s THEN %[7]s ELSE %[8]s END))[1] END))[1]",
		prefixes[n-1], s, sure, strings.Join(prefixes, ", "), ty, hasArray, listPred, onePred)
	tc, ok := typedColumns[it.Field]
	if !ok {
		return jsonPred, nil
	}
	col := "e." + tc.col
	var fast string
	switch m.Kind {
	case MatchNull:
		fast = "false"
	case MatchExists:
		fast = strconv.FormatBool(m.Exists)
	default:
		t, err := c.textMatch(m, col)
		if err != nil {
			return "", err
		}
		fast = "coalesce(" + t + ", false)"
	}
	out := fmt.Sprintf("CASE WHEN %[1]s IS NOT NULL AND NOT "+arrayText("%[1]s")+" THEN %[2]s ", col, fast)
	if strict(m) && tc.parent != "false" {
		out += fmt.Sprintf("WHEN %s IS NULL AND %s THEN false ", col, tc.parent)
	}
	return out + "ELSE " + jsonPred + " END", nil
}

// strict reports whether m can match only a non-empty text (so a NULL typed column, which
// is absent, null or "", cannot match it).
func strict(m Matcher) bool {
	switch m.Kind {
	case MatchGlob:
		for _, p := range m.Glob {
			if p.Lit != "" || p.Wild == '?' {
				return true
			}
		}
		return false
	case MatchRegex:
		re, err := regexp.Compile(m.Regex)
		return err == nil && !re.MatchString("")
	case MatchCIDR, MatchCompare:
		return true
	}
	return false
}

// necessary returns a cheap condition over the typed columns that every row the item
// matches satisfies, or "" when there is none.
func (c *compiler) necessary(it *Item) string {
	tc, ok := typedColumns[it.Field]
	if !ok || it.Neg {
		return ""
	}
	col := "e." + tc.col
	var vals []string
	for _, alts := range it.Values {
		var as []string
		for _, m := range alts {
			if m.Kind == MatchNull || m.Kind == MatchExists || m.Kind == MatchFieldRef || !strict(m) {
				return ""
			}
			t, err := c.textMatch(m, col)
			if err != nil {
				return ""
			}
			// no coalesce: NULL (col is NULL) fails a filter as false does, and without
			// it DuckDB reads an OR of equalities as one IN
			as = append(as, t)
		}
		vals = append(vals, "("+strings.Join(as, " OR ")+")")
	}
	op := " OR "
	if it.All {
		op = " AND "
	}
	// starts_with keeps the prefilter simple enough for DuckDB to push into the scan (the
	// record is then read only for the rows it lets through)
	s := fmt.Sprintf("(%s OR starts_with(%s, '[')", strings.Join(vals, op), col)
	if tc.parent != "true" {
		s += fmt.Sprintf(" OR (%s IS NULL AND NOT %s)", col, tc.parent)
	}
	return s + ")"
}

// necessaryOf derives the typed-column prefilter of a condition ("" for none).
func (c *compiler) necessaryOf(x Expr, d *Detection) string {
	switch x := x.(type) {
	case And:
		var parts []string
		for _, y := range x.X {
			if s := c.necessaryOf(y, d); s != "" {
				parts = append(parts, s)
			}
		}
		if len(parts) == 0 {
			return ""
		}
		return "(" + strings.Join(parts, " AND ") + ")"
	case Or:
		var parts []string
		for _, y := range x.X {
			s := c.necessaryOf(y, d)
			if s == "" {
				return ""
			}
			parts = append(parts, s)
		}
		return "(" + strings.Join(parts, " OR ") + ")"
	case Ident:
		return c.necessarySearch(d.Searches[x.Name])
	case OfThem:
		var xs []Expr
		for _, n := range x.Names {
			xs = append(xs, Ident{n})
		}
		if x.All {
			return c.necessaryOf(And{xs}, d)
		}
		return c.necessaryOf(Or{xs}, d)
	}
	return ""
}

func (c *compiler) necessarySearch(s *Search) string {
	if len(s.Any) > 0 {
		var parts []string
		for _, sub := range s.Any {
			p := c.necessarySearch(sub)
			if p == "" {
				return ""
			}
			parts = append(parts, p)
		}
		return "(" + strings.Join(parts, " OR ") + ")"
	}
	var parts []string
	for _, it := range s.Items {
		if p := c.necessary(it); p != "" {
			parts = append(parts, p)
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "(" + strings.Join(parts, " AND ") + ")"
}

// combos lists every way through arrays on a path: wild[i] reads the elements of the
// value after segment i.
func combos(n int) [][]bool {
	var out [][]bool
	for mask := 0; mask < 1<<n; mask++ {
		w := make([]bool, n)
		for i := range w {
			w[i] = mask&(1<<i) != 0
		}
		out = append(out, w)
	}
	return out
}

// slowValues is the list (JSON[]) of the path's values, through any arrays on it.
func (c *compiler) slowValues(path []string) string {
	var parts []string
	for _, w := range combos(len(path)) {
		p := jsonPath(path, w)
		y := c.fresh("y")
		notArray := fmt.Sprintf("%s -> %s IS NOT NULL AND NOT starts_with(%s::VARCHAR, '[')", y, y, y)
		switch {
		case !slices.Contains(w, true):
			parts = append(parts, fmt.Sprintf("list_filter([json_extract(e.record, %s)], %s)", p, notArray))
		case !w[len(w)-1]:
			parts = append(parts, fmt.Sprintf("list_filter(json_extract(e.record, %s), %s)", p, notArray))
		default:
			parts = append(parts, fmt.Sprintf("json_extract(e.record, %s)", p))
		}
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return "list_concat(" + strings.Join(parts, ", ") + ")"
}

// values is the list of the path's values: one JSON read when no array is on the path.
func (c *compiler) values(path []string) string {
	l := c.fresh("l")
	var prefixes, checks []string
	for i := range path {
		prefixes = append(prefixes, jsonPath(path[:i+1], nil))
		checks = append(checks, fmt.Sprintf("starts_with(%s[%d]::VARCHAR, '[')", l, i+1))
	}
	return fmt.Sprintf("(list_transform([json_extract(e.record, [%s])], %s -> CASE WHEN coalesce(%s, false) THEN %s "+
		"WHEN %s[%d] IS NULL THEN []::JSON[] ELSE [%s[%d]] END))[1]",
		strings.Join(prefixes, ", "), l, strings.Join(checks, " OR "), c.slowValues(path), l, len(path), l, len(path))
}

// slowExists is true when the path's last member is present on some way through arrays.
func (c *compiler) slowExists(path []string) string {
	var parts []string
	for _, w := range combos(len(path)) {
		if w[len(w)-1] {
			continue
		}
		p := jsonPath(path, w)
		if slices.Contains(w, true) {
			parts = append(parts, fmt.Sprintf("len(json_extract(e.record, %s)) > 0", p))
		} else {
			parts = append(parts, fmt.Sprintf("json_extract(e.record, %s) IS NOT NULL", p))
		}
	}
	return "(" + strings.Join(parts, " OR ") + ")"
}

// textMatch is SQL comparing the text t (VARCHAR, maybe NULL) with m; NULL when t is NULL.
func (c *compiler) textMatch(m Matcher, t string) (string, error) {
	switch m.Kind {
	case MatchGlob:
		if !globHasWild(m.Glob) {
			v := c.bind(globText(m.Glob))
			if m.Cased {
				return fmt.Sprintf("(%s = %s)", t, v), nil
			}
			return fmt.Sprintf("(lower(%s) = lower(%s))", t, v), nil
		}
		v := c.bind(likePattern(m.Glob))
		if m.Cased {
			return fmt.Sprintf("(%s LIKE %s ESCAPE '\\')", t, v), nil
		}
		return fmt.Sprintf("(lower(%s) LIKE lower(%s) ESCAPE '\\')", t, v), nil
	case MatchRegex:
		return fmt.Sprintf("regexp_matches(%s, %s)", t, c.bind(m.Regex)), nil
	case MatchCIDR:
		return fmt.Sprintf("(CASE WHEN regexp_full_match(%[1]s, '%[2]s') THEN list_reduce(list_transform(string_split(%[1]s, '.'), o -> TRY_CAST(o AS BIGINT)), (a, b) -> a * 256 + b) BETWEEN %[3]s AND %[4]s ELSE false END)",
			t, ipv4RE, c.bind(int64(m.Lo)), c.bind(int64(m.Hi))), nil
	case MatchCompare:
		op := map[string]string{"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[m.Op]
		return fmt.Sprintf("(CASE WHEN regexp_full_match(%[1]s, '%[2]s') THEN TRY_CAST(%[1]s AS DOUBLE) %[3]s %[4]s ELSE false END)",
			t, numberRE, op, c.bind(m.Num)), nil
	}
	return "", fmt.Errorf("matcher kind %d on text", m.Kind)
}

// refCompare compares this field's text a with the referenced field's text b.
func (c *compiler) refCompare(m Matcher, a, b string) string {
	if !m.Cased {
		a, b = "lower("+a+")", "lower("+b+")"
	}
	switch {
	case m.RefStart && m.RefEnd:
		return fmt.Sprintf("contains(%s, %s)", a, b)
	case m.RefStart:
		return fmt.Sprintf("starts_with(%s, %s)", a, b)
	case m.RefEnd:
		return fmt.Sprintf("ends_with(%s, %s)", a, b)
	}
	return fmt.Sprintf("(%s = %s)", a, b)
}

// ipv4RE is a dotted-quad IPv4 address as Go's netip reads one (no leading zeros).
const ipv4RE = `(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])){3}`

// numberRE is a JSON number; text of this form compares as a number.
const numberRE = `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`

// likePattern writes a glob as a LIKE pattern with \ as the escape.
func likePattern(ps []GlobPart) string {
	var b strings.Builder
	for _, p := range ps {
		switch p.Wild {
		case '*':
			b.WriteByte('%')
		case '?':
			b.WriteByte('_')
		default:
			for _, r := range p.Lit {
				if r == '%' || r == '_' || r == '\\' {
					b.WriteByte('\\')
				}
				b.WriteRune(r)
			}
		}
	}
	return b.String()
}

// interval is a duration as a SQL interval literal (the compiler's own number).
func interval(d time.Duration) string {
	return fmt.Sprintf("INTERVAL '%d microseconds'", d.Microseconds())
}

// arrayText is SQL that is true when the text t could be an array's JSON text (an array's
// text is valid JSON starting with "["; a string such as "[S3Console/0.4, ...]" is not), so
// that a text column holding it decides the value only when this is false.
func arrayText(t string) string {
	return fmt.Sprintf("coalesce(json_type(CASE WHEN starts_with(%[1]s, '[') AND json_valid(%[1]s) THEN %[1]s END) = 'ARRAY', false)", t)
}

// scopeSQL is the events a rule runs over: lineage_events (queries/macros.sql) of the
// keys and window bound as $keys, $from, $to, as the canned queries have it.
const scopeSQL = "lineage_events($keys::VARCHAR[], $from::TIMESTAMPTZ, $to::TIMESTAMPTZ)"

// wholeStoreSQL is the scope without keys: every event in [$from, $to).
const wholeStoreSQL = "(SELECT * FROM event_rows WHERE ($from::TIMESTAMPTZ IS NULL OR event_time >= $from::TIMESTAMPTZ) AND ($to::TIMESTAMPTZ IS NULL OR event_time < $to::TIMESTAMPTZ))"
