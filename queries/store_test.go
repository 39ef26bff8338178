package queries_test

import (
	"bytes"
	"context"
	"database/sql"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/trailhound/trailhound/queries"
)

// csvOf runs a canned query and returns its CSV output.
func csvOf(t *testing.T, st *queries.Store, name string, p queries.Params) string {
	t.Helper()
	q, err := queries.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := q.Run(context.Background(), st.DB, p)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := queries.WriteRows(&buf, queries.FormatCSV, rows); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// rawExec runs statements on the store file without queries.Open (no schema, no macros).
func rawExec(t *testing.T, db string, stmts ...string) {
	t.Helper()
	c, err := sql.Open("duckdb", db)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, s := range stmts {
		if _, err := c.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// TestUpgradeFromVersion1: a store written before the credential columns existed is refused
// read-only with a hint, and upgraded when opened for writing: the queries then answer as on
// a store ingested today.
func TestUpgradeFromVersion1(t *testing.T) {
	db := filepath.Join(t.TempDir(), "v1.duckdb")
	ingestPaths(t, db, realdata+"/invictus-ir-aws-dataset")
	p := queries.Params{Keys: []string{"AKIATFQR7NSC8Q4X20BJ"}}
	st := openRO(t, db)
	want := csvOf(t, st, "lineage", p)
	st.Close()
	if strings.Count(want, "\n") < 10 {
		t.Fatalf("lineage too short to compare:\n%s", want)
	}
	// What a version 1 store looks like: no credential columns, no macros, none of the
	// columns version 3 added.
	rawExec(t, db,
		"ALTER TABLE event_rows DROP COLUMN minted_key_id", "ALTER TABLE event_rows DROP COLUMN role_arn",
		"ALTER TABLE source_files DROP COLUMN records_rejected", "ALTER TABLE ingest_runs DROP COLUMN records_rejected",
		"ALTER TABLE ingest_errors DROP COLUMN part", "ALTER TABLE ingest_errors DROP COLUMN line",
		"DROP MACRO TABLE lineage_of", "DROP VIEW lineage_edges", "DELETE FROM meta WHERE key = 'macros_sha256'",
		"UPDATE meta SET value = '1' WHERE key = 'schema_version'")

	_, err := queries.Open(context.Background(), db, queries.OpenOptions{ReadOnly: true})
	if err == nil || !strings.Contains(err.Error(), "needs an upgrade") || !strings.Contains(err.Error(), "--write") {
		t.Fatalf("read-only open of a version 1 store: %v", err)
	}
	rw, err := queries.Open(context.Background(), db, queries.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := rw.Close(); err != nil {
		t.Fatal(err)
	}
	st = openRO(t, db)
	var v string
	if err := st.DB.QueryRow("SELECT value FROM meta WHERE key = 'schema_version'").Scan(&v); err != nil || v != strconv.Itoa(queries.SchemaVersion) {
		t.Fatalf("schema version %q (%v)", v, err)
	}
	var cols int
	if err := st.DB.QueryRow(`SELECT count(*) FROM duckdb_columns() WHERE (table_name, column_name) IN
		(('source_files', 'records_rejected'), ('ingest_runs', 'records_rejected'), ('ingest_errors', 'part'), ('ingest_errors', 'line'))`).Scan(&cols); err != nil || cols != 4 {
		t.Errorf("version 3 columns after the upgrade: %d of 4 (%v)", cols, err)
	}
	if got := csvOf(t, st, "lineage", p); got != want {
		t.Errorf("lineage after the upgrade differs:\n%s", firstDiff(got, want))
	}
}

// TestOwnMacrosOverStale: the store holds macros another trailhound wrote; a read-only open
// uses this binary's own instead.
func TestOwnMacrosOverStale(t *testing.T) {
	db := filepath.Join(t.TempDir(), "stale.duckdb")
	ingestPaths(t, db, realdata+"/invictus-ir-aws-dataset")
	p := queries.Params{Keys: []string{"AKIATFQR7NSC8Q4X20BJ"}}
	st := openRO(t, db)
	want := csvOf(t, st, "lineage", p)
	st.Close()
	rawExec(t, db,
		`CREATE OR REPLACE MACRO lineage_of(keys) AS TABLE SELECT 'stale' AS access_key_id, NULL AS parent_access_key_id,
			NULL AS via, NULL::TIMESTAMPTZ AS created_at, NULL AS principal, NULL AS note`,
		"UPDATE meta SET value = 'from another trailhound' WHERE key = 'macros_sha256'")
	st = openRO(t, db)
	if got := csvOf(t, st, "lineage", p); got != want {
		t.Errorf("lineage over stale stored macros:\n%s", firstDiff(got, want))
	}
	// Several pooled connections: each one has the macros.
	st.DB.SetMaxIdleConns(4)
	var conns []*sql.Conn
	for range 3 {
		c, err := st.DB.Conn(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		var k string
		if err := c.QueryRowContext(context.Background(),
			"SELECT min(access_key_id) FROM lineage_of(['AKIATFQR7NSC8Q4X20BJ'])").Scan(&k); err != nil || k == "stale" {
			t.Errorf("connection %d: lineage_of gives %q (%v)", len(conns), k, err)
		}
	}
	for _, c := range conns {
		c.Close()
	}
}
