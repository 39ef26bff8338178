package ingest

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/trailhound/trailhound/ingest/awsfake"
	"github.com/trailhound/trailhound/ingest/synth"
)

// collectAPIs are the SDK clients pointed at the fake, as AWS_ENDPOINT_URL would.
func (f *historyFake) collectAPIs() CollectAPIs {
	return NewCollectAPIs(f.cfg, func(k string) string {
		if k == "AWS_ENDPOINT_URL" {
			return f.URL
		}
		return ""
	})
}

// uploadTrail puts the generated trail's files whose delivery time keep accepts into
// the fake's bucket.
func (f *historyFake) uploadTrail(t *testing.T, bucket string, keep func(delivered time.Time) bool) int {
	t.Helper()
	c := f.collectAPIs().S3("us-east-1").(*s3.Client)
	n := 0
	err := filepath.WalkDir(f.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(f.dir, p)
		key := filepath.ToSlash(rel)
		if at, ok := nameTime(key); ok && !keep(at) {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		n++
		_, err = c.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(b)})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// pagesFor is how many LookupEvents pages reading region's events in the spans takes
// (StartTime and EndTime are inclusive; an empty query still takes one page).
func (f *historyFake) pagesFor(region string, spans []Span) int64 {
	var pages int64
	for _, s := range spans {
		n := 0
		for _, e := range f.Events(region) {
			if !e.Time.Before(s.From) && !e.Time.After(s.To) {
				n++
			}
		}
		pages += max(1, int64(n+49)/50)
	}
	return pages
}

// TestCollectNoTrail: without a trail, collect reads event history for the whole window
// in every enabled region, and the coverage says so.
func TestCollectNoTrail(t *testing.T) {
	f := newHistoryFake(t, synth.Options{Seed: 21})
	st := openStore(t)
	from, to := everything(f.m)
	var planned *Plan
	res, err := Collect(t.Context(), st, f.collectAPIs(), CollectOptions{From: from, To: to, Rate: 1000, Command: "collect",
		OnPlan: func(p *Plan, _ map[string][]HistoryCursor) { planned = p }}, discard())
	if err != nil {
		t.Fatal(err)
	}
	if planned == nil || planned != res.Plan {
		t.Errorf("OnPlan was handed %p, want the plan returned (%p)", planned, res.Plan)
	}
	checkEveryEventOnce(t, st, f.m)
	window := res.Plan.Window
	for _, r := range f.regions {
		if h := res.Plan.History[r]; len(h) != 1 || h[0] != window {
			t.Errorf("%s: history spans %v, want the window", r, h)
		}
	}
	if d := f.Other("cloudtrail.DescribeTrails"); d != int64(len(f.regions)) {
		t.Errorf("DescribeTrails called %d times, want once per enabled region (%d)", d, len(f.regions))
	}
	if res.Plan.Account != f.Account || res.Plan.Arn != f.Arn {
		t.Errorf("identity %s %s", res.Plan.Account, res.Plan.Arn)
	}
	cov := map[string]RegionCoverage{}
	for _, c := range res.Coverage {
		cov[c.Region] = c
	}
	for _, r := range f.regions {
		c := cov[r]
		if c.Events != int64(f.m.EventsByRegion[r]) || c.FromHistory != c.Events || c.FromS3 != 0 ||
			len(c.S3) != 0 || len(c.History) != 1 || c.History[0] != window {
			t.Errorf("coverage of %s: %+v; want %d events from event history", r, c, f.m.EventsByRegion[r])
		}
	}
	if len(res.Plan.Trails) != 0 || len(res.Plan.Buckets) != 0 {
		t.Errorf("trails %v, buckets %v; the fake has none", res.Plan.Trails, res.Plan.Buckets)
	}
	if c, ok := cov[f.quiet]; !ok || c.Events != 0 {
		t.Errorf("coverage of %s (enabled, no events): %+v, %v", f.quiet, c, ok)
	}
}

// TestCollectTrails: what a trail does not cover is read from event history, and only
// that: a trail that started logging after --from, one that stopped before --to, a
// single-region trail (the other regions have none), and one whose bucket is denied.
// In every case each event is stored once.
func TestCollectTrails(t *testing.T) {
	f0 := newHistoryFake(t, synth.Options{Seed: 22})
	from, to := everything(f0.m)
	from, to = wholeSeconds(from, to)
	mid := from.Add(to.Sub(from) / 2).Truncate(time.Second)
	window := []Span{{from, to}}
	for _, tc := range []struct {
		name    string
		trail   awsfake.Trail
		deny    bool
		keep    func(delivered time.Time) bool
		history func(region string) []Span // what event history must read
	}{
		{"started after from",
			awsfake.Trail{Name: "main", HomeRegion: "us-east-1", Bucket: "trail", MultiRegion: true, Logging: true, Started: mid},
			false, func(d time.Time) bool { return !d.Before(mid) },
			func(string) []Span { return []Span{{from, mid}} }},
		{"stopped before to",
			awsfake.Trail{Name: "main", HomeRegion: "us-east-1", Bucket: "trail", MultiRegion: true, Started: from.Add(-24 * time.Hour), Stopped: mid},
			false, func(d time.Time) bool { return d.Before(mid.Add(30 * time.Minute)) },
			func(string) []Span { return []Span{{mid, to}} }},
		{"single region",
			awsfake.Trail{Name: "home", HomeRegion: "us-east-1", Bucket: "trail", Logging: true, Started: from.Add(-time.Hour)},
			false, func(time.Time) bool { return true },
			func(r string) []Span {
				if r == "us-east-1" {
					return nil
				}
				return window
			}},
		{"bucket denied",
			awsfake.Trail{Name: "org", HomeRegion: "us-east-1", Bucket: "trail", MultiRegion: true, Organization: true, Logging: true, Started: from.Add(-time.Hour)},
			true, func(time.Time) bool { return true },
			func(string) []Span { return window }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newHistoryFake(t, synth.Options{Seed: 22})
			f.Trails = []awsfake.Trail{tc.trail}
			f.uploadTrail(t, "trail", tc.keep)
			if tc.deny {
				f.DenyBuckets = map[string]bool{"trail": true}
			}
			st := openStore(t)
			res, err := Collect(t.Context(), st, f.collectAPIs(), CollectOptions{From: from, To: to, Rate: 1000}, discard())
			if err != nil {
				t.Fatal(err)
			}
			checkEveryEventOnce(t, st, f.m)
			pages := pagesStored(t, st)
			for _, r := range f.regions {
				want := tc.history(r)
				if got := res.Plan.History[r]; !equalSpans(got, want) {
					t.Errorf("%s: history spans %v, want %v", r, got, want)
				}
				if got, w := pages[r], f.pagesFor(r, want); got != w {
					t.Errorf("%s: %d history pages read, want %d", r, got, w)
				}
			}
			s3events := count(t, st, "SELECT count(DISTINCT event_id) FROM event_origins WHERE kind = 's3'")
			if tc.deny != (s3events == 0) {
				t.Errorf("%d events from S3 (bucket denied: %v)", s3events, tc.deny)
			}
			if len(res.Plan.Buckets) != 1 {
				t.Fatalf("buckets %+v, want the trail's", res.Plan.Buckets)
			}
			if b := res.Plan.Buckets[0]; tc.deny != !b.Readable || (tc.deny && !strings.Contains(b.Reason, "s3:ListBucket")) {
				t.Errorf("bucket %+v: the plan does not name the missing permission (denied: %v)", b, tc.deny)
			}
			if !tc.deny && !slices.Contains(res.Plan.S3["us-east-1"], tc.trail.Name) {
				t.Errorf("the plan does not read trail %s in us-east-1: %v", tc.trail.Name, res.Plan.S3)
			}
		})
	}
}

func equalSpans(a, b []Span) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].From.Equal(b[i].From) || !a[i].To.Equal(b[i].To) {
			return false
		}
	}
	return true
}
