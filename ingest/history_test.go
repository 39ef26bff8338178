package ingest

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/trailhound/trailhound/ingest/awsfake"
	"github.com/trailhound/trailhound/ingest/synth"
	"github.com/trailhound/trailhound/queries"
)

// quickBackoff keeps the SDK's retries (of throttled calls) fast in tests.
type quickBackoff struct{}

func (quickBackoff) BackoffDelay(int, error) (time.Duration, error) { return time.Millisecond, nil }

// fakeConfig is an SDK configuration that talks to the fake endpoint with static test
// credentials, and retries as LoadAWSConfig does, but without long pauses.
func fakeConfig(url string) aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "SECRET", ""),
		BaseEndpoint: aws.String(url),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 10
				o.RateLimiter = ratelimit.None
				o.Backoff = quickBackoff{}
			})
		},
	}
}

// historyFake serves a generated incident's events in every region's event history.
// Its regions: every region the incident has events in, one enabled region without
// events, and one opt-in region the account has not enabled.
type historyFake struct {
	*awsfake.Server
	m        synth.Manifest
	dir      string
	perPage  map[string]int64 // pages a full read of each region takes
	regions  []string         // enabled
	disabled string
	quiet    string // enabled, no events
	cfg      aws.Config
	lookup   func(string) LookupAPI
}

func newHistoryFake(t *testing.T, o synth.Options) *historyFake {
	t.Helper()
	dir, m := generated(t, o)
	f := &historyFake{Server: awsfake.New(), m: m, dir: dir, perPage: map[string]int64{},
		disabled: "af-south-1", quiet: "ca-west-1"}
	t.Cleanup(f.Close)
	n, err := f.LoadTrailTree(dir)
	if err != nil {
		t.Fatal(err)
	}
	for r, want := range m.EventsByRegion {
		if n[r] != want {
			t.Fatalf("fake serves %d events in %s, the generator wrote %d", n[r], r, want)
		}
		f.regions = append(f.regions, r)
		f.Regions = append(f.Regions, awsfake.Region{Name: r, OptInStatus: "opt-in-not-required"})
		f.perPage[r] = max(1, (int64(want)+49)/50)
	}
	f.regions = append(f.regions, f.quiet)
	f.perPage[f.quiet] = 1
	sort.Strings(f.regions)
	f.Regions = append(f.Regions, awsfake.Region{Name: f.quiet, OptInStatus: "opted-in"},
		awsfake.Region{Name: f.disabled, OptInStatus: "not-opted-in"})
	f.cfg = fakeConfig(f.URL)
	f.lookup = NewCloudTrailClients(f.cfg).Lookup
	return f
}

// source resolves "all" regions with DescribeRegions and plans from the store's cursors.
func (f *historyFake) source(t *testing.T, st *queries.Store, asked []string, from, to time.Time) *HistorySource {
	t.Helper()
	regions, unavailable, err := ResolveRegions(t.Context(), NewCollectAPIs(f.cfg, noEnv).Regions, asked, discard())
	if err != nil {
		t.Fatal(err)
	}
	cursors, err := LoadHistoryCursors(t.Context(), st.DB)
	if err != nil {
		t.Fatal(err)
	}
	h, err := NewHistorySource(f.lookup, HistoryOptions{Regions: regions, Unavailable: unavailable,
		From: from, To: to, Cursors: cursors, Rate: 1000}, discard())
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func noEnv(string) string { return "" }

func sum(m map[string]int64) (n int64) {
	for _, v := range m {
		n += v
	}
	return n
}

// storedByRegion counts the stored events per awsRegion.
func storedByRegion(t *testing.T, st *queries.Store) map[string]int {
	t.Helper()
	rows, err := st.DB.QueryContext(t.Context(), "SELECT aws_region, count(*) FROM events GROUP BY ALL")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	m := map[string]int{}
	for rows.Next() {
		var r string
		var n int
		if err := rows.Scan(&r, &n); err != nil {
			t.Fatal(err)
		}
		m[r] = n
	}
	return m
}

// pagesStored counts, per region, the event-history pages the store recorded.
func pagesStored(t *testing.T, st *queries.Store) map[string]int64 {
	t.Helper()
	rows, err := st.DB.QueryContext(t.Context(), `SELECT regexp_extract(uri, '^history:([^?]*)', 1), count(*)
		FROM source_files WHERE kind = 'history' GROUP BY ALL`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	m := map[string]int64{}
	for rows.Next() {
		var r string
		var n int64
		if err := rows.Scan(&r, &n); err != nil {
			t.Fatal(err)
		}
		m[r] = n
	}
	return m
}

func checkEveryEventOnce(t *testing.T, st *queries.Store, m synth.Manifest) {
	t.Helper()
	got := storedByRegion(t, st)
	for r, want := range m.EventsByRegion {
		if got[r] != want {
			t.Errorf("%s: stored %d events, the generator wrote %d", r, got[r], want)
		}
	}
	if n := count(t, st, "SELECT count(*) FROM events"); n != int64(m.DistinctEvents) {
		t.Errorf("stored %d events, generator wrote %d distinct", n, m.DistinctEvents)
	}
	if n := count(t, st, "SELECT count(*) - count(DISTINCT event_id) FROM event_rows"); n != 0 {
		t.Errorf("%d duplicate event ids", n)
	}
}

// TestHistoryEveryRegionOnce: every enabled region is read in full, each event is stored
// once with "event history, REGION" as its origin, the opt-in region the account has not
// enabled is never called, and a second run over the same window calls nothing.
func TestHistoryEveryRegionOnce(t *testing.T) {
	f := newHistoryFake(t, synth.Options{Seed: 11})
	st := openStore(t)
	from, to := everything(f.m)
	h := f.source(t, st, []string{"all"}, from, to)
	sum1, err := run(t, t.Context(), st, h, Options{From: from, To: to})
	if err != nil {
		t.Fatal(err)
	}
	checkEveryEventOnce(t, st, f.m)
	if sum1.EventsNew != int64(f.m.DistinctEvents) || sum1.EventsPresent != 0 {
		t.Errorf("summary: %d new, %d present; want %d and 0", sum1.EventsNew, sum1.EventsPresent, f.m.DistinctEvents)
	}
	pages := pagesStored(t, st)
	for _, r := range f.regions {
		if pages[r] != f.perPage[r] {
			t.Errorf("%s: %d pages stored, want %d", r, pages[r], f.perPage[r])
		}
	}
	if c := f.Calls()[f.disabled]; c != 0 {
		t.Errorf("the region the account has not enabled got %d calls", c)
	}
	// Provenance: each event came from its own region's event history.
	if n := count(t, st, `SELECT count(*) FROM event_origins o JOIN events e USING (event_id)
		WHERE o.origin <> 'event history, ' || e.aws_region OR o.kind <> 'history'`); n != 0 {
		t.Errorf("%d events whose origin is not 'event history, <their region>'", n)
	}
	if n := count(t, st, "SELECT count(*) FROM history_cursors WHERE NOT done OR next_token IS NOT NULL"); n != 0 {
		t.Errorf("%d cursors not done after a complete run", n)
	}
	if n := count(t, st, "SELECT count(DISTINCT region) FROM history_cursors"); n != int64(len(f.regions)) {
		t.Errorf("cursors for %d regions, want %d", n, len(f.regions))
	}

	f.Reset()
	h = f.source(t, st, []string{"all"}, from, to)
	sum2, err := run(t, t.Context(), st, h, Options{From: from, To: to})
	if err != nil {
		t.Fatal(err)
	}
	if n := sum(f.Calls()); n != 0 || sum2.EventsNew != 0 {
		t.Errorf("second run over the same window: %d LookupEvents calls, %d new events; want none", n, sum2.EventsNew)
	}
}

// TestHistoryThrottled: every third call of each region is throttled; the SDK's retries
// (held to the region's rate) get every page anyway, and nothing is lost or doubled.
func TestHistoryThrottled(t *testing.T) {
	f := newHistoryFake(t, synth.Options{Seed: 12})
	f.ThrottleEvery = 3
	st := openStore(t)
	from, to := everything(f.m)
	h := f.source(t, st, nil, from, to)
	if _, err := run(t, t.Context(), st, h, Options{From: from, To: to}); err != nil {
		t.Fatal(err)
	}
	checkEveryEventOnce(t, st, f.m)
	var seen int64
	for _, s := range h.Status() {
		seen += s.Throttled
		if s.State != "done" {
			t.Errorf("%s: %s %s", s.Region, s.State, s.Reason)
		}
	}
	if f.Throttled() == 0 || seen != f.Throttled() {
		t.Errorf("server throttled %d calls, the source counted %d", f.Throttled(), seen)
	}
	if pages := sum(pagesStored(t, st)); pages != sum(f.perPage) {
		t.Errorf("%d pages stored, want %d", pages, sum(f.perPage))
	}
}

// TestHistoryResume: a run cancelled mid-way keeps what it committed; its cursors never
// run ahead of the stored events, and the next run reads only the pages after them.
func TestHistoryResume(t *testing.T) {
	f := newHistoryFake(t, synth.Options{Seed: 13})
	st := openStore(t)
	from, to := everything(f.m)
	ctx, cancel := context.WithCancel(t.Context())
	total := sum(f.perPage)
	var served atomic.Int64
	f.OnPage = func(string, int64) {
		if served.Add(1) == total/2 {
			cancel()
		}
	}
	h := f.source(t, st, nil, from, to)
	if _, err := run(t, ctx, st, h, Options{From: from, To: to, Concurrency: 4}); !errors.Is(err, context.Canceled) {
		t.Fatalf("first run = %v, want interrupted", err)
	}
	f.OnPage = nil
	cursors, err := LoadHistoryCursors(t.Context(), st.DB)
	if err != nil {
		t.Fatal(err)
	}
	// Each saved cursor follows pages whose events are all stored: count them per region
	// against the fake's own newest-first order.
	stored := map[string]bool{}
	rows, err := st.DB.QueryContext(t.Context(), "SELECT event_id FROM events")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		stored[id] = true
	}
	rows.Close()
	var left int64 = total
	partial := 0
	for _, c := range cursors {
		left -= c.Pages
		if !c.Done {
			partial++
		}
		evs := f.Events(c.Region)
		n := min(int(c.Pages)*50, len(evs))
		for _, e := range evs[:n] {
			if !stored[e.ID] {
				t.Fatalf("%s: the cursor is after page %d, but event %s of those pages is not stored", c.Region, c.Pages, e.ID)
			}
		}
	}
	if partial == 0 || left == total {
		t.Fatalf("the interrupt left %d partial cursors and %d of %d pages to read: the test tests nothing", partial, left, total)
	}

	f.Reset()
	h = f.source(t, st, nil, from, to)
	sum2, err := run(t, t.Context(), st, h, Options{From: from, To: to})
	if err != nil {
		t.Fatal(err)
	}
	checkEveryEventOnce(t, st, f.m)
	if got := int64(sum2.FilesRead); got != left {
		t.Errorf("resumed run read %d pages, want %d (the %d not covered by the saved cursors)", got, left, left)
	}
}

// TestHistoryAndTrailFiles: events already stored from the trail's files are not stored
// again, though event history spells each record otherwise; they gain event history as a
// second origin.
func TestHistoryAndTrailFiles(t *testing.T) {
	f := newHistoryFake(t, synth.Options{Seed: 14})
	st := openStore(t)
	from, to := everything(f.m)
	// The trail's files for the first half of the window only.
	mid := from.Add(to.Sub(from) / 2)
	fsum, err := run(t, t.Context(), st, Files{Paths: []string{f.dir}}, Options{From: from, To: mid})
	if err != nil {
		t.Fatal(err)
	}
	before := count(t, st, "SELECT count(*) FROM events")
	if before == 0 || before != fsum.EventsNew {
		t.Fatalf("files stored %d events", before)
	}
	hsum, err := run(t, t.Context(), st, f.source(t, st, nil, from, to), Options{From: from, To: to})
	if err != nil {
		t.Fatal(err)
	}
	checkEveryEventOnce(t, st, f.m)
	// Event history spells each record otherwise (awsfake.historySpelling): still one event.
	if hsum.EventsConflicting != 0 || count(t, st, "SELECT count(*) FROM event_conflicts") != 0 {
		t.Errorf("history: %d records counted conflicting with the trail's", hsum.EventsConflicting)
	}
	if hsum.EventsPresent != before || hsum.EventsNew != int64(f.m.DistinctEvents)-before {
		t.Errorf("history: %d new, %d present; want %d and %d", hsum.EventsNew, hsum.EventsPresent,
			int64(f.m.DistinctEvents)-before, before)
	}
	if n := count(t, st, `SELECT count(*) FROM (SELECT event_id FROM event_origins GROUP BY event_id
		HAVING bool_or(kind = 'file') AND bool_or(origin LIKE 'event history, %'))`); n != before {
		t.Errorf("%d events with both origins, want %d", n, before)
	}
}

// TestHistoryRegionErrors: a region that denies LookupEvents and one that refuses the
// credentials (not enabled) are reported, named, and skipped; the others are read; an
// asked-for region the account has not enabled is reported without a call.
func TestHistoryRegionErrors(t *testing.T) {
	f := newHistoryFake(t, synth.Options{Seed: 15})
	f.Fail = map[string]string{"eu-west-1": "AccessDeniedException", "ap-south-1": "UnrecognizedClientException"}
	st := openStore(t)
	from, to := everything(f.m)
	asked := append(slices.Clone(f.regions), f.disabled)
	sum, err := run(t, t.Context(), st, f.source(t, st, asked, from, to), Options{From: from, To: to})
	if !errors.Is(err, ErrPartial) {
		t.Fatalf("Run = %v, want ErrPartial", err)
	}
	want := map[string]string{
		"history:eu-west-1":     "cloudtrail:LookupEvents",
		"history:ap-south-1":    "not enabled",
		"history:" + f.disabled: "not enabled in this account",
	}
	for _, r := range sum.Rejected {
		if w, ok := want[r.URI]; !ok || !strings.Contains(r.Reason, w) {
			t.Errorf("rejected %s: %s", r.URI, r.Reason)
		}
		delete(want, r.URI)
	}
	if len(want) > 0 {
		t.Errorf("not reported: %v", want)
	}
	got := storedByRegion(t, st)
	for r, n := range f.m.EventsByRegion {
		if f.Fail[r] != "" {
			n = 0
		}
		if got[r] != n {
			t.Errorf("%s: %d events stored, want %d", r, got[r], n)
		}
	}
	if c := f.Calls()[f.disabled]; c != 0 {
		t.Errorf("%s (not enabled) got %d calls", f.disabled, c)
	}
}

// TestHistoryExpiredCredentials: credentials that expire mid-run stop every region with
// the fix; what was stored stays, and once they are refreshed the same command completes.
func TestHistoryExpiredCredentials(t *testing.T) {
	f := newHistoryFake(t, synth.Options{Seed: 16})
	st := openStore(t)
	from, to := everything(f.m)
	var served atomic.Int64
	third := sum(f.perPage) / 3
	f.OnPage = func(string, int64) {
		if served.Add(1) == third {
			for _, r := range f.regions {
				f.SetFail(r, "ExpiredTokenException")
			}
		}
	}
	_, err := run(t, t.Context(), st, f.source(t, st, nil, from, to), Options{From: from, To: to})
	var hint *AWSHint
	if !errors.As(err, &hint) || !strings.Contains(hint.Hint, "expired") {
		t.Fatalf("Run = %v, want the expired-credentials hint", err)
	}
	kept := count(t, st, "SELECT count(*) FROM events")
	if kept == 0 {
		t.Error("nothing stored from the pages read before the credentials expired")
	}
	f.OnPage = nil
	for _, r := range f.regions {
		f.SetFail(r, "")
	}
	if _, err := run(t, t.Context(), st, f.source(t, st, nil, from, to), Options{From: from, To: to}); err != nil {
		t.Fatal(err)
	}
	checkEveryEventOnce(t, st, f.m)
}

// TestHistoryRateLimitsEachAttempt: the token bucket holds every HTTP attempt, the
// SDK's retries included. With a bucket that refills once an hour, a throttled first
// call is never retried within the test's deadline: the server sees exactly one call.
func TestHistoryRateLimitsEachAttempt(t *testing.T) {
	f := newHistoryFake(t, synth.Options{Seed: 17, Events: 500})
	f.ThrottleEvery = 1
	st := openStore(t)
	from, to := everything(f.m)
	h, err := NewHistorySource(f.lookup, HistoryOptions{Regions: []string{"us-east-1"}, From: from, To: to,
		Rate: 1.0 / 3600}, discard())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if _, err := run(t, ctx, st, h, Options{From: from, To: to}); !errors.Is(err, ErrPartial) {
		t.Fatalf("Run = %v, want the region reported", err)
	}
	if c := f.Calls()["us-east-1"]; c != 1 {
		t.Errorf("the server got %d calls; the rate allows 1", c)
	}
}

// TestPlanQueries: which queries a run makes from the cursors earlier runs left.
func TestPlanQueries(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	h := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Hour) }
	now := h(1000)
	done := func(a, b int) HistoryCursor {
		return HistoryCursor{Region: "r", QueryStart: h(a), QueryEnd: h(b), KeptStart: h(a), KeptEnd: h(b), Pages: 3, Done: true}
	}
	open := func(a, b int) HistoryCursor {
		c := done(a, b)
		c.Done, c.NextToken = false, "tok"
		return c
	}
	type q struct{ qs, qe, ks, ke time.Time }
	for _, tc := range []struct {
		name    string
		window  Span
		cursors []HistoryCursor
		now     time.Time
		want    []q
	}{
		{"fresh", Span{h(0), h(10)}, nil, now, []q{{h(0), h(10), h(0), h(10)}}},
		{"all done", Span{h(2), h(8)}, []HistoryCursor{done(0, 10)}, now, nil},
		{"done in the middle", Span{h(0), h(10)}, []HistoryCursor{done(3, 5)}, now,
			[]q{{h(0), h(3), h(0), h(3)}, {h(5), h(10), h(5), h(10)}}},
		{"resume the same window", Span{h(0), h(10)}, []HistoryCursor{open(0, 10)}, now,
			[]q{{h(0), h(10), h(0), h(10)}}},
		// --to now moved on: the old query resumes with its own window (its token is bound
		// to it), and a new one reads what came after.
		{"window moved on", Span{h(1), h(12)}, []HistoryCursor{open(0, 10)}, now,
			[]q{{h(0), h(10), h(1), h(10)}, {h(10), h(12), h(10), h(12)}}},
		{"unrelated open query is left alone", Span{h(20), h(30)}, []HistoryCursor{open(0, 10)}, now,
			[]q{{h(20), h(30), h(20), h(30)}}},
		// The recent past may still get events: it is read, but not counted as read.
		{"window up to now", Span{h(990), h(1010)}, nil, now,
			[]q{{h(990), h(1000), h(990), now.Add(-historyDelay)}}},
		{"future only", Span{h(1001), h(1010)}, nil, now, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := planQueries("r", []Span{tc.window}, tc.window, tc.cursors, tc.now)
			var gq []q
			for _, c := range got {
				gq = append(gq, q{c.QueryStart, c.QueryEnd, c.KeptStart, c.KeptEnd})
			}
			if !slices.Equal(gq, tc.want) {
				t.Errorf("got  %v\nwant %v", gq, tc.want)
			}
		})
	}
}

// TestCursorOrder: cursors of pages that reach the writer out of order are saved only up
// to the last page whose predecessors are all committed.
func TestCursorOrder(t *testing.T) {
	st := openStore(t)
	ctx := t.Context()
	w, err := newWriter(ctx, st.DB, func() time.Time { return time.Now().UTC() }, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	book := &cursorBook{}
	page := func(n int64) HistoryCursor {
		return HistoryCursor{Region: "eu-west-1", QueryStart: t0, QueryEnd: t0.Add(time.Hour), KeptStart: t0,
			KeptEnd: t0.Add(time.Hour), Pages: n, Events: 50 * n, NextToken: "t", resumedAt: 2}
	}
	saved := func() int64 {
		cs, err := LoadHistoryCursors(ctx, st.DB)
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) == 0 {
			return 0
		}
		return cs[0].Pages
	}
	steps := []struct {
		stage []int64
		want  int64
	}{
		{[]int64{4, 5}, 0}, // page 3 (the first of this run) has not arrived
		{[]int64{3}, 5},
		{[]int64{7}, 5},
		{[]int64{6, 8}, 8},
	}
	for i, s := range steps {
		for _, p := range s.stage {
			w.stageCheckpoint(historyCheckpoint{page(p), book})
		}
		if err := w.commit(ctx); err != nil {
			t.Fatal(err)
		}
		if got := saved(); got != s.want {
			t.Errorf("step %d: saved cursor after page %d, want %d", i, got, s.want)
		}
	}
}
