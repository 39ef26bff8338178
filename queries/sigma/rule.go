// Package sigma runs Sigma detection rules (https://sigmahq.io, the specification in
// ../shared/sigma/specification) over the trailhound store. Rules are read from YAML files
// (one or several documents each), parsed into the AST of this package, and each rule is
// compiled to one SQL statement over the store's event_rows (DuckDB): every value of the rule
// is a bound parameter, every field path a JSON path that the compiler quotes itself. The
// statements of a rule set run together (UNION ALL), so the store is read once per rule by
// DuckDB's own scans, never event by event in Go.
//
// Semantics (the specification's, made precise where it leaves a choice; the reference
// evaluator in the tests implements the same text):
//
//   - A field name is a dotted path into the CloudTrail record (userIdentity.sessionContext.
//     sessionIssuer.userName): each segment is an object member (the first one when a
//     record repeats a name). Where the path meets an array, it continues into each element
//     (one level: an array inside an array is a value, not entered again); an array at the
//     end of the path stands for its elements. A field has no value when the path ends
//     nowhere.
//   - A value's text: a JSON string is its (unescaped) text; true and false are "true" and
//     "false"; a number is its JSON text as DuckDB writes it (integers as written, other
//     numbers in shortest form: 1e3 is 1000.0); an object or an array is its compact JSON
//     text. JSON null has no text.
//   - Plain values match the whole text, case-insensitively (both sides lower-cased with
//     Unicode's simple case mapping), with the wildcards * (any run) and ? (one character),
//     \* \? \\ escaping them. A list is any of its values; |all makes it every one. A
//     number or boolean in a rule is compared as its text (4624 matches 4624 and "4624").
//   - A field matches when any of its values matches; null matches a field with no value or
//     a JSON null value; |exists checks the member is there at all (even null or []).
//   - Keywords (values without a field) are searched in the record's text as CloudTrail
//     wrote it (JSON, with its quotes and escapes), case-insensitively, anywhere in it.
package sigma

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Rule is one Sigma rule: a detection rule (Detection set) or a correlation rule
// (Correlation set).
type Rule struct {
	Source      string // the file (or builtin:NAME) it was read from
	Doc         int    // its document in that file, from 1
	ID          string
	Name        string
	Title       string
	Status      string
	Description string
	Author      string
	Level       string
	Tags        []string
	References  []string
	Logsource   map[string]string
	Builtin     bool // one of trailhound's own rules

	Detection   *Detection
	Correlation *Correlation
}

// Ref names the rule for messages: its file (and document, when the file has several),
// title and id.
func (r *Rule) Ref() string {
	s := r.Source
	if r.Doc > 1 {
		s += fmt.Sprintf(" (document %d)", r.Doc)
	}
	if r.Title != "" {
		s += ": " + r.Title
	}
	return s
}

// Key identifies the rule in results: its id, else its name, else its source.
func (r *Rule) Key() string {
	switch {
	case r.ID != "":
		return r.ID
	case r.Name != "":
		return r.Name
	}
	return fmt.Sprintf("%s#%d", r.Source, r.Doc)
}

// Tactics returns the ATT&CK tactics among the rule's tags (attack.persistence ->
// persistence), sorted; techniques returns the technique ids (attack.t1098.001 -> T1098.001).
func (r *Rule) Tactics() []string { return attackTags(r.Tags, false) }

// Techniques returns the ATT&CK technique ids among the rule's tags, sorted.
func (r *Rule) Techniques() []string { return attackTags(r.Tags, true) }

func attackTags(tags []string, techniques bool) []string {
	var out []string
	for _, t := range tags {
		rest, ok := strings.CutPrefix(strings.ToLower(t), "attack.")
		if !ok || rest == "" {
			continue
		}
		isTech := len(rest) > 1 && rest[0] == 't' && rest[1] >= '0' && rest[1] <= '9'
		if isTech != techniques {
			continue
		}
		if isTech {
			rest = strings.ToUpper(rest)
		} else if len(rest) > 1 && (rest[0] == 'g' || rest[0] == 's') && rest[1] >= '0' && rest[1] <= '9' {
			continue // groups and software, not tactics
		} else {
			rest = strings.ReplaceAll(rest, "_", "-")
		}
		if !slices.Contains(out, rest) {
			out = append(out, rest)
		}
	}
	slices.Sort(out)
	return out
}

// Detection is a rule's detection section.
type Detection struct {
	Searches  map[string]*Search
	Condition Expr // the conditions of the rule's list, or-ed
	Timeframe time.Duration
	// Agg is the older aggregation form "search | count(field) by group > N" (with
	// timeframe), run as the correlation it describes.
	Agg *Aggregation
}

// Search is a search identifier's definition: a map (every item must match) or a list
// (any element must match).
type Search struct {
	Name  string
	Items []*Item   // a map: all of them
	Any   []*Search // a list: any of them (maps, or single keyword values)
}

// Item is one "field|modifiers: values" entry, or keywords (Field empty).
type Item struct {
	Field string   // as written, without modifiers; "" for keywords
	Path  []string // Field split at dots
	Mods  []string
	All   bool // values and-ed (|all) instead of or-ed
	Neg   bool // |neq: the item matches when its values do not
	// Values are the rule's values after the modifiers: each is one or more alternatives
	// (windash and base64offset expand one value into several).
	Values [][]Matcher
}

// MatchKind says how a Matcher compares a value.
type MatchKind int

// The ways a value can be compared.
const (
	MatchGlob     MatchKind = iota // text with * and ? wildcards
	MatchRegex                     // RE2 search
	MatchNull                      // no value, or JSON null
	MatchExists                    // the member is there (Exists) or not
	MatchCIDR                      // an IPv4 address in [Lo, Hi]
	MatchCompare                   // a number compared with Num by Op
	MatchFieldRef                  // the text of another field of the record
)

// Matcher is one value of an item, ready to compare.
type Matcher struct {
	Kind MatchKind
	// Glob: the pattern as parts; a part is literal text unless Wild is '*' or '?'.
	Glob  []GlobPart
	Cased bool
	// Regex: the RE2 pattern, flags included.
	Regex  string
	Exists bool
	Lo, Hi uint32 // CIDR (IPv4)
	CIDR   string
	Op     string // Compare: gt, gte, lt, lte
	Num    float64
	// FieldRef: the other field's path and how its text must sit in this field's text.
	Ref               []string
	RefStart, RefEnd  bool // startswith, endswith (both: contains)
	RefField          string
	numText, original string
}

// GlobPart is a run of literal text, or a wildcard.
type GlobPart struct {
	Lit  string
	Wild byte // 0, '*' or '?'
}

// Aggregation is the older condition suffix "| count([field]) [by group] op N".
type Aggregation struct {
	Func  string // count
	Field string // count(field): distinct values of field
	By    string
	Op    string // gt, gte, lt, lte, eq
	N     float64
}

// Correlation is a correlation rule's correlation section.
type Correlation struct {
	Type     string   // event_count, value_count, temporal
	Rules    []string // ids or names of the rules it correlates
	GroupBy  []string
	Timespan time.Duration // 0: the whole store (the older form without timeframe)
	// Cond: the count's condition, each op with its bound, all of them and-ed; empty for a
	// temporal correlation without one (every rule must match).
	Cond     []Bound
	Field    string                       // value_count: the field whose distinct values count
	Aliases  map[string]map[string]string // alias -> rule name -> field
	Generate bool

	resolved []*Rule // Rules, looked up among the loaded rules
}

// Bound is one comparison of a correlation's condition.
type Bound struct {
	Op string // gt, gte, lt, lte, eq, neq
	N  float64
}

func (b Bound) holds(n float64) bool {
	switch b.Op {
	case "gt":
		return n > b.N
	case "gte":
		return n >= b.N
	case "lt":
		return n < b.N
	case "lte":
		return n <= b.N
	case "eq":
		return n == b.N
	case "neq":
		return n != b.N
	}
	return false
}

// Expr is a node of a condition.
type Expr interface{ isExpr() }

// The condition nodes.
type (
	And    struct{ X []Expr }
	Or     struct{ X []Expr }
	Not    struct{ X Expr }
	Ident  struct{ Name string }
	OfThem struct {
		All     bool   // all of (else 1 of)
		Pattern string // "them" or a pattern with * wildcards
		Names   []string
	}
)

func (And) isExpr()    {}
func (Or) isExpr()     {}
func (Not) isExpr()    {}
func (Ident) isExpr()  {}
func (OfThem) isExpr() {}
