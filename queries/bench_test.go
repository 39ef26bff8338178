package queries_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/trailhound/trailhound/ingest/synth"
	"github.com/trailhound/trailhound/queries"
)

// BenchmarkCannedQueries runs every canned query once per iteration, all together, on one
// store, as 'trailhound report' would: scoped to the leaked key's lineage (sub-benchmark
// lineage) and over the whole store (whole-store). Each query's mean time is reported as
// a metric (ms/NAME). The store is a generated incident of TRAILHOUND_BENCH_EVENTS events
// (default 20000) built in a temporary directory, or the store at TRAILHOUND_BENCH_DB with
// the key TRAILHOUND_BENCH_KEY (see .ci/bench-queries for the 1M-event run).
func BenchmarkCannedQueries(b *testing.B) {
	db, key := os.Getenv("TRAILHOUND_BENCH_DB"), os.Getenv("TRAILHOUND_BENCH_KEY")
	if db == "" {
		events := 20000
		if v := os.Getenv("TRAILHOUND_BENCH_EVENTS"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				b.Fatalf("TRAILHOUND_BENCH_EVENTS: %v", err)
			}
			events = n
		}
		dir := b.TempDir()
		m, err := synth.Generate(context.Background(), filepath.Join(dir, "trail"), synth.Options{Seed: 1, Events: events})
		if err != nil {
			b.Fatal(err)
		}
		db, key = filepath.Join(dir, "bench.duckdb"), m.LeakedKey
		ingestPaths(b, db, filepath.Join(dir, "trail"))
	}
	st := openRO(b, db)
	qs, err := queries.Canned()
	if err != nil {
		b.Fatal(err)
	}
	for _, scope := range []struct {
		name string
		p    queries.Params
	}{{"lineage", queries.Params{Keys: []string{key}}}, {"whole-store", queries.Params{}}} {
		b.Run(scope.name, func(b *testing.B) {
			spent := make([]time.Duration, len(qs))
			for b.Loop() {
				for i, q := range qs {
					start := time.Now()
					rows, err := q.Run(context.Background(), st.DB, scope.p)
					if err != nil {
						b.Fatal(err)
					}
					for rows.Next() { // read every row, as a writer would
					}
					if err := rows.Err(); err != nil {
						b.Fatal(err)
					}
					rows.Close()
					spent[i] += time.Since(start)
				}
			}
			for i, q := range qs {
				b.ReportMetric(float64(spent[i].Milliseconds())/float64(b.N), "ms/"+q.Name)
			}
		})
	}
}
