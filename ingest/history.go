package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"
)

// LookupAPI is what event history calls: a read call. *cloudtrail.Client satisfies it.
type LookupAPI interface {
	LookupEvents(ctx context.Context, in *cloudtrail.LookupEventsInput, optFns ...func(*cloudtrail.Options)) (*cloudtrail.LookupEventsOutput, error)
}

// Event history facts (CloudTrail LookupEvents).
const (
	// HistoryRate is the documented limit: two requests per second, per account, per region.
	HistoryRate = 2.0
	// HistoryRetention is how far back event history goes.
	HistoryRetention = 90 * 24 * time.Hour
	// historyPage is the largest page LookupEvents returns.
	historyPage = 50
	// historyDelay is how late event history may still add an event: the last stretch
	// of a query is not counted as read, so the next run reads it again.
	historyDelay = 15 * time.Minute
	// pace is the share of Rate the token bucket allows: requests leave exactly spaced,
	// but arrive with network jitter, and a strict 2/s bucket on the server throttles any
	// that arrive a little early; each throttled attempt costs a token. Measured with
	// BenchmarkHistoryRegions (4,000 events in 17 regions, 88 pages; the busiest region
	// 13): at 100%, 35-50 calls throttled and 1.65-1.87 times the busiest region's
	// pages/2 s; at 95%, 2-6 throttled and 1.02-1.06 times.
	pace = 0.95
	// throttleRounds is how many times a page is asked for again, with a growing pause,
	// when the SDK's own retries all met ThrottlingException.
	throttleRounds = 8
)

// HistoryOptions select what an event-history ingest reads.
type HistoryOptions struct {
	Regions []string // regions to read
	// Unavailable regions are reported as unreadable, with the reason, and not called.
	Unavailable map[string]string
	// From and To are the window: events outside [From, To) are not stored (give Run the
	// same window). Widened to whole seconds.
	From, To time.Time
	// Spans, when set for a region, are the only parts of the window read there (collect
	// reads event history only where trails do not cover); otherwise the whole window.
	Spans map[string][]Span
	// Cursors are the store's (LoadHistoryCursors): parts of the window already read are
	// not read again, and interrupted queries resume where they stopped.
	Cursors []HistoryCursor
	// Rate is the LookupEvents requests per second per region, retries included (default
	// HistoryRate); the workers are paced 5% under it.
	Rate    float64
	Profile string // for the hint when credentials expire
	Now     func() time.Time
}

// HistorySource is the Source of CloudTrail event history (LookupEvents): one worker per
// region, each held to Rate requests per second by a token bucket that every HTTP
// attempt (the SDK's retries too) must pass. Each page is one object; its cursor is
// saved with its events, so an interrupted ingest resumes where it stopped.
type HistorySource struct {
	lookup  func(region string) LookupAPI
	o       HistoryOptions
	log     *slog.Logger
	start   time.Time
	regions []*regionRun
	book    *cursorBook // the ledger of this source's cursors, for the writer

	listedPages, listedBytes atomic.Int64
}

// Listed reports the pages read and their bytes so far, for the progress line.
func (h *HistorySource) Listed() (objects, bytes int64) {
	return h.listedPages.Load(), h.listedBytes.Load()
}

// regionRun is one region's worker state.
type regionRun struct {
	region  string
	queries []HistoryCursor // what this run reads, in order
	skip    string          // reported as unreadable, not called

	mu        sync.Mutex
	state     string // waiting | reading | done | skipped
	reason    string
	current   []HistoryCursor // where each query stands
	pages     int64           // read by this run
	events    int64
	remaining float64 // fraction of the region's reading left, at the start
	rate      float64 // requests per second
	started   time.Time
	throttled atomic.Int64
}

// NewHistorySource plans each region's queries from the store's cursors.
func NewHistorySource(lookup func(region string) LookupAPI, o HistoryOptions, log *slog.Logger) (*HistorySource, error) {
	if o.From.IsZero() || o.To.IsZero() || !o.From.Before(o.To) {
		return nil, fmt.Errorf("event history needs a window with from before to (from %v, to %v)", o.From, o.To)
	}
	if o.Rate <= 0 {
		o.Rate = HistoryRate
	}
	if o.Now == nil {
		o.Now = func() time.Time { return time.Now().UTC() }
	}
	o.From, o.To = wholeSeconds(o.From, o.To)
	h := &HistorySource{lookup: lookup, o: o, log: log, start: o.Now().UTC().Truncate(time.Second), book: &cursorBook{}}
	byRegion := map[string][]HistoryCursor{}
	for _, c := range o.Cursors {
		byRegion[c.Region] = append(byRegion[c.Region], c)
	}
	window := Span{o.From, o.To}
	for _, region := range uniqueSorted(o.Regions) {
		need := []Span{window}
		if spans, ok := o.Spans[region]; ok {
			need = nil
			for _, s := range spans {
				f, t := wholeSeconds(s.From, s.To)
				if s := (Span{f, t}).intersect(window); !s.empty() {
					need = append(need, s)
				}
			}
		}
		r := &regionRun{region: region, state: "waiting",
			queries: planQueries(region, need, window, byRegion[region], h.start)}
		r.current = append([]HistoryCursor(nil), r.queries...)
		r.remaining = r.fraction()
		h.regions = append(h.regions, r)
	}
	for region, reason := range o.Unavailable {
		h.regions = append(h.regions, &regionRun{region: region, skip: reason, state: "skipped", reason: reason})
	}
	sort.Slice(h.regions, func(i, j int) bool { return h.regions[i].region < h.regions[j].region })
	return h, nil
}

// planQueries decides one region's queries: the unfinished queries of earlier runs that
// still matter are resumed (their NextToken is bound to their own StartTime/EndTime), and
// what no query has read yet gets a new query. Parts already read are not read again.
func planQueries(region string, need []Span, window Span, cursors []HistoryCursor, now time.Time) []HistoryCursor {
	var clipped []Span
	for _, s := range need {
		if s.To = earliest(s.To, now); !s.empty() {
			clipped = append(clipped, s)
		}
	}
	need = clipped
	for _, c := range cursors {
		if c.Done {
			need = subtract(need, Span{c.KeptStart, c.KeptEnd})
		}
	}
	var qs []HistoryCursor
	for _, c := range cursors {
		kept := Span{c.KeptStart, c.KeptEnd}.intersect(window)
		if c.Done || kept.empty() || !overlaps(need, kept) {
			continue
		}
		c.KeptStart, c.KeptEnd = kept.From, kept.To
		qs = append(qs, c)
		need = subtract(need, kept)
	}
	for _, s := range need {
		qs = append(qs, HistoryCursor{Region: region, QueryStart: s.From, QueryEnd: s.To,
			KeptStart: s.From, KeptEnd: latest(s.From, earliest(s.To, now.Add(-historyDelay)))})
	}
	return qs
}

// Window is the window read, widened to whole seconds: give Run the same.
func (h *HistorySource) Window() Span { return Span{h.o.From, h.o.To} }

// Queries returns each region's planned queries (resumed ones carry their pages so far);
// regions with nothing left to read have none.
func (h *HistorySource) Queries() map[string][]HistoryCursor {
	m := map[string][]HistoryCursor{}
	for _, r := range h.regions {
		if r.skip == "" {
			m[r.region] = append([]HistoryCursor(nil), r.queries...)
		}
	}
	return m
}

// List reads every region at once, one worker each, and sends each page as an object.
// A region that denies access or is not enabled is reported as an unreadable input and
// the others go on; credentials that expire stop every region (what was read is kept).
func (h *HistorySource) List(ctx context.Context, out chan<- Object) error {
	g, gctx := errgroup.WithContext(ctx)
	for _, r := range h.regions {
		g.Go(func() error {
			if r.skip != "" {
				return sendFailure(gctx, r.region, errors.New(r.skip), out)
			}
			return h.readRegion(gctx, r, out)
		})
	}
	return g.Wait()
}

func sendFailure(ctx context.Context, region string, reason error, out chan<- Object) error {
	return unreadable(ctx, out, "history", "history:"+region, reason)
}

func (h *HistorySource) readRegion(ctx context.Context, r *regionRun, out chan<- Object) error {
	r.mu.Lock()
	r.state, r.started, r.rate = "reading", time.Now(), h.o.Rate*pace
	r.mu.Unlock()
	api := h.lookup(r.region)
	limit := limitEachAttempt(rate.NewLimiter(rate.Limit(h.o.Rate*pace), 1), &r.throttled)
	lastLog := time.Now()
	for i := range r.queries {
		c := r.queries[i]
		c.resumedAt = c.Pages
		for !c.Done {
			in := &cloudtrail.LookupEventsInput{
				StartTime: aws.Time(c.QueryStart), EndTime: aws.Time(c.QueryEnd), MaxResults: aws.Int32(historyPage),
			}
			if c.NextToken != "" {
				in.NextToken = aws.String(c.NextToken)
			}
			page, err := h.lookupPage(ctx, api, in, limit, r)
			if err != nil {
				return h.regionFailed(ctx, r, c, err, out)
			}
			events := page.Events
			if events == nil {
				events = []types.Event{}
			}
			raw, err := json.Marshal(struct{ Events []types.Event }{events})
			if err != nil {
				return fmt.Errorf("event history in %s: encode page: %w", r.region, err)
			}
			prev := c.NextToken
			c.Pages++
			c.Events += int64(len(events))
			for _, e := range events {
				if t := aws.ToTime(e.EventTime); !t.IsZero() && (c.Oldest.IsZero() || t.Before(c.Oldest)) {
					c.Oldest = t.UTC()
				}
			}
			c.NextToken = aws.ToString(page.NextToken)
			if c.NextToken != "" && c.NextToken == prev {
				h.log.Warn("event history repeated its NextToken; the query ends here", "region", r.region)
				c.NextToken = ""
			}
			c.Done = c.NextToken == ""
			cur := c
			o := Object{
				Kind: "history",
				URI: fmt.Sprintf("history:%s?start=%s&end=%s&page=%d", r.region,
					c.QueryStart.Format(time.RFC3339), c.QueryEnd.Format(time.RFC3339), c.Pages),
				Open:       func(context.Context) (io.ReadCloser, error) { return body{bytes.NewReader(raw), raw, nil}, nil },
				Size:       int64(len(raw)),
				Checkpoint: historyCheckpoint{cur, h.book},
			}
			h.listedPages.Add(1)
			h.listedBytes.Add(int64(len(raw)))
			select {
			case out <- o:
			case <-ctx.Done():
				return ctx.Err()
			}
			r.mu.Lock()
			r.current[i] = c
			r.pages++
			r.events += int64(len(events))
			r.mu.Unlock()
			if time.Since(lastLog) >= 30*time.Second {
				lastLog = time.Now()
				st := r.status()
				h.log.Info("event history", "region", r.region, "events", st.Events, "pages", st.Pages,
					"left", fmt.Sprintf("%.0f%%", 100*st.Remaining), "eta", st.ETA.Round(time.Second))
			}
		}
	}
	r.mu.Lock()
	r.state = "done"
	r.mu.Unlock()
	st := r.status()
	h.log.Info("event history read", "region", r.region, "events", st.Events, "pages", st.Pages,
		"throttled", st.Throttled, "seconds", fmt.Sprintf("%.1f", time.Since(st.started).Seconds()))
	return nil
}

// lookupPage calls LookupEvents. Throttling is expected: the SDK retries it with backoff,
// and if every retry is throttled too, the page is asked for again after a pause.
func (h *HistorySource) lookupPage(ctx context.Context, api LookupAPI, in *cloudtrail.LookupEventsInput,
	limit func(*cloudtrail.Options), r *regionRun) (*cloudtrail.LookupEventsOutput, error) {
	for round := 0; ; round++ {
		out, err := api.LookupEvents(ctx, in, limit)
		if err == nil || !isThrottle(err) || round >= throttleRounds || ctx.Err() != nil {
			return out, err
		}
		pause := time.Duration(float64(min(time.Minute, time.Second<<round)) * (0.5 + rand.Float64()/2))
		h.log.Debug("event history throttled; pausing", "region", r.region, "pause", pause)
		select {
		case <-time.After(pause):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// regionFailed reports a region that cannot be read and lets the others go on; errors
// that no region can get past (expired or missing credentials) end the whole ingest.
func (h *HistorySource) regionFailed(ctx context.Context, r *regionRun, c HistoryCursor, err error, out chan<- Object) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var reason string
	switch code := apiErrorCode(err); {
	case IsAccessDenied(err):
		reason = fmt.Sprintf("access denied: the credentials need cloudtrail:LookupEvents in %s (%v)", r.region, err)
	case code == "UnrecognizedClientException" || code == "InvalidClientTokenId" || code == "OptInRequired" || code == "AuthFailure":
		reason = fmt.Sprintf("%s is not enabled in this account, or does not accept these credentials (%v)", r.region, err)
	default:
		var hint *AWSHint
		if explained := ExplainAWSError(err, h.o.Profile); errors.As(explained, &hint) {
			r.mu.Lock()
			r.state, r.reason = "failed", hint.Hint
			r.mu.Unlock()
			return fmt.Errorf("event history in %s: %w", r.region, explained)
		}
		reason = fmt.Sprintf("event history could not be read: %v", err)
	}
	if c.Pages > 0 {
		reason += fmt.Sprintf("; stopped after page %d, the next run resumes there", c.Pages)
	}
	r.mu.Lock()
	r.state, r.reason = "skipped", reason
	r.mu.Unlock()
	h.log.Warn("event history region skipped", "region", r.region, "reason", reason)
	return sendFailure(ctx, r.region, errors.New(reason), out)
}
