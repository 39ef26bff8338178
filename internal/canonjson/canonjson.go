// Package canonjson writes a JSON value in one canonical form, so that two spellings of the
// same value (key order, whitespace, string escapes, number spelling) compare equal, and
// two different values never do.
//
// The form: no whitespace; object members sorted by their canonical key (bytewise; members
// with equal keys keep their order); strings with every escape decoded and only '"', '\\'
// and control characters escaped (\b \f \n \r \t, else \u00xx), a lone surrogate kept as
// \udxxx; numbers as their exact decimal value: an integer of up to 30 digits as its digits,
// anything else as D.DDDeN (no float rounding: 1.0, 1 and 1e0 are one value, 0.1 and
// 0.10000000000000001 are two); true, false and null as written. Bytes that are not valid
// UTF-8 are kept as they are.
package canonjson

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"strconv"
	"sync"
	"unicode/utf8"
)

// ErrSyntax means the input is not one JSON value.
var ErrSyntax = errors.New("canonjson: not a JSON value")

// Append appends the canonical form of the JSON value src to dst.
func Append(dst, src []byte) ([]byte, error) {
	p := parsers.Get().(*parser)
	p.src, p.i = src, 0
	dst, err := p.document(dst)
	p.src = nil
	if cap(p.tmp) <= 1<<20 {
		parsers.Put(p)
	}
	return dst, err
}

var parsers = sync.Pool{New: func() any { return new(parser) }}

type parser struct {
	src     []byte
	i       int
	members []member // the members of the objects being written, innermost last
	tmp     []byte   // reordering space
}

// member is one object member written to the output: its canonical key spans
// [start, keyEnd) and the whole member, key, colon and value, [start, end).
type member struct {
	start, keyEnd, end int
	prefix             uint64 // the key's first 8 bytes after its quote, big-endian: most comparisons end here
}

// less orders members by canonical key.
func less(dst []byte, a, b *member) bool {
	if a.prefix != b.prefix {
		return a.prefix < b.prefix
	}
	return string(dst[a.start:a.keyEnd]) < string(dst[b.start:b.keyEnd])
}

// keyPrefix is the big-endian value of the first 8 bytes of a canonical key after its quote
// (the closing quote and zeros pad a short one, so that a key sorts before its extensions:
// '"' is 0x22, below every byte a key's text holds but space and '!').
func keyPrefix(key []byte) uint64 {
	var v uint64
	k := key[1:]
	for i := 0; i < 8; i++ {
		v <<= 8
		if i < len(k) {
			v |= uint64(k[i])
		}
	}
	return v
}

func (p *parser) document(dst []byte) ([]byte, error) {
	dst, err := p.value(dst, 0)
	if err != nil {
		return dst, err
	}
	p.space()
	if p.i != len(p.src) {
		return dst, ErrSyntax
	}
	return dst, nil
}

func (p *parser) space() {
	for p.i < len(p.src) {
		switch p.src[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// maxDepth bounds nesting (CloudTrail records nest a few levels).
const maxDepth = 10000

func (p *parser) value(dst []byte, depth int) ([]byte, error) {
	if depth > maxDepth {
		return dst, ErrSyntax
	}
	p.space()
	if p.i >= len(p.src) {
		return dst, ErrSyntax
	}
	switch c := p.src[p.i]; {
	case c == '{':
		return p.object(dst, depth)
	case c == '[':
		return p.array(dst, depth)
	case c == '"':
		return p.str(dst)
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number(dst)
	default:
		for _, lit := range [...]string{"true", "false", "null"} {
			if len(p.src)-p.i >= len(lit) && string(p.src[p.i:p.i+len(lit)]) == lit {
				p.i += len(lit)
				return append(dst, lit...), nil
			}
		}
		return dst, ErrSyntax
	}
}

func (p *parser) object(dst []byte, depth int) ([]byte, error) {
	p.i++ // {
	start := len(dst)
	dst = append(dst, '{')
	base := len(p.members)
	dst, err := p.objectMembers(dst, start, base, depth)
	p.members = p.members[:base]
	return dst, err
}

func (p *parser) objectMembers(dst []byte, start, base, depth int) ([]byte, error) {
	p.space()
	if p.i < len(p.src) && p.src[p.i] == '}' {
		p.i++
		return append(dst, '}'), nil
	}
	sorted := true
	for {
		p.space()
		if p.i >= len(p.src) || p.src[p.i] != '"' {
			return dst, ErrSyntax
		}
		m := member{start: len(dst)}
		var err error
		if dst, err = p.str(dst); err != nil {
			return dst, err
		}
		m.keyEnd = len(dst)
		m.prefix = keyPrefix(dst[m.start:m.keyEnd])
		p.space()
		if p.i >= len(p.src) || p.src[p.i] != ':' {
			return dst, ErrSyntax
		}
		p.i++
		dst = append(dst, ':')
		if dst, err = p.value(dst, depth+1); err != nil {
			return dst, err
		}
		m.end = len(dst)
		if n := len(p.members); n > base && less(dst, &m, &p.members[n-1]) {
			sorted = false
		}
		p.members = append(p.members, m)
		p.space()
		if p.i >= len(p.src) {
			return dst, ErrSyntax
		}
		if p.src[p.i] == '}' {
			p.i++
			break
		}
		if p.src[p.i] != ',' {
			return dst, ErrSyntax
		}
		p.i++
		dst = append(dst, ',')
	}
	if !sorted {
		ms := p.members[base:]
		for a := 1; a < len(ms); a++ { // insertion sort: stable, and objects are small
			m := ms[a]
			b := a
			for ; b > 0 && less(dst, &m, &ms[b-1]); b-- {
				ms[b] = ms[b-1]
			}
			ms[b] = m
		}
		p.tmp = append(p.tmp[:0], dst[start+1:]...)
		off := start + 1
		dst = dst[:off]
		for k, m := range ms {
			if k > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, p.tmp[m.start-off:m.end-off]...)
		}
	}
	return append(dst, '}'), nil
}

func (p *parser) array(dst []byte, depth int) ([]byte, error) {
	p.i++ // [
	dst = append(dst, '[')
	p.space()
	if p.i < len(p.src) && p.src[p.i] == ']' {
		p.i++
		return append(dst, ']'), nil
	}
	for {
		var err error
		if dst, err = p.value(dst, depth+1); err != nil {
			return dst, err
		}
		p.space()
		if p.i >= len(p.src) {
			return dst, ErrSyntax
		}
		if p.src[p.i] == ']' {
			p.i++
			return append(dst, ']'), nil
		}
		if p.src[p.i] != ',' {
			return dst, ErrSyntax
		}
		p.i++
		dst = append(dst, ',')
	}
}

const hexDigits = "0123456789abcdef"

// str writes the string that starts at p.i. A raw control character (not valid JSON) is
// kept as it is.
func (p *parser) str(dst []byte) ([]byte, error) {
	i := p.i + 1
	// The usual case: no escape, copied as it is.
	j := bytes.IndexByte(p.src[i:], '"')
	if j < 0 {
		return dst, ErrSyntax
	}
	if bytes.IndexByte(p.src[i:i+j], '\\') >= 0 {
		return p.escaped(dst)
	}
	dst = append(dst, p.src[p.i:i+j+1]...)
	p.i = i + j + 1
	return dst, nil
}

// escaped writes a string that holds escapes.
func (p *parser) escaped(dst []byte) ([]byte, error) {
	dst = append(dst, '"')
	i := p.i + 1
	for i < len(p.src) {
		c := p.src[i]
		switch {
		case c == '"':
			p.i = i + 1
			return append(dst, '"'), nil
		case c != '\\':
			dst = append(dst, c)
			i++
			continue
		}
		if i+1 >= len(p.src) {
			return dst, ErrSyntax
		}
		e := p.src[i+1]
		i += 2
		switch e {
		case '"', '\\':
			dst = append(dst, '\\', e)
		case '/':
			dst = append(dst, '/')
		case 'b', 'f', 'n', 'r', 't':
			dst = append(dst, '\\', e)
		case 'u':
			r, ok := hex4(p.src, i)
			if !ok {
				return dst, ErrSyntax
			}
			i += 4
			if r >= 0xD800 && r < 0xDC00 {
				if lo, ok := hex4(p.src, i+2); ok && i+1 < len(p.src) && p.src[i] == '\\' && p.src[i+1] == 'u' && lo >= 0xDC00 && lo < 0xE000 {
					i += 6
					dst = utf8.AppendRune(dst, 0x10000+(r-0xD800)<<10+(lo-0xDC00))
					continue
				}
			}
			dst = appendRune(dst, r)
		default:
			return dst, ErrSyntax
		}
	}
	return dst, ErrSyntax
}

// appendRune writes one decoded \u escape in canonical form.
func appendRune(dst []byte, r rune) []byte {
	switch {
	case r == '"' || r == '\\':
		return append(dst, '\\', byte(r))
	case r == '\b':
		return append(dst, '\\', 'b')
	case r == '\f':
		return append(dst, '\\', 'f')
	case r == '\n':
		return append(dst, '\\', 'n')
	case r == '\r':
		return append(dst, '\\', 'r')
	case r == '\t':
		return append(dst, '\\', 't')
	case r < 0x20 || (r >= 0xD800 && r < 0xE000): // control, or a lone surrogate
		return append(dst, '\\', 'u', hexDigits[r>>12&15], hexDigits[r>>8&15], hexDigits[r>>4&15], hexDigits[r&15])
	default:
		return utf8.AppendRune(dst, r)
	}
}

func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// maxIntDigits: an integer of up to this many digits is written as its digits.
const maxIntDigits = 30

// number writes the number that starts at p.i as its exact decimal value.
func (p *parser) number(dst []byte) ([]byte, error) {
	b, i := p.src, p.i
	neg := b[i] == '-'
	if neg {
		i++
	}
	intStart := i
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	intDigits := b[intStart:i]
	if len(intDigits) == 0 {
		return dst, ErrSyntax
	}
	var frac []byte
	if i < len(b) && b[i] == '.' {
		i++
		s := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if frac = b[s:i]; len(frac) == 0 {
			return dst, ErrSyntax
		}
	}
	exp := 0
	hasExp := false
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		hasExp = true
		i++
		s := i
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		ds := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if ds == i {
			return dst, ErrSyntax
		}
		if i-ds > 9 {
			// An exponent this large is kept as written (E as e).
			for _, c := range b[p.i:i] {
				if c == 'E' {
					c = 'e'
				}
				dst = append(dst, c)
			}
			p.i = i
			return dst, nil
		}
		e, err := strconv.Atoi(string(b[s:i]))
		if err != nil {
			return dst, ErrSyntax
		}
		exp = e
	}
	p.i = i
	if frac == nil && !hasExp && len(intDigits) <= maxIntDigits && (intDigits[0] != '0' || len(intDigits) == 1) {
		if len(intDigits) == 1 && intDigits[0] == '0' {
			return append(dst, '0'), nil // -0 is 0
		}
		if neg {
			dst = append(dst, '-')
		}
		return append(dst, intDigits...), nil
	}
	// mantissa digits m (no leading or trailing zeros) times 10^exp.
	var digits [64]byte
	m := append(digits[:0], intDigits...)
	m = append(m, frac...)
	exp -= len(frac)
	k := 0
	for k < len(m) && m[k] == '0' {
		k++
	}
	m = m[k:]
	for len(m) > 0 && m[len(m)-1] == '0' {
		m = m[:len(m)-1]
		exp++
	}
	if len(m) == 0 {
		return append(dst, '0'), nil
	}
	if neg {
		dst = append(dst, '-')
	}
	if exp >= 0 && len(m)+exp <= maxIntDigits {
		dst = append(dst, m...)
		for ; exp > 0; exp-- {
			dst = append(dst, '0')
		}
		return dst, nil
	}
	dst = append(dst, m[0])
	if len(m) > 1 {
		dst = append(dst, '.')
		dst = append(dst, m[1:]...)
	}
	dst = append(dst, 'e')
	return strconv.AppendInt(dst, int64(exp+len(m)-1), 10), nil
}

var buffers = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// Sum is the SHA-256 of src's canonical form; ok is false when src is not one JSON value
// (then the sum is of src's bytes as they are).
func Sum(src []byte) (sum [32]byte, ok bool) {
	bp := buffers.Get().(*[]byte)
	b, err := Append((*bp)[:0], src)
	if err != nil {
		sum = sha256.Sum256(src)
	} else {
		sum = sha256.Sum256(b)
	}
	if cap(b) <= 1<<20 {
		*bp = b[:0]
		buffers.Put(bp)
	}
	return sum, err == nil
}
