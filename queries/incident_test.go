package queries_test

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/trailhound/trailhound/ingest"
	"github.com/trailhound/trailhound/ingest/synth"
	"github.com/trailhound/trailhound/queries"

	"github.com/trailhound/trailhound/internal/golden"
)

const realdata = "../../shared/realdata"

// updating reports whether -update (defined by the package's own tests) is set.
func updating() bool { return golden.Updating() }

// ingestPaths loads paths into a new store at db.
func ingestPaths(tb testing.TB, db string, paths ...string) {
	tb.Helper()
	ctx := context.Background()
	st, err := queries.Open(ctx, db, queries.OpenOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	_, err = ingest.Run(ctx, st, ingest.Files{Paths: paths}, ingest.Options{Command: "test"},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil && !errors.Is(err, ingest.ErrPartial) { // realdata holds some files that are not CloudTrail on purpose
		tb.Fatal(err)
	}
}

// openRO opens db read-only for the test.
func openRO(tb testing.TB, db string) *queries.Store {
	tb.Helper()
	st, err := queries.Open(context.Background(), db, queries.OpenOptions{ReadOnly: true})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

// incident is a generated incident, ingested once per test binary.
type incident struct {
	m  synth.Manifest
	db string
}

var (
	incidentOnce sync.Once
	theIncident  incident
	incidentErr  error
	incidentDir  string

	extraTempDirs []string // other incidents generated once per binary, removed at its end
)

// incidentOptions are the options of the generated incident the golden files describe.
var incidentOptions = synth.Options{Seed: 7, Events: 5000, EventsPerFile: 30, DuplicateRate: 0.01}

// generatedIncident generates and ingests the incident (once).
func generatedIncident(t *testing.T) incident {
	t.Helper()
	incidentOnce.Do(func() {
		incidentDir, incidentErr = os.MkdirTemp("", "trailhound-incident-")
		if incidentErr != nil {
			return
		}
		trail := filepath.Join(incidentDir, "trail")
		theIncident.m, incidentErr = synth.Generate(context.Background(), trail, incidentOptions)
		if incidentErr != nil {
			return
		}
		theIncident.db = filepath.Join(incidentDir, "incident.duckdb")
		ingestPaths(t, theIncident.db, trail)
	})
	if incidentErr != nil {
		t.Fatal(incidentErr)
	}
	return theIncident
}

func TestMain(m *testing.M) {
	code := m.Run()
	if incidentDir != "" {
		os.RemoveAll(incidentDir)
	}
	for _, d := range extraTempDirs {
		os.RemoveAll(d)
	}
	os.Exit(code)
}

// rowsOf runs a canned query and returns its rows as maps from column to value.
func rowsOf(t testing.TB, db *sql.DB, name string, p queries.Params) []map[string]any {
	t.Helper()
	q, err := queries.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := q.Run(context.Background(), db, p)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		r := map[string]any{}
		for i, c := range cols {
			r[c] = vals[i]
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
