package ingest

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/trailhound/trailhound/ingest/awsfake"
	"github.com/trailhound/trailhound/ingest/synth"
	"github.com/trailhound/trailhound/queries"
)

// BenchmarkHistoryRegions reads a generated incident's event history (every region at
// once) from the fake endpoint enforcing CloudTrail's limit, 2 requests per second per
// region (ThrottlingException beyond it), through the production AWS configuration
// (LoadAWSConfig: AWS_ENDPOINT_URL, the SDK's standard retries) and the whole pipeline
// into DuckDB. It reports the elapsed time against the slowest region's pages/2 s (what
// a parallel read should take) and against the sum over regions (a serial read).
//
//	go test ./ingest -run '^$' -bench BenchmarkHistoryRegions -benchtime 1x
//
// TRAILHOUND_BENCH_EVENTS sets the incident's size (default 20000 records).
func BenchmarkHistoryRegions(b *testing.B) {
	events := 20000
	if v, err := strconv.Atoi(os.Getenv("TRAILHOUND_BENCH_EVENTS")); err == nil && v > 0 {
		events = v
	}
	dir := b.TempDir()
	m, err := synth.Generate(b.Context(), dir, synth.Options{Seed: 41, Events: events})
	if err != nil {
		b.Fatal(err)
	}
	f := awsfake.New()
	defer f.Close()
	f.Rate, f.Burst = HistoryRate, 1
	n, err := f.LoadTrailTree(dir)
	if err != nil {
		b.Fatal(err)
	}
	var regions []string
	var slowest, total int64
	for r, k := range n {
		regions = append(regions, r)
		p := max(1, (int64(k)+49)/50)
		slowest, total = max(slowest, p), total+p
	}
	home := b.TempDir()
	for k, v := range map[string]string{
		"HOME": home, "AWS_CONFIG_FILE": filepath.Join(home, "config"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(home, "credentials"),
		"AWS_ACCESS_KEY_ID": "AKIDTEST", "AWS_SECRET_ACCESS_KEY": "SECRET", "AWS_PROFILE": "", "AWS_REGION": "us-east-1",
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_ENDPOINT_URL": f.URL,
	} {
		b.Setenv(k, v)
	}
	cfg, err := LoadAWSConfig(b.Context(), AWSOptions{}, discard())
	if err != nil {
		b.Fatal(err)
	}
	lookup := NewCloudTrailClients(cfg).Lookup
	from, to := everything(m)
	var elapsed time.Duration
	runs := 0
	for b.Loop() {
		b.StopTimer()
		f.Reset()
		st, err := queries.Open(b.Context(), filepath.Join(b.TempDir(), "bench.duckdb"), queries.OpenOptions{MemoryLimit: "256MB"})
		if err != nil {
			b.Fatal(err)
		}
		h, err := NewHistorySource(lookup, HistoryOptions{Regions: regions, From: from, To: to}, discard())
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		sum, err := Run(b.Context(), st, h, Options{From: from, To: to}, discard())
		elapsed += time.Since(start)
		runs++
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		if sum.EventsNew != int64(m.DistinctEvents) {
			b.Fatalf("stored %d events, generator wrote %d", sum.EventsNew, m.DistinctEvents)
		}
		st.Close()
		b.StartTimer()
	}
	secs := elapsed.Seconds() / float64(runs)
	b.ReportMetric(secs, "s/read")
	b.ReportMetric(float64(slowest)/2, "s-slowest-pages/2")
	b.ReportMetric(float64(total)/2, "s-sum-pages/2")
	b.ReportMetric(secs/(float64(slowest)/2), "x-slowest")
	b.ReportMetric(float64(f.Throttled()), "throttled")
	b.Logf("%d regions, %d events, %d pages (slowest region %d): %.1f s; slowest/2 = %.1f s, sum/2 = %.1f s; %d calls throttled",
		len(regions), m.DistinctEvents, total, slowest, secs, float64(slowest)/2, float64(total)/2, f.Throttled())
}
