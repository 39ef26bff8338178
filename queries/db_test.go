package queries

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestOpenSettings: every pooled connection uses UTC whatever the machine's zone, and
// extensions are never downloaded.
func TestOpenSettings(t *testing.T) {
	t.Setenv("TZ", "America/New_York")
	path := filepath.Join(t.TempDir(), "case.duckdb")
	st, err := Open(t.Context(), path, OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	st.DB.SetMaxIdleConns(4)
	conns := make([]any, 0, 3)
	for range 3 { // hold three connections at once so the pool must open new ones
		c, err := st.DB.Conn(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns = append(conns, c)
		var tz, autoload, autoinstall string
		err = c.QueryRowContext(t.Context(), `SELECT current_setting('TimeZone'),
			current_setting('autoload_known_extensions')::VARCHAR, current_setting('autoinstall_known_extensions')::VARCHAR`).
			Scan(&tz, &autoload, &autoinstall)
		if err != nil {
			t.Fatal(err)
		}
		if tz != "UTC" || autoload != "false" || autoinstall != "false" {
			t.Errorf("connection %d: TimeZone %s, autoload %s, autoinstall %s", len(conns), tz, autoload, autoinstall)
		}
	}
	var day string
	if err := st.DB.QueryRow("SELECT strftime(TIMESTAMPTZ '2024-01-01 02:00:00+00', '%Y-%m-%d %H')").Scan(&day); err != nil || day != "2024-01-01 02" {
		t.Errorf("UTC day bucket = %q (%v)", day, err)
	}
	// A remote file needs httpfs, which must not be fetched from the network.
	_, err = st.DB.Exec("SELECT * FROM read_json('s3://bucket/key.json')")
	if err == nil || !strings.Contains(strings.ToLower(err.Error()), "extension") {
		t.Errorf("reading s3:// did not fail on the missing extension: %v", err)
	}
}

func TestOpenReadOnlyMissingStore(t *testing.T) {
	_, err := Open(t.Context(), filepath.Join(t.TempDir(), "none.duckdb"), OpenOptions{ReadOnly: true})
	if err == nil || !strings.Contains(err.Error(), "no store at") {
		t.Errorf("Open = %v", err)
	}
	if errors.Is(err, ErrLocked) {
		t.Errorf("a missing store is not a locked one")
	}
}

// TestOpenNotAStore: a file that is not a DuckDB database is refused by what it is, in
// both modes, and left as it was; a real store (made here) opens again.
func TestOpenNotAStore(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"case.sqlite": "SQLite format 3\x00" + strings.Repeat("\x00", 100),
		"notes.txt":   "these are my notes, not a database",
	} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, ro := range []bool{false, true} {
			_, err := Open(t.Context(), path, OpenOptions{ReadOnly: ro})
			want := "not a trailhound store"
			if name == "case.sqlite" {
				want = "this is a SQLite database"
			}
			if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), path) || strings.Contains(err.Error(), "xtension") {
				t.Errorf("Open(%s, read-only %v) = %v, want %q", name, ro, err, want)
			}
		}
		if got, _ := os.ReadFile(path); string(got) != content {
			t.Errorf("%s was changed", name)
		}
	}
	path := filepath.Join(dir, "case.duckdb")
	st, err := Open(t.Context(), path, OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	st, err = Open(t.Context(), path, OpenOptions{ReadOnly: true})
	if err != nil {
		t.Fatalf("a store made by Open is refused: %v", err)
	}
	st.Close()
}

func TestCannedQueriesHaveHeaders(t *testing.T) {
	qs, err := Canned()
	if err != nil {
		t.Fatal(err)
	}
	if len(qs) < 13 {
		t.Fatalf("%d canned queries", len(qs))
	}
	st, err := Open(t.Context(), filepath.Join(t.TempDir(), "case.duckdb"), OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	anyParam := regexp.MustCompile(`\$([a-z_]+)`)
	for _, q := range qs {
		if q.Description == "" || q.Parameters == "" || q.Chart == "" {
			t.Errorf("%s: incomplete header %+v", q.Name, q)
		}
		if len(q.Description) > 140 {
			t.Errorf("%s: description of %d characters is not one line", q.Name, len(q.Description))
		}
		if !strings.Contains(q.SQL, "ORDER BY") {
			t.Errorf("%s: no ORDER BY: output would not be deterministic", q.Name)
		}
		// The header declares exactly the parameters the SQL uses.
		for _, m := range anyParam.FindAllStringSubmatch(stripComments(q.SQL), -1) {
			if !q.Takes(m[1]) {
				t.Errorf("%s: uses $%s, which its header does not declare", q.Name, m[1])
			}
		}
		for _, p := range q.Params() {
			if !slices.Contains([]string{"keys", "from", "to", "until", "prices", "currency", "rate"}, p) || !q.uses(p) {
				t.Errorf("%s: declares %q, which it does not use", q.Name, p)
			}
		}
		if len(q.Params()) > 0 && !strings.Contains(q.SQL, "-- In the duckdb CLI") {
			t.Errorf("%s: the header does not say how to run it in the duckdb CLI", q.Name)
		}
		// Runs on an empty store, with and without parameters.
		for _, p := range []Params{{}, {Keys: []string{"AKIAEXAMPLEKEY000001"}, From: time.Unix(0, 0), To: time.Now()}} {
			rows, err := q.Run(t.Context(), st.DB, p)
			if err != nil {
				t.Errorf("%s: %v", q.Name, err)
				continue
			}
			rows.Close()
		}
	}
}

// TestParams: how Params reach the SQL: an empty key list, not NULL; unset times as NULL;
// times in UTC.
func TestParams(t *testing.T) {
	st, err := Open(t.Context(), filepath.Join(t.TempDir(), "case.duckdb"), OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	q := Query{Name: "probe", SQL: "-- $nothing here: comments do not count\n" +
		"SELECT len($keys::VARCHAR[]), coalesce(array_to_string($keys::VARCHAR[], ','), '-'), " +
		"$from::TIMESTAMPTZ IS NULL, strftime($to::TIMESTAMPTZ, '%Y-%m-%dT%H:%M:%S%z')"}
	paris := time.FixedZone("CET", 3600)
	for _, c := range []struct {
		p    Params
		want string
	}{
		{Params{}, `0 "" true <nil>`},
		{Params{Keys: []string{"AKIA1", "ASIA2"}, From: time.Now(), To: time.Date(2021, 11, 27, 13, 0, 0, 0, paris)},
			`2 "AKIA1,ASIA2" false 2021-11-27T12:00:00+00`},
	} {
		var n int
		var keys string
		var noFrom bool
		var to *string
		if err := st.DB.QueryRowContext(t.Context(), q.SQL, q.args(c.p)...).Scan(&n, &keys, &noFrom, &to); err != nil {
			t.Fatal(err)
		}
		got := fmt.Sprintf("%d %q %v", n, keys, noFrom)
		if to == nil {
			got += " <nil>"
		} else {
			got += " " + *to
		}
		if got != c.want {
			t.Errorf("%+v: got %q, want %q", c.p, got, c.want)
		}
	}
}

func TestParseTime(t *testing.T) {
	now := time.Date(2021, 11, 30, 10, 30, 0, 0, time.UTC)
	for in, want := range map[string]string{
		"2021-11-27":                "2021-11-27T00:00:00Z",
		"2021-11-27T13:05:00Z":      "2021-11-27T13:05:00Z",
		"2021-11-27T14:05:00+01:00": "2021-11-27T13:05:00Z",
		"2021-11-27T13:05:00.5Z":    "2021-11-27T13:05:00.5Z",
		// without a zone: UTC, whatever the machine's zone
		"2021-11-27T13:05:07":    "2021-11-27T13:05:07Z",
		"2021-11-27T13:05":       "2021-11-27T13:05:00Z",
		"2021-11-27 13:00":       "2021-11-27T13:00:00Z",
		"2021-11-27T13:05:07.25": "2021-11-27T13:05:07.25Z",
		"2021-11-27 13:05:07":    "2021-11-27T13:05:07Z",
		"2021-11-27T13:05Z":      "2021-11-27T13:05:00Z",
		// as the evidence pack's page prints times, and as DuckDB prints a TIMESTAMPTZ
		"2021-11-27 13:05:07 UTC": "2021-11-27T13:05:07Z",
		"2021-11-27 13:05:07UTC":  "2021-11-27T13:05:07Z",
		"2021-11-27 13:05:07+00":  "2021-11-27T13:05:07Z",
		"2021-11-27 14:05:07+01":  "2021-11-27T13:05:07Z",
		" 7d ":                    "2021-11-23T10:30:00Z",
		"12h":                     "2021-11-29T22:30:00Z",
		"30min":                   "2021-11-30T10:00:00Z",
		"90s":                     "2021-11-30T10:28:30Z",
		"2w":                      "2021-11-16T10:30:00Z",
	} {
		got, err := ParseTime(in, now)
		if err != nil || got.Format(time.RFC3339Nano) != want || got.Location() != time.UTC {
			t.Errorf("ParseTime(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	for bad, says := range map[string]string{
		"":                 "want RFC 3339",
		"yesterday":        "want RFC 3339",
		"7":                "want RFC 3339",
		"-7d":              "want RFC 3339",
		"7y":               "want RFC 3339",
		"1.5h":             "want RFC 3339",
		"2021-13-01":       "want RFC 3339",
		"27/11/2021":       "want RFC 3339",
		"2021-11-27 25:00": "want RFC 3339",
		"99999999999999d":  "too far back",
		"3m":               `"3m" is ambiguous (minutes or months?): write 3min for minutes`,
		"0d":               `"0d" is no time back: it means now, and leaves an empty window`,
		"0h":               "is no time back",
		"00s":              "is no time back",
	} {
		if got, err := ParseTime(bad, now); err == nil || !strings.Contains(err.Error(), says) {
			t.Errorf("ParseTime(%q) = %v, %v; want an error saying %q", bad, got, err, says)
		}
	}
}

func TestCountStatements(t *testing.T) {
	for text, want := range map[string]int{
		"":                                   0,
		" ;; ":                               0,
		"-- a comment\n/* another */":        0,
		"SELECT 1":                           1,
		"SELECT 1;":                          1,
		"SELECT 'a;b', \"c;d\" FROM t; -- ;": 1,
		"SELECT $$x;y$$":                     1,
		"SELECT 1; SELECT 2":                 2,
		"SET threads = 1; SELECT 1; DROP TABLE x": 3,
		"SELEC oops; nonsense":                    1, // does not parse: run it to see the error
	} {
		if got := CountStatements(text); got != want {
			t.Errorf("CountStatements(%q) = %d, want %d", text, got, want)
		}
	}
}

// TestOpenContextCancelled: once Open's context is cancelled (Ctrl-C), the store still
// opens new pooled connections for work done with another context (the summary an
// interrupted collect still writes): each sets its time zone and macros as usual.
func TestOpenContextCancelled(t *testing.T) {
	for _, ro := range []bool{false, true} {
		path := filepath.Join(t.TempDir(), "case.duckdb")
		if ro {
			st, err := Open(t.Context(), path, OpenOptions{})
			if err != nil {
				t.Fatal(err)
			}
			st.Close()
		}
		ctx, cancel := context.WithCancel(t.Context())
		st, err := Open(ctx, path, OpenOptions{ReadOnly: ro})
		if err != nil {
			t.Fatal(err)
		}
		cancel()
		held, err := st.DB.Conn(t.Context()) // the pool's one connection, held: the next query needs a new one
		if err != nil {
			t.Fatalf("read-only %v: a connection after the cancel: %v", ro, err)
		}
		var tz string
		err = st.DB.QueryRowContext(t.Context(), "SELECT current_setting('TimeZone') FROM (SELECT count(*) FROM events)").Scan(&tz)
		if err != nil || tz != "UTC" {
			t.Errorf("read-only %v: a query on a new connection after the cancel: %q, %v", ro, tz, err)
		}
		held.Close()
		st.Close()
	}
}
