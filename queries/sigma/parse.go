package sigma

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// maxRuleFile is the largest rule file read (SigmaHQ's largest is a few KB).
const maxRuleFile = 4 << 20

// Problem is a rule file or rule that was not loaded, or a rule that cannot run, with why.
type Problem struct {
	Source string // the file (or builtin:NAME)
	Rule   string // the rule's title and id, when it got that far
	Reason string
}

func (p Problem) String() string {
	if p.Rule != "" {
		return p.Source + ": " + p.Rule + ": " + p.Reason
	}
	return p.Source + ": " + p.Reason
}

// ruleError is a reason a rule cannot be used; parse functions return it.
type ruleError struct{ msg string }

func (e *ruleError) Error() string { return e.msg }

func errf(format string, args ...any) error { return &ruleError{fmt.Sprintf(format, args...)} }

// LoadPaths reads the rules of every path: a file, or a directory walked for *.yml and
// *.yaml files. A file that cannot be read or parsed, or a rule in it that is not valid,
// is a Problem; the rest still load.
func LoadPaths(paths []string) ([]*Rule, []Problem) {
	var rules []*Rule
	var probs []Problem
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			probs = append(probs, Problem{Source: p, Reason: fmt.Sprintf("cannot read: %v", unwrapPath(err))})
			continue
		}
		if !st.IsDir() {
			r, pr := loadFile(p)
			rules, probs = append(rules, r...), append(probs, pr...)
			continue
		}
		var files []string
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				probs = append(probs, Problem{Source: path, Reason: fmt.Sprintf("cannot read: %v", unwrapPath(err))})
				if d != nil && d.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			if d.Type().IsRegular() && isRuleFile(path) {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			probs = append(probs, Problem{Source: p, Reason: err.Error()})
		}
		sort.Strings(files)
		for _, f := range files {
			r, pr := loadFile(f)
			rules, probs = append(rules, r...), append(probs, pr...)
		}
	}
	return rules, probs
}

func isRuleFile(path string) bool {
	ext := strings.ToLower(filepath.Ext(path))
	return ext == ".yml" || ext == ".yaml"
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func loadFile(path string) ([]*Rule, []Problem) {
	f, err := os.Open(path)
	if err != nil {
		return nil, []Problem{{Source: path, Reason: fmt.Sprintf("cannot read: %v", unwrapPath(err))}}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxRuleFile+1))
	if err != nil {
		return nil, []Problem{{Source: path, Reason: fmt.Sprintf("cannot read: %v", unwrapPath(err))}}
	}
	return ParseFile(path, data)
}

// LoadFS reads every *.yml file under dir of fsys (the embedded built-in rules), naming each
// source prefix+its path.
func LoadFS(fsys fs.FS, dir, prefix string) ([]*Rule, []Problem) {
	var rules []*Rule
	var probs []Problem
	files, err := fs.Glob(fsys, dir+"/*.yml")
	if err != nil {
		return nil, []Problem{{Source: prefix + dir, Reason: err.Error()}}
	}
	for _, f := range files {
		data, err := fs.ReadFile(fsys, f)
		if err != nil {
			probs = append(probs, Problem{Source: prefix + f, Reason: err.Error()})
			continue
		}
		r, pr := ParseFile(prefix+strings.TrimPrefix(f, dir+"/"), data)
		rules, probs = append(rules, r...), append(probs, pr...)
	}
	return rules, probs
}

// ParseFile parses the YAML documents of one rule file. Each document is a rule (a
// detection or a correlation); documents that are not valid rules are Problems, the
// others are returned.
func ParseFile(source string, data []byte) ([]*Rule, []Problem) {
	if len(data) > maxRuleFile {
		return nil, []Problem{{Source: source, Reason: fmt.Sprintf("larger than %d bytes: not a rule file", maxRuleFile)}}
	}
	if !utf8.Valid(data) {
		return nil, []Problem{{Source: source, Reason: "not UTF-8 text"}}
	}
	var rules []*Rule
	var probs []Problem
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for doc := 1; ; doc++ {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			probs = append(probs, Problem{Source: source, Reason: fmt.Sprintf("document %d: not valid YAML: %v", doc, err)})
			break // the decoder cannot resume after a syntax error
		}
		if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
			n = *n.Content[0]
		}
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			continue // an empty document (a trailing ---)
		}
		r, err := parseRule(&n)
		if r == nil {
			r = &Rule{}
		}
		r.Source, r.Doc = source, doc
		if err != nil {
			probs = append(probs, Problem{Source: source, Rule: docRef(r), Reason: err.Error()})
			continue
		}
		rules = append(rules, r)
	}
	if len(rules) == 0 && len(probs) == 0 {
		probs = append(probs, Problem{Source: source, Reason: "no rule in the file"})
	}
	return rules, probs
}

// docRef names a rule inside its file: title and id, or its document number.
func docRef(r *Rule) string {
	var parts []string
	if r.Title != "" {
		parts = append(parts, strconv.Quote(r.Title))
	}
	if r.ID != "" {
		parts = append(parts, "id "+r.ID)
	}
	if len(parts) == 0 {
		return fmt.Sprintf("document %d", r.Doc)
	}
	if r.Doc > 1 {
		parts = append(parts, fmt.Sprintf("document %d", r.Doc))
	}
	return strings.Join(parts, ", ")
}

// mapEntries returns the key/value pairs of a mapping node, refusing duplicate keys.
func mapEntries(n *yaml.Node, what string) ([][2]*yaml.Node, error) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, errf("%s is not a mapping", what)
	}
	var out [][2]*yaml.Node
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return nil, errf("%s has a key that is not text (line %d)", what, k.Line)
		}
		if seen[k.Value] {
			return nil, errf("%s has the key %q twice (line %d)", what, k.Value, k.Line)
		}
		seen[k.Value] = true
		if v.Kind == yaml.AliasNode {
			v = v.Alias
		}
		out = append(out, [2]*yaml.Node{k, v})
	}
	return out, nil
}

func scalarText(n *yaml.Node, what string) (string, error) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return "", errf("%s is not a single value (line %d)", what, n.Line)
	}
	return n.Value, nil
}

func stringList(n *yaml.Node, what string) ([]string, error) {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return nil, nil
		}
		return []string{n.Value}, nil
	case yaml.SequenceNode:
		var out []string
		for _, c := range n.Content {
			if c.Kind == yaml.AliasNode {
				c = c.Alias
			}
			s, err := scalarText(c, what)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, errf("%s is not a list of values (line %d)", what, n.Line)
}

func parseRule(n *yaml.Node) (*Rule, error) {
	r := &Rule{}
	entries, err := mapEntries(n, "the document")
	if err != nil {
		return nil, err
	}
	var detection, correlation, filter *yaml.Node
	for _, e := range entries {
		k, v := e[0], e[1]
		var err error
		switch k.Value {
		case "title":
			r.Title, err = scalarText(v, "title")
		case "id":
			r.ID, err = scalarText(v, "id")
		case "name":
			r.Name, err = scalarText(v, "name")
		case "status":
			r.Status, err = scalarText(v, "status")
		case "description":
			r.Description, err = scalarText(v, "description")
		case "level":
			r.Level, err = scalarText(v, "level")
			r.Level = strings.ToLower(r.Level)
		case "author":
			var a []string
			a, err = stringList(v, "author")
			r.Author = strings.Join(a, ", ")
		case "tags":
			r.Tags, err = stringList(v, "tags")
		case "references":
			r.References, err = stringList(v, "references")
		case "logsource":
			var ls [][2]*yaml.Node
			ls, err = mapEntries(v, "logsource")
			r.Logsource = map[string]string{}
			for _, l := range ls {
				if l[1].Kind == yaml.ScalarNode {
					r.Logsource[l[0].Value] = l[1].Value
				}
			}
		case "detection":
			detection = v
		case "correlation":
			correlation = v
		case "filter":
			filter = v
		}
		if err != nil {
			return r, err
		}
	}
	if r.Title == "" {
		return r, errf("no title (the specification requires one)")
	}
	switch r.Level {
	case "", "informational", "low", "medium", "high", "critical":
	default:
		return r, errf("level %q is not one of informational, low, medium, high, critical", r.Level)
	}
	switch {
	case filter != nil:
		return r, errf("a Sigma filter (global filter): not supported yet; apply it as a 'not' in the rules it names")
	case correlation != nil && detection != nil:
		return r, errf("has both detection and correlation")
	case correlation != nil:
		r.Correlation, err = parseCorrelation(correlation)
		return r, err
	case detection == nil:
		return r, errf("no detection section")
	}
	if err := checkLogsource(r.Logsource); err != nil {
		return r, err
	}
	r.Detection, err = parseDetection(detection)
	return r, err
}

// checkLogsource accepts rules for CloudTrail: product aws, service cloudtrail (or none).
func checkLogsource(ls map[string]string) error {
	prod, svc := strings.ToLower(ls["product"]), strings.ToLower(ls["service"])
	if prod == "aws" && (svc == "" || svc == "cloudtrail") {
		return nil
	}
	var parts []string
	for _, k := range []string{"product", "service", "category"} {
		if v := ls[k]; v != "" {
			parts = append(parts, k+" "+v)
		}
	}
	if len(parts) == 0 {
		return errf("no logsource: trailhound runs rules for product aws, service cloudtrail")
	}
	return errf("logsource %s is not CloudTrail (product aws, service cloudtrail)", strings.Join(parts, ", "))
}

func parseDetection(n *yaml.Node) (*Detection, error) {
	entries, err := mapEntries(n, "detection")
	if err != nil {
		return nil, err
	}
	d := &Detection{Searches: map[string]*Search{}}
	var conds []string
	for _, e := range entries {
		k, v := e[0], e[1]
		switch k.Value {
		case "condition":
			conds, err = stringList(v, "condition")
			if err != nil {
				return nil, err
			}
		case "timeframe":
			s, err := scalarText(v, "timeframe")
			if err != nil {
				return nil, err
			}
			if d.Timeframe, err = parseSpan(s); err != nil {
				return nil, errf("timeframe: %v", err)
			}
		default:
			if !identRE.MatchString(k.Value) {
				return nil, errf("search identifier %q: only letters, digits, _ . and - are allowed", k.Value)
			}
			s, err := parseSearch(k.Value, v)
			if err != nil {
				return nil, errf("%s: %v", k.Value, err)
			}
			d.Searches[k.Value] = s
		}
	}
	if len(conds) == 0 {
		return nil, errf("detection has no condition")
	}
	var xs []Expr
	for _, c := range conds {
		x, agg, err := parseCondition(c, d.Searches)
		if err != nil {
			return nil, errf("condition %q: %v", short(c), err)
		}
		if agg != nil {
			if len(conds) > 1 {
				return nil, errf("condition %q: an aggregation in a list of conditions is not supported", short(c))
			}
			d.Agg = agg
		}
		xs = append(xs, x)
	}
	if len(xs) == 1 {
		d.Condition = xs[0]
	} else {
		d.Condition = Or{xs}
	}
	return d, nil
}

var identRE = regexp.MustCompile(`^[A-Za-z0-9_.\-]+$`)

func parseSearch(name string, n *yaml.Node) (*Search, error) {
	s := &Search{Name: name}
	switch n.Kind {
	case yaml.MappingNode:
		entries, err := mapEntries(n, "the search")
		if err != nil {
			return nil, err
		}
		if len(entries) == 0 {
			return nil, errf("empty map")
		}
		for _, e := range entries {
			it, err := parseItem(e[0].Value, e[1])
			if err != nil {
				return nil, err
			}
			s.Items = append(s.Items, it)
		}
	case yaml.SequenceNode:
		if len(n.Content) == 0 {
			return nil, errf("empty list")
		}
		for _, c := range n.Content {
			if c.Kind == yaml.AliasNode {
				c = c.Alias
			}
			if c.Kind == yaml.MappingNode {
				sub, err := parseSearch(name, c)
				if err != nil {
					return nil, err
				}
				s.Any = append(s.Any, sub)
				continue
			}
			it, err := parseItem("", c)
			if err != nil {
				return nil, err
			}
			s.Any = append(s.Any, &Search{Name: name, Items: []*Item{it}})
		}
	case yaml.ScalarNode:
		it, err := parseItem("", n)
		if err != nil {
			return nil, err
		}
		s.Items = []*Item{it}
	default:
		return nil, errf("not a map, a list or a value (line %d)", n.Line)
	}
	return s, nil
}

// value is a rule value as YAML gave it.
type value struct {
	null bool
	kind string // str, int, float, bool
	text string
	line int
}

func yamlValues(n *yaml.Node) ([]value, error) {
	one := func(c *yaml.Node) (value, error) {
		if c.Kind == yaml.AliasNode {
			c = c.Alias
		}
		if c.Kind != yaml.ScalarNode {
			return value{}, errf("a value is a list or a map (line %d); values are text, numbers or null", c.Line)
		}
		v := value{text: c.Value, line: c.Line, kind: "str"}
		switch c.Tag {
		case "!!null":
			v.null = true
		case "!!int":
			v.kind = "int"
			i, err := strconv.ParseInt(strings.ReplaceAll(c.Value, "_", ""), 0, 64)
			if err != nil {
				return v, errf("number %s (line %d): %v", c.Value, c.Line, err)
			}
			v.text = strconv.FormatInt(i, 10)
		case "!!float":
			v.kind = "float"
		case "!!bool":
			v.kind = "bool"
			b, err := strconv.ParseBool(strings.ToLower(c.Value))
			if err != nil {
				return v, errf("boolean %s (line %d): %v", c.Value, c.Line, err)
			}
			v.text = strconv.FormatBool(b)
		}
		return v, nil
	}
	if n.Kind == yaml.SequenceNode {
		if len(n.Content) == 0 {
			return nil, errf("an empty list of values (line %d)", n.Line)
		}
		var out []value
		for _, c := range n.Content {
			v, err := one(c)
			if err != nil {
				return nil, err
			}
			if v.null {
				return nil, errf("null in a list of values (line %d): the specification wants null in a selection of its own", v.line)
			}
			out = append(out, v)
		}
		return out, nil
	}
	v, err := one(n)
	if err != nil {
		return nil, err
	}
	return []value{v}, nil
}

// fieldSegRE is what a field path segment may hold: the compiler quotes segments in JSON
// paths itself, and these characters keep that simple and safe.
var fieldSegRE = regexp.MustCompile(`^[A-Za-z0-9_@$:\- ]+$`)

func parseItem(key string, n *yaml.Node) (*Item, error) {
	parts := strings.Split(key, "|")
	it := &Item{Field: parts[0], Mods: parts[1:]}
	if it.Field != "" {
		for _, seg := range strings.Split(it.Field, ".") {
			if !fieldSegRE.MatchString(seg) {
				return nil, errf("field %q: each part between dots must be letters, digits, spaces or _ @ $ : -", it.Field)
			}
			it.Path = append(it.Path, seg)
		}
	}
	vals, err := yamlValues(n)
	if err != nil {
		return nil, errf("%s: %v", describeKey(key), err)
	}
	if err := it.build(vals); err != nil {
		return nil, errf("%s: %v", describeKey(key), err)
	}
	return it, nil
}

func describeKey(key string) string {
	if key == "" {
		return "keywords"
	}
	return strconv.Quote(key)
}

// alt is one value alternative while modifiers transform it.
type alt struct {
	parts []GlobPart
	bytes []byte // after utf16*: the encoded bytes, waiting for base64
	raw   string // the value as written (for re, cidr, fieldref)
}

// build applies the item's modifiers to its values.
func (it *Item) build(vals []value) error {
	var kind string // "", re, cidr, exists, cmp, fieldref
	var cmpOp string
	var reFlags string
	cased := false
	isBytes := false
	for _, m := range it.Mods {
		switch m {
		case "all":
			it.All = true
		case "neq":
			it.Neg = true
		case "cased":
			cased = true
		case "contains", "startswith", "endswith", "windash", "base64", "base64offset", "utf16le", "utf16be", "utf16", "wide":
			if kind == "cidr" || kind == "exists" || kind == "cmp" {
				return errf("modifier %s cannot follow %s", m, kind)
			}
		case "re":
			if kind != "" || len(valueMods(it.Mods[:slices.Index(it.Mods, "re")])) > 0 {
				return errf("re only applies to unmodified values")
			}
			kind = "re"
		case "i", "ignorecase", "m", "multiline", "s", "dotall":
			if kind != "re" {
				return errf("modifier %s only follows re", m)
			}
			reFlags += m[:1]
		case "cidr":
			if kind != "" || len(valueMods(it.Mods[:slices.Index(it.Mods, "cidr")])) > 0 {
				return errf("cidr only applies to unmodified values")
			}
			kind = "cidr"
		case "exists":
			kind = "exists"
		case "gt", "gte", "lt", "lte":
			kind, cmpOp = "cmp", m
		case "fieldref":
			if kind != "" {
				return errf("fieldref cannot follow %s", kind)
			}
			kind = "fieldref"
		case "expand":
			return errf("modifier expand: its placeholders need values (lists of servers, admins...) trailhound does not have; the specification says to reject such rules")
		case "minute", "hour", "day", "week", "month", "year":
			return errf("modifier %s (time part): not supported yet", m)
		default:
			return errf("unknown modifier %q", m)
		}
	}
	if it.All && len(vals) < 2 {
		return errf("all with a single value (the specification forbids it)")
	}
	if it.Field == "" && (kind == "exists" || kind == "fieldref" || kind == "cidr" || kind == "cmp") {
		return errf("modifier %s needs a field", kind)
	}
	for _, v := range vals {
		if v.null {
			if len(valueMods(it.Mods)) > 0 {
				return errf("null with modifiers")
			}
			if it.Field == "" {
				return errf("null as a keyword")
			}
			it.Values = append(it.Values, []Matcher{{Kind: MatchNull}})
			continue
		}
		switch kind {
		case "exists":
			if v.kind != "bool" {
				return errf("exists takes true or false, not %q", v.text)
			}
			it.Values = append(it.Values, []Matcher{{Kind: MatchExists, Exists: v.text == "true"}})
			continue
		case "cmp":
			if v.kind != "int" && v.kind != "float" {
				return errf("%s takes a number, not %q", cmpOp, v.text)
			}
			f, err := strconv.ParseFloat(v.text, 64)
			if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
				return errf("%s: number %q", cmpOp, v.text)
			}
			it.Values = append(it.Values, []Matcher{{Kind: MatchCompare, Op: cmpOp, Num: f, numText: v.text}})
			continue
		case "cidr":
			p, err := netip.ParsePrefix(v.text)
			if err != nil {
				return errf("cidr %q: %v", v.text, err)
			}
			if !p.Addr().Is4() {
				return errf("cidr %q: IPv6 networks are not supported yet", v.text)
			}
			p = p.Masked()
			a := p.Addr().As4()
			lo := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
			hi := lo | uint32(uint64(1)<<(32-p.Bits())-1)
			it.Values = append(it.Values, []Matcher{{Kind: MatchCIDR, Lo: lo, Hi: hi, CIDR: p.String()}})
			continue
		case "re":
			re, err := buildRegex(v.text, reFlags, it.Mods)
			if err != nil {
				return err
			}
			it.Values = append(it.Values, []Matcher{{Kind: MatchRegex, Regex: re, original: v.text}})
			continue
		}
		// string pipeline
		alts := []alt{{parts: parseGlob(v.text, v.kind != "str"), raw: v.text}}
		if kind == "fieldref" {
			if globHasWild(alts[0].parts) {
				return errf("fieldref %q: a field reference has no wildcards", v.text)
			}
			ref := strings.Split(globText(alts[0].parts), ".")
			for _, seg := range ref {
				if !fieldSegRE.MatchString(seg) {
					return errf("fieldref %q: not a field name", v.text)
				}
			}
			m := Matcher{Kind: MatchFieldRef, Ref: ref, RefField: globText(alts[0].parts), Cased: cased}
			for _, mod := range it.Mods {
				switch mod {
				case "contains":
					m.RefStart, m.RefEnd = true, true
				case "startswith":
					m.RefStart = true
				case "endswith":
					m.RefEnd = true
				case "fieldref", "all", "neq", "cased":
				default:
					return errf("modifier %s with fieldref: not supported", mod)
				}
			}
			it.Values = append(it.Values, []Matcher{m})
			continue
		}
		for _, m := range it.Mods {
			var next []alt
			for _, a := range alts {
				switch m {
				case "contains", "startswith", "endswith":
					if isBytes {
						return errf("%s after utf16: apply base64 first", m)
					}
					if m != "endswith" && !endsWithWild(a.parts) {
						a.parts = append(slices.Clone(a.parts), GlobPart{Wild: '*'})
					}
					if m != "startswith" && !startsWithWild(a.parts) {
						a.parts = append([]GlobPart{{Wild: '*'}}, a.parts...)
					}
					next = append(next, a)
				case "windash":
					for _, p := range windash(a.parts) {
						next = append(next, alt{parts: p})
					}
				case "utf16le", "wide", "utf16be", "utf16":
					if globHasWild(a.parts) {
						return errf("%s of a value with wildcards", m)
					}
					a.bytes = encodeUTF16(globText(a.parts), m)
					next = append(next, a)
				case "base64", "base64offset":
					var b []byte
					if a.bytes != nil {
						b = a.bytes
					} else {
						if globHasWild(a.parts) {
							return errf("%s of a value with wildcards (the specification forbids it)", m)
						}
						b = []byte(globText(a.parts))
					}
					if m == "base64" {
						next = append(next, alt{parts: []GlobPart{{Lit: base64.StdEncoding.EncodeToString(b)}}})
						break
					}
					for _, s := range base64Offsets(b) {
						next = append(next, alt{parts: []GlobPart{{Lit: s}}})
					}
				default:
					next = append(next, a)
				}
			}
			alts = next
			switch m {
			case "utf16le", "wide", "utf16be", "utf16":
				isBytes = true
			case "base64", "base64offset":
				isBytes = false
			}
		}
		if isBytes {
			return errf("utf16 without base64: CloudTrail text is UTF-8, a UTF-16 value never matches it")
		}
		var ms []Matcher
		for _, a := range alts {
			parts := a.parts
			if it.Field == "" && kind == "" { // keywords: anywhere in the record's text
				if !startsWithWild(parts) {
					parts = append([]GlobPart{{Wild: '*'}}, parts...)
				}
				if !endsWithWild(parts) {
					parts = append(slices.Clone(parts), GlobPart{Wild: '*'})
				}
			}
			ms = append(ms, Matcher{Kind: MatchGlob, Glob: parts, Cased: cased})
		}
		it.Values = append(it.Values, ms)
	}
	return nil
}

// valueMods returns the modifiers that change values (not all, neq, cased).
func valueMods(mods []string) []string {
	var out []string
	for _, m := range mods {
		if m != "all" && m != "neq" && m != "cased" {
			out = append(out, m)
		}
	}
	return out
}

// parseGlob reads a Sigma string: * and ? are wildcards, \* \? \\ their literal forms, a
// backslash before anything else is itself. A number or boolean is literal text.
func parseGlob(s string, literal bool) []GlobPart {
	if literal {
		return []GlobPart{{Lit: s}}
	}
	var parts []GlobPart
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			parts = append(parts, GlobPart{Lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s) && (s[i+1] == '*' || s[i+1] == '?' || s[i+1] == '\\'):
			lit.WriteByte(s[i+1])
			i++
		case c == '*' || c == '?':
			flush()
			parts = append(parts, GlobPart{Wild: c})
		default:
			lit.WriteByte(c)
		}
	}
	flush()
	return parts
}

func globHasWild(ps []GlobPart) bool {
	for _, p := range ps {
		if p.Wild != 0 {
			return true
		}
	}
	return false
}

func globText(ps []GlobPart) string {
	var b strings.Builder
	for _, p := range ps {
		b.WriteString(p.Lit)
	}
	return b.String()
}

func startsWithWild(ps []GlobPart) bool { return len(ps) > 0 && ps[0].Wild == '*' }
func endsWithWild(ps []GlobPart) bool   { return len(ps) > 0 && ps[len(ps)-1].Wild == '*' }

// windash expands - and / at the start of a word (after a non-word character or the
// start of a literal run, before a word character) into - / – — ―, every combination.
func windash(ps []GlobPart) [][]GlobPart {
	out := [][]GlobPart{nil}
	for _, p := range ps {
		variants := []GlobPart{p}
		if p.Wild == 0 {
			variants = nil
			for _, s := range windashText(p.Lit) {
				variants = append(variants, GlobPart{Lit: s})
			}
		}
		var next [][]GlobPart
		for _, o := range out {
			for _, v := range variants {
				next = append(next, append(slices.Clone(o), v))
			}
		}
		out = next
	}
	return out
}

var windashRE = regexp.MustCompile(`\B[-/]\b`)

func windashText(s string) []string {
	locs := windashRE.FindAllStringIndex(s, -1)
	out := []string{""}
	prev := 0
	for _, l := range locs {
		var next []string
		for _, o := range out {
			for _, d := range []string{"-", "/", "\u2013", "\u2014", "\u2015"} {
				next = append(next, o+s[prev:l[0]]+d)
			}
		}
		out, prev = next, l[1]
	}
	for i := range out {
		out[i] += s[prev:]
	}
	return out
}

func encodeUTF16(s, mod string) []byte {
	var b []byte
	u := utf16.Encode([]rune(s))
	if mod == "utf16" {
		b = append(b, 0xff, 0xfe)
	}
	for _, c := range u {
		if mod == "utf16be" {
			b = append(b, byte(c>>8), byte(c))
		} else {
			b = append(b, byte(c), byte(c>>8))
		}
	}
	return b
}

// base64Offsets returns the three forms b takes inside base64 text, by its offset modulo 3
// (the stable middle part of each), as pySigma's base64offset does.
func base64Offsets(b []byte) []string {
	starts := []int{0, 2, 3}
	ends := []int{0, -3, -2}
	var out []string
	for i := 0; i < 3; i++ {
		enc := base64.StdEncoding.EncodeToString(append(bytes.Repeat([]byte(" "), i), b...))
		end := len(enc)
		if e := ends[(len(b)+i)%3]; e != 0 {
			end += e
		}
		if starts[i] <= end {
			out = append(out, enc[starts[i]:end])
		}
	}
	return out
}

// buildRegex turns a Sigma re value (PCRE subset) and its flags into an RE2 pattern that Go
// and DuckDB read alike. Outside a character class, $ without the m flag also matches
// before a final newline, as in PCRE.
func buildRegex(s, flags string, mods []string) (string, error) {
	if _, err := regexp.Compile(s); err != nil {
		return "", errf("re %q: not a regular expression RE2 (DuckDB) can run: %v", s, err)
	}
	if strings.Contains(s, `\C`) {
		return "", errf(`re %q: \C is not supported`, s)
	}
	pat := s
	if !strings.Contains(flags, "m") {
		pat = pcreDollar(pat)
	}
	// re followed by contains/startswith/endswith: pySigma groups a top-level alternation
	// and adds .* ; for a search (unanchored) that changes nothing but the grouping.
	after := mods[slices.Index(mods, "re")+1:]
	for _, m := range after {
		if m == "contains" || m == "startswith" || m == "endswith" {
			pat = "(?:" + pat + ")"
			break
		}
	}
	var f string
	for _, c := range []string{"i", "m", "s"} {
		if strings.Contains(flags, c) {
			f += c
		}
	}
	if f != "" {
		pat = "(?" + f + ")" + pat
	}
	if _, err := regexp.Compile(pat); err != nil {
		return "", errf("re %q: %v", s, err)
	}
	return pat, nil
}

// pcreDollar rewrites each $ anchor (not escaped, not in a class) as (?:\n?\z).
func pcreDollar(s string) string {
	var b strings.Builder
	inClass := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			b.WriteByte(c)
			b.WriteByte(s[i+1])
			i++
			continue
		case inClass:
			if c == ']' {
				inClass = false
			}
		case c == '[':
			inClass = true
			if i+1 < len(s) && s[i+1] == '^' {
				b.WriteString("[^")
				i++
				c = 0
			}
			if i+1 < len(s) && s[i+1] == ']' {
				if c != 0 {
					b.WriteByte('[')
				}
				b.WriteByte(']')
				i++
				continue
			}
		case c == '$':
			b.WriteString(`(?:\n?\z)`)
			continue
		}
		if c != 0 {
			b.WriteByte(c)
		}
	}
	return b.String()
}

var spanRE = regexp.MustCompile(`^([0-9]{1,9})([smhd])$`)

func parseSpan(s string) (time.Duration, error) {
	m := spanRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, fmt.Errorf("%q: want a number and s, m, h or d (30s, 10m, 1h, 1d)", s)
	}
	n, _ := strconv.Atoi(m[1])
	unit := map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour, "d": 24 * time.Hour}[m[2]]
	if n <= 0 || n > int(366*24*time.Hour/unit) {
		return 0, fmt.Errorf("%q: out of range (1s to 366d)", s)
	}
	return time.Duration(n) * unit, nil
}

func parseCorrelation(n *yaml.Node) (*Correlation, error) {
	entries, err := mapEntries(n, "correlation")
	if err != nil {
		return nil, err
	}
	c := &Correlation{}
	var condNode *yaml.Node
	var span string
	for _, e := range entries {
		k, v := e[0], e[1]
		switch k.Value {
		case "type":
			c.Type, err = scalarText(v, "correlation type")
		case "rules":
			c.Rules, err = stringList(v, "correlation rules")
		case "group-by":
			c.GroupBy, err = stringList(v, "group-by")
		case "timespan", "timeframe":
			span, err = scalarText(v, "timespan")
		case "condition":
			condNode = v
		case "generate":
			var s string
			s, err = scalarText(v, "generate")
			c.Generate = strings.EqualFold(s, "true")
		case "aliases":
			var al [][2]*yaml.Node
			al, err = mapEntries(v, "aliases")
			c.Aliases = map[string]map[string]string{}
			for _, a := range al {
				var m [][2]*yaml.Node
				if m, err = mapEntries(a[1], "alias "+a[0].Value); err != nil {
					break
				}
				c.Aliases[a[0].Value] = map[string]string{}
				for _, x := range m {
					if x[1].Kind != yaml.ScalarNode {
						err = errf("alias %s: field is not a name", a[0].Value)
						break
					}
					c.Aliases[a[0].Value][x[0].Value] = x[1].Value
				}
			}
		}
		if err != nil {
			return nil, err
		}
	}
	switch c.Type {
	case "event_count", "value_count", "temporal":
	case "temporal_ordered":
		return nil, errf("correlation type temporal_ordered: not supported yet (the order of the rules' events within the timespan is not checked)")
	case "value_sum", "value_avg", "value_percentile":
		return nil, errf("correlation type %s: not supported yet (only event_count, value_count and temporal)", c.Type)
	case "":
		return nil, errf("correlation has no type")
	default:
		return nil, errf("correlation type %q is not one of the specification's", c.Type)
	}
	if len(c.Rules) == 0 {
		return nil, errf("correlation names no rules")
	}
	if span == "" {
		return nil, errf("correlation has no timespan (the specification requires one)")
	}
	if c.Timespan, err = parseSpan(span); err != nil {
		return nil, errf("timespan: %v", err)
	}
	for _, g := range c.GroupBy {
		if err := checkFieldName(g, c.Aliases); err != nil {
			return nil, err
		}
	}
	if condNode != nil {
		ce, err := mapEntries(condNode, "correlation condition")
		if err != nil {
			return nil, err
		}
		for _, e := range ce {
			if e[0].Value == "field" {
				if c.Field, err = scalarText(e[1], "condition field"); err != nil {
					return nil, errf("value_count over several fields: not supported yet")
				}
				if err := checkFieldName(c.Field, nil); err != nil {
					return nil, err
				}
				continue
			}
			switch e[0].Value {
			case "gt", "gte", "lt", "lte", "eq", "neq":
			default:
				return nil, errf("correlation condition %q: want gt, gte, lt, lte, eq or neq", e[0].Value)
			}
			s, err := scalarText(e[1], "condition "+e[0].Value)
			if err != nil {
				return nil, err
			}
			f, err := strconv.ParseFloat(s, 64)
			if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
				return nil, errf("correlation condition %s: %q is not a number", e[0].Value, s)
			}
			c.Cond = append(c.Cond, Bound{Op: e[0].Value, N: f})
		}
	}
	if len(c.Cond) == 0 && c.Type != "temporal" {
		return nil, errf("correlation %s has no condition", c.Type)
	}
	if c.Type == "value_count" && c.Field == "" {
		return nil, errf("value_count needs condition.field")
	}
	return c, nil
}

func checkFieldName(f string, aliases map[string]map[string]string) error {
	if _, ok := aliases[f]; ok {
		return nil
	}
	for _, seg := range strings.Split(f, ".") {
		if !fieldSegRE.MatchString(seg) {
			return errf("field %q: each part between dots must be letters, digits, spaces or _ @ $ : -", f)
		}
	}
	return nil
}

// short cuts s for a message.
func short(s string) string {
	if r := []rune(s); len(r) > 80 {
		return string(r[:77]) + "..."
	}
	return s
}
