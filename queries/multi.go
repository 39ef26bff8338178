package queries

import (
	"database/sql"
	"errors"
	"fmt"
	"io"
)

// Output is one destination of WriteRowsMulti: either a writer in a Format (the same bytes
// WriteRows writes), or a Collected that keeps the rows in memory.
type Output struct {
	W       io.Writer
	Format  Format
	Collect *Collected
}

// Collected holds a result in memory: the first Limit rows (all when Limit is 0) both as values
// and as display text, and how many rows the result had.
type Collected struct {
	Limit   int
	Columns []string
	Types   []string // DuckDB type names, as the driver spells them
	Numeric []bool   // numeric columns (right-aligned when shown)
	// Text is each kept row as the table format shows it: control, bidi and invisible characters
	// replaced by visible escapes, JSON and lists as compact JSON, times in RFC 3339 UTC, NULL as
	// "". It is plain text: a page must still escape it for HTML.
	Text [][]string
	// Values are the kept rows' values as the driver returned them, after the value mapper.
	Values [][]any
	Total  int
	// Keep, when set, chooses the rows kept (before Limit applies): it sees each row's values
	// after the value mapper. Index then holds each kept row's position in the result (from 0).
	Keep  func(vals []any) bool
	Index []int
}

// Column returns the index of the column called name, or -1.
func (c *Collected) Column(name string) int {
	for i, n := range c.Columns {
		if n == name {
			return i
		}
	}
	return -1
}

// WriteRowsMulti reads rows once and writes them to every output. When mapValue is not nil, each
// value goes through it first (for instance to redact secrets); it receives values as the driver
// returns them (JSON decoded to maps, slices and strings) and must not modify them in place.
// It always closes rows, and returns the number of rows read.
func WriteRowsMulti(rows *sql.Rows, mapValue func(any) any, outs ...Output) (n int, err error) {
	if rows == nil {
		return 0, errors.New("write rows: nil rows")
	}
	defer func() {
		if cerr := rows.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close rows: %w", cerr)
		}
	}()
	cols, cts, err := rowColumns(rows)
	if err != nil {
		return 0, err
	}
	sinks := make([]sink, len(outs))
	for i, o := range outs {
		if o.Collect != nil {
			sinks[i] = newCollectSink(o.Collect, cols, cts)
			continue
		}
		s, err := newSink(o.W, o.Format, cols, WriteOptions{}, &WriteStats{})
		if err != nil {
			return 0, err
		}
		sinks[i] = s
	}
	return drain(rows, len(cols), mapValue, sinks...)
}

type collectSink struct {
	c    *Collected
	cols []column
}

func newCollectSink(c *Collected, cols []column, cts []*sql.ColumnType) *collectSink {
	c.Columns, c.Types, c.Numeric = nil, nil, nil
	c.Text, c.Values, c.Total, c.Index = nil, nil, 0, nil
	for i, col := range cols {
		c.Columns = append(c.Columns, col.name)
		c.Types = append(c.Types, cts[i].DatabaseTypeName())
		c.Numeric = append(c.Numeric, col.numeric)
	}
	return &collectSink{c: c, cols: cols}
}

func (s *collectSink) begin() error { return nil }

func (s *collectSink) row(vals []any) error {
	s.c.Total++
	keep := s.c.Keep == nil || s.c.Keep(vals) // (Keep sees every row)
	if !keep || s.c.Limit > 0 && len(s.c.Text) >= s.c.Limit {
		return nil
	}
	s.c.Index = append(s.c.Index, s.c.Total-1)
	text := make([]string, len(vals))
	for i, v := range vals {
		t, kind := textValue(v, s.cols[i].typ)
		if kind != cellNull {
			text[i] = escapeText(t, escapeDisplay)
		}
	}
	s.c.Text = append(s.c.Text, text)
	s.c.Values = append(s.c.Values, append([]any(nil), vals...))
	return nil
}

func (s *collectSink) end(int) error { return nil }

// DisplayText renders s as the table format shows text: control, bidi and invisible characters
// become visible escapes. The result is plain text, still to be escaped for HTML.
func DisplayText(s string) string { return escapeText(s, escapeDisplay) }

// MarkdownText renders s for a Markdown document: DisplayText, then every character Markdown
// would interpret backslash-escaped, so data cannot open links, images, HTML or code spans.
func MarkdownText(s string) string {
	return string(appendMarkdownEscaped(nil, escapeText(s, escapeDisplay)))
}
