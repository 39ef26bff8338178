package ingest

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"

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
	// OnPlan, if set, is handed the plan and each region's event-history queries (an
	// earlier run's unfinished ones resumed) before anything is read: the command prints
	// them.
	OnPlan func(p *Plan, history map[string][]HistoryCursor)
}

// Collected is what Collect did.
type Collected struct {
	Plan     *Plan
	Summary  Summary
	Coverage []RegionCoverage
}

// Collect plans (MakePlan), hands the plan to o.OnPlan, reads the readable trail buckets and
// event history at once into st, and returns the plan, the ingest's summary and what the
// store then holds for each region's window (the coverage, also after an error or an
// interrupt).
func Collect(ctx context.Context, st *queries.Store, apis CollectAPIs, o CollectOptions, log *slog.Logger) (Collected, error) {
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
	if o.OnPlan != nil {
		o.OnPlan(plan, hist.Queries())
	}
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
	return res, err
}
