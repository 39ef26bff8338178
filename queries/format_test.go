package queries

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/trailhound/trailhound/internal/golden"
)

const goldenDir = "../testdata/golden/format"

// newConn opens a fresh in-memory DuckDB and returns one connection on it, set to UTC.
func newConn(t *testing.T) *sql.Conn {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if _, err := conn.ExecContext(context.Background(), "SET TimeZone='UTC'"); err != nil {
		t.Fatal(err)
	}
	return conn
}

// render runs query on conn and writes it in format f.
func render(t *testing.T, conn *sql.Conn, f Format, query string, args ...any) (string, int) {
	t.Helper()
	return renderLimit(t, conn, f, tableBufferRows, query, args...)
}

func renderLimit(t *testing.T, conn *sql.Conn, f Format, limit int, query string, args ...any) (string, int) {
	t.Helper()
	rows, err := conn.QueryContext(context.Background(), query, args...)
	if err != nil {
		t.Fatalf("query %s: %v", query, err)
	}
	var buf bytes.Buffer
	n, err := writeRows(&buf, f, rows, limit)
	if err != nil {
		t.Fatalf("WriteRows(%s): %v", f, err)
	}
	return buf.String(), n
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	golden.Check(t, filepath.Join(goldenDir, name), []byte(got))
}

// allTypesSetup creates a table with one column of every type the writer handles, a row of ordinary values, a row
// of extremes and wide/odd text, and a row of NULLs.
const allTypesSetup = `
CREATE TABLE all_types (
	id INTEGER, s VARCHAR, e ENUM('low', 'high'), ok BOOLEAN,
	i8 TINYINT, i16 SMALLINT, i32 INTEGER, i64 BIGINT,
	u8 UTINYINT, u16 USMALLINT, u32 UINTEGER, u64 UBIGINT,
	hi HUGEINT, uhi UHUGEINT, f32 FLOAT, f64 DOUBLE, dec DECIMAL(18,3),
	blob BLOB, ts TIMESTAMP, tstz TIMESTAMPTZ, d DATE, tm TIME, ttz TIMETZ, iv INTERVAL, u UUID,
	j JSON, l INTEGER[], dl DATE[],
	st STRUCT(name VARCHAR, "at" TIMESTAMPTZ, tags VARCHAR[]),
	m MAP(VARCHAR, INTEGER), un UNION(num INTEGER, str VARCHAR)
);
INSERT INTO all_types VALUES
(1, 'hello, "world"', 'low', true,
	-8, -16, -32, -64, 8, 16, 32, 64,
	-170141183460469231731687303715884105727, 1, 1.5, -0.25, -1234.5,
	'\xDE\xAD\xBE\xEF'::BLOB, TIMESTAMP '2024-01-02 03:04:05', TIMESTAMPTZ '2024-01-02 03:04:05.123+00',
	DATE '2024-01-02', TIME '10:11:12.5', TIMETZ '10:11:12+02:00', INTERVAL '1 year 2 months 3 days 04:05:06.5',
	'123e4567-e89b-12d3-a456-426614174000',
	'{"z":1,"a":[1,2.5,"x",true,null],"m":{"k":"v"}}', [1, 2, NULL], [DATE '2024-02-29'],
	{'name': 'alice', 'at': TIMESTAMPTZ '2024-05-06 07:08:09+00', 'tags': ['a', 'b']},
	MAP {'b': 2, 'a': 1}, union_value(num := 7)),
(2, 'line1
line2	tab 日本語 😀', 'high', false,
	-128, -32768, -2147483648, -9223372036854775808, 255, 65535, 4294967295, 18446744073709551615,
	170141183460469231731687303715884105727, 340282366920938463463374607431768211455,
	'nan', 'inf', 999999999999999.999,
	''::BLOB, TIMESTAMP '1970-01-01 00:00:00', 'infinity', DATE '0001-01-01', TIME '00:00:00', TIMETZ '23:59:59-05:30',
	INTERVAL '-90 minutes', '00000000-0000-0000-0000-000000000000',
	'"just a string"', [], [],
	{'name': NULL, 'at': NULL, 'tags': []},
	MAP {}, union_value(str := 'x')),
(3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
`

func TestWriteRowsGolden(t *testing.T) {
	conn := newConn(t)
	if _, err := conn.ExecContext(context.Background(), allTypesSetup); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		f   Format
		ext string
	}{
		{FormatTable, "txt"},
		{FormatCSV, "csv"},
		{FormatJSON, "json"},
		{FormatJSONL, "jsonl"},
		{FormatMarkdown, "md"},
	} {
		t.Run(string(tc.f), func(t *testing.T) {
			got, n := render(t, conn, tc.f, "SELECT * FROM all_types ORDER BY id")
			if n != 3 {
				t.Errorf("rows = %d, want 3", n)
			}
			checkGolden(t, "all_types."+tc.ext, got)
			again, _ := render(t, conn, tc.f, "SELECT * FROM all_types ORDER BY id")
			if again != got {
				t.Errorf("output not deterministic")
			}
			if tc.f == FormatJSON {
				var v []map[string]any
				if err := json.Unmarshal([]byte(got), &v); err != nil || len(v) != 3 {
					t.Errorf("json output does not parse as 3 objects: %v", err)
				}
			}
		})
	}
}

// TestValues checks how each type is rendered: the CSV cell (the text formats share it) and the value the json
// output decodes to.
func TestValues(t *testing.T) {
	conn := newConn(t)
	tests := []struct {
		expr     string
		wantText string
		wantJSON any
	}{
		{"NULL::INTEGER", "", nil},
		{"'plain'", "plain", "plain"},
		{"true", "true", true},
		{"-5::TINYINT", "-5", -5.0},
		{"200::UTINYINT", "200", 200.0},
		{"-300::SMALLINT", "-300", -300.0},
		{"60000::USMALLINT", "60000", 60000.0},
		{"-70000::INTEGER", "-70000", -70000.0},
		{"4000000000::UINTEGER", "4000000000", 4e9},
		{"-9007199254740993::BIGINT", "-9007199254740993", -9007199254740992.0},
		{"18446744073709551615::UBIGINT", "18446744073709551615", 18446744073709551615.0},
		{"-170141183460469231731687303715884105727::HUGEINT", "-170141183460469231731687303715884105727",
			-170141183460469231731687303715884105727.0},
		{"340282366920938463463374607431768211455::UHUGEINT", "340282366920938463463374607431768211455",
			340282366920938463463374607431768211455.0},
		{"1.1::FLOAT", "1.1", 1.1},
		{"0.1::DOUBLE", "0.1", 0.1},
		{"1e300::DOUBLE", "1e+300", 1e300},
		{"1e-7::DOUBLE", "1e-7", 1e-7},
		{"'nan'::DOUBLE", "NaN", "NaN"},
		{"'-inf'::FLOAT", "-Infinity", "-Infinity"},
		{"-12.340::DECIMAL(10,3)", "-12.34", -12.34},
		{"0::DECIMAL(4,2)", "0", 0.0},
		{`'\x00\xFF'::BLOB`, `\x00ff`, "AP8="},
		{"'123e4567-e89b-12d3-a456-426614174000'::UUID", "123e4567-e89b-12d3-a456-426614174000",
			"123e4567-e89b-12d3-a456-426614174000"},
		{"TIMESTAMP '2024-01-02 03:04:05'", "2024-01-02T03:04:05Z", "2024-01-02T03:04:05Z"},
		{"TIMESTAMP '2024-01-02 03:04:05.120'", "2024-01-02T03:04:05.12Z", "2024-01-02T03:04:05.12Z"},
		{"TIMESTAMPTZ '2024-01-02 03:04:05+02'", "2024-01-02T01:04:05Z", "2024-01-02T01:04:05Z"},
		{"TIMESTAMP_S '2024-01-02 03:04:05'", "2024-01-02T03:04:05Z", "2024-01-02T03:04:05Z"},
		{"TIMESTAMP_MS '2024-01-02 03:04:05.007'", "2024-01-02T03:04:05.007Z", "2024-01-02T03:04:05.007Z"},
		{"TIMESTAMP_NS '2024-01-02 03:04:05.123456789'", "2024-01-02T03:04:05.123456789Z",
			"2024-01-02T03:04:05.123456789Z"},
		{"'infinity'::TIMESTAMP", "infinity", "infinity"},
		{"'-infinity'::TIMESTAMPTZ", "-infinity", "-infinity"},
		{"DATE '2024-01-02'", "2024-01-02", "2024-01-02"},
		{"'infinity'::DATE", "infinity", "infinity"},
		{"'-infinity'::DATE", "-infinity", "-infinity"},
		{"TIME '10:11:12'", "10:11:12", "10:11:12"},
		{"TIME '10:11:12.000250'", "10:11:12.00025", "10:11:12.00025"},
		{"TIMETZ '10:11:12+02'", "10:11:12+02:00", "10:11:12+02:00"},
		{"TIMETZ '10:11:12+00'", "10:11:12Z", "10:11:12Z"},
		{"INTERVAL '0 seconds'", "PT0S", "PT0S"},
		{"INTERVAL '1 year 2 months 3 days 04:05:06.5'", "P1Y2M3DT4H5M6.5S", "P1Y2M3DT4H5M6.5S"},
		{"INTERVAL '-3 days'", "P-3D", "P-3D"},
		{"INTERVAL '-0.5 seconds'", "PT-0.5S", "PT-0.5S"},
		{`'{"b":1,"a":[1,true,null,"<x>"]}'::JSON`, `{"a":[1,true,null,"<x>"],"b":1}`,
			map[string]any{"a": []any{1.0, true, nil, "<x>"}, "b": 1.0}},
		{`CAST('"=cmd"' AS JSON)`, `"=cmd"`, "=cmd"},
		{`CAST('-2' AS JSON)`, `-2`, -2.0},
		{`json_object('k', 'v')`, `{"k":"v"}`, map[string]any{"k": "v"}},
		{"[1, NULL, 3]", "[1,null,3]", []any{1.0, nil, 3.0}},
		{"[1, 2]::INTEGER[2]", "[1,2]", []any{1.0, 2.0}},
		{"[[DATE '2024-01-02']]", `[["2024-01-02"]]`, []any{[]any{"2024-01-02"}}},
		{"['123e4567-e89b-12d3-a456-426614174000'::UUID]", `["123e4567-e89b-12d3-a456-426614174000"]`,
			[]any{"123e4567-e89b-12d3-a456-426614174000"}},
		{`{'z': 1, 'a': 'x', 'q "x"': TIME '01:02:03'}`, `{"z":1,"a":"x","q \"x\"":"01:02:03"}`,
			map[string]any{"z": 1.0, "a": "x", `q "x"`: "01:02:03"}},
		{"{'inner': {'b': 1, 'a': [TIMESTAMP '2024-01-02 00:00:00']}}", `{"inner":{"b":1,"a":["2024-01-02T00:00:00Z"]}}`,
			map[string]any{"inner": map[string]any{"b": 1.0, "a": []any{"2024-01-02T00:00:00Z"}}}},
		{"MAP {'b': 2, 'a': 1}", `{"b":2,"a":1}`, map[string]any{"b": 2.0, "a": 1.0}},
		{"MAP {DATE '2024-01-02': 1}", `{"2024-01-02":1}`, map[string]any{"2024-01-02": 1.0}},
		{`['{"a":1}'::JSON]`, `[{"a":1}]`, []any{map[string]any{"a": 1.0}}},
		{"union_value(num := 2)::UNION(num INTEGER, str VARCHAR)", "2", 2.0},
		{"union_value(str := 'x')::UNION(num INTEGER, str VARCHAR)", "x", "x"},
		{"union_value(d := DATE '2024-01-02')::UNION(n INTEGER, d DATE)", "2024-01-02", "2024-01-02"},
		{"'high'::ENUM('low', 'high')", "high", "high"},
		{"'101'::BIT", "101", "101"},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			q := "SELECT " + tc.expr + " AS v"
			csvOut, _ := render(t, conn, FormatCSV, q)
			recs, err := csv.NewReader(strings.NewReader(csvOut)).ReadAll()
			if err != nil || len(recs) != 2 {
				t.Fatalf("csv %q: %v", csvOut, err)
			}
			if recs[1][0] != tc.wantText {
				t.Errorf("text = %q, want %q", recs[1][0], tc.wantText)
			}
			jsonOut, _ := render(t, conn, FormatJSON, q)
			var got []map[string]any
			if err := json.Unmarshal([]byte(jsonOut), &got); err != nil {
				t.Fatalf("json %q: %v", jsonOut, err)
			}
			if !reflect.DeepEqual(got[0]["v"], tc.wantJSON) {
				t.Errorf("json = %#v (%s), want %#v", got[0]["v"], jsonOut, tc.wantJSON)
			}
		})
	}
}

// TestJSONKeyOrder checks that objects follow column order, not Go map order, and that duplicate names survive.
func TestJSONKeyOrder(t *testing.T) {
	conn := newConn(t)
	got, _ := render(t, conn, FormatJSONL, "SELECT 1 AS zeta, 2 AS alpha, 3 AS mid, 4 AS alpha, 5 AS alpha_1")
	want := `{"zeta":1,"alpha":2,"mid":3,"alpha_1":4,"alpha_1_1":5}` + "\n"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

var hostile = []string{
	`=HYPERLINK("http://x")`,
	`+cmd|' /C calc'!A0`,
	`@SUM(1)`,
	`-2+3`,
	"\tstarts with tab",
	"\rstarts with CR",
	"\x1b]0;pwned\x07",
	"\x1b[2J",
	"a\u202eb",
	"iso\u2066late\u2069",
	"c1\u009bcsi",
	"del\x7f",
	"nul\x00byte",
	"</script><img src=x onerror=alert(1)>",
	"pipe|and\\backslash",
	"multi\nline\r\nvalue",
	"zero\u200bwidth",
	"zw\u200djoiner",
	"\ufeffbom",
	"soft\u00adhyphen",
	"word\u2060joiner",
	"line\u2028sep",
	"[link](javascript:alert(1)) &amp; `code` *em*",
}

// checkTerminalSafe asserts that out can be printed to a terminal: valid UTF-8 and no control characters other
// than the newlines that end lines (and, if allowTab, tabs and CRs inside CSV fields), no C1, no bidi controls.
func checkTerminalSafe(t *testing.T, out string, allowTabCR bool) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Errorf("output is not valid UTF-8: %q", out)
	}
	for _, r := range out {
		switch {
		case r == '\n':
		case (r == '\t' || r == '\r') && allowTabCR:
		case r < 0x20 || r == 0x7f || r >= 0x80 && r <= 0x9f:
			t.Errorf("output contains control character %U: %q", r, out)
		case isBidiControl(r) || r == '\u2028' || r == '\u2029':
			t.Errorf("output contains bidi/separator character %U: %q", r, out)
		}
	}
}

func TestHostileTable(t *testing.T) {
	conn := newConn(t)
	for _, f := range []Format{FormatTable, FormatMarkdown} {
		for _, h := range hostile {
			got, _ := render(t, conn, f, `SELECT ? AS v, -2 AS n, 1 AS "x`+"\x1b[31m"+`"`, h)
			checkTerminalSafe(t, got, false)
			for _, r := range got {
				if r != '\n' && unicode.Is(unicode.Cf, r) {
					t.Errorf("%s: output contains format character %U: %q", f, r, got)
				}
			}
			lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
			wantLines := 4 // header, separator, row, (1 row)
			if f == FormatMarkdown {
				wantLines = 3
			}
			if len(lines) != wantLines {
				t.Errorf("%s %q: %d lines, want %d:\n%s", f, h, len(lines), wantLines, got)
			}
			if f == FormatMarkdown {
				for _, l := range lines {
					// every line has exactly 4 unescaped pipes: 3 cells
					if n := countUnescapedPipes(l); n != 4 {
						t.Errorf("markdown line %q has %d cell separators, want 4", l, n)
					}
				}
			}
		}
	}

	cases := []struct {
		f       Format
		in, out string
	}{
		{FormatTable, "\x1b]0;pwned\x07", `\x1b]0;pwned\x07`},
		{FormatTable, "\x1b[2J", `\x1b[2J`},
		{FormatTable, "a\u202eb", `a\u202eb`},
		{FormatTable, "c1\u009bcsi", `c1\u009bcsi`},
		{FormatTable, "multi\nline\r\nvalue", `multi\nline\r\nvalue`},
		{FormatTable, "zero\u200bwidth", `zero\u200bwidth`},
		{FormatTable, "tag\U000E0041", `tag\U000e0041`},
		{FormatTable, `=HYPERLINK("http://x")`, `=HYPERLINK("http://x")`},
		{FormatTable, "</script>", "</script>"},
		{FormatMarkdown, "pipe|and\\backslash", `pipe\|and\\backslash`},
		{FormatMarkdown, "</script>", `\</script\>`},
		{FormatMarkdown, "multi\nline", `multi\\nline`},
		{FormatMarkdown, "\x1b[2J", `\\x1b\[2J`},
		{FormatMarkdown, "[a](javascript:x) &amp; `c` *e* ~s~ _u_ snake_case", "\\[a\\](javascript:x) \\&amp; \\`c\\` \\*e\\* \\~s\\~ \\_u\\_ snake_case"},
	}
	for _, tc := range cases {
		got, _ := render(t, conn, tc.f, "SELECT ? AS v", tc.in)
		if !strings.Contains(got, tc.out) {
			t.Errorf("%s %q: output lacks %q:\n%s", tc.f, tc.in, tc.out, got)
		}
	}
}

func countUnescapedPipes(l string) int {
	n := 0
	for i := 0; i < len(l); i++ {
		switch l[i] {
		case '\\':
			i++
		case '|':
			n++
		}
	}
	return n
}

func TestHostileCSV(t *testing.T) {
	conn := newConn(t)
	want := map[string]string{
		`=HYPERLINK("http://x")`:                `'=HYPERLINK("http://x")`,
		`+cmd|' /C calc'!A0`:                    `'+cmd|' /C calc'!A0`,
		`@SUM(1)`:                               `'@SUM(1)`,
		`-2+3`:                                  `'-2+3`,
		"\tstarts with tab":                     "'\tstarts with tab",
		"\rstarts with CR":                      "'\rstarts with CR",
		"\x1b]0;pwned\x07":                      `\x1b]0;pwned\x07`,
		"\x1b[2J":                               `\x1b[2J`,
		"a\u202eb":                              `a\u202eb`,
		"iso\u2066late\u2069":                   `iso\u2066late\u2069`,
		"c1\u009bcsi":                           `c1\u009bcsi`,
		"del\x7f":                               `del\x7f`,
		"nul\x00byte":                           `nul\x00byte`,
		"</script><img src=x onerror=alert(1)>": "</script><img src=x onerror=alert(1)>",
		"pipe|and\\backslash":                   "pipe|and\\backslash",
		"multi\nline\r\nvalue":                  "multi\nline\r\nvalue",
		// invisible characters are escaped as in table output (and lossily: see the package comment)
		"zero\u200bwidth":  `zero\u200bwidth`,
		"zw\u200djoiner":   `zw\u200djoiner`,
		"\ufeffbom":        `\ufeffbom`,
		"soft\u00adhyphen": `soft\u00adhyphen`,
		"word\u2060joiner": `word\u2060joiner`,
		"line\u2028sep":    `line\u2028sep`,
		"[link](javascript:alert(1)) &amp; `code` *em*": "[link](javascript:alert(1)) &amp; `code` *em*",
	}
	for _, h := range hostile {
		got, n := render(t, conn, FormatCSV, `SELECT ? AS v, -2 AS n, -2.5::DECIMAL(3,1) AS dec, ? AS "=hdr"`, h, h)
		if n != 1 {
			t.Errorf("rows = %d", n)
		}
		checkTerminalSafe(t, got, true)
		for _, r := range got {
			if unicode.Is(unicode.Cf, r) {
				t.Errorf("csv contains format character %U: %q", r, got)
			}
		}
		r := csv.NewReader(strings.NewReader(got))
		recs, err := r.ReadAll()
		if err != nil {
			t.Fatalf("csv %q: %v", got, err)
		}
		// encoding/csv turns \r\n inside a quoted field into \n when reading.
		w := strings.ReplaceAll(want[h], "\r\n", "\n")
		if recs[0][3] != "'=hdr" {
			t.Errorf("header %q not neutralised", recs[0][3])
		}
		if recs[1][0] != w || recs[1][3] != w {
			t.Errorf("csv cell for %q = %q, want %q", h, recs[1][0], w)
		}
		if recs[1][1] != "-2" || recs[1][2] != "-2.5" {
			t.Errorf("numeric cells mangled: %q", recs[1][1:3])
		}
	}
}

func TestHostileJSON(t *testing.T) {
	conn := newConn(t)
	for _, f := range []Format{FormatJSON, FormatJSONL} {
		for _, h := range hostile {
			got, _ := render(t, conn, f, `SELECT ? AS v, ? AS "k`+"\u202e\x1b"+`"`, h, h)
			checkTerminalSafe(t, got, false)
			if strings.Contains(got, "<") || strings.Contains(got, ">") {
				t.Errorf("%s: unescaped < or > in %q", f, got)
			}
			var v map[string]any
			line := strings.TrimSpace(got)
			if f == FormatJSON {
				var arr []map[string]any
				if err := json.Unmarshal([]byte(line), &arr); err != nil || len(arr) != 1 {
					t.Fatalf("%s %q: %v", f, got, err)
				}
				v = arr[0]
			} else if err := json.Unmarshal([]byte(line), &v); err != nil {
				t.Fatalf("%s %q: %v", f, got, err)
			}
			want := validUTF8(h)
			if v["v"] != want || v["k\u202e\x1b"] != want {
				t.Errorf("%s: decoded %q, want %q", f, v, want)
			}
		}
	}
	// The JSON string escaping agrees with encoding/json wherever encoding/json escapes.
	for _, h := range hostile {
		var fromUs, fromStd any
		if err := json.Unmarshal(appendJSONString(nil, h, true), &fromUs); err != nil {
			t.Fatal(err)
		}
		std, _ := json.Marshal(h)
		if err := json.Unmarshal(std, &fromStd); err != nil {
			t.Fatal(err)
		}
		if fromUs != fromStd {
			t.Errorf("%q: decoded %q, encoding/json gives %q", h, fromUs, fromStd)
		}
	}
}

// validUTF8 replaces each byte that is not UTF-8 with U+FFFD, as encoding/json does.
func validUTF8(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		b.WriteRune(r)
		i += size
	}
	return b.String()
}

// TestInvalidUTF8 feeds bytes that are not UTF-8 straight to the writers: DuckDB rejects them in VARCHAR, but
// the writers must not pass them on if they ever arrive (for example from another driver).
func TestInvalidUTF8(t *testing.T) {
	cols := []column{newColumn("v\xff", "VARCHAR"), newColumn("n", "INTEGER")}
	vals := []any{"bad\xff\xfe=x\xc0", int32(-1)}
	want := map[Format]string{
		FormatTable:    " v\\xff             |  n\n-------------------+----\n bad\\xff\\xfe=x\\xc0 | -1\n(1 row)\n",
		FormatCSV:      "v\\xff,n\nbad\\xff\\xfe=x\\xc0,-1\n",
		FormatJSON:     "[\n{\"v\\ufffd\":\"bad\\ufffd\\ufffd=x\\ufffd\",\"n\":-1}\n]\n",
		FormatJSONL:    "{\"v\\ufffd\":\"bad\\ufffd\\ufffd=x\\ufffd\",\"n\":-1}\n",
		FormatMarkdown: "| v\\\\xff | n |\n| --- | ---: |\n| bad\\\\xff\\\\xfe=x\\\\xc0 | -1 |\n",
	}
	for _, f := range allFormats {
		var buf bytes.Buffer
		s, err := newSink(&buf, f, cols, WriteOptions{tableLimit: 10}, &WriteStats{})
		if err != nil {
			t.Fatal(err)
		}
		if err := errors.Join(s.begin(), s.row(vals), s.end(1)); err != nil {
			t.Fatal(err)
		}
		checkTerminalSafe(t, buf.String(), false)
		if buf.String() != want[f] {
			t.Errorf("%s:\ngot  %q\nwant %q", f, buf.String(), want[f])
		}
	}
}

func TestEmptyResult(t *testing.T) {
	conn := newConn(t)
	const q = "SELECT 1::INTEGER AS a, 'x' AS b WHERE false"
	want := map[Format]string{
		FormatTable:    " a | b\n---+---\n(0 rows)\n",
		FormatCSV:      "a,b\n",
		FormatJSON:     "[]\n",
		FormatJSONL:    "",
		FormatMarkdown: "| a | b |\n| ---: | --- |\n",
	}
	for _, f := range allFormats {
		got, n := render(t, conn, f, q)
		if n != 0 || got != want[f] {
			t.Errorf("%s: got %q (%d rows), want %q", f, got, n, want[f])
		}
	}
}

// TestTableStreaming checks that after the held rows the table streams with the widths fixed.
func TestTableStreaming(t *testing.T) {
	conn := newConn(t)
	const q = "SELECT * FROM (VALUES (1, 'a'), (22, 'bb'), (333, 'cccc'), (4, '日本')) t(n, s)"
	got, n := renderLimit(t, conn, FormatTable, 2, q)
	want := "" +
		"  n | s\n" +
		"----+----\n" +
		"  1 | a\n" +
		" 22 | bb\n" +
		" 333 | cccc\n" +
		"  4 | 日本\n" +
		"(4 rows)\n"
	if got != want || n != 4 {
		t.Errorf("got (%d rows):\n%s\nwant:\n%s", n, got, want)
	}
	got, _ = render(t, conn, FormatTable, q)
	want = "" +
		"   n | s\n" +
		"-----+------\n" +
		"   1 | a\n" +
		"  22 | bb\n" +
		" 333 | cccc\n" +
		"   4 | 日本\n" +
		"(4 rows)\n"
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestDisplayWidth(t *testing.T) {
	// Emoji and symbols as attackers' strings hold them: a flag (two regional indicators), a
	// skin-toned and a keycap sequence, an emoji-presentation symbol, a text symbol turned emoji by
	// VS16, a plain text symbol: the hand-made table of before counted 2, 3, 1, 1 for the first four.
	for s, want := range map[string]int{"abc": 3, "日本語": 6, "e\u0301": 1, "😀": 2, "한국": 4, "ｆｕｌｌ": 8,
		"🇰🇷": 2, "👍🏽": 2, "✅": 2, "⚠️": 2, "→": 1} {
		if got := displayWidth(s); got != want {
			t.Errorf("displayWidth(%q) = %d, want %d", s, got, want)
		}
	}
	// A cut never splits a cluster: the flag stays whole or goes whole.
	for _, tc := range []struct {
		in    string
		width int
		want  string
	}{{"ab🇰🇷cd", 4, "ab…"}, {"ab🇰🇷cd", 5, "ab🇰🇷…"}, {"ab🇰🇷c", 5, "ab🇰🇷c"}, {"👍🏽👍🏽👍🏽", 5, "👍🏽👍🏽…"}} {
		if got, _ := cutText(tc.in, tc.width); got != tc.want || displayWidth(got) > tc.width {
			t.Errorf("cutText(%q, %d) = %q (%d columns), want %q", tc.in, tc.width, got, displayWidth(got), tc.want)
		}
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// TestRowsClosed checks that WriteRows closes the rows on success and on failure, and leaves the connection
// usable.
func TestRowsClosed(t *testing.T) {
	conn := newConn(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		f       Format
		wantErr string
	}{
		{name: "ok", f: FormatJSON},
		{name: "bad format", f: "xml", wantErr: "unknown output format"},
		{name: "write error", f: FormatJSONL, wantErr: "disk full"},
		{name: "write error csv", f: FormatCSV, wantErr: "disk full"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rows, err := conn.QueryContext(ctx, "SELECT range AS i FROM range(100000)")
			if err != nil {
				t.Fatal(err)
			}
			var w io.Writer = &bytes.Buffer{}
			if tc.wantErr == "disk full" {
				w = failWriter{}
			}
			_, err = WriteRows(w, tc.f, rows)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
			if rows.Next() {
				t.Error("rows still open after WriteRows")
			}
			var one int
			if err := conn.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
				t.Errorf("connection unusable after WriteRows: %v", err)
			}
		})
	}
}

// cancelWriter cancels the query's context on the first write.
type cancelWriter struct{ cancel context.CancelFunc }

func (w cancelWriter) Write(p []byte) (int, error) { w.cancel(); return len(p), nil }

// TestIterationError checks that an error while iterating (here: the context is cancelled part way; DuckDB
// raises query errors before the first row) is returned.
func TestIterationError(t *testing.T) {
	conn := newConn(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rows, err := conn.QueryContext(ctx, "SELECT range AS v FROM range(1000000)")
	if err != nil {
		t.Fatal(err)
	}
	n, err := WriteRows(cancelWriter{cancel}, FormatCSV, rows)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v after %d rows, want context.Canceled", err, n)
	}
	if n == 0 || n >= 1000000 {
		t.Errorf("rows = %d, want a partial count", n)
	}
}

func TestParseFormat(t *testing.T) {
	if got := Formats(); !reflect.DeepEqual(got, []string{"table", "csv", "json", "jsonl", "markdown"}) {
		t.Errorf("Formats() = %q", got)
	}
	for _, tc := range []struct {
		in      string
		want    Format
		wantErr bool
	}{
		{in: "table", want: FormatTable},
		{in: "csv", want: FormatCSV},
		{in: "json", want: FormatJSON},
		{in: "jsonl", want: FormatJSONL},
		{in: "markdown", want: FormatMarkdown},
		{in: " CSV ", want: FormatCSV},
		{in: "", wantErr: true},
		{in: "xml", wantErr: true},
		{in: "tables", wantErr: true},
		{in: "md", wantErr: true},
	} {
		got, err := ParseFormat(tc.in)
		if tc.wantErr {
			if err == nil {
				t.Errorf("ParseFormat(%q) = %q, want error", tc.in, got)
				continue
			}
			for _, name := range Formats() {
				if !strings.Contains(err.Error(), name) {
					t.Errorf("ParseFormat(%q) error %q does not list %q", tc.in, err, name)
				}
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseFormat(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestParseDuckType(t *testing.T) {
	for in, want := range map[string]*duckType{
		"INTEGER":       {name: "INTEGER"},
		"DECIMAL(18,3)": {name: "DECIMAL"},
		"VARCHAR[]":     {name: "LIST", elem: &duckType{name: "VARCHAR"}},
		"DATE[][2]":     {name: "ARRAY", elem: &duckType{name: "LIST", elem: &duckType{name: "DATE"}}},
		`STRUCT("a" INTEGER, "b ""x"", y" STRUCT("c" UUID)[])`: {name: "STRUCT", fields: []typeField{
			{name: "a", typ: &duckType{name: "INTEGER"}},
			{name: `b "x", y`, typ: &duckType{name: "LIST", elem: &duckType{name: "STRUCT", fields: []typeField{
				{name: "c", typ: &duckType{name: "UUID"}}}}}},
		}},
		"MAP(VARCHAR, DECIMAL(4,1)[])": {name: "MAP", key: &duckType{name: "VARCHAR"},
			value: &duckType{name: "LIST", elem: &duckType{name: "DECIMAL"}}},
		`UNION("n" INTEGER)`: {name: "UNION", fields: []typeField{{name: "n", typ: &duckType{name: "INTEGER"}}}},
		`STRUCT("a" INTEGER`: nil,
		"":                   nil,
	} {
		if got := parseDuckType(in); !reflect.DeepEqual(got, want) {
			t.Errorf("parseDuckType(%q) = %+v, want %+v", in, got, want)
		}
	}
}

// TestTableCellCap: one huge cell does not pad every row of a table to its width. It is cut to
// MaxWidth columns ending in "…", counted once; other formats keep it whole.
func TestTableCellCap(t *testing.T) {
	conn := newConn(t)
	huge := strings.Repeat("Mozilla/5.0 ", 1<<20/12) // a 1 MB user agent
	query := `SELECT i, CASE WHEN i = 7 THEN ? ELSE 'aws-cli/2.15' END AS user_agent FROM range(31) t(i) ORDER BY i`
	run := func(f Format, o WriteOptions) (string, WriteStats) {
		t.Helper()
		rows, err := conn.QueryContext(t.Context(), query, huge)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		st, err := WriteRowsWith(&buf, f, rows, o)
		if err != nil {
			t.Fatal(err)
		}
		return buf.String(), st
	}
	out, st := run(FormatTable, WriteOptions{})
	if st.Rows != 31 || st.Cut != 1 || st.MaxWidth != DefaultMaxWidth {
		t.Errorf("stats %+v, want 31 rows, 1 cut at %d", st, DefaultMaxWidth)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 34 { // header, rule, 31 rows, count
		t.Fatalf("%d lines:\n%s", len(lines), out)
	}
	for _, l := range lines {
		if w := displayWidth(l); w > DefaultMaxWidth+8 {
			t.Errorf("line %d columns wide: %.80q", w, l)
		}
	}
	row7 := lines[2+7]
	if !strings.HasSuffix(row7, "…") {
		t.Errorf("the long cell does not end in an ellipsis: %q", row7)
	}
	if cell := strings.TrimSpace(strings.SplitN(row7, "|", 2)[1]); displayWidth(cell) != DefaultMaxWidth || !strings.HasPrefix(huge, strings.TrimSuffix(cell, "…")) {
		t.Errorf("cut cell is %d columns, want %d, and a prefix of the value: %q", displayWidth(cell), DefaultMaxWidth, cell)
	}
	if len(out) > 31*(DefaultMaxWidth+10) {
		t.Errorf("table is %d bytes for 31 rows", len(out))
	}

	out, st = run(FormatTable, WriteOptions{MaxWidth: -1})
	if st.Cut != 0 || st.MaxWidth != 0 || !strings.Contains(out, huge) {
		t.Errorf("MaxWidth -1 cut the cell: %+v", st)
	}
	for _, f := range []Format{FormatCSV, FormatJSON, FormatJSONL, FormatMarkdown} {
		if out, st := run(f, WriteOptions{MaxWidth: 10}); st.Cut != 0 || !strings.Contains(out, strings.TrimSpace(huge)) {
			t.Errorf("%s cut a cell (%+v)", f, st)
		}
	}

	// wide characters count two columns; a column name is cut too; what fits exactly is kept
	for _, tc := range []struct {
		value, want string
		max         int
	}{
		{"日本語の文字", "日本語…", 8},
		{"日本語の文字", "日本語の文字", 12},
		{"abcdefgh", "abcdefgh", 8},
		{"abcdefghi", "abcdefg…", 8},
		{"a\x1bb", `a\x1bb`, 8}, // the cap counts the escaped text
		{"a\x1bbcdefg", `a\x1bbc…`, 8},
	} {
		rows, err := conn.QueryContext(t.Context(), `SELECT ? AS "a very long column name"`, tc.value)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if _, err := WriteRowsWith(&buf, FormatTable, rows, WriteOptions{MaxWidth: tc.max}); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(buf.String(), "\n")
		if got := strings.TrimSpace(lines[2]); got != tc.want {
			t.Errorf("%q cut to %d: %q, want %q", tc.value, tc.max, got, tc.want)
		}
		if got := strings.TrimSpace(lines[0]); displayWidth(got) != tc.max || !strings.HasSuffix(got, "…") {
			t.Errorf("header cut to %d: %q", tc.max, got)
		}
	}
}

// TestTableFitsWidth: with FitWidth (a terminal's width), the widest columns are cut to one
// width so that every line fits, never below 24 columns; rows streamed after the held ones too.
func TestTableFitsWidth(t *testing.T) {
	conn := newConn(t)
	query := `SELECT '2026-11-07T19:12:07Z' AS event_time, repeat('u', 100) || i AS user_agent,
		repeat('s', 60) AS summary, i FROM range(5) t(i) ORDER BY i`
	for _, tc := range []struct {
		fit, limit, wantCap int
	}{
		{100, 0, 34}, // the rule line: 20 + 34 + 34 + 1 (i), 2 around each of 4 cells, 3 "+": 100
		{100, 2, 34}, // the same caps for rows after the two held ones
		{40, 0, 24},  // cannot fit: no column below 24
		{400, 0, 0},  // fits as it is
	} {
		rows, err := conn.QueryContext(t.Context(), query)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		st, err := WriteRowsWith(&buf, FormatTable, rows, WriteOptions{FitWidth: tc.fit, tableLimit: tc.limit})
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
		if len(lines) != 8 {
			t.Fatalf("fit %d: %d lines\n%s", tc.fit, len(lines), buf.String())
		}
		for _, l := range lines[:7] {
			if tc.wantCap == 34 && displayWidth(l) > tc.fit {
				t.Errorf("fit %d: line of %d columns: %q", tc.fit, displayWidth(l), l)
			}
		}
		cells := strings.Split(lines[6], " | ")
		if tc.wantCap == 0 {
			if st.Cut != 0 || st.Fit != 0 || cells[1] != strings.Repeat("u", 100)+"4" {
				t.Errorf("fit %d: cut %+v: %q", tc.fit, st, lines[6])
			}
			continue
		}
		if cells[0] != " 2026-11-07T19:12:07Z" || displayWidth(cells[1]) != tc.wantCap || displayWidth(cells[2]) != tc.wantCap ||
			!strings.HasSuffix(cells[1], "…") || st.Fit != tc.fit || st.Cut != 10 {
			t.Errorf("fit %d (held %d): stats %+v, last row %q", tc.fit, tc.limit, st, lines[6])
		}
	}
}

// TestNullAndTextNull: NULL and the text 'NULL' do not look alike in table and markdown output.
func TestNullAndTextNull(t *testing.T) {
	conn := newConn(t)
	query := `SELECT * FROM (VALUES (1, NULL), (2, 'NULL'), (3, '"NULL"'), (4, 'null'), (5, ''), (6, '"NULL'),
		(7, '""NULL""')) t(i, v) ORDER BY i`
	table, _ := render(t, conn, FormatTable, query)
	want := []string{"NULL", `"NULL"`, `""NULL""`, "null", "", `"NULL`, `"""NULL"""`}
	lines := strings.Split(table, "\n")[2:]
	for i, w := range want {
		if got := strings.TrimSpace(strings.SplitN(lines[i], "|", 2)[1]); got != w {
			t.Errorf("table row %d: %q, want %q", i+1, got, w)
		}
	}
	md, _ := render(t, conn, FormatMarkdown, query)
	lines = strings.Split(md, "\n")[2:]
	for i, w := range want {
		if got := strings.TrimSpace(strings.Split(lines[i], "|")[2]); got != w {
			t.Errorf("markdown row %d: %q, want %q", i+1, got, w)
		}
	}
	// a number column with a NULL, and a JSON string "NULL" (shown as JSON text, with its quotes)
	got, _ := render(t, conn, FormatTable, `SELECT NULL::INTEGER AS n, '"NULL"'::JSON AS j`)
	if l := strings.Split(got, "\n")[2]; strings.Fields(l)[0] != "NULL" || strings.Fields(l)[2] != `"NULL"` {
		t.Errorf("row %q", l)
	}
}
