package ingest

import (
	"database/sql"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/buger/jsonparser"
	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/trailhound/trailhound/ingest/synth"
	"github.com/trailhound/trailhound/internal/canonjson"
	"github.com/trailhound/trailhound/queries"
)

// conflictRow is a row of the canned query conflicts.
type conflictRow struct {
	id                        string
	variant, variants         int
	identity, ip, sources, at string
}

func conflicts(t *testing.T, st *queries.Store) []conflictRow {
	t.Helper()
	q, err := queries.Lookup("conflicts")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := q.Run(t.Context(), st.DB, queries.Params{})
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	want := []string{"event_id", "variant", "variants", "event_time", "event_source", "event_name", "identity",
		"access_key_id", "source_ip", "region", "sources"}
	if !slices.Equal(cols, want) {
		t.Fatalf("conflicts columns %v, want %v", cols, want)
	}
	var out []conflictRow
	for rows.Next() {
		var r conflictRow
		var at, src, name, key, ip, region, identity, sources sql.NullString
		if err := rows.Scan(&r.id, &r.variant, &r.variants, &at, &src, &name, &identity, &key, &ip, &region, &sources); err != nil {
			t.Fatal(err)
		}
		r.at, r.identity, r.ip, r.sources = at.String, identity.String, ip.String, sources.String
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestReusedEventIDsKept: ten console sign-ins by ten users, from ten addresses, at ten
// times, that share two eventIDs (the generator's ReusedIDSignIns) are ten events: all
// stored, 8 counted as conflicting (the first of each eventID is not), listed by the
// conflicts query with where each came from, marked in event_marks; ingesting the same
// files again adds nothing and counts no conflict.
func TestReusedEventIDsKept(t *testing.T) {
	dir, m := generated(t, synth.Options{Seed: 31, Events: 1500, ReusedIDSignIns: 10})
	if len(m.ReusedIDs) != 2 || len(m.ReusedIDUsers) != 10 {
		t.Fatalf("manifest: reused ids %v, users %v", m.ReusedIDs, m.ReusedIDUsers)
	}
	st := openStore(t)
	sum, err := run(t, t.Context(), st, Files{Paths: []string{dir}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.EventsNew != int64(m.DistinctEvents) || sum.EventsConflicting != 8 || sum.EventsPresent != int64(m.Records-m.DistinctEvents) {
		t.Errorf("summary: %d new, %d conflicting, %d present; want %d, 8, %d",
			sum.EventsNew, sum.EventsConflicting, sum.EventsPresent, m.DistinctEvents, m.Records-m.DistinctEvents)
	}
	if n := count(t, st, "SELECT count(*) FROM events WHERE event_id IN (?, ?)", m.ReusedIDs[0], m.ReusedIDs[1]); n != 10 {
		t.Errorf("%d sign-ins stored under the reused eventIDs, want 10", n)
	}
	if n := count(t, st, "SELECT count(*) FROM events"); n != int64(m.DistinctEvents) {
		t.Errorf("stored %d events, the generator wrote %d distinct", n, m.DistinctEvents)
	}
	got := conflicts(t, st)
	if len(got) != 10 {
		t.Fatalf("conflicts lists %d rows, want 10: %+v", len(got), got)
	}
	var users, ips, times []string
	for i, r := range got {
		if r.id != m.ReusedIDs[i/5] || r.variant != i%5 || r.variants != 5 {
			t.Errorf("row %d: %s variant %d of %d; want %s variant %d of 5", i, r.id, r.variant, r.variants, m.ReusedIDs[i/5], i%5)
		}
		if !strings.HasPrefix(r.sources, dir) || strings.Contains(r.sources, ";") {
			t.Errorf("row %d: sources %q, want the one generated file it is in", i, r.sources)
		}
		users = append(users, r.identity[strings.LastIndex(r.identity, "/")+1:])
		ips, times = append(ips, r.ip), append(times, r.at)
	}
	slices.Sort(users)
	if !slices.Equal(users, m.ReusedIDUsers) {
		t.Errorf("conflicting identities %v, want %v", users, m.ReusedIDUsers)
	}
	for _, l := range [][]string{ips, times} {
		if len(slices.Compact(slices.Sorted(slices.Values(l)))) != 10 {
			t.Errorf("want 10 different values: %v", l)
		}
	}
	if n := count(t, st, "SELECT count(*) FROM event_marks WHERE conflicting AND len(verdicts) = 0"); n != 10 {
		t.Errorf("event_marks marks %d events conflicting, want 10", n)
	}
	if n := count(t, st, "SELECT events_conflicting FROM ingest_runs WHERE run_id = 1"); n != 8 {
		t.Errorf("ingest_runs.events_conflicting = %d, want 8", n)
	}
	again, err := run(t, t.Context(), st, Files{Paths: []string{dir}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if again.EventsNew != 0 || again.EventsConflicting != 0 {
		t.Errorf("again: %d new, %d conflicting; want 0", again.EventsNew, again.EventsConflicting)
	}
}

// writeText writes name under dir.
func writeText(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const signIn = `{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/alice","userName":"alice"},` +
	`"eventTime":"2026-11-01T10:00:00Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":"us-east-1",` +
	`"sourceIPAddress":"198.51.100.1","userAgent":"Mozilla/5.0","responseElements":{"ConsoleLogin":"Success"},` +
	`"additionalEventData":{"LoginTo":"https://console.aws.amazon.com/?a=1&b=2","MFAUsed":"No"},"eventID":"5a5a5a5a-0000-4000-8000-000000000001","eventType":"AwsConsoleSignIn"}`

// respell writes a record as another exporter (or event history) would: keys in another
// order, spaces, other escapes.
func respell(t *testing.T, rec string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("{ ")
	keys, vals := splitTop(t, rec)
	for i := len(keys) - 1; i >= 0; i-- {
		b.WriteString(keys[i] + " : " + strings.ReplaceAll(strings.ReplaceAll(vals[i], "&", `\u0026`), "/", `\/`))
		if i > 0 {
			b.WriteString(",\t ")
		}
	}
	b.WriteString(" }")
	return b.String()
}

// splitTop splits a record's top-level members (keys with their quotes, values as written).
func splitTop(t *testing.T, rec string) (keys, vals []string) {
	t.Helper()
	err := jsonparser.ObjectEach([]byte(rec), func(k, v []byte, typ jsonparser.ValueType, _ int) error {
		val := string(v)
		if typ == jsonparser.String {
			val = `"` + val + `"`
		}
		keys, vals = append(keys, `"`+string(k)+`"`), append(vals, val)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return keys, vals
}

// TestSameEventMergedVariantKept: the same record spelt another way (key order, spaces,
// escapes) is a second delivery: one row, two sources; the record with another address
// is a variant (one row more, counted conflicting), and its own second delivery is a
// source of that variant, not a third row.
func TestSameEventMergedVariantKept(t *testing.T) {
	dir := t.TempDir()
	other := strings.Replace(signIn, "198.51.100.1", "203.0.113.66", 1)
	a := writeText(t, dir, "a.json", `{"Records":[`+signIn+`]}`)
	b := writeText(t, dir, "b.jsonl", respell(t, signIn)+"\n")
	c := writeText(t, dir, "c.json", `[`+other+`]`)
	d := writeText(t, dir, "d.jsonl", respell(t, other)+"\n")
	st := openStore(t)
	var sums []Summary
	for _, p := range []string{a, b, c, d} {
		s, err := run(t, t.Context(), st, Files{Paths: []string{p}}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		sums = append(sums, s)
	}
	want := [][3]int64{{1, 0, 0}, {0, 1, 0}, {1, 0, 1}, {0, 1, 0}} // new, present, conflicting
	for i, s := range sums {
		if got := [3]int64{s.EventsNew, s.EventsPresent, s.EventsConflicting}; got != want[i] {
			t.Errorf("ingest %d: new, present, conflicting = %v, want %v", i+1, got, want[i])
		}
	}
	if n := count(t, st, "SELECT count(*) FROM event_rows"); n != 2 {
		t.Errorf("%d rows, want 2", n)
	}
	for v, ip := range []string{"198.51.100.1", "203.0.113.66"} {
		if n := count(t, st, "SELECT count(*) FROM event_sources WHERE variant = ?", v); n != 2 {
			t.Errorf("variant %d has %d sources, want 2", v, n)
		}
		if n := count(t, st, "SELECT count(*) FROM events WHERE variant = ? AND source_ip = ?", v, ip); n != 1 {
			t.Errorf("variant %d is not the sign-in from %s", v, ip)
		}
	}
	got := conflicts(t, st)
	if len(got) != 2 || got[0].sources != a+"; "+b || got[1].sources != c+"; "+d {
		t.Errorf("conflicts: %+v", got)
	}
	if n := count(t, st, "SELECT count(*) FROM (SELECT DISTINCT event_id, variant FROM event_origins)"); n != 2 {
		t.Errorf("event_origins has %d events, want 2", n)
	}
}

// TestUpgradeV4Store: a store the version 4 trailhound wrote (one row per eventID) is
// upgraded when opened: its rows are variant 0 with the record hash the writer computes,
// so that the next ingest merges a second delivery of a stored record (spelt otherwise)
// and keeps a record with the same eventID and other content as variant 1.
func TestUpgradeV4Store(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.duckdb")
	fixture, err := os.ReadFile("testdata/store-v4/schema.sql")
	if err != nil {
		t.Fatal(err)
	}
	old, err := sql.Open("duckdb", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.ExecContext(t.Context(), string(fixture)); err != nil {
		t.Fatalf("build the version 4 store: %v", err)
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := queries.Open(t.Context(), path, queries.OpenOptions{ReadOnly: true}); err == nil || !strings.Contains(err.Error(), "needs an upgrade to 5") {
		t.Errorf("read-only open of a version 4 store: %v", err)
	}
	st, err := queries.Open(t.Context(), path, queries.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if n := count(t, st, "SELECT value::INT FROM meta WHERE key = 'schema_version'"); n != 5 {
		t.Errorf("schema version %d after the upgrade, want 5", n)
	}
	rows, err := st.DB.QueryContext(t.Context(), "SELECT event_id, variant, record_hash, record FROM event_rows ORDER BY event_id")
	if err != nil {
		t.Fatal(err)
	}
	var recs []string
	for rows.Next() {
		var id, h, rec string
		var v int
		if err := rows.Scan(&id, &v, &h, &rec); err != nil {
			t.Fatal(err)
		}
		sum, ok := canonjson.Sum([]byte(rec))
		if v != 0 || !ok || h != hex.EncodeToString(sum[:]) {
			t.Errorf("%s: variant %d, record_hash %s; want 0 and %x", id, v, h, sum)
		}
		recs = append(recs, rec)
	}
	rows.Close()
	if len(recs) != 2 || count(t, st, "SELECT count(*) FROM event_sources WHERE variant = 0") != 2 {
		t.Fatalf("after the upgrade: %d rows; sources %d", len(recs), count(t, st, "SELECT count(*) FROM event_sources WHERE variant = 0"))
	}
	dir := t.TempDir()
	p := writeText(t, dir, "new.jsonl", respell(t, recs[0])+"\n"+strings.Replace(recs[1], `"bob"`, `"mallory"`, 1)+"\n")
	s, err := run(t, t.Context(), st, Files{Paths: []string{p}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.EventsNew != 1 || s.EventsPresent != 1 || s.EventsConflicting != 1 {
		t.Errorf("ingest after the upgrade: %d new, %d present, %d conflicting; want 1, 1, 1", s.EventsNew, s.EventsPresent, s.EventsConflicting)
	}
	if n := count(t, st, "SELECT count(*) FROM events WHERE event_id = '22222222-2222-4222-8222-222222222222' AND variant = 1 AND user_name = 'mallory'"); n != 1 {
		t.Error("the variant was not stored as variant 1")
	}
	if got := conflicts(t, st); len(got) != 2 || got[0].sources != "/evidence/old.json" || got[1].sources != p {
		t.Errorf("conflicts: %+v", got)
	}
}

// TestCommitIsolationKeepsVariants: the writer's isolation of a failed batch (see
// TestCommitIsolationKeepsSharedEvents) goes by event, i.e. eventID and content. a.json
// cannot be stored (DuckDB refuses its variant from the address "poison": a CHECK added
// for the test); its other variant, delivered again by b.json, is stored from b.json; c.json's
// variant is kept as a variant of its own; d.json's copy of the refused variant is left out
// and reported, the rest of d.json stored.
func TestCommitIsolationKeepsVariants(t *testing.T) {
	st := openStore(t)
	rows, err := st.DB.QueryContext(t.Context(), "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 'event_rows' ORDER BY column_index")
	if err != nil {
		t.Fatal(err)
	}
	var cols []string
	for rows.Next() {
		var name, typ string
		if err := rows.Scan(&name, &typ); err != nil {
			t.Fatal(err)
		}
		cols = append(cols, name+" "+typ)
	}
	rows.Close()
	if _, err := st.DB.ExecContext(t.Context(), "DROP TABLE event_rows; CREATE TABLE event_rows ("+strings.Join(cols, ", ")+
		", CHECK (source_ip IS DISTINCT FROM 'poison'))"); err != nil {
		t.Fatal(err)
	}
	event := func(id, ip string) string {
		return `{"eventVersion":"1.08","eventID":"` + id + `","eventTime":"2026-11-01T00:00:00Z","eventName":"X","sourceIPAddress":"` + ip + `"}`
	}
	dir := t.TempDir()
	a := writeText(t, dir, "a.json", `{"Records":[`+event("shared", "192.0.2.1")+","+event("shared", "poison")+`]}`)
	b := writeText(t, dir, "b.json", `{"Records":[`+event("shared", "192.0.2.1")+`]}`)
	c := writeText(t, dir, "c.json", `{"Records":[`+event("shared", "192.0.2.2")+`]}`)
	d := writeText(t, dir, "d.json", `{"Records":[`+event("shared", "poison")+","+event("d-only", "192.0.2.4")+`]}`)
	// One reader, so that the writer gets the objects in the order listed (a, b, c, d).
	sum, err := run(t, t.Context(), st, Files{Paths: []string{dir}}, Options{Concurrency: 1})
	if err == nil {
		t.Fatal("Run = nil, want a partial ingest")
	}
	if len(sum.Rejected) != 1 || sum.Rejected[0].URI != a || len(sum.BadRecords) != 1 || sum.BadRecords[0].URI != d {
		t.Errorf("rejected %+v, bad records %+v; want a.json and d.json's copy", sum.Rejected, sum.BadRecords)
	}
	if sum.EventsNew != 3 || sum.EventsConflicting != 1 || count(t, st, "SELECT count(*) FROM events") != 3 {
		t.Errorf("summary: %d new, %d conflicting; store %d; want 3, 1, 3", sum.EventsNew, sum.EventsConflicting, count(t, st, "SELECT count(*) FROM events"))
	}
	for ip, uri := range map[string]string{"192.0.2.1": b, "192.0.2.2": c, "192.0.2.4": d} {
		if n := count(t, st, "SELECT count(*) FROM events e JOIN event_origins o USING (event_id, variant) WHERE e.source_ip = ? AND o.uri = ?", ip, uri); n != 1 {
			t.Errorf("the event from %s is not stored from %s", ip, uri)
		}
	}
	if n := count(t, st, "SELECT count(*) FROM event_sources s WHERE NOT EXISTS (SELECT 1 FROM event_rows e WHERE e.event_id = s.event_id AND e.variant = s.variant)"); n != 0 {
		t.Errorf("%d event_sources rows point at no event", n)
	}
	again, _ := run(t, t.Context(), st, Files{Paths: []string{dir}}, Options{Concurrency: 1})
	if again.EventsNew != 0 || count(t, st, "SELECT count(*) FROM events") != 3 {
		t.Errorf("second run: %d new; want nothing stored twice", again.EventsNew)
	}
}
