package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"golang.org/x/sync/errgroup"
)

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
	p.Unavailable = maps.Clone(unavailable)
	if p.Unavailable == nil {
		p.Unavailable = map[string]string{}
	}
	found, err := describeTrails(ctx, apis.Trails, regions, o.Profile)
	if err != nil {
		return nil, err
	}
	p.addTrails(regions, found)
	if err := p.readTrailStatus(ctx, apis.Trails); err != nil {
		return nil, err
	}
	readable, err := p.probeBuckets(ctx, apis.S3)
	if err != nil {
		return nil, err
	}
	p.planHistory(readable, o.now())
	sort.Strings(p.Notes)
	return p, nil
}

// regionTrails is what DescribeTrails said in one region.
type regionTrails struct {
	trails []Trail
	err    error // the region's error, when it does not stop the plan
}

// describeTrails calls DescribeTrails in every region, a few at a time. An error no region
// can get past (expired credentials) ends it; the others are kept per region.
func describeTrails(ctx context.Context, trails func(string) TrailsAPI, regions []string, profile string) ([]regionTrails, error) {
	found := make([]regionTrails, len(regions))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i, region := range regions {
		g.Go(func() error {
			out, err := trails(region).DescribeTrails(gctx, &cloudtrail.DescribeTrailsInput{IncludeShadowTrails: aws.Bool(true)})
			if err != nil {
				var hint *AWSHint
				if explained := ExplainAWSError(err, profile); errors.As(explained, &hint) && !regionRefused(err) {
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
	return found, ctx.Err()
}

// addTrails records the regions read and their trails, one entry per trail (by ARN) with
// every region whose DescribeTrails lists it.
func (p *Plan) addTrails(regions []string, found []regionTrails) {
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
}

// readTrailStatus asks each trail's status from its home region, by ARN (shadow and
// organization trails too).
func (p *Plan) readTrailStatus(ctx context.Context, trails func(string) TrailsAPI) error {
	for i := range p.Trails {
		t := &p.Trails[i]
		name := t.ARN
		if name == "" {
			name = t.Name
		}
		st, err := trails(t.HomeRegion).GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String(name)})
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
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
	return nil
}

// probeBuckets finds the trails' buckets, one per bucket and prefix, and probes each with
// HeadBucket (s3:ListBucket); it returns which of them (bucket/prefix) can be read.
func (p *Plan) probeBuckets(ctx context.Context, s3For func(string) BucketAPI) (map[string]bool, error) {
	buckets := map[string]*Bucket{}
	for _, t := range p.Trails {
		if t.Bucket == "" {
			continue
		}
		k := t.Bucket + "/" + t.Prefix
		b := buckets[k]
		if b == nil {
			var err error
			b = &Bucket{Name: t.Bucket, Prefix: t.Prefix}
			buckets[k] = b
			b.Region, err = probeBucket(ctx, s3For, t.Bucket, t.HomeRegion)
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
	return readable, nil
}

// planHistory gives each region's parts of the window that no readable, logging trail
// covers to event history.
func (p *Plan) planHistory(readable map[string]bool, now time.Time) {
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
	if horizon := now.Add(-HistoryRetention); p.Window.From.Before(horizon) && len(p.History) > 0 {
		p.Notes = append(p.Notes, fmt.Sprintf("event history keeps 90 days: it has nothing before %s", horizon.Format(time.RFC3339)))
	}
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
