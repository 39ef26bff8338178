package sigma

// The reference evaluator: the package's semantics (see the package comment) written a
// second time, in Go over the raw JSON of a record, for the tests to compare with the SQL.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/netip"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// jnode is a JSON value with object members in order (duplicates kept).
type jnode struct {
	kind string // object, array, string, number, bool, null
	keys []string
	vals []*jnode
	s    string // string value, number text, "true"/"false"
}

func parseJSON(b []byte) (*jnode, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	n, err := decodeNode(d)
	if err != nil {
		return nil, err
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, fmt.Errorf("trailing data")
	}
	return n, nil
}

func decodeNode(d *json.Decoder) (*jnode, error) {
	t, err := d.Token()
	if err != nil {
		return nil, err
	}
	switch v := t.(type) {
	case json.Delim:
		switch v {
		case '{':
			n := &jnode{kind: "object"}
			for d.More() {
				kt, err := d.Token()
				if err != nil {
					return nil, err
				}
				c, err := decodeNode(d)
				if err != nil {
					return nil, err
				}
				n.keys = append(n.keys, kt.(string))
				n.vals = append(n.vals, c)
			}
			_, err := d.Token()
			return n, err
		case '[':
			n := &jnode{kind: "array"}
			for d.More() {
				c, err := decodeNode(d)
				if err != nil {
					return nil, err
				}
				n.vals = append(n.vals, c)
			}
			_, err := d.Token()
			return n, err
		}
	case string:
		return &jnode{kind: "string", s: v}, nil
	case json.Number:
		return &jnode{kind: "number", s: v.String()}, nil
	case bool:
		return &jnode{kind: "bool", s: strconv.FormatBool(v)}, nil
	case nil:
		return &jnode{kind: "null"}, nil
	}
	return nil, fmt.Errorf("unexpected token %v", t)
}

func (n *jnode) member(k string) (*jnode, bool) {
	if n.kind != "object" {
		return nil, false
	}
	for i, key := range n.keys {
		if key == k {
			return n.vals[i], true
		}
	}
	return nil, false
}

// text is the value's text, as DuckDB's json_extract_string gives it; ok false for null.
func (n *jnode) text() (string, bool) {
	switch n.kind {
	case "null":
		return "", false
	case "string", "bool":
		return n.s, true
	case "number":
		return numberText(n.s), true
	}
	var b strings.Builder
	n.write(&b)
	return b.String(), true
}

// write writes n as DuckDB (yyjson) writes JSON: compact, members in order.
func (n *jnode) write(b *strings.Builder) {
	switch n.kind {
	case "object":
		b.WriteByte('{')
		for i, k := range n.keys {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSONString(b, k)
			b.WriteByte(':')
			n.vals[i].write(b)
		}
		b.WriteByte('}')
	case "array":
		b.WriteByte('[')
		for i, v := range n.vals {
			if i > 0 {
				b.WriteByte(',')
			}
			v.write(b)
		}
		b.WriteByte(']')
	case "string":
		writeJSONString(b, n.s)
	case "number":
		b.WriteString(numberText(n.s))
	case "bool":
		b.WriteString(n.s)
	default:
		b.WriteString("null")
	}
}

func writeJSONString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if r < 0x20 {
				fmt.Fprintf(b, `\u%04X`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
}

// numberText is a JSON number as DuckDB writes it back: integers that fit 64 bits as
// integers, larger ones as written; other numbers in shortest form, fixed-point from 1e-6
// to below 1e21 (with .0 when whole), else d.ddde±x.
func numberText(s string) string {
	if !strings.ContainsAny(s, ".eE") {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return strconv.FormatInt(i, 10)
		}
		if u, err := strconv.ParseUint(s, 10, 64); err == nil {
			return strconv.FormatUint(u, 10)
		}
		return s
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && math.IsInf(f, 0) {
		return s
	}
	if f == 0 {
		if strings.HasPrefix(s, "-") {
			return "-0.0"
		}
		return "0.0"
	}
	e := strconv.FormatFloat(f, 'e', -1, 64)
	mant, exp, _ := strings.Cut(e, "e")
	x, _ := strconv.Atoi(exp)
	if x >= -6 && x < 21 {
		t := strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.Contains(t, ".") {
			t += ".0"
		}
		return t
	}
	return mant + "e" + strconv.Itoa(x)
}

// refValues is the path's values: through objects, into each element of an array met on
// the way (one level), an array at the end standing for its elements.
func refValues(root *jnode, path []string) []*jnode {
	nodes := []*jnode{root}
	for _, seg := range path {
		var next []*jnode
		for _, n := range nodes {
			c, ok := n.member(seg)
			if !ok {
				continue
			}
			if c.kind == "array" {
				next = append(next, c.vals...)
			} else {
				next = append(next, c)
			}
		}
		nodes = next
	}
	return nodes
}

func refExists(root *jnode, path []string) bool {
	nodes := []*jnode{root}
	for i, seg := range path {
		var next []*jnode
		for _, n := range nodes {
			c, ok := n.member(seg)
			if !ok {
				continue
			}
			if i == len(path)-1 {
				return true
			}
			if c.kind == "array" {
				next = append(next, c.vals...)
			} else {
				next = append(next, c)
			}
		}
		nodes = next
	}
	return false
}

func lowerText(s string) string { return strings.Map(unicode.ToLower, s) }

// globMatch matches text with the glob, * any run and ? one character.
func globMatch(ps []GlobPart, s string, cased bool) bool {
	var pat []rune
	var wild []bool
	for _, p := range ps {
		if p.Wild != 0 {
			pat = append(pat, rune(p.Wild))
			wild = append(wild, true)
			continue
		}
		lit := p.Lit
		if !cased {
			lit = lowerText(lit)
		}
		for _, r := range lit {
			pat = append(pat, r)
			wild = append(wild, false)
		}
	}
	if !cased {
		s = lowerText(s)
	}
	text := []rune(s)
	// dynamic programming over (pattern position, text position)
	cur := make([]bool, len(text)+1)
	cur[0] = true
	for i := range pat {
		next := make([]bool, len(text)+1)
		for j := 0; j <= len(text); j++ {
			if !cur[j] {
				continue
			}
			switch {
			case wild[i] && pat[i] == '*':
				for k := j; k <= len(text); k++ {
					next[k] = true
				}
			case wild[i] && pat[i] == '?':
				if j < len(text) {
					next[j+1] = true
				}
			default:
				if j < len(text) && text[j] == pat[i] {
					next[j+1] = true
				}
			}
		}
		cur = next
	}
	return cur[len(text)]
}

var refNumberRE = regexp.MustCompile(`^` + numberRE + `$`)

func refTextMatch(m Matcher, s string) bool {
	switch m.Kind {
	case MatchGlob:
		return globMatch(m.Glob, s, m.Cased)
	case MatchRegex:
		return regexp.MustCompile(m.Regex).MatchString(s)
	case MatchCIDR:
		a, err := netip.ParseAddr(s)
		if err != nil || !a.Is4() || a.Zone() != "" {
			return false
		}
		b := a.As4()
		v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
		return v >= m.Lo && v <= m.Hi
	case MatchCompare:
		if !refNumberRE.MatchString(s) {
			return false
		}
		f, _ := strconv.ParseFloat(s, 64)
		switch m.Op {
		case "gt":
			return f > m.Num
		case "gte":
			return f >= m.Num
		case "lt":
			return f < m.Num
		case "lte":
			return f <= m.Num
		}
	}
	return false
}

// refMatchItem evaluates an item on a record (raw is its text).
func refMatchItem(it *Item, root *jnode, raw string) bool {
	var res []bool
	for _, alts := range it.Values {
		any := false
		for _, m := range alts {
			if refMatcher(it, m, root, raw) {
				any = true
				break
			}
		}
		res = append(res, any)
	}
	out := false
	if it.All {
		out = true
		for _, r := range res {
			out = out && r
		}
	} else {
		for _, r := range res {
			out = out || r
		}
	}
	if it.Neg {
		return !out
	}
	return out
}

func refMatcher(it *Item, m Matcher, root *jnode, raw string) bool {
	if it.Field == "" {
		return refTextMatch(m, raw)
	}
	switch m.Kind {
	case MatchExists:
		return refExists(root, it.Path) == m.Exists
	case MatchNull:
		vs := refValues(root, it.Path)
		if len(vs) == 0 {
			return true
		}
		for _, v := range vs {
			if v.kind == "null" {
				return true
			}
		}
		return false
	case MatchFieldRef:
		for _, v := range refValues(root, it.Path) {
			a, ok := v.text()
			if !ok {
				continue
			}
			for _, w := range refValues(root, m.Ref) {
				b, ok := w.text()
				if !ok {
					continue
				}
				if !m.Cased {
					a, b = lowerText(a), lowerText(b)
				}
				var hit bool
				switch {
				case m.RefStart && m.RefEnd:
					hit = strings.Contains(a, b)
				case m.RefStart:
					hit = strings.HasPrefix(a, b)
				case m.RefEnd:
					hit = strings.HasSuffix(a, b)
				default:
					hit = a == b
				}
				if hit {
					return true
				}
			}
		}
		return false
	}
	for _, v := range refValues(root, it.Path) {
		if s, ok := v.text(); ok && refTextMatch(m, s) {
			return true
		}
	}
	return false
}

func refSearch(s *Search, root *jnode, raw string) bool {
	if len(s.Any) > 0 {
		for _, sub := range s.Any {
			if refSearch(sub, root, raw) {
				return true
			}
		}
		return false
	}
	for _, it := range s.Items {
		if !refMatchItem(it, root, raw) {
			return false
		}
	}
	return true
}

func refCondition(x Expr, d *Detection, root *jnode, raw string) bool {
	switch x := x.(type) {
	case And:
		for _, y := range x.X {
			if !refCondition(y, d, root, raw) {
				return false
			}
		}
		return true
	case Or:
		for _, y := range x.X {
			if refCondition(y, d, root, raw) {
				return true
			}
		}
		return false
	case Not:
		return !refCondition(x.X, d, root, raw)
	case Ident:
		return refSearch(d.Searches[x.Name], root, raw)
	case OfThem:
		n := 0
		for _, name := range x.Names {
			if refSearch(d.Searches[name], root, raw) {
				n++
			}
		}
		if x.All {
			return n == len(x.Names)
		}
		return n > 0
	}
	panic(fmt.Sprintf("node %T", x))
}

// refEvent is a stored event as the reference evaluator reads it.
type refEvent struct {
	id   string
	t    time.Time // zero when the store has no time
	raw  string
	root *jnode
}

// refMatches returns the ids of the events rule r flags (detections, the older
// aggregation form and correlations), sorted.
func refMatches(r *Rule, evs []refEvent) []string {
	set := map[string]bool{}
	for _, e := range refFlagged(r, evs) {
		set[e.id] = true
	}
	var out []string
	for id := range set {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

type flagged struct {
	refEvent
	src int
}

func refFlagged(r *Rule, evs []refEvent) []flagged {
	if d := r.Detection; d != nil && d.Agg == nil {
		var out []flagged
		for _, e := range evs {
			if refCondition(d.Condition, d, e.root, e.raw) {
				out = append(out, flagged{refEvent: e})
			}
		}
		return out
	}
	corr := r.Correlation
	if corr == nil {
		a := r.Detection.Agg
		base := *r
		det := *r.Detection
		det.Agg = nil
		base.Detection = &det
		corr = &Correlation{Type: "event_count", Timespan: r.Detection.Timeframe, Cond: []Bound{{Op: a.Op, N: a.N}}, resolved: []*Rule{&base}}
		if a.Field != "" {
			corr.Type, corr.Field = "value_count", a.Field
		}
		if a.By != "" {
			corr.GroupBy = []string{a.By}
		}
	}
	// the rules' events, with their group and value
	type item struct {
		flagged
		group string
		v     string
		hasV  bool
	}
	var items []item
	for j, u := range corr.resolved {
		for _, f := range refFlagged(u, evs) {
			if corr.Timespan > 0 && f.t.IsZero() {
				continue
			}
			var g []string
			for _, gb := range corr.GroupBy {
				field := gb
				if m, ok := corr.Aliases[gb]; ok {
					field = m[u.Name]
				}
				s, ok := scalarAt(f.root, strings.Split(field, "."))
				g = append(g, fmt.Sprintf("%v:%q", ok, s))
			}
			it := item{flagged: flagged{refEvent: f.refEvent, src: j}, group: strings.Join(g, "|")}
			if corr.Field != "" {
				it.v, it.hasV = scalarAt(f.root, strings.Split(corr.Field, "."))
			}
			items = append(items, it)
		}
	}
	key := func(w item) (string, bool) {
		switch corr.Type {
		case "event_count":
			return w.id, true
		case "value_count":
			return w.v, w.hasV
		}
		return strconv.Itoa(w.src), true
	}
	cond := corr.Cond
	if len(cond) == 0 {
		cond = []Bound{{Op: "gte", N: float64(len(corr.resolved))}}
	}
	holds := func(n float64) bool {
		for _, b := range cond {
			if !b.holds(n) {
				return false
			}
		}
		return true
	}
	groups := map[string][]item{}
	var order []string
	for _, it := range items {
		if _, ok := groups[it.group]; !ok {
			order = append(order, it.group)
		}
		groups[it.group] = append(groups[it.group], it)
	}
	var out []flagged
	for _, g := range order {
		group := groups[g]
		if corr.Timespan == 0 {
			set := map[string]bool{}
			for _, w := range group {
				if k, ok := key(w); ok {
					set[k] = true
				}
			}
			if holds(float64(len(set))) {
				for _, w := range group {
					out = append(out, w.flagged)
				}
			}
			continue
		}
		sort.SliceStable(group, func(i, j int) bool { return group[i].t.Before(group[j].t) })
		// fire[j]: the window [t_j - span, t_j] (every event of the group in it, those at
		// t_j too) meets the condition
		fire := make([]bool, len(group))
		counts := map[string]int{}
		lo, hi := 0, 0
		for j := range group {
			for hi < len(group) && !group[hi].t.After(group[j].t) {
				if k, ok := key(group[hi]); ok {
					counts[k]++
				}
				hi++
			}
			for group[j].t.Sub(group[lo].t) > corr.Timespan {
				if k, ok := key(group[lo]); ok {
					if counts[k]--; counts[k] == 0 {
						delete(counts, k)
					}
				}
				lo++
			}
			fire[j] = holds(float64(len(counts)))
		}
		// an event is flagged when a firing window holds it: some j with t_e <= t_j <= t_e + span
		next := make([]int, len(group)+1) // next[i]: the first firing index >= i
		next[len(group)] = len(group)
		for i := len(group) - 1; i >= 0; i-- {
			next[i] = next[i+1]
			if fire[i] {
				next[i] = i
			}
		}
		for i, e := range group {
			first := sort.Search(len(group), func(k int) bool { return !group[k].t.Before(e.t) })
			_ = i
			if j := next[first]; j < len(group) && group[j].t.Sub(e.t) <= corr.Timespan {
				out = append(out, e.flagged)
			}
		}
	}
	return out
}

// scalarAt is json_extract_string(record, path): through objects only; a JSON null or
// absent member has no text.
func scalarAt(root *jnode, path []string) (string, bool) {
	n := root
	for _, seg := range path {
		c, ok := n.member(seg)
		if !ok {
			return "", false
		}
		n = c
	}
	return n.text()
}

var _ = utf8.RuneError
