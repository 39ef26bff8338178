package sigma

import (
	"path"
	"sort"
	"strconv"
	"strings"
)

// parseCondition parses a detection condition: search identifiers, and, or, not,
// parentheses, "1 of PATTERN", "all of PATTERN" and "1/all of them" (precedence from
// loosest: or, and, not, x of, parentheses; keywords in any case), optionally followed by
// the older aggregation "| count([field]) [by field] OP N".
func parseCondition(s string, searches map[string]*Search) (Expr, *Aggregation, error) {
	toks, err := lexCondition(s)
	if err != nil {
		return nil, nil, err
	}
	p := &condParser{toks: toks, searches: searches}
	x, err := p.or()
	if err != nil {
		return nil, nil, err
	}
	var agg *Aggregation
	if p.peek() == "|" {
		p.next()
		if agg, err = p.aggregation(); err != nil {
			return nil, nil, err
		}
	}
	if p.pos < len(p.toks) {
		return nil, nil, errf("unexpected %q", p.toks[p.pos])
	}
	return x, agg, nil
}

func lexCondition(s string) ([]string, error) {
	var toks []string
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(' || c == ')' || c == '|':
			toks = append(toks, string(c))
			i++
		case c == '>' || c == '<' || c == '=' || c == '!':
			j := i + 1
			if j < len(s) && s[j] == '=' {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		case isIdentByte(c) || c == '*':
			j := i
			for j < len(s) && (isIdentByte(s[j]) || s[j] == '*') {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		default:
			return nil, errf("unexpected character %q", rune(c))
		}
	}
	return toks, nil
}

func isIdentByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'
}

type condParser struct {
	toks     []string
	pos      int
	searches map[string]*Search
	depth    int
}

func (p *condParser) peek() string {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return ""
}

func (p *condParser) next() string {
	t := p.peek()
	p.pos++
	return t
}

func (p *condParser) is(kw string) bool { return strings.EqualFold(p.peek(), kw) }

func (p *condParser) or() (Expr, error) {
	x, err := p.and()
	if err != nil {
		return nil, err
	}
	xs := []Expr{x}
	for p.is("or") {
		p.next()
		y, err := p.and()
		if err != nil {
			return nil, err
		}
		xs = append(xs, y)
	}
	if len(xs) == 1 {
		return x, nil
	}
	return Or{xs}, nil
}

func (p *condParser) and() (Expr, error) {
	x, err := p.not()
	if err != nil {
		return nil, err
	}
	xs := []Expr{x}
	for p.is("and") {
		p.next()
		y, err := p.not()
		if err != nil {
			return nil, err
		}
		xs = append(xs, y)
	}
	if len(xs) == 1 {
		return x, nil
	}
	return And{xs}, nil
}

func (p *condParser) not() (Expr, error) {
	if p.is("not") {
		p.next()
		p.depth++
		defer func() { p.depth-- }()
		if p.depth > 100 {
			return nil, errf("nested too deeply")
		}
		x, err := p.not()
		if err != nil {
			return nil, err
		}
		return Not{x}, nil
	}
	return p.primary()
}

func (p *condParser) primary() (Expr, error) {
	t := p.next()
	switch {
	case t == "":
		return nil, errf("ends too early")
	case t == "(":
		p.depth++
		if p.depth > 100 {
			return nil, errf("nested too deeply")
		}
		x, err := p.or()
		p.depth--
		if err != nil {
			return nil, err
		}
		if p.next() != ")" {
			return nil, errf("missing )")
		}
		return x, nil
	case t == ")" || t == "|":
		return nil, errf("unexpected %q", t)
	case p.is("of"):
		p.next()
		if t != "1" && !strings.EqualFold(t, "all") {
			return nil, errf("%q of: only '1 of' and 'all of' are Sigma", t)
		}
		pat := p.next()
		if pat == "" || pat == "(" || pat == ")" || pat == "|" {
			return nil, errf("'%s of' needs a pattern or them", t)
		}
		o := OfThem{All: !strings.EqualFold(t, "1"), Pattern: pat}
		for name := range p.searches {
			if strings.EqualFold(pat, "them") {
				if !strings.HasPrefix(name, "_") {
					o.Names = append(o.Names, name)
				}
			} else if ok, _ := path.Match(pat, name); ok && !strings.ContainsAny(name, "[]?\\") {
				o.Names = append(o.Names, name)
			}
		}
		if len(o.Names) == 0 {
			return nil, errf("%q matches no search identifier", pat)
		}
		sort.Strings(o.Names)
		return o, nil
	}
	for _, kw := range []string{"and", "or", "not", "of", "them"} {
		if strings.EqualFold(t, kw) {
			return nil, errf("unexpected %q", t)
		}
	}
	if strings.Contains(t, "*") {
		return nil, errf("%q: a pattern needs '1 of' or 'all of'", t)
	}
	if _, ok := p.searches[t]; !ok {
		return nil, errf("%q is not a search identifier of the rule", t)
	}
	return Ident{t}, nil
}

func (p *condParser) aggregation() (*Aggregation, error) {
	fn := strings.ToLower(p.next())
	switch fn {
	case "count":
	case "near":
		return nil, errf("near (the older temporal aggregation): not supported; write it as a temporal correlation rule")
	case "min", "max", "avg", "sum":
		return nil, errf("aggregation %s(): not supported yet (only count)", fn)
	default:
		return nil, errf("unknown aggregation %q", fn)
	}
	a := &Aggregation{Func: fn}
	if p.next() != "(" {
		return nil, errf("count needs (")
	}
	if p.peek() != ")" {
		a.Field = p.next()
		if err := checkFieldName(a.Field, nil); err != nil {
			return nil, err
		}
	}
	if p.next() != ")" {
		return nil, errf("count takes at most one field")
	}
	if p.is("by") {
		p.next()
		a.By = p.next()
		if err := checkFieldName(a.By, nil); err != nil {
			return nil, err
		}
	}
	op := p.next()
	a.Op = map[string]string{">": "gt", ">=": "gte", "<": "lt", "<=": "lte", "=": "eq", "==": "eq"}[op]
	if a.Op == "" {
		return nil, errf("aggregation needs a comparison (> >= < <= =), not %q", op)
	}
	n, err := strconv.ParseFloat(p.next(), 64)
	if err != nil {
		return nil, errf("aggregation needs a number after %s", op)
	}
	a.N = n
	return a, nil
}
