package queries

// Output writer for `trailhound sql … --format F` and `trailhound query NAME --format F`.
//
// Every value shown here comes from CloudTrail, and most CloudTrail text is chosen by whoever made the API call
// (userAgent, errorMessage, requestParameters, resource names, and even column names once a query PIVOTs on
// data). The writers therefore treat every string as hostile:
//
//   - table and markdown (for terminals and reports) replace C0 controls (including \n, \r and \t), DEL, C1
//     controls, invalid UTF-8 and every invisible Unicode format character (category Cf: bidi overrides and
//     isolates U+202A–U+202E and U+2066–U+2069, bidi marks, zero-width characters, tag characters) plus U+2028
//     and U+2029 with visible escapes: \n \r \t, \xNN for C0, DEL and bytes that are not UTF-8, \uNNNN or
//     \UNNNNNNNN for the rest. ESC sequences such as "\x1b]0;pwned\x07" come out as the inert text
//     `\x1b]0;pwned\x07`. Backslashes already in the data are left alone, so the display form is not
//     reversible; use csv or json when the exact bytes matter.
//   - csv keeps data exact, except that (a) every character table escapes but \t, \r and \n (C0 controls, DEL,
//     C1 controls, U+2028, U+2029, every format character: bidi controls, U+200B, U+200D, U+FEFF...) and bytes
//     that are not UTF-8 are escaped as above, because people cat CSV files and open them in spreadsheets that
//     hide such characters. This is lossy: the escape `\x1b` cannot be told from the same four characters in
//     the data, and an emoji joined with U+200D shows as its parts. (b) Formula injection is defused: see
//     neutraliseFormula. Use json when the exact text matters.
//   - json and jsonl are exact JSON. Strings are escaped as encoding/json does (control characters, U+2028,
//     U+2029, and <, > and & as \u003c \u003e \u0026), and in addition DEL, C1 controls and every Unicode
//     format character (bidi overrides etc.) are written as \uNNNN escapes, which decode back to the same
//     string. Bytes that are not valid UTF-8 become U+FFFD, as with encoding/json.
//
// Rendering of values (the same in every format unless noted):
//
//   - NULL: `NULL` in table and markdown, an empty field in csv, null in json. (JSON null inside a JSON column
//     is decoded by the driver to the same Go nil, so it is shown as NULL too.) Text that reads NULL is shown
//     in table and markdown inside one more pair of double quotes: the string 'NULL' as "NULL", the string
//     '"NULL"' as ""NULL"", so no text passes for a NULL.
//   - table cells and column names wider than WriteOptions.MaxWidth (DefaultMaxWidth unless set) are cut and
//     end in "…", and with WriteOptions.FitWidth the widest columns are cut further so that lines fit it;
//     WriteStats.Cut counts them. No other format cuts anything.
//   - BLOB and GEOMETRY: PostgreSQL bytea hex (`\x` followed by lower-case hex) in text formats; standard
//     base64 (as encoding/json does for []byte) in json and jsonl.
//   - TIMESTAMP, TIMESTAMPTZ, TIMESTAMP_S/_MS/_NS: RFC 3339 in UTC, with fractional seconds only when they are
//     not zero (2024-01-02T03:04:05Z, 2024-01-02T03:04:05.123Z). A TIMESTAMP without time zone is taken to be
//     UTC, which is what trailhound stores. DuckDB's ±infinity become `infinity` / `-infinity`.
//     DATE: 2006-01-02. TIME: 15:04:05 with optional fraction. TIMETZ: 15:04:05+02:00.
//   - INTERVAL: ISO 8601 duration, e.g. P1Y2M3DT4H5M6.5S (PT0S for zero; a negative part carries its own sign,
//     e.g. P-3D).
//   - UUID: canonical 8-4-4-4-12 lower-case text.
//   - Integers of every width, HUGEINT/UHUGEINT/BIGNUM and DECIMAL: exact decimal text, and JSON numbers in
//     json (so consumers that read numbers as doubles may round very large ones). FLOAT/DOUBLE: shortest text
//     that round-trips, as encoding/json writes it; NaN and ±Inf (not valid JSON numbers) become the strings
//     "NaN", "Infinity" and "-Infinity".
//   - JSON columns: the driver decodes them (to map[string]any, []any, string, float64, bool or nil) and does
//     not hand out the original text. They are emitted as nested JSON values in json/jsonl and as compact JSON
//     text in the text formats (so a JSON string shows with its quotes). Object keys are sorted, and numbers
//     went through float64, so integers beyond 2^53 lose precision: select `col::VARCHAR` when the original
//     text matters.
//   - LIST, ARRAY, STRUCT, MAP: compact JSON in the text formats, nested JSON in json. STRUCT fields keep their
//     declared order and MAP entries their order (both taken from the column type, never from Go map
//     iteration); MAP keys are rendered as text.
//   - UNION: the value of the member that is set, rendered with that member's type (as DuckDB displays it);
//     use union_tag(col) to see the tag.
//   - anything else: fmt.Sprint, treated as text.

import (
	"bufio"
	"database/sql"
	"encoding/base64"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	duckdb "github.com/duckdb/duckdb-go/v2"
	"github.com/rivo/uniseg"
)

// Format is an output format for query results.
type Format string

// The output formats, in the order Formats lists them.
const (
	FormatTable    Format = "table"
	FormatCSV      Format = "csv"
	FormatJSON     Format = "json"
	FormatJSONL    Format = "jsonl"
	FormatMarkdown Format = "markdown"
)

var allFormats = []Format{FormatTable, FormatCSV, FormatJSON, FormatJSONL, FormatMarkdown}

// Formats returns the names of the output formats, for --help text.
func Formats() []string {
	out := make([]string, len(allFormats))
	for i, f := range allFormats {
		out[i] = string(f)
	}
	return out
}

// ParseFormat returns the Format named s (case-insensitive, surrounding spaces ignored).
func ParseFormat(s string) (Format, error) {
	name := strings.ToLower(strings.TrimSpace(s))
	for _, f := range allFormats {
		if string(f) == name {
			return f, nil
		}
	}
	return "", fmt.Errorf("unknown output format %q (valid: %s)", s, strings.Join(Formats(), ", "))
}

// tableBufferRows is how many rows the table format holds to measure column widths before it starts to stream
// with the widths fixed.
const tableBufferRows = 10000

// DefaultMaxWidth is the widest a table cell (or column name) is shown, in terminal columns, unless
// WriteOptions say otherwise: longer text is cut and ends in "…", so one hostile 1 MB user agent
// cannot pad every row of a table to a megabyte. csv, json, jsonl and markdown are never cut.
const DefaultMaxWidth = 120

// WriteOptions tune WriteRowsWith.
type WriteOptions struct {
	// MaxWidth caps the display width of a table cell and of a column name: longer text keeps
	// MaxWidth-1 columns and ends in "…". 0 means DefaultMaxWidth; a negative value, no cap.
	MaxWidth int
	// FitWidth, when > 0, is the width a whole table line should fit in (a terminal's): the widest
	// columns are then cut further, to one common width but never below 24 columns, measured on the
	// rows held back (the first 10,000).
	FitWidth int
	// tableLimit is how many rows the table format holds back to measure widths (0:
	// tableBufferRows); tests lower it.
	tableLimit int
}

// WriteStats say what WriteRowsWith wrote.
type WriteStats struct {
	Rows     int // data rows written
	Cut      int // table cells and column names cut
	MaxWidth int // the cap in force (0: none)
	Fit      int // FitWidth, when columns were cut to fit it (0: they were not)
}

// WriteRows streams rows from a query to w in format f and returns the number of data rows written.
// It always calls rows.Close() (which does not close the connection the rows came from) and returns rows.Err()
// if iterating failed. Only the table format holds rows back, and at most tableBufferRows of them; its cells
// are cut at DefaultMaxWidth.
func WriteRows(w io.Writer, f Format, rows *sql.Rows) (int, error) {
	st, err := WriteRowsWith(w, f, rows, WriteOptions{})
	return st.Rows, err
}

// WriteRowsWith is WriteRows with options, and says how many table cells it cut.
func WriteRowsWith(w io.Writer, f Format, rows *sql.Rows, o WriteOptions) (st WriteStats, err error) {
	if rows == nil {
		return st, errors.New("write rows: nil rows")
	}
	defer func() {
		if cerr := rows.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close rows: %w", cerr)
		}
	}()
	cols, _, err := rowColumns(rows)
	if err != nil {
		return st, err
	}
	s, err := newSink(w, f, cols, o, &st)
	if err != nil {
		return st, err
	}
	st.Rows, err = drain(rows, len(cols), nil, s)
	return st, err
}

// WriteStrings writes a result made in Go (every column text) to w in format f, escaped and cut
// as a query's result would be.
func WriteStrings(w io.Writer, f Format, o WriteOptions, columns []string, rows [][]string) (WriteStats, error) {
	cols := make([]column, len(columns))
	for i, c := range columns {
		cols[i] = newColumn(c, "VARCHAR")
	}
	var st WriteStats
	s, err := newSink(w, f, cols, o, &st)
	if err != nil {
		return st, err
	}
	if err := s.begin(); err != nil {
		return st, err
	}
	vals := make([]any, len(cols))
	for n, r := range rows {
		if len(r) != len(cols) {
			return st, fmt.Errorf("write rows: row %d has %d values for %d columns", n+1, len(r), len(cols))
		}
		for i, v := range r {
			vals[i] = v
		}
		if err := s.row(vals); err != nil {
			return st, err
		}
		st.Rows++
	}
	return st, s.end(len(rows))
}

// rowColumns describes the result's columns: names and DuckDB types.
func rowColumns(rows *sql.Rows) ([]column, []*sql.ColumnType, error) {
	cts, err := rows.ColumnTypes()
	if err != nil {
		return nil, nil, fmt.Errorf("column types: %w", err)
	}
	cols := make([]column, len(cts))
	for i, ct := range cts {
		cols[i] = newColumn(ct.Name(), ct.DatabaseTypeName())
	}
	return cols, cts, nil
}

func writeRows(w io.Writer, f Format, rows *sql.Rows, tableLimit int) (int, error) {
	st, err := WriteRowsWith(w, f, rows, WriteOptions{tableLimit: tableLimit})
	return st.Rows, err
}

// drain reads every row into every sink (each value through mapValue first, when it
// is not nil), between the sinks' begin and end. It returns the number of rows read.
func drain(rows *sql.Rows, ncols int, mapValue func(any) any, sinks ...sink) (n int, err error) {
	for _, s := range sinks {
		if err := s.begin(); err != nil {
			return 0, err
		}
	}
	vals := make([]any, ncols)
	ptrs := make([]any, ncols)
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		clear(vals)
		if err := rows.Scan(ptrs...); err != nil {
			return n, fmt.Errorf("scan row %d: %w", n+1, err)
		}
		if mapValue != nil {
			for i, v := range vals {
				vals[i] = mapValue(v)
			}
		}
		for _, s := range sinks {
			if err := s.row(vals); err != nil {
				return n, err
			}
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return n, err
	}
	for _, s := range sinks {
		if err := s.end(n); err != nil {
			return n, err
		}
	}
	return n, nil
}

// newSink returns the writer for format f; the table format counts what it cuts in st.
func newSink(w io.Writer, f Format, cols []column, o WriteOptions, st *WriteStats) (sink, error) {
	f, err := ParseFormat(string(f))
	if err != nil {
		return nil, err
	}
	switch f {
	case FormatTable:
		limit := o.tableLimit
		if limit <= 0 {
			limit = tableBufferRows
		}
		maxWidth := o.MaxWidth
		switch {
		case maxWidth == 0:
			maxWidth = DefaultMaxWidth
		case maxWidth < 0:
			maxWidth = 0
		case maxWidth < 2:
			maxWidth = 2 // one column of text and the ellipsis
		}
		st.MaxWidth = maxWidth
		return &tableSink{w: bufio.NewWriterSize(w, 64<<10), cols: cols, limit: limit, maxWidth: maxWidth,
			fitWidth: max(o.FitWidth, 0), stats: st}, nil
	case FormatCSV:
		return &csvSink{out: w, w: csv.NewWriter(w), cols: cols}, nil
	case FormatJSON, FormatJSONL:
		return newJSONSink(bufio.NewWriterSize(w, 64<<10), cols, f == FormatJSONL), nil
	case FormatMarkdown:
		return &markdownSink{w: bufio.NewWriterSize(w, 64<<10), cols: cols}, nil
	}
	return nil, fmt.Errorf("unknown output format %q", f)
}

// sink is one output format.
type sink interface {
	begin() error
	row(vals []any) error
	end(n int) error
}

// ---------------------------------------------------------------------------------------------------------------
// Column types

// column is a result column: its name and its DuckDB type, parsed from DatabaseTypeName so that values the
// driver returns as the same Go type can be told apart (DATE/TIME/TIMESTAMP are all time.Time, UUID and BLOB
// are both []byte) and so that STRUCT fields keep their declared order.
type column struct {
	name    string
	typ     *duckType
	numeric bool // right-aligned in table and markdown
}

func newColumn(name, dbType string) column {
	t := parseDuckType(dbType)
	return column{name: name, typ: t, numeric: t.isNumeric()}
}

// duckType is a parsed DuckDB type name as the driver spells it: `INTEGER`, `DECIMAL(10,3)`, `VARCHAR[]`,
// `INTEGER[2]`, `STRUCT("a" INTEGER, "b ""x""" TIME)`, `MAP(VARCHAR, INTEGER)`, `UNION("n" INTEGER)`, `JSON`.
// A nil *duckType means "unknown": values are then rendered by their Go type alone.
type duckType struct {
	name   string // LIST, ARRAY, STRUCT, MAP, UNION, or the base name (DECIMAL without its arguments)
	elem   *duckType
	fields []typeField // STRUCT and UNION
	key    *duckType   // MAP
	value  *duckType   // MAP
}

type typeField struct {
	name string
	typ  *duckType
}

func (t *duckType) base() string {
	if t == nil {
		return ""
	}
	return t.name
}

func (t *duckType) isNumeric() bool {
	switch t.base() {
	case "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
		"UBIGINT", "UHUGEINT", "BIGNUM", "FLOAT", "DOUBLE", "DECIMAL":
		return true
	}
	return false
}

func (t *duckType) elemType() *duckType {
	if t == nil {
		return nil
	}
	return t.elem
}

func (t *duckType) field(name string) *duckType {
	if t == nil {
		return nil
	}
	for _, f := range t.fields {
		if f.name == name {
			return f.typ
		}
	}
	return nil
}

// parseDuckType parses a type name; it returns nil if the name does not parse.
func parseDuckType(s string) *duckType {
	p := typeParser{s: s}
	t := p.parse()
	if p.failed || p.pos != len(s) {
		return nil
	}
	return t
}

type typeParser struct {
	s      string
	pos    int
	failed bool
}

func (p *typeParser) consume(lit string) bool {
	if strings.HasPrefix(p.s[p.pos:], lit) {
		p.pos += len(lit)
		return true
	}
	return false
}

func (p *typeParser) expect(lit string) {
	if !p.consume(lit) {
		p.failed = true
	}
}

func (p *typeParser) parse() *duckType {
	if p.failed {
		return nil
	}
	var t *duckType
	switch {
	case p.consume("STRUCT("):
		t = &duckType{name: "STRUCT", fields: p.fieldList()}
	case p.consume("UNION("):
		t = &duckType{name: "UNION", fields: p.fieldList()}
	case p.consume("MAP("):
		t = &duckType{name: "MAP"}
		t.key = p.parse()
		p.expect(", ")
		t.value = p.parse()
		p.expect(")")
	default:
		start := p.pos
		for p.pos < len(p.s) && (isIdentByte(p.s[p.pos]) || p.s[p.pos] == ' ') {
			p.pos++
		}
		t = &duckType{name: strings.TrimSpace(p.s[start:p.pos])}
		if t.name == "" {
			p.failed = true
			return nil
		}
		if p.consume("(") { // DECIMAL(w,s) and the like
			end := strings.IndexByte(p.s[p.pos:], ')')
			if end < 0 {
				p.failed = true
				return nil
			}
			p.pos += end + 1
		}
	}
	for !p.failed && p.consume("[") { // LIST (T[]) and ARRAY (T[n]), possibly nested
		end := strings.IndexByte(p.s[p.pos:], ']')
		if end < 0 {
			p.failed = true
			return nil
		}
		name := "ARRAY"
		if end == 0 {
			name = "LIST"
		}
		p.pos += end + 1
		t = &duckType{name: name, elem: t}
	}
	return t
}

// fieldList parses `name TYPE, name TYPE)` after STRUCT( or UNION(.
func (p *typeParser) fieldList() []typeField {
	var fs []typeField
	if p.consume(")") {
		return fs
	}
	for !p.failed {
		name := p.fieldName()
		p.expect(" ")
		typ := p.parse()
		fs = append(fs, typeField{name: name, typ: typ})
		if p.consume(", ") {
			continue
		}
		p.expect(")")
		break
	}
	return fs
}

// fieldName reads a field name, either bare or double-quoted with "" for a quote (the driver always quotes).
func (p *typeParser) fieldName() string {
	if !p.consume(`"`) {
		start := p.pos
		for p.pos < len(p.s) && p.s[p.pos] != ' ' {
			p.pos++
		}
		return p.s[start:p.pos]
	}
	var b strings.Builder
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		p.pos++
		if c != '"' {
			b.WriteByte(c)
			continue
		}
		if p.consume(`"`) {
			b.WriteByte('"')
			continue
		}
		return b.String()
	}
	p.failed = true
	return ""
}

func isIdentByte(c byte) bool {
	return c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
}

// ---------------------------------------------------------------------------------------------------------------
// Values

// cellKind says how a rendered text cell may be treated.
type cellKind int

const (
	cellNull  cellKind = iota
	cellText           // free text (VARCHAR, ENUM, BIT, unknown types): may be attacker-controlled
	cellValue          // numbers, times, UUIDs, BLOB hex, JSON text: produced by us, never a formula
)

// textValue renders v (of DuckDB type t) for the text formats, before any escaping.
func textValue(v any, t *duckType) (string, cellKind) {
	if t.base() == "JSON" && v != nil { // the driver decoded the JSON: show it as JSON text
		return string(appendJSON(nil, v, t, false)), cellValue
	}
	switch x := v.(type) {
	case nil:
		return "", cellNull
	case string:
		return x, cellText
	case []byte:
		return bytesText(x, t), cellValue
	case bool:
		return strconv.FormatBool(x), cellValue
	case duckdb.Union:
		return textValue(x.Value, t.field(x.Tag))
	case []any, map[string]any, duckdb.OrderedMap:
		return string(appendJSON(nil, v, t, false)), cellValue
	case float32:
		return floatText(float64(x), 32), cellValue
	case float64:
		return floatText(x, 64), cellValue
	case time.Time:
		return formatTime(x, t), cellValue
	case duckdb.Interval:
		return formatInterval(x), cellValue
	case duckdb.UUID:
		return formatUUID(x[:]), cellValue
	case [16]byte:
		return formatUUID(x[:]), cellValue
	case *duckdb.UUID:
		if x == nil {
			return "", cellNull
		}
		return formatUUID(x[:]), cellValue
	}
	if b, ok := appendScalar(nil, v, t, false); ok { // the numbers
		if string(b) == "null" {
			return "", cellNull
		}
		return string(b), cellValue
	}
	return fmt.Sprint(v), cellText
}

func floatText(f float64, bits int) string {
	b := appendFloat(nil, f, bits)
	if b[0] == '"' {
		return string(b[1 : len(b)-1])
	}
	return string(b)
}

func bytesText(b []byte, t *duckType) string {
	if t.base() == "UUID" && len(b) == 16 {
		return formatUUID(b)
	}
	return `\x` + hex.EncodeToString(b)
}

func formatUUID(b []byte) string {
	var buf [36]byte
	hex.Encode(buf[0:8], b[0:4])
	buf[8] = '-'
	hex.Encode(buf[9:13], b[4:6])
	buf[13] = '-'
	hex.Encode(buf[14:18], b[6:8])
	buf[18] = '-'
	hex.Encode(buf[19:23], b[8:10])
	buf[23] = '-'
	hex.Encode(buf[24:], b[10:])
	return string(buf[:])
}

// appendJSON appends v (of DuckDB type t) as JSON. htmlSafe also escapes <, > and & (for the json formats;
// the text formats show nested values without that noise).
func appendJSON(b []byte, v any, t *duckType, htmlSafe bool) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case string:
		return appendJSONString(b, x, htmlSafe)
	case []byte:
		if t.base() == "UUID" && len(x) == 16 {
			return appendJSONString(b, formatUUID(x), htmlSafe)
		}
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, x)
		return append(b, '"')
	case bool:
		return strconv.AppendBool(b, x)
	case []any:
		et := t.elemType()
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSON(b, e, et, htmlSafe)
		}
		return append(b, ']')
	case map[string]any:
		return appendStruct(b, x, t, htmlSafe)
	case duckdb.OrderedMap:
		var kt, vt *duckType
		if t != nil {
			kt, vt = t.key, t.value
		}
		keys, values := x.Keys(), x.Values()
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			ks, _ := textValue(k, kt)
			b = appendJSONString(b, ks, htmlSafe)
			b = append(b, ':')
			b = appendJSON(b, values[i], vt, htmlSafe)
		}
		return append(b, '}')
	case duckdb.Union:
		return appendJSON(b, x.Value, t.field(x.Tag), htmlSafe)
	}
	if out, ok := appendScalar(b, v, t, htmlSafe); ok {
		return out
	}
	return appendJSONString(b, fmt.Sprint(v), htmlSafe)
}

// appendStruct writes a STRUCT (fields in declared order) or a decoded JSON object (keys sorted).
func appendStruct(b []byte, m map[string]any, t *duckType, htmlSafe bool) []byte {
	b = append(b, '{')
	first := true
	done := make(map[string]bool, len(m))
	if t != nil && t.name == "STRUCT" {
		for _, f := range t.fields {
			v, ok := m[f.name]
			if !ok {
				continue
			}
			if !first {
				b = append(b, ',')
			}
			first = false
			done[f.name] = true
			b = appendJSONString(b, f.name, htmlSafe)
			b = append(b, ':')
			b = appendJSON(b, v, f.typ, htmlSafe)
		}
	}
	keys := make([]string, 0, len(m)-len(done))
	for k := range m {
		if !done[k] {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendJSONString(b, k, htmlSafe)
		b = append(b, ':')
		b = appendJSON(b, m[k], nil, htmlSafe)
	}
	return append(b, '}')
}

// appendScalar appends the JSON form of the scalar types other than string, []byte and bool. Numbers are JSON
// numbers; times, intervals, UUIDs and non-finite floats are JSON strings. ok is false for other types.
func appendScalar(b []byte, v any, t *duckType, htmlSafe bool) (out []byte, ok bool) {
	switch x := v.(type) {
	case int:
		return strconv.AppendInt(b, int64(x), 10), true
	case int8:
		return strconv.AppendInt(b, int64(x), 10), true
	case int16:
		return strconv.AppendInt(b, int64(x), 10), true
	case int32:
		return strconv.AppendInt(b, int64(x), 10), true
	case int64:
		return strconv.AppendInt(b, x, 10), true
	case uint:
		return strconv.AppendUint(b, uint64(x), 10), true
	case uint8:
		return strconv.AppendUint(b, uint64(x), 10), true
	case uint16:
		return strconv.AppendUint(b, uint64(x), 10), true
	case uint32:
		return strconv.AppendUint(b, uint64(x), 10), true
	case uint64:
		return strconv.AppendUint(b, x, 10), true
	case float32:
		return appendFloat(b, float64(x), 32), true
	case float64:
		return appendFloat(b, x, 64), true
	case *big.Int:
		if x == nil {
			return append(b, "null"...), true
		}
		return x.Append(b, 10), true
	case duckdb.Decimal:
		if x.Value == nil {
			return append(b, "null"...), true
		}
		return append(b, x.String()...), true
	case time.Time:
		return appendJSONString(b, formatTime(x, t), htmlSafe), true
	case duckdb.Interval:
		return appendJSONString(b, formatInterval(x), htmlSafe), true
	case duckdb.UUID:
		return appendJSONString(b, formatUUID(x[:]), htmlSafe), true
	case *duckdb.UUID:
		if x == nil {
			return append(b, "null"...), true
		}
		return appendJSONString(b, formatUUID(x[:]), htmlSafe), true
	case [16]byte:
		return appendJSONString(b, formatUUID(x[:]), htmlSafe), true
	}
	return b, false
}

// appendFloat writes a float the way encoding/json does, and NaN/±Inf as the strings "NaN", "Infinity" and
// "-Infinity".
func appendFloat(b []byte, f float64, bits int) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(b, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(b, `"-Infinity"`...)
	}
	abs := math.Abs(f)
	fmtByte := byte('f')
	if abs != 0 {
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			fmtByte = 'e'
		}
	}
	b = strconv.AppendFloat(b, f, fmtByte, -1, bits)
	if fmtByte == 'e' { // clean up e-09 to e-9, as encoding/json does
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

const (
	// DuckDB stores ±infinity as the extreme values of the underlying integer.
	tsInfinityMicros = math.MaxInt64
	dateInfinityDays = math.MaxInt32
)

// formatTime renders a time.Time according to the DuckDB type it came from.
func formatTime(x time.Time, t *duckType) string {
	switch t.base() {
	case "DATE":
		switch days := x.Unix() / 86400; days {
		case dateInfinityDays:
			return "infinity"
		case -dateInfinityDays:
			return "-infinity"
		}
		return x.Format("2006-01-02")
	case "TIME":
		return x.Format("15:04:05.999999999")
	case "TIMETZ":
		return x.Format("15:04:05.999999999Z07:00")
	case "TIMESTAMP", "TIMESTAMPTZ":
		switch x.UnixMicro() {
		case tsInfinityMicros:
			return "infinity"
		case -tsInfinityMicros:
			return "-infinity"
		}
	}
	return x.UTC().Format(time.RFC3339Nano)
}

// formatInterval renders an INTERVAL as an ISO 8601 duration.
func formatInterval(iv duckdb.Interval) string {
	if iv == (duckdb.Interval{}) {
		return "PT0S"
	}
	var b strings.Builder
	b.WriteByte('P')
	years, months := iv.Months/12, iv.Months%12
	if years != 0 {
		fmt.Fprintf(&b, "%dY", years)
	}
	if months != 0 {
		fmt.Fprintf(&b, "%dM", months)
	}
	if iv.Days != 0 {
		fmt.Fprintf(&b, "%dD", iv.Days)
	}
	if iv.Micros != 0 {
		b.WriteByte('T')
		us := iv.Micros
		h := us / 3_600_000_000
		us -= h * 3_600_000_000
		m := us / 60_000_000
		us -= m * 60_000_000
		if h != 0 {
			fmt.Fprintf(&b, "%dH", h)
		}
		if m != 0 {
			fmt.Fprintf(&b, "%dM", m)
		}
		if us != 0 {
			sec := us / 1_000_000
			frac := us % 1_000_000
			if frac < 0 {
				frac = -frac
			}
			if us < 0 && sec == 0 {
				b.WriteByte('-')
			}
			b.WriteString(strconv.FormatInt(sec, 10))
			if frac != 0 {
				b.WriteString(strings.TrimRight(fmt.Sprintf(".%06d", frac), "0"))
			}
			b.WriteByte('S')
		}
	}
	return b.String()
}

// ---------------------------------------------------------------------------------------------------------------
// Escaping

const hexDigits = "0123456789abcdef"

// appendJSONString writes s as a JSON string. It escapes what encoding/json escapes (", \, control characters,
// U+2028, U+2029, and <, >, & when htmlSafe) and also DEL, C1 controls and Unicode format characters, so that
// JSON read in a terminal cannot carry escape sequences or bidi overrides. Invalid UTF-8 becomes U+FFFD.
func appendJSONString(b []byte, s string, htmlSafe bool) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != 0x7f && (!htmlSafe || c != '<' && c != '>' && c != '&') {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		if isC1(r) || r == '\u2028' || r == '\u2029' || unicode.Is(unicode.Cf, r) {
			b = append(b, s[start:i]...)
			if r >= 0x10000 {
				r1, r2 := utf16.EncodeRune(r)
				b = appendU4(b, r1)
				b = appendU4(b, r2)
			} else {
				b = appendU4(b, r)
			}
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func appendU4(b []byte, r rune) []byte {
	return append(b, '\\', 'u', hexDigits[r>>12&0xf], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
}

func isC1(r rune) bool { return r >= 0x80 && r <= 0x9f }

// isBidiControl reports the characters that reorder displayed text (Trojan Source): the embeddings and
// overrides U+202A–U+202E, the isolates U+2066–U+2069, and the marks U+200E, U+200F and U+061C.
func isBidiControl(r rune) bool {
	return r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 || r == 0x200e || r == 0x200f || r == 0x061c
}

// escapeMode selects which characters escapeText replaces.
type escapeMode int

const (
	// escapeCSV escapes what escapeDisplay does but \t, \r and \n (encoding/csv quotes those).
	escapeCSV escapeMode = iota
	// escapeDisplay (table, markdown) escapes \t, \r, \n, the other C0 controls, DEL, C1 controls, U+2028,
	// U+2029, invalid UTF-8 and every Unicode format character (bidi controls, zero-width characters such
	// as U+200B, U+200D and U+FEFF, tag characters, soft hyphen...), so hidden text becomes visible.
	escapeDisplay
)

func needsEscape(r rune, mode escapeMode) bool {
	switch {
	case r == '\t' || r == '\n' || r == '\r':
		return mode == escapeDisplay
	case r < 0x20 || r == 0x7f || isC1(r) || r == '\u2028' || r == '\u2029' || isBidiControl(r):
		return true
	case r < utf8.RuneSelf:
		return false
	}
	return unicode.Is(unicode.Cf, r)
}

// escapeText replaces the characters of mode with visible, inert escapes: \n \r \t, \xNN for other C0
// controls, DEL and bytes that are not UTF-8, \uNNNN or \UNNNNNNNN for other characters.
func escapeText(s string, mode escapeMode) string {
	i := 0
	for i < len(s) {
		if c := s[i]; c >= 0x20 && c < 0x7f { // printable ASCII, the usual case: as needsEscape has it, kept
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || needsEscape(r, mode) {
			break
		}
		i += size
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	b.WriteString(s[:i])
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteString(`\x`)
			b.WriteByte(hexDigits[s[i]>>4])
			b.WriteByte(hexDigits[s[i]&0xf])
		case !needsEscape(r, mode):
			b.WriteString(s[i : i+size])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x80:
			b.WriteString(`\x`)
			b.WriteByte(hexDigits[r>>4])
			b.WriteByte(hexDigits[r&0xf])
		case r <= 0xffff:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
		i += size
	}
	return b.String()
}

// neutraliseFormula defuses CSV/formula injection (OWASP "CSV Injection"): a text cell that begins with =, +, -,
// @, tab or carriage return gets a leading single quote, which spreadsheets take as "this is text". Only text
// cells (VARCHAR, ENUM, unknown types, and column names) are changed: numbers, times and the other values we
// render ourselves are left as they are, so -5 from a numeric column stays -5.
func neutraliseFormula(s string) string {
	if s != "" && strings.IndexByte("=+-@\t\r", s[0]) >= 0 {
		return "'" + s
	}
	return s
}

// displayCell is how table and markdown show a value rendered by textValue: NULL as NULL, other
// values escaped for display, and text that would read as NULL (NULL, "NULL", ""NULL""...: the
// word between as many double quotes on each side) inside one more pair of double quotes.
func displayCell(text string, kind cellKind) string {
	if kind == cellNull {
		return "NULL"
	}
	text = escapeText(text, escapeDisplay)
	if kind == cellText && readsAsNull(text) {
		return `"` + text + `"`
	}
	return text
}

func readsAsNull(s string) bool {
	inner := strings.TrimLeft(s, `"`)
	q := len(s) - len(inner)
	return len(inner) == 4+q && inner[:4] == "NULL" && strings.Count(inner[4:], `"`) == q
}

// displayWidth is how many terminal columns s takes, by Unicode's grapheme clusters and East Asian
// widths as github.com/rivo/uniseg reckons them: wide and fullwidth characters, emoji (with their
// modifiers, flags, keycaps and variation selectors) two, combining marks zero. s has already
// been escaped (no control characters or invisibles are left in it).
func displayWidth(s string) int {
	return uniseg.StringWidth(s)
}

// ---------------------------------------------------------------------------------------------------------------
// table

// tableSink writes psql-style aligned columns:
//
//	 id | name  | event_time
//	----+-------+----------------------
//	  1 | alice | 2024-01-02T03:04:05Z
//	(1 row)
//
// Numeric columns are right-aligned. The first `limit` rows are held to measure the widths; after that rows are
// written as they come with the widths fixed (a wider cell then pushes the rest of its line to the right).
// A cell or column name wider than maxWidth (0: no cap) keeps maxWidth-1 columns and ends in "…". With fitWidth
// (a terminal's width), the held rows' widths also decide a cap for the widest columns so that a line fits in
// fitWidth columns, never below fitMinWidth; rows after the held ones are cut to the same caps. stats counts the
// cells and names cut. NULL is shown as NULL, and text that would read the same (NULL, "NULL", ""NULL""...)
// gets one more pair of double quotes, so the two never look alike.
type tableSink struct {
	w        *bufio.Writer
	cols     []column
	limit    int
	maxWidth int
	fitWidth int
	stats    *WriteStats
	widths   []int
	caps     []int // each column's cap once the widths are fixed (0: none)
	header   []string
	headCut  []bool // which column names are cut
	held     [][]string
	heldCut  [][]bool // which held cells are cut already
	fixed    bool
	line     []byte
}

// fitMinWidth is the narrowest a column is cut to make a line fit a terminal: a time (20 columns)
// and an access key id (20) are never cut for that.
const fitMinWidth = 24

func (s *tableSink) begin() error {
	s.header = make([]string, len(s.cols))
	s.headCut = make([]bool, len(s.cols))
	s.widths = make([]int, len(s.cols))
	for i, c := range s.cols {
		s.header[i], s.headCut[i] = cutText(escapeText(c.name, escapeDisplay), s.maxWidth)
		s.widths[i] = displayWidth(s.header[i])
	}
	return nil
}

// count counts a cut.
func (s *tableSink) count(_ string, cut bool) {
	if cut {
		s.stats.Cut++
	}
}

// CutToWidth shortens s to width display columns (0: no limit), the last of them "…" when cut,
// never inside a grapheme cluster: a table cell, a progress line.
func CutToWidth(s string, width int) string {
	c, _ := cutText(s, width)
	return c
}

// cutText shortens an escaped cell to width display columns (0: no limit), the last of them "…",
// and says whether it did.
func cutText(c string, width int) (string, bool) {
	if width <= 0 || len(c) <= width { // no character is wider than its UTF-8 bytes
		return c, false
	}
	w, rest, state := 0, c, -1
	for len(rest) > 0 {
		_, next, cw, st := uniseg.FirstGraphemeClusterInString(rest, state)
		state = st
		if w+cw > width-1 {
			if displayWidth(rest) <= width-w { // what is left fits: nothing to cut
				return c, false
			}
			return c[:len(c)-len(rest)] + "…", true // never inside a cluster (a flag, an emoji sequence)
		}
		w += cw
		rest = next
	}
	return c, false
}

func (s *tableSink) row(vals []any) error {
	cells := make([]string, len(vals))
	cut := make([]bool, len(vals))
	for i, v := range vals {
		text, kind := textValue(v, s.cols[i].typ)
		cells[i], cut[i] = cutText(displayCell(text, kind), s.maxWidth)
	}
	if s.fixed {
		for i := range cells {
			if !cut[i] {
				cells[i], cut[i] = cutText(cells[i], s.caps[i])
			}
			s.count("", cut[i])
		}
		return s.writeLine(cells)
	}
	for i, c := range cells {
		s.widths[i] = max(s.widths[i], displayWidth(c))
	}
	s.held = append(s.held, cells)
	s.heldCut = append(s.heldCut, cut)
	if len(s.held) >= s.limit {
		return s.flushHeld()
	}
	return nil
}

// fitCaps returns each column's cap for lines of at most fit columns (0: none needed or asked):
// the widest columns are cut to one common width, the largest that fits, but not below
// fitMinWidth.
func fitCaps(widths []int, fit int) []int {
	caps := make([]int, len(widths))
	if fit <= 0 || len(widths) == 0 {
		return caps
	}
	budget := fit - 2 - 3*(len(widths)-1) // the rule line: "-" around each cell, "+" between
	total := func(c int) int {
		n := 0
		for _, w := range widths {
			n += min(w, c)
		}
		return n
	}
	widest := slices.Max(widths)
	if total(widest) <= budget || widest <= fitMinWidth {
		return caps
	}
	c := widest
	for c > fitMinWidth && total(c) > budget {
		c--
	}
	for i, w := range widths {
		if w > c {
			caps[i] = c
		}
	}
	return caps
}

func (s *tableSink) flushHeld() error {
	s.fixed = true
	s.caps = fitCaps(s.widths, s.fitWidth)
	for i, c := range s.caps {
		if c == 0 {
			continue
		}
		s.stats.Fit = s.fitWidth
		s.widths[i] = c
		var cut bool
		s.header[i], cut = cutText(s.header[i], c)
		s.headCut[i] = s.headCut[i] || cut
		for r := range s.held {
			text, cut := cutText(s.held[r][i], c)
			s.held[r][i] = text
			s.heldCut[r][i] = s.heldCut[r][i] || cut
		}
	}
	for _, cut := range append(s.heldCut, s.headCut) {
		for _, c := range cut {
			s.count("", c)
		}
	}
	s.heldCut = nil
	if len(s.cols) > 0 {
		if err := s.writeLine(s.header); err != nil {
			return err
		}
		s.line = s.line[:0]
		for i, w := range s.widths {
			if i > 0 {
				s.line = append(s.line, '+')
			}
			s.line = append(s.line, strings.Repeat("-", w+2)...)
		}
		s.line = append(s.line, '\n')
		if _, err := s.w.Write(s.line); err != nil {
			return err
		}
	}
	for _, cells := range s.held {
		if err := s.writeLine(cells); err != nil {
			return err
		}
	}
	s.held = nil
	return nil
}

func (s *tableSink) writeLine(cells []string) error {
	if len(cells) == 0 {
		return nil
	}
	s.line = s.line[:0]
	last := len(cells) - 1
	for i, c := range cells {
		if i > 0 {
			s.line = append(s.line, '|')
		}
		s.line = append(s.line, ' ')
		pad := max(s.widths[i]-displayWidth(c), 0)
		right := s.cols[i].numeric
		if right {
			s.line = append(s.line, strings.Repeat(" ", pad)...)
		}
		s.line = append(s.line, c...)
		if !right && i < last {
			s.line = append(s.line, strings.Repeat(" ", pad)...)
		}
		if i < last {
			s.line = append(s.line, ' ')
		}
	}
	s.line = append(s.line, '\n')
	_, err := s.w.Write(s.line)
	return err
}

func (s *tableSink) end(n int) error {
	if !s.fixed {
		if err := s.flushHeld(); err != nil {
			return err
		}
	}
	noun := "rows"
	if n == 1 {
		noun = "row"
	}
	if _, err := fmt.Fprintf(s.w, "(%d %s)\n", n, noun); err != nil {
		return err
	}
	return s.w.Flush()
}

// ---------------------------------------------------------------------------------------------------------------
// csv

// csvSink writes a header row and then one record per row with encoding/csv. NULL is an empty field (CSV cannot
// tell it from an empty string). A record that is a single empty field is written as "" because a blank line
// would be skipped by CSV readers.
type csvSink struct {
	out    io.Writer
	w      *csv.Writer
	cols   []column
	record []string
}

func (s *csvSink) begin() error {
	s.record = make([]string, len(s.cols))
	for i, c := range s.cols {
		s.record[i] = neutraliseFormula(escapeText(c.name, escapeCSV))
	}
	return s.write()
}

func (s *csvSink) write() error {
	if len(s.record) == 1 && s.record[0] == "" {
		s.w.Flush()
		if err := s.w.Error(); err != nil {
			return fmt.Errorf("write csv: %w", err)
		}
		if _, err := io.WriteString(s.out, "\"\"\n"); err != nil {
			return fmt.Errorf("write csv: %w", err)
		}
		return nil
	}
	if err := s.w.Write(s.record); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}

func (s *csvSink) row(vals []any) error {
	for i, v := range vals {
		text, kind := textValue(v, s.cols[i].typ)
		text = escapeText(text, escapeCSV)
		if kind == cellText {
			text = neutraliseFormula(text)
		}
		s.record[i] = text
	}
	return s.write()
}

func (s *csvSink) end(int) error {
	s.w.Flush()
	if err := s.w.Error(); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}

// ---------------------------------------------------------------------------------------------------------------
// json and jsonl

// jsonSink writes one object per row, keys in column order. json wraps them in an array, one object per line
// ("[]" when empty); jsonl writes one object per line and nothing at all when empty. A repeated column name gets
// a suffix (_1, _2, ... as DuckDB does for subqueries) so that no key is lost.
type jsonSink struct {
	w     *bufio.Writer
	cols  []column
	keys  [][]byte // `"name":`
	lines bool
	n     int
	buf   []byte
}

func newJSONSink(w *bufio.Writer, cols []column, lines bool) *jsonSink {
	s := &jsonSink{w: w, cols: cols, lines: lines}
	seen := make(map[string]bool, len(cols))
	for _, c := range cols {
		name := c.name
		for i := 1; seen[name]; i++ {
			name = c.name + "_" + strconv.Itoa(i)
		}
		seen[name] = true
		s.keys = append(s.keys, append(appendJSONString(nil, name, true), ':'))
	}
	return s
}

func (s *jsonSink) begin() error { return nil }

func (s *jsonSink) row(vals []any) error {
	s.buf = s.buf[:0]
	if !s.lines {
		if s.n == 0 {
			s.buf = append(s.buf, "[\n"...)
		} else {
			s.buf = append(s.buf, ",\n"...)
		}
	}
	s.n++
	s.buf = append(s.buf, '{')
	for i, v := range vals {
		if i > 0 {
			s.buf = append(s.buf, ',')
		}
		s.buf = append(s.buf, s.keys[i]...)
		s.buf = appendJSON(s.buf, v, s.cols[i].typ, true)
	}
	s.buf = append(s.buf, '}')
	if s.lines {
		s.buf = append(s.buf, '\n')
	}
	_, err := s.w.Write(s.buf)
	return err
}

func (s *jsonSink) end(int) error {
	if !s.lines {
		tail := "\n]\n"
		if s.n == 0 {
			tail = "[]\n"
		}
		if _, err := s.w.WriteString(tail); err != nil {
			return err
		}
	}
	return s.w.Flush()
}

// ---------------------------------------------------------------------------------------------------------------
// markdown

// markdownSink writes a GitHub-flavoured Markdown table, streamed (Markdown needs no alignment). Cells are
// escaped for display first (so newlines become a literal \n and control characters are inert), then the
// characters Markdown would interpret are backslash-escaped: \ | < > & [ ] ` * ~ and _ (except inside a word,
// where GitHub does not treat it as emphasis). No HTML is ever produced, and data cannot open HTML tags,
// entities, links, images or code spans. NULL is shown as NULL, numeric columns are right-aligned.
type markdownSink struct {
	w    *bufio.Writer
	cols []column
	line []byte
}

func (s *markdownSink) begin() error {
	if len(s.cols) == 0 {
		return nil
	}
	cells := make([]string, len(s.cols))
	for i, c := range s.cols {
		cells[i] = c.name
	}
	if err := s.writeLine(cells); err != nil {
		return err
	}
	s.line = append(s.line[:0], '|')
	for _, c := range s.cols {
		if c.numeric {
			s.line = append(s.line, " ---: |"...)
		} else {
			s.line = append(s.line, " --- |"...)
		}
	}
	s.line = append(s.line, '\n')
	_, err := s.w.Write(s.line)
	return err
}

func (s *markdownSink) writeLine(cells []string) error {
	s.line = append(s.line[:0], '|')
	for _, c := range cells {
		s.line = append(s.line, ' ')
		s.line = appendMarkdownEscaped(s.line, escapeText(c, escapeDisplay))
		s.line = append(s.line, " |"...)
	}
	s.line = append(s.line, '\n')
	_, err := s.w.Write(s.line)
	return err
}

func (s *markdownSink) row(vals []any) error {
	if len(vals) == 0 {
		return nil
	}
	cells := make([]string, len(vals))
	for i, v := range vals {
		cells[i] = displayCell(textValue(v, s.cols[i].typ))
	}
	return s.writeLine(cells)
}

func (s *markdownSink) end(int) error { return s.w.Flush() }

func appendMarkdownEscaped(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\\', '|', '<', '>', '&', '[', ']', '`', '*', '~':
			b = append(b, '\\', c)
		case '_':
			if i > 0 && i+1 < len(s) && isAlnum(s[i-1]) && isAlnum(s[i+1]) {
				b = append(b, c)
			} else {
				b = append(b, '\\', c)
			}
		default:
			b = append(b, c)
		}
	}
	return b
}

func isAlnum(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
}
