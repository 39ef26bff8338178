package ingest

import "time"

// Span is a time interval [From, To).
type Span struct{ From, To time.Time }

func (s Span) empty() bool { return !s.From.Before(s.To) }

func (s Span) intersect(o Span) Span {
	return Span{latest(s.From, o.From), earliest(s.To, o.To)}
}

func (s Span) String() string {
	return s.From.UTC().Format(time.RFC3339) + " to " + s.To.UTC().Format(time.RFC3339)
}

// subtract removes o from every span of ss.
func subtract(ss []Span, o Span) []Span {
	var out []Span
	for _, s := range ss {
		if o.empty() || s.intersect(o).empty() {
			out = append(out, s)
			continue
		}
		if left := (Span{s.From, o.From}); !left.empty() {
			out = append(out, left)
		}
		if right := (Span{o.To, s.To}); !right.empty() {
			out = append(out, right)
		}
	}
	return out
}

func latest(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earliest(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// wholeSeconds widens [from, to) to whole seconds (eventTime has one-second resolution).
func wholeSeconds(from, to time.Time) (time.Time, time.Time) {
	f, t := from.UTC().Truncate(time.Second), to.UTC().Truncate(time.Second)
	if t.Before(to) {
		t = t.Add(time.Second)
	}
	return f, t
}

// overlaps reports whether o overlaps any span of ss.
func overlaps(ss []Span, o Span) bool {
	for _, s := range ss {
		if !s.intersect(o).empty() {
			return true
		}
	}
	return false
}
