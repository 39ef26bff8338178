package lake_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trailhound/trailhound/ingest"
	"github.com/trailhound/trailhound/ingest/synth"
	"github.com/trailhound/trailhound/lake"
	"github.com/trailhound/trailhound/queries"
	"github.com/trailhound/trailhound/queries/prices"
	"github.com/trailhound/trailhound/queries/verify"
)

const realdata = "../../shared/realdata"

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// fixture is a store made once per test binary.
type fixture struct {
	once sync.Once
	db   string
	m    synth.Manifest
	err  error
}

var (
	tmpRoot  string
	incident fixture
	tampered fixture
	realFix  fixture

	trinoOnce  sync.Once
	trinoURL   string
	trinoErr   error
	trinoState string
	// schemaSuffix keeps the schemas of test runs sharing one Trino apart.
	schemaSuffix string
)

func TestMain(m *testing.M) {
	var err error
	tmpRoot, err = os.MkdirTemp("", "trailhound-lake-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	if trinoState != "" {
		cmd := exec.Command("bash", "../.ci/trino", "down")
		cmd.Env = append(os.Environ(), "TRINO_STATE="+trinoState)
		cmd.Run()
	}
	os.RemoveAll(tmpRoot)
	os.Exit(code)
}

func ingestPaths(db string, paths ...string) error {
	ctx := context.Background()
	st, err := queries.Open(ctx, db, queries.OpenOptions{})
	if err != nil {
		return err
	}
	_, err = ingest.Run(ctx, st, ingest.Files{Paths: paths}, ingest.Options{Command: "test"}, quiet)
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, ingest.ErrPartial) { // realdata holds some files that are not CloudTrail on purpose
		err = nil
	}
	return err
}

// incidentStore is a generated incident (with duplicate deliveries), ingested once.
func incidentStore(t *testing.T) (string, synth.Manifest) {
	t.Helper()
	return incident.make(t, "incident", synth.Tampering{})
}

// tamperedStore is the same incident tampered with (log files modified, forged, with data
// after the gzip stream, deleted), ingested and verified once: what the queries about
// integrity have to show.
func tamperedStore(t *testing.T) (string, synth.Manifest) {
	t.Helper()
	return tampered.make(t, "tampered", synth.Tampering{Edit: 1, Forge: 1, Swap: 1, Append: 1, Delete: 1, Seed: 7})
}

// make generates the incident (Seed 7) under tmpRoot/name-trail, changes it as tamper says,
// ingests it into tmpRoot/name.duckdb and, when it tampered, verifies the store.
func (f *fixture) make(t *testing.T, name string, tamper synth.Tampering) (string, synth.Manifest) {
	t.Helper()
	f.once.Do(func() {
		trail := filepath.Join(tmpRoot, name+"-trail")
		f.m, f.err = synth.Generate(context.Background(), trail,
			synth.Options{Seed: 7, Events: 5000, EventsPerFile: 30, DuplicateRate: 0.01})
		if f.err != nil {
			return
		}
		tampers := tamper != synth.Tampering{}
		if tampers {
			if _, f.err = synth.Tamper(trail, f.m, tamper); f.err != nil {
				return
			}
		}
		f.db = filepath.Join(tmpRoot, name+".duckdb")
		if f.err = ingestPaths(f.db, trail); f.err != nil || !tampers {
			return
		}
		f.err = verifyStore(f.db, f.m)
	})
	if f.err != nil {
		t.Fatal(f.err)
	}
	return f.db, f.m
}

// verifyStore runs trailhound verify on db with the generated trail's public key.
func verifyStore(db string, m synth.Manifest) error {
	ctx := context.Background()
	st, err := queries.Open(ctx, db, queries.OpenOptions{})
	if err != nil {
		return err
	}
	k := m.PublicKey
	_, err = verify.Run(ctx, st, verify.Options{KeysGiven: true, Keys: []verify.PublicKey{{Fingerprint: k.Fingerprint,
		Value: k.Value, ValidFrom: k.ValidFrom, ValidTo: k.ValidTo, Source: "test"}}}, quiet)
	if errors.Is(err, verify.ErrTampering) { // what the tampering above is for
		err = nil
	}
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	return err
}

// theftFix is the generator's stolen session key case (permission brute-forcing, a bucket
// made public, a snapshot shared out: what the threat queries have to find), made once.
var theftFix struct {
	once sync.Once
	db   string
	m    synth.TheftCase
	err  error
}

// theftStore is the stolen session key case (seed 11), ingested once.
func theftStore(t *testing.T) (string, synth.TheftCase) {
	t.Helper()
	theftFix.once.Do(func() {
		trail := filepath.Join(tmpRoot, "theft-trail")
		if theftFix.m, theftFix.err = synth.GenerateTheft(context.Background(), trail, synth.TheftOptions{Seed: 11}); theftFix.err != nil {
			return
		}
		theftFix.db = filepath.Join(tmpRoot, "theft.duckdb")
		theftFix.err = ingestPaths(theftFix.db, trail)
	})
	if theftFix.err != nil {
		t.Fatal(theftFix.err)
	}
	return theftFix.db, theftFix.m
}

// realStore is ../shared/realdata, ingested once.
func realStore(t *testing.T) string {
	t.Helper()
	realFix.once.Do(func() {
		realFix.db = filepath.Join(tmpRoot, "realdata.duckdb")
		realFix.err = ingestPaths(realFix.db, realdata)
	})
	if realFix.err != nil {
		t.Fatal(realFix.err)
	}
	return realFix.db
}

func export(t *testing.T, db, dir string, o lake.ExportOptions) lake.ExportStats {
	t.Helper()
	st, err := lake.OpenStore(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s, err := lake.Export(context.Background(), st.DB, dir, o, quiet)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// parquetFiles lists the lake's files (relative paths), sorted.
func parquetFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// duck runs one query on an in-memory DuckDB and returns the first column of every row.
func duck(t *testing.T, query string) []string {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s sql.NullString
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s.String)
	}
	return out
}

func TestExportLayoutAndRecords(t *testing.T) {
	db, m := incidentStore(t)
	dir := t.TempDir()
	s := export(t, db, dir, lake.ExportOptions{})
	if s.Events != int64(m.DistinctEvents) {
		t.Errorf("exported %d events, the incident has %d", s.Events, m.DistinctEvents)
	}
	files := parquetFiles(t, dir)
	var events int
	for _, f := range files {
		if !strings.HasPrefix(f, "events/") {
			continue
		}
		events++
		parts := strings.Split(f, "/")
		if len(parts) != 5 || !strings.HasPrefix(parts[1], "account=") || !strings.HasPrefix(parts[2], "region=") ||
			!strings.HasPrefix(parts[3], "day=") || !strings.HasPrefix(parts[4], s.ID+"_") {
			t.Errorf("events file %s: want events/account=/region=/day=/%s_N.parquet", f, s.ID)
		}
	}
	if events < len(m.EventsByRegion) {
		t.Errorf("%d events files for %d regions", events, len(m.EventsByRegion))
	}
	for _, tbl := range []string{"event_sources", "source_files", "digests"} {
		if !slices.Contains(files, tbl+"/"+s.ID+"_0.parquet") {
			t.Errorf("no %s file in %v", tbl, files)
		}
	}
	// Per region, the lake's events are the store's, and every record is kept whole.
	st, err := queries.Open(context.Background(), db, queries.OpenOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var want string
	if err := st.DB.QueryRow(`SELECT string_agg(event_id || ' ' || md5(record), ',' ORDER BY event_id) FROM event_rows`).Scan(&want); err != nil {
		t.Fatal(err)
	}
	got := duck(t, fmt.Sprintf(`SELECT string_agg(event_id || ' ' || md5(record), ',' ORDER BY event_id)
		FROM read_parquet('%s/events/*/*/*/*.parquet', hive_partitioning = true)`, dir))
	if len(got) != 1 || got[0] != want {
		t.Error("the lake's events (id and record) differ from the store's")
	}
	byRegion := duck(t, fmt.Sprintf(`SELECT region || '=' || count(*) FROM read_parquet('%s/events/*/*/*/*.parquet',
		hive_partitioning = true) GROUP BY region ORDER BY region`, dir))
	for _, r := range byRegion {
		name, n, _ := strings.Cut(r, "=")
		if fmt.Sprint(m.EventsByRegion[name]) != n {
			t.Errorf("region %s: %s events in the lake, the incident has %d", name, n, m.EventsByRegion[name])
		}
	}
}

func TestExportAgainReplacesItsOwnFiles(t *testing.T) {
	db, m := incidentStore(t)
	dir := t.TempDir()
	first := export(t, db, dir, lake.ExportOptions{})
	before := parquetFiles(t, dir)
	// Another store's files in the same lake, and a file the first export no longer writes.
	other := filepath.Join(dir, "events", "account=999999999999", "region=us-east-1", "day=2020-01-01", "other_0.parquet")
	stale := filepath.Join(dir, "events", "account="+m.Account, "region=us-east-1", "day=2020-01-01", first.ID+"_0.parquet")
	for _, p := range []string{other, stale} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	second := export(t, db, dir, lake.ExportOptions{})
	if second.ID != first.ID || second.Events != first.Events {
		t.Errorf("second export: %s %d events; first: %s %d", second.ID, second.Events, first.ID, first.Events)
	}
	after := parquetFiles(t, dir)
	want := append(slices.Clone(before), "events/account=999999999999/region=us-east-1/day=2020-01-01/other_0.parquet")
	slices.Sort(want)
	if !slices.Equal(after, want) {
		t.Errorf("files after a second export:\n%v\nwant the first export's and the other store's:\n%v", after, want)
	}
	if _, err := os.Stat(stale); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the export's own stale file is still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, ".staging-"+first.ID)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("staging directory left behind: %v", err)
	}
}

func TestExportScope(t *testing.T) {
	db, m := incidentStore(t)
	dir := t.TempDir()
	s := export(t, db, dir, lake.ExportOptions{ID: "acct", Accounts: []string{m.Account}, From: m.From.Add(24 * 3600e9)})
	if s.Events == 0 || s.Events >= int64(m.DistinctEvents) {
		t.Fatalf("scoped export: %d events of %d", s.Events, m.DistinctEvents)
	}
	got := duck(t, fmt.Sprintf(`SELECT count(*) || ' ' || count(DISTINCT account) || ' ' || min(account) || ' ' ||
		(min(event_time) >= TIMESTAMPTZ '%s') FROM read_parquet('%s/events/*/*/*/*.parquet', hive_partitioning = true)`,
		m.From.Add(24*3600e9).Format("2006-01-02 15:04:05+00"), dir))
	if want := fmt.Sprintf("%d 1 %s true", s.Events, m.Account); got[0] != want {
		t.Errorf("scoped lake: %s, want %s", got[0], want)
	}
	// The sources exported are the exported events', each with its event's record_hash.
	got = duck(t, fmt.Sprintf(`SELECT count(*) || ' ' || count(e.event_id)
		FROM read_parquet('%s/event_sources/*.parquet') s
		LEFT JOIN read_parquet('%s/events/*/*/*/*.parquet', hive_partitioning = true) e
		  ON e.event_id = s.event_id AND e.variant = s.variant AND e.record_hash = s.record_hash`, dir, dir))
	if n, matched, _ := strings.Cut(got[0], " "); n == "0" || matched != n {
		t.Errorf("scoped lake: %s of its event sources are of its events (by event_id, variant, record_hash)", got[0])
	}
	if err := lake.ValidID("../x"); err == nil {
		t.Error("an export id with a path in it was accepted")
	}
}

func TestDDL(t *testing.T) {
	trino, err := lake.DDL(lake.DDLOptions{Location: "local:///data/lake/"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"CREATE SCHEMA IF NOT EXISTS lake.trailhound;",
		"external_location = 'local:///data/lake/events', partitioned_by = ARRAY['account', 'region', 'day']",
		"CALL lake.system.sync_partition_metadata('trailhound', 'events_files', 'FULL');",
		"CREATE OR REPLACE VIEW lake.trailhound.events AS", "with_timezone(event_time, 'UTC') AS event_time"} {
		if !strings.Contains(trino, want) {
			t.Errorf("trino DDL lacks %q", want)
		}
	}
	athena, err := lake.DDL(lake.DDLOptions{Engine: "athena", Location: "s3://lake/th", Regions: []string{"us-east-1", "eu-west-3"}, FirstDay: "2026-01-01"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"CREATE EXTERNAL TABLE IF NOT EXISTS trailhound.events_files (",
		"PARTITIONED BY (account string, region string, day string)", "LOCATION 's3://lake/th/events/'",
		"'projection.enabled' = 'true'", "'projection.region.values' = 'us-east-1,eu-west-3'",
		"'projection.day.range' = '2026-01-01,NOW'", "'projection.day.format' = 'yyyy-MM-dd'"} {
		if !strings.Contains(athena, want) {
			t.Errorf("athena DDL lacks %q", want)
		}
	}
	if strings.Contains(athena, "sync_partition_metadata") || strings.Contains(athena, "account varchar") {
		t.Error("athena DDL registers partitions or declares them as columns")
	}
	if _, err := lake.DDL(lake.DDLOptions{Engine: "athena", Location: "/data/lake"}); err == nil {
		t.Error("athena DDL over a local directory was accepted")
	}
}

// startTrino runs .ci/trino up once for the package (the download is cached in .tools/trino).
func startTrino(t *testing.T) string {
	t.Helper()
	trinoOnce.Do(func() {
		// TRAILHOUND_TRINO=trino://USER@HOST:PORT/lake/default reuses a Trino already started
		// with .ci/trino up (while developing: one JVM shared by several test runs; each run's
		// schemas get its own suffix). CI leaves it unset and starts its own.
		if u := os.Getenv("TRAILHOUND_TRINO"); u != "" {
			trinoURL = u
			schemaSuffix = fmt.Sprintf("p%d", os.Getpid())
			return
		}
		trinoState = filepath.Join(tmpRoot, "trino")
		cmd := exec.Command("bash", "../.ci/trino", "up", filepath.Join(tmpRoot, "trino-lake"))
		cmd.Env = append(os.Environ(), "TRINO_STATE="+trinoState)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			trinoErr = fmt.Errorf(".ci/trino up: %v\n%s", err, stderr.String())
			return
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		trinoURL = lines[len(lines)-1]
	})
	if trinoErr != nil {
		t.Fatal(trinoErr)
	}
	return trinoURL
}

// lakeOnTrino exports db into a new lake, sets it up as schema on Trino and returns the
// engine URL of that schema.
func lakeOnTrino(t *testing.T, schema string, dbs ...string) *lake.Engine {
	t.Helper()
	var ex []exported
	for _, db := range dbs {
		ex = append(ex, exported{db: db})
	}
	return lakeOf(t, schema, ex...)
}

// exported is a store exported into a lake, with the export's scope (its id is set by lakeOf).
type exported struct {
	db string
	o  lake.ExportOptions
}

// lakeOf exports each store into a new lake as SCHEMA-N (N its index), sets it up as schema
// on Trino and returns the engine URL of that schema.
func lakeOf(t *testing.T, schema string, exports ...exported) *lake.Engine {
	t.Helper()
	base := startTrino(t)
	schema += schemaSuffix
	dir := filepath.Join(tmpRoot, "lake-"+schema)
	for i, x := range exports {
		x.o.ID = fmt.Sprintf("%s-%d", schema, i)
		export(t, x.db, dir, x.o)
	}
	url := strings.TrimSuffix(base, "/default") + "/" + schema
	ddl, err := lake.DDL(lake.DDLOptions{Location: "local://" + dir, Catalog: "lake", Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := lake.OpenEngine(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	if err := eng.Exec(context.Background(), ddl); err != nil {
		t.Fatal(err)
	}
	return eng
}

func jsonl(t *testing.T, rows *sql.Rows, err error) string {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b bytes.Buffer
	if _, err := queries.WriteRows(&b, queries.FormatJSONL, rows); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestTrinoAnswersAsDuckDB runs every canned query that has a Trino text on the store and
// on Trino over the store's lake, with and without keys: the JSONL must be the same bytes.
// The stores: a generated leaked-key incident, the real samples, and the generated stolen
// session key case (the only one with permission brute-forcing and S3 ACL grants).
func TestTrinoAnswersAsDuckDB(t *testing.T) {
	incDB, m := tamperedStore(t)
	theftDB, tc := theftStore(t)
	cases := []struct {
		name string
		db   string
		keys [][]string
		// params: also run the cost queries with their own parameters (--until, --prices FILE,
		// --currency/--rate), and with an --until before the first launch
		params bool
	}{
		{"incident", incDB, [][]string{nil, {m.LeakedKey}}, true},
		{"realdata", realStore(t), [][]string{nil}, false},
		{"theft", theftDB, [][]string{nil, {tc.StolenKey}}, false},
	}
	qs, err := queries.Canned()
	if err != nil {
		t.Fatal(err)
	}
	// Every canned query runs on Trino too (issue 17): one without its Trino text fails here.
	for _, q := range qs {
		if q.Trino == "" {
			t.Errorf("canned query %s has no Trino text (queries/trino/%s.sql)", q.Name, q.Name)
		}
	}
	ran := 0
	// A query may answer nothing on one data set (realdata has no RunTask call), but each
	// must answer something on one of those it ran on, or its comparisons would prove nothing.
	answered, tried := map[string]bool{}, map[string]bool{}
	for _, c := range cases {
		// The store exported twice under two ids: the lake's views must remove the duplicates.
		eng := lakeOnTrino(t, c.name, c.db, c.db)
		st, err := queries.Open(context.Background(), c.db, queries.OpenOptions{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		for _, q := range qs {
			if q.Trino == "" {
				continue
			}
			for _, keys := range c.keys {
				if len(keys) > 0 && !q.Takes("keys") {
					continue
				}
				p := queries.Params{Keys: keys}
				t.Run(fmt.Sprintf("%s/%s/keys=%d", c.name, q.Name, len(keys)), func(t *testing.T) {
					tried[q.Name] = true
					rows, err := q.Run(context.Background(), st.DB, p)
					want := jsonl(t, rows, err)
					trows, release, err := eng.Run(context.Background(), q, p)
					if release != nil {
						defer release()
					}
					got := jsonl(t, trows, err)
					if want != "" {
						answered[q.Name] = true
					}
					if got != want {
						t.Errorf("Trino answers differently.\nDuckDB:\n%s\nTrino:\n%s", want, got)
					}
				})
				ran++
			}
			if c.params && (q.Takes("until") || q.Takes("prices")) {
				costParams(t, st.DB, eng, q, c.name, m.LeakedKey)
			}
		}
	}
	if ran == 0 {
		t.Fatal("no query has a Trino text")
	}
	for _, q := range qs {
		if tried[q.Name] && !answered[q.Name] {
			t.Errorf("query %s: DuckDB answered nothing on every data set: its comparisons prove nothing", q.Name)
		}
	}
}

func TestTrinoBadInput(t *testing.T) {
	q, err := queries.Lookup("regions")
	if err != nil {
		t.Fatal(err)
	}
	// Nothing listens on a port just closed.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, err = lake.OpenEngine(context.Background(), "trino://me@"+addr+"/lake/x")
	if err == nil || !strings.Contains(err.Error(), "engine trino://me@"+addr+"/lake/x") || !strings.Contains(err.Error(), "unreachable") {
		t.Errorf("unreachable engine: %v", err)
	}
	for _, bad := range []string{"http://h:1/a/b", "trino://h:1/lake", "trino:///lake/x"} {
		if _, _, _, err := lake.ParseEngine(bad); err == nil {
			t.Errorf("engine URL %q accepted", bad)
		}
	}
	base := startTrino(t)
	empty := "empty" + schemaSuffix
	eng, err := lake.OpenEngine(context.Background(), strings.TrimSuffix(base, "/default")+"/"+empty)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	if err := eng.Exec(context.Background(), "CREATE SCHEMA IF NOT EXISTS lake."+empty); err != nil {
		t.Fatal(err)
	}
	_, _, err = eng.Run(context.Background(), q, queries.Params{})
	if err == nil || !strings.Contains(err.Error(), "query regions on engine") || !strings.Contains(err.Error(), "lake ddl") {
		t.Errorf("schema without the lake's tables: %v", err)
	}
	broken := q
	broken.Trino = "SELECT no_such_function(1)"
	_, _, err = eng.Run(context.Background(), broken, queries.Params{})
	if err == nil || !strings.Contains(err.Error(), "query regions on engine") || !strings.Contains(err.Error(), "rejected") {
		t.Errorf("rejected query: %v", err)
	}
	none := q
	none.Trino = ""
	if _, _, err = eng.Run(context.Background(), none, queries.Params{}); err == nil || !strings.Contains(err.Error(), "no Trino text") {
		t.Errorf("query without a Trino text: %v", err)
	}
}

// testPriceSource names the prices costParams gives the cost queries.
const testPriceSource = "trailhound test prices"

// costParams runs cost query q on the store and on Trino with the parameters only the cost
// queries take, bound by lake.Engine.Run as the store binds them: an --until before the last
// event, a price table of its own over trailhound's (--prices FILE), a currency and rate. Both
// must print the same JSONL, and refuse an --until before the first launch alike.
func costParams(t *testing.T, db *sql.DB, eng *lake.Engine, q queries.Query, data, key string) {
	last, ok, err := queries.LastEvent(context.Background(), db)
	if err != nil || !ok {
		t.Fatalf("last event: %v (%v)", err, ok)
	}
	own := prices.Table{Name: "test", Source: testPriceSource, Prices: []prices.Price{
		{Service: "ec2", Region: "ap-northeast-1", Item: "c5.xlarge", Market: "on-demand", Unit: "hour", USD: 0.214, Source: testPriceSource},
		{Service: "fargate", Region: "eu-west-3", Item: "linux-x86_64", Market: "on-demand", Unit: "vcpu-hour", USD: 0.05, Source: testPriceSource},
	}}
	p := queries.Params{Until: last.Add(-30 * time.Hour), Prices: prices.Merge(own, prices.Embedded()), Currency: "KRW", Rate: 1180.5}
	if q.Takes("keys") {
		p.Keys = []string{key}
	}
	t.Run(fmt.Sprintf("%s/%s/params", data, q.Name), func(t *testing.T) {
		rows, err := q.Run(context.Background(), db, p)
		want := jsonl(t, rows, err)
		if q.Name != "cost-per-hour" && !strings.Contains(want, testPriceSource) { // (cost-per-hour names no source)
			t.Errorf("DuckDB's answer does not use the prices given:\n%s", want)
		}
		trows, release, err := eng.Run(context.Background(), q, p)
		if release != nil {
			defer release()
		}
		if got := jsonl(t, trows, err); got != want {
			t.Errorf("Trino answers differently with --until, --prices, --currency.\nDuckDB:\n%s\nTrino:\n%s", want, got)
		}
	})
	if !q.Takes("until") {
		return
	}
	t.Run(fmt.Sprintf("%s/%s/until-too-early", data, q.Name), func(t *testing.T) {
		early := p
		early.Until = last.AddDate(-10, 0, 0)
		rows, err := q.Run(context.Background(), db, early)
		if err == nil {
			err = rows.Err() // (DuckDB may raise it while the rows are read)
			for err == nil && rows.Next() {
			}
			if err == nil {
				err = rows.Err()
			}
			rows.Close()
		}
		if !queries.IsUntilBeforeFirstLaunch(err) {
			t.Fatalf("DuckDB with an --until before the first launch: %v", err)
		}
		want := err.Error()[strings.Index(err.Error(), "until "):]
		_, release, err := eng.Run(context.Background(), q, early)
		if release != nil {
			release()
		}
		if !queries.IsUntilBeforeFirstLaunch(err) {
			t.Fatalf("Trino with an --until before the first launch: %v", err)
		}
		if got := strings.TrimRight(err.Error()[strings.Index(err.Error(), "until "):], `"`); got != want {
			t.Errorf("Trino refuses the --until otherwise:\n%s\nDuckDB:\n%s", got, want)
		}
	})
}

// TestTrinoProvenanceOnce: over a lake holding one store exported twice, the provenance views
// give each source file, each (event, source) and each verdict and finding once, as the store
// has them, and the Trino fragments of the store's integrity views (event_marks,
// event_integrity, file_integrity) give the views' rows. (event_conflicts: the differential
// test's conflicts on realdata; the incident has none.)
func TestTrinoProvenanceOnce(t *testing.T) {
	db, _ := tamperedStore(t)
	eng := lakeOnTrino(t, "prov", db, db)
	st, err := queries.Open(context.Background(), db, queries.OpenOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, c := range []struct{ name, duck, trino string }{
		{"event_sources",
			"SELECT event_id, variant, file_id FROM event_sources ORDER BY ALL",
			"SELECT event_id, variant, file_id FROM event_sources ORDER BY 1, 2, 3"},
		{"source_files",
			"SELECT file_id, kind, uri, sha256, read_at FROM source_files ORDER BY file_id",
			"SELECT file_id, kind, uri, sha256, read_at FROM source_files ORDER BY file_id"},
		{"verify_files",
			"SELECT file_id, verdict, tampering, listed_by, detail FROM verify_files ORDER BY file_id",
			"SELECT file_id, verdict, tampering, listed_by, detail FROM verify_files ORDER BY file_id"},
		{"digests",
			"SELECT file_id, digest_s3_object, log_files FROM digests ORDER BY file_id",
			"SELECT file_id, digest_s3_object, log_files FROM digests ORDER BY file_id"},
		{"verify_findings",
			"SELECT kind, object, file_id, detail FROM verify_findings ORDER BY ALL",
			"SELECT kind, object, file_id, detail FROM verify_findings ORDER BY 1, 2, 3, 4"},
		{"event_marks",
			"SELECT * FROM event_marks ORDER BY event_id, variant",
			"WITH {{event_marks}} SELECT * FROM event_marks ORDER BY event_id, variant"},
		{"event_integrity",
			"SELECT * FROM event_integrity ORDER BY event_id, variant, file_id",
			"WITH {{event_integrity}} SELECT event_id, variant, file_id, uri, verdict, tampering, detail FROM event_integrity ORDER BY event_id, variant, file_id"},
		{"file_integrity",
			"SELECT * FROM file_integrity ORDER BY file_id",
			"WITH {{file_integrity}} SELECT file_id, kind, uri, sha256, content_sha256, verdict, tampering, listed_by, detail FROM file_integrity ORDER BY file_id"},
	} {
		t.Run(c.name, func(t *testing.T) {
			rows, err := st.DB.Query(c.duck)
			want := jsonl(t, rows, err)
			trows, release, err := eng.Run(context.Background(), queries.Query{Name: c.name, Trino: c.trino}, queries.Params{})
			if release != nil {
				defer release()
			}
			got := jsonl(t, trows, err)
			if want == "" {
				t.Fatalf("the store's %s is empty: the comparison proves nothing", c.name)
			}
			if got != want {
				t.Errorf("Trino's %s differs from the store's.\nDuckDB:\n%s\nTrino:\n%s", c.name, head(want), head(got))
			}
		})
	}
	// The queries over provenance that take a window, in the middle third of the incident
	// (the differential test runs them without one).
	var first, last time.Time
	if err := st.DB.QueryRow("SELECT min(event_time), max(event_time) FROM event_rows").Scan(&first, &last); err != nil {
		t.Fatal(err)
	}
	third := last.Sub(first) / 3
	window := queries.Params{From: first.Add(third).Truncate(time.Second), To: first.Add(2 * third).Truncate(time.Second)}
	for _, name := range []string{"sources", "coverage", "evidence-files", "tampered-events"} {
		t.Run("window/"+name, func(t *testing.T) {
			q, err := queries.Lookup(name)
			if err != nil {
				t.Fatal(err)
			}
			rows, err := q.Run(context.Background(), st.DB, window)
			want := jsonl(t, rows, err)
			trows, release, err := eng.Run(context.Background(), q, window)
			if release != nil {
				defer release()
			}
			got := jsonl(t, trows, err)
			if want == "" && name != "tampered-events" {
				t.Fatalf("%s answered nothing in the window: the comparison proves nothing", name)
			}
			if got != want {
				t.Errorf("Trino answers differently in the window.\nDuckDB:\n%s\nTrino:\n%s", head(want), head(got))
			}
		})
	}
}

// head is the first 40 lines of s.
func head(s string) string {
	lines := strings.SplitAfter(s, "\n")
	if len(lines) > 40 {
		lines = append(lines[:40], fmt.Sprintf("... (%d lines)\n", len(lines)))
	}
	return strings.Join(lines, "")
}

// TestTrinoStoresOverlap: a lake of two stores that read some of the same files (one region
// of the tampered trail, read into a store of its own with other file ids, never verified,
// and exported for the middle third of the incident only; and the whole trail) answers the
// provenance queries as the whole store does: each file once, as the lowest export id (the
// region's store) has it, with the verdict of the store that verified it, the whole store's
// events from it (those outside the region store's export too) counted against that row,
// and each event's sources once.
// (source-files is left out: read_at and events_new are the region store's.)
func TestTrinoStoresOverlap(t *testing.T) {
	full, m := tamperedStore(t)
	logs, err := filepath.Glob(filepath.Join(tmpRoot, "tampered-trail", "AWSLogs", "*", "CloudTrail", "*"))
	if err != nil || len(logs) < 2 {
		t.Fatalf("the trail's regions: %v %v", logs, err)
	}
	slices.Sort(logs)
	region := logs[len(logs)/2]
	sep := string(filepath.Separator)
	digests := strings.Replace(region, sep+"CloudTrail"+sep, sep+"CloudTrail-Digest"+sep, 1)
	part := filepath.Join(tmpRoot, "tampered-part.duckdb")
	if err := ingestPaths(part, region, digests); err != nil {
		t.Fatal(err)
	}
	third := m.To.Sub(m.From) / 3
	eng := lakeOf(t, "overlap", exported{part, lake.ExportOptions{From: m.From.Add(third), To: m.From.Add(2 * third)}},
		exported{db: full})
	st, err := queries.Open(context.Background(), full, queries.OpenOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, name := range []string{"sources", "evidence-files", "tampered-events", "coverage"} {
		t.Run(name, func(t *testing.T) {
			q, err := queries.Lookup(name)
			if err != nil {
				t.Fatal(err)
			}
			rows, err := q.Run(context.Background(), st.DB, queries.Params{})
			want := jsonl(t, rows, err)
			trows, release, err := eng.Run(context.Background(), q, queries.Params{})
			if release != nil {
				defer release()
			}
			got := jsonl(t, trows, err)
			if want == "" {
				t.Fatalf("%s answered nothing on the whole store: the comparison proves nothing", name)
			}
			if got != want {
				t.Errorf("the lake of both stores answers differently from the whole store.\nDuckDB:\n%s\nTrino:\n%s", head(want), head(got))
			}
		})
	}
}
