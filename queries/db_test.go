package queries

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
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

func TestCannedQueriesHaveHeaders(t *testing.T) {
	qs, err := Canned()
	if err != nil {
		t.Fatal(err)
	}
	if len(qs) == 0 {
		t.Fatal("no canned queries")
	}
	st, err := Open(t.Context(), filepath.Join(t.TempDir(), "case.duckdb"), OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, q := range qs {
		if q.Description == "" || q.Parameters == "" || q.Chart == "" {
			t.Errorf("%s: incomplete header %+v", q.Name, q)
		}
		if !strings.Contains(q.SQL, "ORDER BY") {
			t.Errorf("%s: no ORDER BY: output would not be deterministic", q.Name)
		}
		rows, err := q.Run(t.Context(), st.DB, Params{}) // runs on an empty store
		if err != nil {
			t.Errorf("%s: %v", q.Name, err)
			continue
		}
		rows.Close()
	}
}
