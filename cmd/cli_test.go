package cmd

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"testing"

	"github.com/trailhound/trailhound/queries"
)

// hugeAgentStore is a store of 31 events, one of whose userAgent is 1 MB long; it returns the
// store and that user agent.
func hugeAgentStore(t *testing.T) (string, string) {
	t.Helper()
	dir := t.TempDir()
	huge := strings.Repeat("Mozilla/5.0 (X11; Linux x86_64) ", 1<<20/32)
	var recs []map[string]any
	for i := range 31 {
		ua := "aws-cli/2.15.0 Python/3.11"
		if i == 7 {
			ua = huge
		}
		recs = append(recs, map[string]any{
			"eventVersion": "1.08", "eventID": fmt.Sprintf("00000000-0000-0000-0000-%012d", i),
			"eventTime": fmt.Sprintf("2026-11-07T19:%02d:07Z", i), "eventSource": "sts.amazonaws.com",
			"eventName": "GetCallerIdentity", "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.9",
			"userAgent": ua, "eventType": "AwsApiCall", "readOnly": true, "recipientAccountId": "111122223333",
			"userIdentity": map[string]any{"type": "IAMUser", "accountId": "111122223333", "accessKeyId": "AKIAIOSFODNN7EXAMPLE",
				"arn": "arn:aws:iam::111122223333:user/dev", "principalId": "AIDAEXAMPLE", "userName": "dev"},
		})
	}
	b, err := json.Marshal(map[string]any{"Records": recs})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "trail.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "case.duckdb")
	if code, _, stderr := trailhound(t, "--db", db, "-q", "ingest", "files", filepath.Join(dir, "trail.json")); code != ExitOK {
		t.Fatalf("ingest: exit %d\n%s", code, stderr)
	}
	return db, huge
}

// TestTableCellsCut: one 1 MB user agent does not make a 31-row table 34 MB: the cell is cut
// with an ellipsis, stderr says once how to see it whole, and json, csv and --max-width 0 show it.
func TestTableCellsCut(t *testing.T) {
	db, huge := hugeAgentStore(t)
	code, out, stderr := trailhound(t, "--db", db, "query", "timeline")
	if code != ExitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if len(out) > 31*1000 {
		t.Errorf("the table is %d bytes for 31 rows", len(out))
	}
	if !strings.Contains(out, "Mozilla/5.0 (X11; Linux x86_64) Mozilla") || !strings.Contains(out, "…") || strings.Count(out, "\n") != 34 {
		t.Errorf("the long cell is not shown cut:\n%.2000s", out)
	}
	want := fmt.Sprintf("note: 1 table cell was wider than %d columns and cut (ending in …); --format json or --format csv shows them whole (or --max-width 0)\n",
		queries.DefaultMaxWidth)
	if stderr != want {
		t.Errorf("stderr %q, want %q", stderr, want)
	}
	for _, args := range [][]string{{"--format", "json"}, {"--format", "csv"}, {"--max-width", "0"}} {
		code, out, stderr := trailhound(t, append([]string{"--db", db, "query", "timeline"}, args...)...)
		if code != ExitOK || !strings.Contains(out, strings.TrimSpace(huge)) || stderr != "" {
			t.Errorf("%v: exit %d, whole value shown: %v, stderr %q", args, code, strings.Contains(out, huge), stderr)
		}
	}
	code, out, stderr = trailhound(t, "--db", db, "sql", "--max-width", "40", "SELECT user_agent FROM events ORDER BY event_time")
	if code != ExitOK || !strings.Contains(stderr, "1 table cell was wider than 40 columns") || !strings.Contains(out, " Mozilla/5.0 (X11; Linux x86_64) Mozilla…\n") {
		t.Errorf("sql --max-width 40: exit %d, stderr %q\n%.500s", code, stderr, out)
	}
	// the note is information: --log-level warn hides it
	if _, _, stderr := trailhound(t, "--db", db, "--log-level", "warn", "query", "timeline"); stderr != "" {
		t.Errorf("--log-level warn: stderr %q", stderr)
	}
	if code, _, stderr := trailhound(t, "--db", db, "sql", "--max-width", "-1", "SELECT 1"); code != ExitUsage {
		t.Errorf("--max-width -1: exit %d\n%s", code, stderr)
	}
}

// TestNullReadsNull: NULL and the text 'NULL' do not print alike.
func TestNullReadsNull(t *testing.T) {
	db, _ := hugeAgentStore(t)
	code, out, stderr := trailhound(t, "--db", db, "sql", `SELECT NULL::VARCHAR AS a, 'NULL' AS b, '"NULL"' AS c`)
	want := " a    | b      | c\n------+--------+----------\n NULL | \"NULL\" | \"\"NULL\"\"\n(1 row)\n"
	if code != ExitOK || out != want {
		t.Errorf("exit %d (%s):\n%s\nwant\n%s", code, stderr, out, want)
	}
}

// TestReadOnlySQL: without --write, sql changes nothing and reads nothing but the store; a
// refusal says what to do; one statement a run; empty SQL is a usage error.
func TestReadOnlySQL(t *testing.T) {
	db, _ := hugeAgentStore(t)
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret.csv")
	if err := os.WriteFile(secret, []byte("a,b\n1,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	storeSum := func() [32]byte {
		b, err := os.ReadFile(db)
		if err != nil {
			t.Fatal(err)
		}
		return sha256.Sum256(b)
	}
	before := storeSum()
	for _, tc := range []struct{ sql, hint string }{
		{"COPY (SELECT * FROM events) TO '" + filepath.Join(dir, "out.csv") + "'", "reads nothing but the store"},
		{"COPY events TO '" + filepath.Join(dir, "out.parquet") + "' (FORMAT parquet)", "reads nothing but the store"},
		{"EXPORT DATABASE '" + filepath.Join(dir, "export") + "'", "reads nothing but the store"},
		{"ATTACH '" + filepath.Join(dir, "other.duckdb") + "' AS other", "reads nothing but the store"},
		{"INSTALL httpfs", "reads nothing but the store"},
		{"LOAD httpfs", "reads nothing but the store"},
		{"SELECT * FROM read_csv('" + secret + "')", "reads nothing but the store"},
		{"SELECT * FROM '" + secret + "'", ""}, // no replacement scan: not a table
		{"SELECT * FROM glob('" + dir + "/*')", "reads nothing but the store"},
		{"SET enable_external_access = true", "settings are locked"},
		{"SET lock_configuration = false", "settings are locked"},
		{"RESET lock_configuration", "settings are locked"},
		{"SET allowed_directories = ['/']", "settings are locked"},
		{"DROP TABLE event_rows", "add --write to change it"},
		{"INSERT INTO meta VALUES ('x', 'y')", "add --write to change it"},
		{"DELETE FROM event_rows", "add --write to change it"},
		{"CREATE TABLE t AS SELECT 1", "add --write to change it"},
	} {
		code, out, stderr := trailhound(t, "--db", db, "sql", tc.sql)
		if code != ExitFailure || out != "" || tc.hint != "" && !(strings.Contains(stderr, "\nHint: ") && strings.Contains(stderr, tc.hint)) {
			t.Errorf("%s: exit %d, stdout %q, stderr %q", tc.sql, code, out, stderr)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("read-only sql wrote files: %v", entries)
	}
	if storeSum() != before {
		t.Error("read-only sql changed the store")
	}
	// in-memory TEMP objects are fine
	if code, out, stderr := trailhound(t, "--db", db, "sql", "CREATE TEMP TABLE t AS SELECT 41 + 1 AS n"); code != ExitOK || !strings.Contains(out, "(1 row)") {
		t.Errorf("temp table: exit %d\n%s%s", code, out, stderr)
	}
	// --write lifts it all
	out2 := filepath.Join(dir, "out.csv")
	if code, _, stderr := trailhound(t, "--db", db, "sql", "--write", "COPY (SELECT count(*) AS n FROM events) TO '"+out2+"'"); code != ExitOK {
		t.Errorf("--write COPY: exit %d\n%s", code, stderr)
	}
	if b, err := os.ReadFile(out2); err != nil || string(b) != "n\n31\n" {
		t.Errorf("--write COPY wrote %q (%v)", b, err)
	}

	for _, tc := range []struct{ sql, says string }{
		{"SELECT 1; SELECT 2", "2 statements given; sql runs one at a time"},
		{"SELECT 1;\nSELECT 'a;b';\nSELECT 3;", "3 statements given"},
		{"", "no SQL statement given"},
		{"   \n\t", "no SQL statement given"},
		{"-- only a comment", "no SQL statement given"},
		{"/* only a comment */", "no SQL statement given"},
		{";", "no SQL statement given"},
	} {
		code, out, stderr := trailhound(t, "--db", db, "sql", "--", tc.sql)
		if code != ExitUsage || out != "" || !strings.Contains(stderr, tc.says) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", tc.sql, code, out, stderr)
		}
	}
	// one statement, whatever its semicolons and comments
	code, out, stderr := trailhound(t, "--db", db, "sql", "SELECT 'a;b' AS v; -- the end")
	if code != ExitOK || !strings.Contains(out, " a;b\n") {
		t.Errorf("one statement: exit %d, %q %q", code, out, stderr)
	}
}

// TestChartOutNeverReplacesForeignFiles: chart --out refuses a file trailhound did not write and
// any file of an evidence pack, and leaves them as they were; it replaces its own chart page.
func TestChartOutNeverReplacesForeignFiles(t *testing.T) {
	db, m := incidentStore(t)
	dir := t.TempDir()
	pack := filepath.Join(dir, "evidence")
	if code, _, stderr := trailhound(t, "--db", db, "report", "--key", m.LeakedKey, "--out", pack); code != ExitOK {
		t.Fatalf("report: exit %d\n%s", code, stderr)
	}
	notes := filepath.Join(dir, "notes.html")
	if err := os.WriteFile(notes, []byte("<html>my own notes</html>"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ path, says string }{
		{notes, "the file exists and trailhound did not write it"},
		{filepath.Join(pack, "index.html"), "it is part of the evidence pack in " + pack},
		{filepath.Join(pack, "data", "tasks-per-hour.csv"), "it is part of the evidence pack in " + pack},
		{pack, "it is a directory"},
	} {
		var before []byte
		if fi, err := os.Stat(tc.path); err == nil && !fi.IsDir() {
			before, _ = os.ReadFile(tc.path)
		}
		code, out, stderr := trailhound(t, "--db", db, "chart", "tasks-per-hour", "--out", tc.path)
		if code != ExitFailure || out != "" || !strings.Contains(stderr, tc.says) {
			t.Errorf("chart --out %s: exit %d, stdout %q, stderr %q", tc.path, code, out, stderr)
		}
		if before != nil {
			if after, _ := os.ReadFile(tc.path); !bytes.Equal(before, after) {
				t.Errorf("%s changed", tc.path)
			}
		}
	}
	// the pack's manifest still tells the truth: every file's SHA-256 matches
	var man struct {
		Files []struct{ Path, SHA256 string }
	}
	b, _ := os.ReadFile(filepath.Join(pack, "manifest.json"))
	if err := json.Unmarshal(b, &man); err != nil || len(man.Files) == 0 {
		t.Fatalf("manifest: %v", err)
	}
	for _, f := range man.Files {
		b, _ := os.ReadFile(filepath.Join(pack, f.Path))
		if fmt.Sprintf("%x", sha256.Sum256(b)) != f.SHA256 {
			t.Errorf("%s no longer matches the manifest", f.Path)
		}
	}
	// its own page, a page copied out of a pack, and a new file are written
	page := filepath.Join(dir, "tasks.html")
	for i := range 2 {
		if code, out, stderr := trailhound(t, "--db", db, "chart", "tasks-per-hour", "--out", page); code != ExitOK || out != page+"\n" {
			t.Errorf("chart run %d: exit %d, %q\n%s", i+1, code, out, stderr)
		}
	}
	copied := filepath.Join(dir, "copied.html")
	b, _ = os.ReadFile(filepath.Join(pack, "index.html"))
	if err := os.WriteFile(copied, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := trailhound(t, "--db", db, "chart", "calls-per-hour", "--out", copied); code != ExitOK {
		t.Errorf("replacing a copied page: exit %d\n%s", code, stderr)
	}
}

// TestTimesAndDurations: times without a zone and the page's own form are UTC; ambiguous and
// empty durations are refused with the reason, for queries and ingest windows alike.
func TestTimesAndDurations(t *testing.T) {
	db, _ := hugeAgentStore(t)
	run := func(args ...string) string {
		t.Helper()
		code, out, stderr := trailhound(t, append([]string{"--db", db}, args...)...)
		if code != ExitOK {
			t.Fatalf("%v: exit %d\n%s", args, code, stderr)
		}
		return out
	}
	want := run("query", "timeline", "--from", "2026-11-07T19:10:00Z", "--to", "2026-11-07T19:20:00Z", "--format", "csv")
	if n := strings.Count(want, "\n"); n != 11 {
		t.Fatalf("the window should hold 10 events, not %d:\n%.3000s", n-1, want)
	}
	for _, from := range []string{"2026-11-07T19:10:00", "2026-11-07 19:10:00 UTC", "2026-11-07 19:10", "2026-11-07 20:10:00+01"} {
		if got := run("query", "timeline", "--from", from, "--to", "2026-11-07 19:20:00 UTC", "--format", "csv"); got != want {
			t.Errorf("--from %q:\n%s\nwant\n%s", from, got, want)
		}
	}
	for _, tc := range []struct {
		args []string
		says string
	}{
		{[]string{"query", "timeline", "--from", "3m"}, `--from: time "3m" is ambiguous (minutes or months?): write 3min for minutes`},
		{[]string{"query", "timeline", "--from", "0d"}, `--from: time "0d" is no time back: it means now`},
		{[]string{"report", "--key", "AKIAIOSFODNN7EXAMPLE", "--to", "2m"}, `--to: time "2m" is ambiguous`},
		{[]string{"chart", "calls-per-hour", "--from", "0h"}, "is no time back"},
		{[]string{"ingest", "s3", "s3://bucket", "--from", "3m"}, `time "3m" is ambiguous`},
		{[]string{"ingest", "history", "--from", "0d"}, "is no time back"},
		{[]string{"collect", "--from", "7d", "--to", "5m"}, `--to: time "5m" is ambiguous`},
	} {
		code, out, stderr := trailhound(t, append([]string{"--db", db}, tc.args...)...)
		if code != ExitUsage || out != "" || !strings.Contains(stderr, tc.says) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", tc.args, code, out, stderr)
		}
	}
}

// TestLogLevelError: --log-level error leaves only errors on stderr; warn keeps warnings.
func TestLogLevelError(t *testing.T) {
	db, _ := hugeAgentStore(t)
	args := []string{"--db", db, "query", "lineage", "--key", "AKIAIOSFODNN7EXAMPLE,AKIANOTINTHESTORE000"}
	_, _, stderr := trailhound(t, append([]string{"--log-level", "warn"}, args...)...)
	if !strings.HasPrefix(stderr, "warning: key AKIANOTINTHESTORE000 appears in no event") {
		t.Errorf("--log-level warn: %q", stderr)
	}
	code, out, stderr := trailhound(t, append([]string{"--log-level", "error"}, args...)...)
	if code != ExitOK || stderr != "" || !strings.Contains(out, "AKIAIOSFODNN7EXAMPLE") {
		t.Errorf("--log-level error: exit %d, stderr %q", code, stderr)
	}
	// a chart with no data warns, unless --log-level error
	page := filepath.Join(t.TempDir(), "x.html")
	_, _, stderr = trailhound(t, "--db", db, "chart", "tasks-per-hour", "--out", page)
	if !strings.Contains(stderr, "warning: chart tasks-per-hour: no data in this scope") {
		t.Errorf("chart warning: %q", stderr)
	}
	if _, _, stderr = trailhound(t, "--db", db, "--log-level", "error", "chart", "tasks-per-hour", "--out", page); stderr != "" {
		t.Errorf("--log-level error chart: %q", stderr)
	}
	// and errors still show
	if code, _, stderr := trailhound(t, "--db", db, "--log-level", "error", "query", "nosuch"); code != ExitUsage || !strings.Contains(stderr, "Error: ") {
		t.Errorf("error hidden: exit %d %q", code, stderr)
	}
}

// TestListsAgree: 'chart list' is 'query list' narrowed to the charts: same columns, formats.
func TestListsAgree(t *testing.T) {
	list := func(args ...string) []map[string]string {
		t.Helper()
		code, out, stderr := trailhound(t, append(args, "--format", "json")...)
		if code != ExitOK {
			t.Fatalf("%v: exit %d\n%s", args, code, stderr)
		}
		var rows []map[string]string
		if err := json.Unmarshal([]byte(out), &rows); err != nil {
			t.Fatal(err)
		}
		return rows
	}
	all, charts := list("query", "list"), list("chart", "list")
	var want []map[string]string
	for _, r := range all {
		if len(r) != 4 {
			t.Errorf("query list row %v: want name, description, parameters, chart", r)
		}
		if r["chart"] != "" {
			want = append(want, r)
		}
	}
	if len(charts) < 5 || !slices.EqualFunc(charts, want, func(a, b map[string]string) bool { return fmt.Sprint(a) == fmt.Sprint(b) }) {
		t.Errorf("chart list %v\nis not query list's charts %v", charts, want)
	}
	for _, f := range queries.Formats() {
		for _, cmd := range []string{"query", "chart"} {
			code, out, stderr := trailhound(t, cmd, "list", "--format", f)
			if code != ExitOK || !strings.Contains(out, "tasks-per-hour") || !strings.Contains(out, "description") {
				t.Errorf("%s list --format %s: exit %d\n%s%s", cmd, f, code, out, stderr)
			}
		}
	}
	if code, _, _ := trailhound(t, "chart", "list", "--format", "xml"); code != ExitUsage {
		t.Errorf("chart list --format xml: exit %d", code)
	}
}

// TestCompletion: shell completion offers query and chart names, formats, log levels, regions.
func TestCompletion(t *testing.T) {
	complete := func(args ...string) []string {
		t.Helper()
		code, out, stderr := trailhound(t, append([]string{"__complete"}, args...)...)
		if code != ExitOK {
			t.Fatalf("%v: exit %d\n%s", args, code, stderr)
		}
		var got []string
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			if l != "" && !strings.HasPrefix(l, ":") {
				got = append(got, strings.SplitN(l, "\t", 2)[0])
			}
		}
		return got
	}
	qs, _ := queries.Canned()
	names := complete("query", "")
	for _, q := range qs {
		if !slices.Contains(names, q.Name) {
			t.Errorf("query completion lacks %s: %v", q.Name, names)
		}
	}
	code, out, _ := trailhound(t, "chart", "list", "--format", "csv")
	if code != ExitOK {
		t.Fatal(out)
	}
	charts := complete("chart", "")
	for _, l := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
		if n := strings.SplitN(l, ",", 2)[0]; !slices.Contains(charts, n) {
			t.Errorf("chart completion lacks %s: %v", n, charts)
		}
	}
	if slices.Contains(charts, "left-running") || slices.Contains(charts, "summary") {
		t.Errorf("chart completion offers queries that draw no chart: %v", charts)
	}
	if got := complete("chart", "tasks"); !slices.Equal(got, []string{"tasks-per-hour"}) {
		t.Errorf("chart tasks<TAB>: %v", got)
	}
	for _, args := range [][]string{{"query", "timeline", "--format", ""}, {"sql", "--format", ""}, {"query", "list", "--format", ""}, {"chart", "list", "--format", ""}} {
		if got := complete(args...); !slices.Equal(got, queries.Formats()) {
			t.Errorf("%v: %v", args, got)
		}
	}
	if got := complete("--log-level", ""); !slices.Equal(got, []string{"debug", "info", "warn", "error"}) {
		t.Errorf("--log-level: %v", got)
	}
	if got := complete("ingest", "history", "--region", "eu-c"); !slices.Equal(got, []string{"eu-central-1", "eu-central-2"}) {
		t.Errorf("--region eu-c: %v", got)
	}
	if got := complete("collect", "--region", ""); len(got) != 35 || got[0] != "all" {
		t.Errorf("collect --region: %d values, %v", len(got), got)
	}
}

func TestVersionString(t *testing.T) {
	bi := func(mod string, settings ...string) *debug.BuildInfo {
		b := &debug.BuildInfo{Main: debug.Module{Version: mod}}
		for i := 0; i+1 < len(settings); i += 2 {
			b.Settings = append(b.Settings, debug.BuildSetting{Key: settings[i], Value: settings[i+1]})
		}
		return b
	}
	const rev = "0123456789abcdef0123456789abcdef01234567"
	for _, tc := range []struct {
		bi         *debug.BuildInfo
		v, c, want string
	}{
		{bi("(devel)"), "dev", "", "dev (commit unknown)"},
		{nil, "dev", "", "dev (commit unknown)"},
		{bi("(devel)", "vcs.revision", rev, "vcs.modified", "false"), "dev", "", "dev+0123456789ab"},
		{bi("(devel)", "vcs.revision", rev, "vcs.modified", "true"), "dev", "", "dev+0123456789ab.dirty"},
		{bi("(devel)"), "dev", rev, "dev+0123456789ab"},
		{bi("(devel)"), "dev", rev + "-dirty", "dev+0123456789ab.dirty"},
		{bi("(devel)", "vcs.revision", "ffffffffffff"), "v1.2.3", rev, "v1.2.3+0123456789ab"},
		{bi("v1.4.0"), "dev", "", "v1.4.0 (commit unknown)"},
		{bi("v0.0.0-20261107120000-0123456789ab+dirty", "vcs.revision", rev, "vcs.modified", "true"), "dev", "",
			"v0.0.0-20261107120000-0123456789ab+dirty"},
	} {
		if got := versionOf(tc.bi, tc.v, tc.c); got != tc.want {
			t.Errorf("versionOf(%v, %q, %q) = %q, want %q", tc.bi, tc.v, tc.c, got, tc.want)
		}
	}
	for _, args := range [][]string{{"--version"}, {"version"}} {
		code, out, _ := trailhound(t, args...)
		if code != ExitOK || out != "trailhound "+version()+"\n" {
			t.Errorf("%v: exit %d, %q", args, code, out)
		}
	}
}

func TestSelfCommand(t *testing.T) {
	bin := t.TempDir()
	exe := filepath.Join(bin, "trailhound")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(t.TempDir(), "trailhound")
	if err := os.WriteFile(other, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	found := func(p string) func(string) (string, error) {
		return func(string) (string, error) { return p, nil }
	}
	notFound := func(string) (string, error) { return "", exec.ErrNotFound }
	for _, tc := range []struct {
		exe, arg0 string
		look      func(string) (string, error)
		want      string
	}{
		{"/tmp/go-build2738290705/b001/exe/trailhound", "/tmp/go-build2738290705/b001/exe/trailhound", found(exe), goRunCommand},
		{"/root/.cache/go-build/ab/cdef/trailhound", "trailhound", notFound, goRunCommand},
		{exe, "trailhound", found(exe), "trailhound"},
		{exe, "./trailhound", found(other), "./trailhound"},
		{exe, "trailhound", notFound, exe},
		{"/opt/my tools/trailhound", "/opt/my tools/trailhound", notFound, "'/opt/my tools/trailhound'"},
	} {
		if got := selfCommand(tc.exe, tc.arg0, tc.look); got != tc.want {
			t.Errorf("selfCommand(%q, %q) = %q, want %q", tc.exe, tc.arg0, got, tc.want)
		}
	}
}

// TestBuiltBinary builds trailhound as the README says, with the commit set by -ldflags, and
// checks --version, and that the demo's closing hint is a command that works as it was run:
// ./trailhound from its directory, trailhound from the PATH.
func TestBuiltBinary(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "trailhound")
	const rev = "0123456789abcdef0123456789abcdef01234567"
	gobin, err := exec.LookPath("go")
	if err != nil {
		gobin = filepath.Join(runtime.GOROOT(), "bin", "go") // the toolchain that built this test
	}
	build := exec.Command(gobin, "build", "-ldflags", "-X github.com/trailhound/trailhound/cmd.Commit="+rev+"-dirty",
		"-o", exe, "./trailhound")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(exe, "--version").Output()
	if err != nil || string(out) != "trailhound dev+0123456789ab.dirty\n" {
		t.Errorf("--version: %q (%v)", out, err)
	}
	for i, tc := range []struct {
		arg0, path, want string
	}{
		{"./trailhound", "/usr/bin:/bin", "./trailhound"},
		{"trailhound", dir + ":/usr/bin:/bin", "trailhound"},
	} {
		out := fmt.Sprintf("demo-%d", i)
		// argv[0] as a shell passes it; the program itself is exe either way
		c := &exec.Cmd{Path: exe, Args: []string{tc.arg0, "demo", "--out", out, "--events", "1000"}, Dir: dir}
		c.Env = append(os.Environ(), "PATH="+tc.path, "TRAILHOUND_DB=")
		var stderr bytes.Buffer
		c.Stderr = &stderr
		stdout, err := c.Output()
		if err != nil {
			t.Fatalf("demo as %s: %v\n%s", tc.arg0, err, stderr.String())
		}
		lines := strings.Split(strings.TrimSpace(string(stdout)), "\n")
		last := lines[len(lines)-1]
		db := filepath.Join(out, "demo.duckdb")
		hint := tc.want + " --db " + db + " query list"
		if last != "Store: "+db+". Try: "+hint {
			t.Errorf("demo as %s ends %q, want the hint %q", tc.arg0, last, hint)
			continue
		}
		// run the hint as a shell would
		sh := exec.Command("/bin/sh", "-c", hint)
		sh.Dir = dir
		sh.Env = c.Env
		if out, err := sh.CombinedOutput(); err != nil || !strings.Contains(string(out), "tasks-per-hour") {
			t.Errorf("the hint %q: %v\n%s", hint, err, out)
		}
	}
}
