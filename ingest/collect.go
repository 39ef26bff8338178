package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"golang.org/x/sync/errgroup"

	"github.com/trailhound/trailhound/queries"
)

// IdentityAPI says who the credentials are. *sts.Client satisfies it.
type IdentityAPI interface {
	GetCallerIdentity(ctx context.Context, in *sts.GetCallerIdentityInput, optFns ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)
}

// TrailsAPI describes a region's trails. *cloudtrail.Client satisfies it.
type TrailsAPI interface {
	DescribeTrails(ctx context.Context, in *cloudtrail.DescribeTrailsInput, optFns ...func(*cloudtrail.Options)) (*cloudtrail.DescribeTrailsOutput, error)
	GetTrailStatus(ctx context.Context, in *cloudtrail.GetTrailStatusInput, optFns ...func(*cloudtrail.Options)) (*cloudtrail.GetTrailStatusOutput, error)
}

// BucketAPI reads a trail's bucket. *s3.Client satisfies it.
type BucketAPI interface {
	S3API
	HeadBucket(ctx context.Context, in *s3.HeadBucketInput, optFns ...func(*s3.Options)) (*s3.HeadBucketOutput, error)
}

// CollectAPIs are the AWS calls collect makes; every one of them only reads.
type CollectAPIs struct {
	Identity IdentityAPI
	Regions  RegionsAPI
	Trails   func(region string) TrailsAPI
	Lookup   func(region string) LookupAPI
	S3       func(region string) BucketAPI
}

// NewCollectAPIs makes the clients from cfg. The SDK's AWS_ENDPOINT_URL and
// AWS_ENDPOINT_URL_<SERVICE> variables are honoured (S3 then uses path-style addressing).
func NewCollectAPIs(cfg aws.Config, getenv func(string) string) CollectAPIs {
	ct := NewCloudTrailClients(cfg)
	var mu sync.Mutex
	s3s := map[string]*s3.Client{}
	return CollectAPIs{
		Identity: sts.NewFromConfig(cfg),
		Regions:  ec2.NewFromConfig(cfg),
		Trails:   func(region string) TrailsAPI { return ct.Client(region) },
		Lookup:   ct.Lookup,
		S3: func(region string) BucketAPI {
			mu.Lock()
			defer mu.Unlock()
			if c, ok := s3s[region]; ok {
				return c
			}
			rc := cfg.Copy()
			rc.Region = region
			c := NewS3Client(rc, "", getenv)
			s3s[region] = c
			return c
		},
	}
}

// CollectOptions select what collect reads.
type CollectOptions struct {
	From, To        time.Time // the window [From, To); widened to whole seconds
	Regions         []string  // asked for; none or "all" = every enabled region
	Rate            float64   // event-history requests per second per region; default HistoryRate
	Profile         string    // for hints
	Command         string    // recorded in ingest_runs
	Concurrency     int       // S3 objects fetched at once; default 32
	MaxDecompressed int64
	MaxRecord       int
	Progress        io.Writer
	ProgressWidth   func() int // the terminal's width (Options.ProgressWidth)
	Now             func() time.Time
}

// Trail is one trail collect found, with what it covers.
type Trail struct {
	Name, ARN, HomeRegion, Bucket, Prefix string
	MultiRegion, Organization             bool
	CustomSelectors                       bool     // may not log every management event
	Regions                               []string // regions whose DescribeTrails lists it (home or shadow)
	StatusKnown, Logging                  bool
	Started, Stopped                      time.Time // StartLoggingTime, StopLoggingTime
	StatusError                           string
	// Covers is the part of the window its files can hold, if its bucket is readable:
	// from when it last started logging to when it stopped (or the window's end).
	Covers Span
}

// Bucket is one trail bucket (and key prefix) collect reads from S3.
type Bucket struct {
	Name, Prefix, Region string
	Trails               []string
	Regions              []string // the regions read from it
	Readable             bool
	Reason               string // why it cannot be read
}

// URL is s3://bucket/prefix.
func (b Bucket) URL() string { return strings.TrimSuffix("s3://"+b.Name+"/"+b.Prefix, "/") }

// Plan is what collect found and decided, before it reads anything.
type Plan struct {
	Account, Arn string
	Window       Span
	Regions      []string          // regions read
	Unavailable  map[string]string // regions not read, and why
	Trails       []Trail
	Buckets      []Bucket
	S3           map[string][]string // region → the trails whose files cover it
	History      map[string][]Span   // region → the parts of the window event history reads
	Notes        []string
}

// MakePlan asks who the credentials are, which regions are enabled, which trails log
// each region (organization and shadow trails included), whether they are logging and
// since when, and whether their buckets can be read. Event history fills every part of
// the window, in every region, that no readable trail covers.
func MakePlan(ctx context.Context, apis CollectAPIs, o CollectOptions, log *slog.Logger) (*Plan, error) {
	from, to := wholeSeconds(o.From, o.To)
	p := &Plan{Window: Span{from, to}, S3: map[string][]string{}, History: map[string][]Span{}}
	id, err := apis.Identity.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return nil, fmt.Errorf("who am I (sts:GetCallerIdentity): %w", ExplainAWSError(err, o.Profile))
	}
	p.Account, p.Arn = aws.ToString(id.Account), aws.ToString(id.Arn)
	regions, unavailable, err := ResolveRegions(ctx, apis.Regions, o.Regions, log)
	if err != nil {
		return nil, err
	}
	p.Unavailable = map[string]string{}
	for r, why := range unavailable {
		p.Unavailable[r] = why
	}

	// DescribeTrails in every region, a few at a time.
	type listed struct {
		trails []Trail
		err    error
	}
	found := make([]listed, len(regions))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i, region := range regions {
		g.Go(func() error {
			out, err := apis.Trails(region).DescribeTrails(gctx, &cloudtrail.DescribeTrailsInput{IncludeShadowTrails: aws.Bool(true)})
			if err != nil {
				var hint *AWSHint
				if explained := ExplainAWSError(err, o.Profile); errors.As(explained, &hint) && !regionRefused(err) {
					return fmt.Errorf("list trails in %s: %w", region, explained)
				}
				found[i].err = err
				return nil
			}
			for _, t := range out.TrailList {
				tr := trailOf(t)
				if tr.HomeRegion == "" {
					tr.HomeRegion = region
				}
				found[i].trails = append(found[i].trails, tr)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	byARN := map[string]*Trail{}
	for i, region := range regions {
		switch err := found[i].err; {
		case err != nil && regionRefused(err):
			p.Unavailable[region] = fmt.Sprintf("not enabled in this account, or does not accept these credentials (%v)", err)
			continue
		case err != nil && IsAccessDenied(err):
			p.Notes = append(p.Notes, fmt.Sprintf("%s: cannot list trails (the credentials need cloudtrail:DescribeTrails): event history for the whole window", region))
		case err != nil:
			p.Notes = append(p.Notes, fmt.Sprintf("%s: cannot list trails (%v): event history for the whole window", region, err))
		}
		p.Regions = append(p.Regions, region)
		for _, t := range found[i].trails {
			k := t.ARN
			if k == "" {
				k = t.HomeRegion + "/" + t.Name
			}
			if byARN[k] == nil {
				byARN[k] = &t
			}
			byARN[k].Regions = append(byARN[k].Regions, region)
		}
	}
	for _, t := range byARN {
		p.Trails = append(p.Trails, *t)
	}
	sort.Slice(p.Trails, func(i, j int) bool {
		a, b := p.Trails[i], p.Trails[j]
		if a.HomeRegion != b.HomeRegion {
			return a.HomeRegion < b.HomeRegion
		}
		return a.ARN+a.Name < b.ARN+b.Name
	})

	// Trail status (from the home region, by ARN: shadow and organization trails too).
	for i := range p.Trails {
		t := &p.Trails[i]
		name := t.ARN
		if name == "" {
			name = t.Name
		}
		st, err := apis.Trails(t.HomeRegion).GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String(name)})
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			t.StatusError = err.Error()
			if IsAccessDenied(err) {
				t.StatusError = "the credentials need cloudtrail:GetTrailStatus (" + err.Error() + ")"
			}
			p.Notes = append(p.Notes, fmt.Sprintf("trail %s: status unknown (%s): event history too for its regions", t.Name, t.StatusError))
			continue
		}
		t.StatusKnown = true
		t.Logging = aws.ToBool(st.IsLogging)
		t.Started = aws.ToTime(st.StartLoggingTime).UTC()
		t.Stopped = aws.ToTime(st.StopLoggingTime).UTC()
		if t.CustomSelectors {
			p.Notes = append(p.Notes, fmt.Sprintf("trail %s has custom event selectors: it may not log every management event", t.Name))
		}
	}

	// Buckets: one per bucket and prefix, probed with HeadBucket (s3:ListBucket).
	buckets := map[string]*Bucket{}
	for _, t := range p.Trails {
		if t.Bucket == "" {
			continue
		}
		k := t.Bucket + "/" + t.Prefix
		b := buckets[k]
		if b == nil {
			b = &Bucket{Name: t.Bucket, Prefix: t.Prefix}
			buckets[k] = b
			b.Region, err = probeBucket(ctx, apis.S3, t.Bucket, t.HomeRegion)
			switch {
			case err == nil:
				b.Readable = true
			case ctx.Err() != nil:
				return nil, ctx.Err()
			case IsAccessDenied(err) || apiErrorCode(err) == "Forbidden":
				b.Reason = fmt.Sprintf("access denied: the credentials need s3:ListBucket and s3:GetObject on arn:aws:s3:::%s (an organization trail's bucket is often in another account)", t.Bucket)
			case apiErrorCode(err) == "NotFound" || apiErrorCode(err) == "NoSuchBucket":
				b.Reason = "the bucket does not exist (deleted?)"
			default:
				b.Reason = err.Error()
			}
		}
		b.Trails = append(b.Trails, t.Name)
		for _, r := range t.Regions {
			if !slices.Contains(b.Regions, r) {
				b.Regions = append(b.Regions, r)
			}
		}
	}
	readable := map[string]bool{}
	for k, b := range buckets {
		sort.Strings(b.Regions)
		p.Buckets = append(p.Buckets, *b)
		readable[k] = b.Readable
		if !b.Readable {
			p.Notes = append(p.Notes, fmt.Sprintf("%s cannot be read: %s: event history instead", b.URL(), b.Reason))
		}
	}
	sort.Slice(p.Buckets, func(i, j int) bool { return p.Buckets[i].URL() < p.Buckets[j].URL() })

	// Coverage: each region's parts of the window no readable, logging trail covers.
	covered := map[string][]Span{}
	for i := range p.Trails {
		t := &p.Trails[i]
		t.Covers = t.coverage(p.Window)
		if t.Covers.empty() || !readable[t.Bucket+"/"+t.Prefix] {
			continue
		}
		for _, r := range t.Regions {
			covered[r] = append(covered[r], t.Covers)
			p.S3[r] = append(p.S3[r], t.Name)
		}
	}
	for _, r := range p.Regions {
		need := []Span{p.Window}
		for _, c := range covered[r] {
			need = subtract(need, c)
		}
		if len(need) > 0 {
			p.History[r] = need
		}
	}
	if horizon := o.now().Add(-HistoryRetention); from.Before(horizon) && len(p.History) > 0 {
		p.Notes = append(p.Notes, fmt.Sprintf("event history keeps 90 days: it has nothing before %s", horizon.Format(time.RFC3339)))
	}
	sort.Strings(p.Notes)
	return p, nil
}

func (o CollectOptions) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now().UTC()
}

// regionRefused recognises a region that is not enabled for the account.
func regionRefused(err error) bool {
	switch apiErrorCode(err) {
	case "UnrecognizedClientException", "InvalidClientTokenId", "OptInRequired", "AuthFailure":
		return true
	}
	return false
}

func trailOf(t cttypes.Trail) Trail {
	return Trail{
		Name: aws.ToString(t.Name), ARN: aws.ToString(t.TrailARN), HomeRegion: aws.ToString(t.HomeRegion),
		Bucket: aws.ToString(t.S3BucketName), Prefix: aws.ToString(t.S3KeyPrefix),
		MultiRegion: aws.ToBool(t.IsMultiRegionTrail), Organization: aws.ToBool(t.IsOrganizationTrail),
		CustomSelectors: aws.ToBool(t.HasCustomEventSelectors),
	}
}

// coverage is the part of the window the trail's files can hold.
func (t Trail) coverage(window Span) Span {
	if !t.StatusKnown || (!t.Logging && t.Stopped.IsZero()) {
		return Span{}
	}
	c := window
	if !t.Started.IsZero() {
		c.From = latest(c.From, t.Started)
	}
	if !t.Logging {
		if t.Stopped.Before(t.Started) {
			return Span{}
		}
		c.To = earliest(c.To, t.Stopped)
	}
	if c.empty() {
		return Span{}
	}
	return c
}

// probeBucket finds a bucket's region with HeadBucket, asking again in the region S3
// names when the trail's home region is not the bucket's.
func probeBucket(ctx context.Context, s3For func(string) BucketAPI, bucket, home string) (string, error) {
	out, err := s3For(home).HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)})
	if err == nil {
		if r := aws.ToString(out.BucketRegion); r != "" {
			return r, nil
		}
		return home, nil
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.Response != nil {
		if r := re.Response.Header.Get("X-Amz-Bucket-Region"); r != "" && r != home {
			if _, err2 := s3For(r).HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)}); err2 == nil {
				return r, nil
			} else {
				err = err2
			}
		}
	}
	return "", err
}

// Write prints the plan: who, when, where, and which source reads what.
func (p *Plan) Write(w io.Writer, history map[string][]HistoryCursor) {
	fmt.Fprintf(w, "identity:  %s (account %s)\n", queries.DisplayText(p.Arn), queries.DisplayText(p.Account))
	fmt.Fprintf(w, "window:    %s (UTC)\n", p.Window)
	fmt.Fprintf(w, "regions:   %d to read: %s\n", len(p.Regions), strings.Join(p.Regions, ", "))
	if len(p.Trails) == 0 {
		fmt.Fprintln(w, "trails:    none: event history is the only source (management events, 90 days)")
	} else {
		fmt.Fprintln(w, "trails:")
		for _, t := range p.Trails {
			var kind []string
			if t.Organization {
				kind = append(kind, "organization")
			}
			if t.MultiRegion {
				kind = append(kind, "multi-region")
			} else {
				kind = append(kind, "single-region")
			}
			status := "status unknown"
			switch {
			case t.StatusKnown && t.Logging:
				status = "logging since " + fmtTime(t.Started)
			case t.StatusKnown:
				status = "not logging (stopped " + fmtTime(t.Stopped) + ")"
			}
			fmt.Fprintf(w, "  %s (home %s, %s, %d regions): %s", queries.DisplayText(t.Name), queries.DisplayText(t.HomeRegion),
				strings.Join(kind, ", "), len(t.Regions), status)
			if t.Bucket != "" {
				fmt.Fprintf(w, "; %s", queries.DisplayText(Bucket{Name: t.Bucket, Prefix: t.Prefix}.URL()))
			}
			fmt.Fprintln(w)
		}
	}
	for _, b := range p.Buckets {
		if b.Readable {
			fmt.Fprintf(w, "s3:        %s (bucket in %s): this account's files of %d regions\n",
				queries.DisplayText(b.URL()), queries.DisplayText(b.Region), len(b.Regions))
		} else {
			fmt.Fprintf(w, "s3:        %s: not read: %s\n", queries.DisplayText(b.URL()), queries.DisplayText(b.Reason))
		}
	}
	fmt.Fprintln(w, "plan:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  REGION\tSOURCE\tSPAN")
	for _, r := range p.Regions {
		first := r
		row := func(source, span string) {
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", first, source, span)
			first = ""
		}
		for _, name := range p.S3[r] {
			for _, t := range p.Trails {
				if t.Name == name && slices.Contains(t.Regions, r) {
					row("s3 (trail "+queries.DisplayText(name)+")", t.Covers.String())
					break
				}
			}
		}
		if _, ok := p.History[r]; !ok {
			continue
		}
		qs := history[r]
		if len(qs) == 0 {
			row("event history", "already read by an earlier run")
		}
		for _, q := range qs {
			what := "event history"
			if q.Pages > 0 {
				what += fmt.Sprintf(" (resumes after page %d)", q.Pages)
			}
			row(what, Span{q.QueryStart, q.QueryEnd}.String())
		}
	}
	for _, r := range sortedKeys(boolKeys(p.Unavailable)) {
		fmt.Fprintf(tw, "  %s\tnot read\t%s\n", r, queries.DisplayText(p.Unavailable[r]))
	}
	tw.Flush()
	for _, n := range p.Notes {
		fmt.Fprintf(w, "note: %s\n", queries.DisplayText(n))
	}
}

func boolKeys(m map[string]string) map[string]bool {
	out := map[string]bool{}
	for k := range m {
		out[k] = true
	}
	return out
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "?"
	}
	return t.UTC().Format(time.RFC3339)
}

// Sources lists several sources into one ingest at once. A source that fails does not
// stop the others; their errors are returned together.
type Sources []Source

// List runs every source's List.
func (ss Sources) List(ctx context.Context, out chan<- Object) error {
	errs := make([]error, len(ss))
	var wg sync.WaitGroup
	for i, s := range ss {
		wg.Go(func() { errs[i] = s.List(ctx, out) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// ScanWindows gathers the windows of the sources that read S3 windows whole.
func (ss Sources) ScanWindows() []ScanWindow {
	var out []ScanWindow
	for _, s := range ss {
		if w, ok := s.(windowedSource); ok {
			out = append(out, w.ScanWindows()...)
		}
	}
	return out
}

// Listed sums what the sources have listed.
func (ss Sources) Listed() (objects, bytes int64) {
	for _, s := range ss {
		if l, ok := s.(lister); ok {
			o, b := l.Listed()
			objects += o
			bytes += b
		}
	}
	return objects, bytes
}

// ProgressLines joins the sources' progress lines.
func (ss Sources) ProgressLines() []string {
	var lines []string
	for _, s := range ss {
		if l, ok := s.(liner); ok {
			lines = append(lines, l.ProgressLines()...)
		}
	}
	return lines
}

// RegionCoverage is what the store holds for one region's window after collect.
type RegionCoverage struct {
	Region string
	S3     []string // the trails whose files the plan read for it
	// History is the parts of the window the plan read from event history.
	History                        []Span
	S3Span                         Span  // the part of the window the trails' files cover
	Events                         int64 // distinct events in the window
	FromS3, FromHistory, FromFiles int64 // of those, delivered by each source (an event may come from several)
	First, Last                    time.Time
	Skipped                        string // why the region (or part of it) was not read
}

// Collected is what Collect did.
type Collected struct {
	Plan     *Plan
	Summary  Summary
	Coverage []RegionCoverage
}

// Collect plans (MakePlan), prints the plan to w, reads the readable trail buckets and
// event history at once into st, and prints each region's coverage to w.
func Collect(ctx context.Context, st *queries.Store, apis CollectAPIs, o CollectOptions, w io.Writer, log *slog.Logger) (Collected, error) {
	var res Collected
	plan, err := MakePlan(ctx, apis, o, log)
	if err != nil {
		return res, err
	}
	res.Plan = plan
	cursors, err := LoadHistoryCursors(ctx, st.DB)
	if err != nil {
		return res, err
	}
	var histRegions []string
	for r := range plan.History {
		histRegions = append(histRegions, r)
	}
	hist, err := NewHistorySource(apis.Lookup, HistoryOptions{
		Regions: histRegions, Unavailable: plan.Unavailable, From: plan.Window.From, To: plan.Window.To,
		Spans: plan.History, Cursors: cursors, Rate: o.Rate, Profile: o.Profile, Now: o.Now,
	}, log)
	if err != nil {
		return res, err
	}
	plan.Write(w, hist.Queries())
	var srcs Sources
	var s3srcs []*S3Source
	for _, b := range plan.Buckets {
		if !b.Readable || len(b.Regions) == 0 {
			continue
		}
		src := NewS3Source(apis.S3(b.Region), S3Options{Bucket: b.Name, Prefix: b.Prefix,
			From: plan.Window.From, To: plan.Window.To, Accounts: []string{plan.Account}, Regions: b.Regions}, log)
		s3srcs = append(s3srcs, src)
		srcs = append(srcs, src)
	}
	srcs = append(srcs, hist)
	if o.Concurrency <= 0 {
		o.Concurrency = 32
	}
	res.Summary, err = Run(ctx, st, srcs, Options{
		Command: o.Command, Concurrency: o.Concurrency, MaxDecompressed: o.MaxDecompressed, MaxRecord: o.MaxRecord,
		Progress: o.Progress, ProgressWidth: o.ProgressWidth, From: plan.Window.From, To: plan.Window.To, Now: o.Now,
	}, log)
	cov, cerr := coverage(context.WithoutCancel(ctx), st, plan, hist)
	if cerr != nil {
		return res, errors.Join(err, cerr)
	}
	res.Coverage = cov
	WriteCoverage(w, cov)
	return res, err
}

// coverage reads, per region, what the store holds in the plan's window.
func coverage(ctx context.Context, st *queries.Store, plan *Plan, hist *HistorySource) ([]RegionCoverage, error) {
	q, err := queries.Lookup("sources")
	if err != nil {
		return nil, err
	}
	rows, err := q.Run(ctx, st.DB, queries.Params{From: plan.Window.From, To: plan.Window.To})
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	byRegion := map[string]*RegionCoverage{}
	for rows.Next() {
		var c RegionCoverage
		var region *string
		var first, last *time.Time
		if err := rows.Scan(&region, &c.Events, &c.FromS3, &c.FromHistory, &c.FromFiles, &first, &last); err != nil {
			return nil, fmt.Errorf("query coverage: %w", err)
		}
		c.Region = "(none)"
		if region != nil {
			c.Region = *region
		}
		if first != nil {
			c.First, c.Last = first.UTC(), last.UTC()
		}
		byRegion[c.Region] = &c
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query coverage: %w", err)
	}
	get := func(r string) *RegionCoverage {
		if byRegion[r] == nil {
			byRegion[r] = &RegionCoverage{Region: r}
		}
		return byRegion[r]
	}
	for _, r := range plan.Regions {
		c := get(r)
		c.S3 = plan.S3[r]
		for _, t := range plan.Trails {
			if slices.Contains(c.S3, t.Name) && slices.Contains(t.Regions, r) {
				if c.S3Span.empty() {
					c.S3Span = t.Covers
				} else {
					c.S3Span = Span{earliest(c.S3Span.From, t.Covers.From), latest(c.S3Span.To, t.Covers.To)}
				}
			}
		}
		c.History = plan.History[r]
	}
	for r, why := range plan.Unavailable {
		get(r).Skipped = why
	}
	for _, s := range hist.Status() {
		if s.State == "skipped" {
			get(s.Region).Skipped = s.Reason
		}
	}
	keys := make([]string, 0, len(byRegion))
	for r := range byRegion {
		keys = append(keys, r)
	}
	sort.Strings(keys)
	out := make([]RegionCoverage, 0, len(keys))
	for _, r := range keys {
		out = append(out, *byRegion[r])
	}
	return out, nil
}

// WriteCoverage prints, per region, each source with the span it read and the events it
// delivered, then the distinct events stored and the first and last of them.
func WriteCoverage(w io.Writer, cov []RegionCoverage) {
	fmt.Fprintln(w, "coverage (events stored in the window, by awsRegion):")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  REGION\tSOURCE\tSPAN\tEVENTS")
	for _, c := range cov {
		first := queries.DisplayText(c.Region)
		row := func(source, span string, n any) {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%v\n", first, source, span, n)
			first = ""
		}
		if len(c.S3) > 0 {
			row("s3 (trail "+queries.DisplayText(strings.Join(c.S3, ", "))+")", c.S3Span.String(), c.FromS3)
		}
		for i, s := range c.History {
			n := any(c.FromHistory)
			if i > 0 {
				n = "" // counted on the first line
			}
			row("event history", s.String(), n)
		}
		if c.FromFiles > 0 {
			row("files (earlier ingests)", "", c.FromFiles)
		}
		if c.FromS3 > 0 && len(c.S3) == 0 {
			row("s3 (earlier ingests)", "", c.FromS3)
		}
		if c.FromHistory > 0 && len(c.History) == 0 {
			row("event history (earlier runs)", "", c.FromHistory)
		}
		if c.Skipped != "" {
			row("not read", queries.DisplayText(c.Skipped), "")
			if c.Events == 0 {
				continue
			}
		}
		span := "no events"
		if !c.First.IsZero() {
			span = "first " + fmtTime(c.First) + ", last " + fmtTime(c.Last)
		}
		row("all sources (distinct)", span, c.Events)
	}
	tw.Flush()
}
