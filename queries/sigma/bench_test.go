//go:build unix

package sigma

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/trailhound/trailhound/ingest/synth"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkDetect runs every built-in and SigmaHQ rule (rules/ and unsupported/) together
// over a store and reads every finding, as trailhound detect does: over the whole store
// and over the leaked key's lineage. cpu-ms/op is the CPU time (wall time grows with other
// processes on the machine). The store is TRAILHOUND_BENCH_DB (with its leaked key in
// TRAILHOUND_BENCH_KEY; .ci/bench-detect makes a 1M-event one), else a generated incident
// of 20000 events.
func BenchmarkDetect(b *testing.B) {
	db, key := os.Getenv("TRAILHOUND_BENCH_DB"), os.Getenv("TRAILHOUND_BENCH_KEY")
	if db == "" {
		dir := b.TempDir()
		m, err := synth.Generate(context.Background(), filepath.Join(dir, "trail"), synth.Options{Seed: 1, Events: 20000})
		if err != nil {
			b.Fatal(err)
		}
		db, key = filepath.Join(dir, "bench.duckdb"), m.LeakedKey
		ingestInto(b, db, filepath.Join(dir, "trail"))
	}
	st := openStore(b, db)
	rules, _ := allRules(b)
	for _, scope := range []struct {
		name string
		opts Options
	}{{"whole-store", Options{}}, {"lineage", Options{Keys: []string{key}}}} {
		b.Run(scope.name, func(b *testing.B) {
			var cpu time.Duration
			findings := 0
			for b.Loop() {
				c0 := cpuTime()
				p := Prepare(rules, "")
				res, err := p.Start(context.Background(), st.DB, scope.opts)
				if err != nil {
					b.Fatal(err)
				}
				rows, err := res.Rows(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				findings = 0
				for rows.Next() {
					findings++
				}
				if err := rows.Err(); err != nil {
					b.Fatal(err)
				}
				rows.Close()
				res.Close()
				cpu += cpuTime() - c0
			}
			b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
			b.ReportMetric(float64(findings), "findings")
		})
	}
}
