// Package prices holds the price tables the cost queries join: trailhound's own table of
// public AWS list prices (embedded, with its sources and date), a user's file (the simple CSV
// of that table, or AWS's bulk offer files for EC2 and Fargate as CSV or JSON), and the
// answers of the AWS Price List Query API (live.go). The arithmetic is SQL's (cost_spans in
// queries/macros.sql): a table here is only data, bound to the query as one JSON parameter.
package prices

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
)

// Price is one rate.
type Price struct {
	Service string  `json:"service"` // ec2, fargate, sagemaker, lightsail, eks, ...
	Region  string  `json:"region"`  // us-east-1, ...
	Item    string  `json:"item"`    // the instance type; Fargate: linux-x86_64 or linux-arm64
	Market  string  `json:"market"`  // on-demand or spot
	Unit    string  `json:"unit"`    // hour; Fargate: vcpu-hour and gb-hour
	USD     float64 `json:"usd"`     // per unit
	Source  string  `json:"source"`  // which table, which date
	Rank    int     `json:"rank"`    // where several tables price the same thing, the lowest rank wins
}

// Table is one price table and where it comes from.
type Table struct {
	Name   string // "embedded", the file's path, "live"
	Source string // what the table says of itself: its source and date
	Prices []Price
}

// embeddedCSV is trailhound's own table (see its header for the sources).
//
//go:embed aws-prices.csv
var embeddedCSV []byte

var embedded = func() Table {
	t, err := ParseCSV("embedded", bytes.NewReader(embeddedCSV))
	if err != nil {
		panic("prices: the embedded table is broken: " + err.Error())
	}
	return t
}()

// Embedded returns trailhound's own price table.
func Embedded() Table {
	t := embedded
	t.Prices = slices.Clone(t.Prices)
	return t
}

// None is a table with no prices: everything is priced unknown.
var None = Table{Name: "none", Source: "no prices", Prices: []Price{}}

// Units a price may have.
var units = []string{"hour", "vcpu-hour", "gb-hour"}

// LineError is a malformed price file: its name, line and what is wrong.
type LineError struct {
	File string
	Line int
	Err  error
}

func (e *LineError) Error() string {
	return fmt.Sprintf("prices %s line %d: %v", e.File, e.Line, e.Err)
}

func (e *LineError) Unwrap() error { return e.Err }

// ParseFile reads a price file: trailhound's CSV (the embedded table's format), or one of
// AWS's bulk offer files for EC2 or ECS (Fargate), as CSV or JSON. A malformed file is an
// error naming the file and the line.
func ParseFile(path string) (Table, error) {
	f, err := os.Open(path)
	if err != nil {
		return Table{}, fmt.Errorf("prices: %w", err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<20)
	head, _ := br.Peek(4096)
	trimmed := bytes.TrimLeft(head, " \t\r\n\ufeff")
	switch {
	case bytes.HasPrefix(trimmed, []byte("{")):
		t, err := parseBulkJSON(path, br)
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		if errors.As(err, &se) {
			return t, &LineError{File: path, Line: lineAt(path, se.Offset), Err: se}
		}
		if errors.As(err, &te) {
			return t, &LineError{File: path, Line: lineAt(path, te.Offset), Err: te}
		}
		return t, err
	case bytes.HasPrefix(trimmed, []byte(`"FormatVersion"`)) || bytes.HasPrefix(trimmed, []byte(`FormatVersion`)):
		return parseBulkCSV(path, br)
	}
	return ParseCSV(path, br)
}

// lineAt returns the line of byte offset off in the file at path (1-based).
func lineAt(path string, off int64) int {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	b, _ := io.ReadAll(io.LimitReader(f, off))
	return bytes.Count(b, []byte("\n")) + 1
}

// ParseCSV reads trailhound's price CSV: "#" comment lines ("# source:" and "# date:" name
// the table), a header with the columns service, region, item, unit, usd and optionally
// market and source, then one price per line.
func ParseCSV(name string, r io.Reader) (Table, error) {
	t := Table{Name: name}
	var source, date string
	data, err := io.ReadAll(r)
	if err != nil {
		return t, fmt.Errorf("prices %s: %w", name, err)
	}
	// The comment lines name the table (encoding/csv drops them).
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(strings.TrimSpace(strings.TrimPrefix(line, "#")), ":")
		if !ok {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "source":
			if source == "" {
				source = strings.TrimSpace(v)
			}
		case "date":
			if date == "" {
				date = strings.TrimSpace(v)
			}
		}
	}
	t.Source = strings.TrimSpace(strings.Join(nonEmpty(source, date), ", "))
	if t.Source == "" {
		t.Source = "file " + name
	}
	cr := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\ufeff"))))
	cr.Comment = '#'
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return t, &LineError{File: name, Line: 1, Err: errors.New("no header (want service,region,item,market,unit,usd,source)")}
	}
	if err != nil {
		return t, csvError(name, err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	line, _ := cr.FieldPos(0)
	for _, need := range []string{"service", "region", "item", "unit", "usd"} {
		if _, ok := col[need]; !ok {
			return t, &LineError{File: name, Line: line, Err: fmt.Errorf("header has no %q column (want service,region,item,market,unit,usd,source)", need)}
		}
	}
	get := func(rec []string, k string) string {
		if i, ok := col[k]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return t, csvError(name, err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		if len(rec) < len(header) {
			return t, &LineError{File: name, Line: line, Err: fmt.Errorf("%d fields, the header has %d", len(rec), len(header))}
		}
		p := Price{Service: strings.ToLower(get(rec, "service")), Region: get(rec, "region"), Item: get(rec, "item"),
			Market: strings.ToLower(get(rec, "market")), Unit: strings.ToLower(get(rec, "unit")), Source: get(rec, "source")}
		if p.Market == "" {
			p.Market = "on-demand"
		}
		if p.Source == "" {
			p.Source = t.Source
		}
		usd, err := strconv.ParseFloat(get(rec, "usd"), 64)
		switch {
		case p.Service == "" || p.Region == "" || p.Item == "":
			return t, &LineError{File: name, Line: line, Err: errors.New("service, region and item must not be empty")}
		case !slices.Contains(units, p.Unit):
			return t, &LineError{File: name, Line: line, Err: fmt.Errorf("unit %q: want hour, vcpu-hour or gb-hour", p.Unit)}
		case p.Market != "on-demand" && p.Market != "spot":
			return t, &LineError{File: name, Line: line, Err: fmt.Errorf("market %q: want on-demand or spot", p.Market)}
		case err != nil || math.IsNaN(usd) || math.IsInf(usd, 0) || usd < 0:
			return t, &LineError{File: name, Line: line, Err: fmt.Errorf("usd %q is not a price", get(rec, "usd"))}
		}
		p.USD = usd
		t.Prices = append(t.Prices, p)
	}
	if len(t.Prices) == 0 {
		return t, fmt.Errorf("prices %s: no prices in it", name)
	}
	return t, nil
}

func csvError(name string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &LineError{File: name, Line: pe.Line, Err: pe.Err}
	}
	return fmt.Errorf("prices %s: %w", name, err)
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Merge stacks tables: where several price the same thing, the first table's price wins
// (rank = its position); the rows of all are kept, so the query can say which it used.
func Merge(tables ...Table) []Price {
	var out []Price
	for i, t := range tables {
		for _, p := range t.Prices {
			p.Rank = i
			out = append(out, p)
		}
	}
	return out
}

// JSON is prices as the cost queries take them: one JSON array, bound as $prices.
func JSON(ps []Price) string {
	if ps == nil {
		ps = []Price{}
	}
	b, err := json.Marshal(ps)
	if err != nil {
		panic("prices: marshal: " + err.Error()) // a []Price of finite floats always marshals
	}
	return string(b)
}

// ViewSQL defines the view price_table: the embedded table as SQL, stored with the macros so
// that the cost queries price with it when $prices is NULL (at the duckdb prompt too). Its
// text comes from the embedded file only, never from input; strings are quoted as SQL
// literals.
func ViewSQL() string {
	var b strings.Builder
	b.WriteString("-- price_table: trailhound's embedded price table (queries/prices/aws-prices.csv: its header\n")
	b.WriteString("-- names the sources), what the cost queries use when $prices is NULL.\n")
	b.WriteString("CREATE OR REPLACE VIEW price_table AS\nSELECT * FROM (VALUES\n")
	for i, p := range embedded.Prices {
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, "    (%s, %s, %s, %s, %s, %s::DOUBLE, %s)", sqlString(p.Service), sqlString(p.Region), sqlString(p.Item),
			sqlString(p.Market), sqlString(p.Unit), strconv.FormatFloat(p.USD, 'g', -1, 64), sqlString(p.Source))
	}
	b.WriteString("\n) AS t(service, region, item, market, unit, usd, source);\n")
	return b.String()
}

func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
