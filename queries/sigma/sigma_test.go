package sigma

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trailhound/trailhound/ingest"
	"github.com/trailhound/trailhound/queries"
)

const (
	sharedDir   = "../../../shared"
	sigmaRules  = sharedDir + "/sigma/rules"
	sigmaOld    = sharedDir + "/sigma/unsupported"
	realdata    = sharedDir + "/realdata"
	edgeRecords = "../../testdata/sigma/records.jsonl"
	goldenDir   = "../../testdata/golden/sigma"
)

var (
	tmpDirs   []string
	tmpMu     sync.Mutex
	storeOnce sync.Once
	storePath string
	storeErr  error
)

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	for _, d := range tmpDirs {
		os.RemoveAll(d)
	}
	os.Exit(code)
}

func tempDir(t testing.TB) string {
	d, err := os.MkdirTemp("", "trailhound-sigma-")
	if err != nil {
		t.Fatal(err)
	}
	tmpMu.Lock()
	tmpDirs = append(tmpDirs, d)
	tmpMu.Unlock()
	return d
}

// ingestInto loads paths into a new store at db.
func ingestInto(t testing.TB, db string, paths ...string) {
	t.Helper()
	ctx := context.Background()
	st, err := queries.Open(ctx, db, queries.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = ingest.Run(ctx, st, ingest.Files{Paths: paths}, ingest.Options{Command: "test"}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil && !errors.Is(err, ingest.ErrPartial) { // realdata holds files that are not CloudTrail on purpose
		t.Fatal(err)
	}
}

// realStore is every real CloudTrail sample of ../shared/realdata and the hand-made edge
// records of testdata/sigma, ingested once.
func realStore(t testing.TB) *queries.Store {
	t.Helper()
	storeOnce.Do(func() {
		dir := tempDir(t)
		storePath = filepath.Join(dir, "real.duckdb")
		ingestInto(t, storePath, realdata, edgeRecords)
	})
	if storeErr != nil {
		t.Fatal(storeErr)
	}
	st, err := queries.Open(context.Background(), storePath, queries.OpenOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func openStore(t testing.TB, db string) *queries.Store {
	t.Helper()
	st, err := queries.Open(context.Background(), db, queries.OpenOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// allRules loads the built-in rules and SigmaHQ's (rules/ and unsupported/).
func allRules(t testing.TB) ([]*Rule, []Problem) {
	t.Helper()
	rules, probs := Builtin()
	if len(probs) > 0 {
		t.Fatalf("built-in rules do not load: %v", probs)
	}
	r, p := LoadPaths([]string{sigmaRules, sigmaOld})
	return append(rules, r...), p
}

// storedEvents reads every stored event for the reference evaluator.
func storedEvents(t testing.TB, db *sql.DB) []refEvent {
	t.Helper()
	rows, err := db.Query("SELECT event_id, event_time, record FROM event_rows ORDER BY event_id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []refEvent
	for rows.Next() {
		var e refEvent
		var tm sql.NullTime
		if err := rows.Scan(&e.id, &tm, &e.raw); err != nil {
			t.Fatal(err)
		}
		if tm.Valid {
			e.t = tm.Time.UTC()
		}
		root, err := parseJSON([]byte(e.raw))
		if err != nil {
			t.Fatalf("event %s: %v", e.id, err)
		}
		e.root = root
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// findings runs the rules on st (every rule that can run reports, whatever it is used by)
// and returns the event ids each rule flagged, by rule key.
func findings(t testing.TB, st *queries.Store, rules []*Rule, opts Options) (map[string][]string, *Plan) {
	t.Helper()
	p := Prepare(rules, "")
	var run []*Rule
	skipped := map[string]bool{}
	for _, s := range p.Skipped {
		skipped[s.Source+"\x00"+s.Rule] = true
	}
	for _, r := range rules {
		if !skipped[r.Source+"\x00"+docRef(r)] {
			run = append(run, r)
		}
	}
	p.Run = run
	res, err := p.Start(context.Background(), st.DB, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()
	rows, err := res.Rows(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string][]string{}
	cols, _ := rows.Columns()
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		id := vals[0].(string)
		out[id] = append(out[id], vals[5].(string))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for k := range out {
		sort.Strings(out[k])
	}
	return out, p
}

// TestAgreement: for every rule (built-in, SigmaHQ's rules and unsupported/) the compiled
// SQL and the reference evaluator flag the same events among every real record and the
// hand-made edge records (case, wildcards and their escapes, missing vs null vs "", arrays
// on the path and at its end, duplicate keys, numbers vs strings, objects as text).
func TestAgreement(t *testing.T) {
	st := realStore(t)
	rules, _ := allRules(t)
	got, p := findings(t, st, rules, Options{})
	evs := storedEvents(t, st.DB)
	if len(evs) < 25000 {
		t.Fatalf("only %d events stored from realdata", len(evs))
	}
	fired := 0
	for _, r := range p.Run {
		want := refMatches(r, evs)
		g := got[r.Key()]
		if strings.Join(g, ",") != strings.Join(want, ",") {
			t.Errorf("%s: SQL flags %d events, the reference %d\n  SQL only: %v\n  reference only: %v",
				r.Ref(), len(g), len(want), minus(g, want), minus(want, g))
		}
		if len(want) > 0 {
			fired++
		}
	}
	if fired < 40 {
		t.Errorf("only %d rules fired on the corpus: the comparison says little", fired)
	}
}

func minus(a, b []string) []string {
	in := map[string]bool{}
	for _, x := range b {
		in[x] = true
	}
	var out []string
	for _, x := range a {
		if !in[x] {
			out = append(out, x)
		}
		if len(out) > 10 {
			break
		}
	}
	return out
}

var _ = time.Second
