//go:build unix

package queries_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/trailhound/trailhound/ingest/synth"
	"github.com/trailhound/trailhound/queries"
)

// cpuTime is the CPU time (user and system) the process has used: unlike wall time, it
// does not grow when other processes take the cores.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkCannedQueries runs every canned query once per iteration, all together, on one
// store, as a report would: scoped to the leaked key's lineage (sub-benchmark lineage) and
// over the whole store (whole-store). ns/op is the time for all of them; each query's mean
// time is reported as ms/NAME. Before timing, one pass reads every query once (the store's
// blocks come from disk then): its time is reported as ms/first-pass. Every row is read.
// cpu-ms/op is the CPU time all of them take (on a busy machine, wall time over-states).
// The store is a generated incident of TRAILHOUND_BENCH_EVENTS events (default 20000) built
// in a temporary directory, or the store at TRAILHOUND_BENCH_DB with the leaked key
// TRAILHOUND_BENCH_KEY (.ci/bench-queries makes a 1M-event one and runs this).
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
			run := func(q queries.Query) time.Duration {
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
				return time.Since(start)
			}
			var first time.Duration
			for _, q := range qs {
				first += run(q)
			}
			spent := make([]time.Duration, len(qs))
			cpu0 := cpuTime()
			for b.Loop() {
				for i, q := range qs {
					spent[i] += run(q)
				}
			}
			b.ReportMetric(float64((cpuTime()-cpu0).Milliseconds())/float64(b.N), "cpu-ms/op")
			b.ReportMetric(float64(first.Milliseconds()), "ms/first-pass")
			for i, q := range qs {
				b.ReportMetric(float64(spent[i].Microseconds())/1000/float64(b.N), "ms/"+q.Name)
			}
		})
	}
}
