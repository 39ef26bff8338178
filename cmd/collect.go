package cmd

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/trailhound/trailhound/ingest"
	"github.com/trailhound/trailhound/queries"
)

type collectOptions struct {
	From, To        string
	Regions         []string
	Profile, Region string
	Rate            float64
	Concurrency     int
	MaxDecompressed int64
	MaxRecord       int64
}

func newCollectCmd(e *env) *cobra.Command {
	opts := collectOptions{}
	c := &cobra.Command{
		Use:   "collect --from T [--to T]",
		Short: "From credentials to a full store: the trails' S3 logs, and event history where no trail covers",
		Long: `Collect everything CloudTrail has on the account for the window [--from, --to), in one command.

1. Who am I: sts:GetCallerIdentity (the identity and account are printed).
2. Which regions: ec2:DescribeRegions (every enabled region, or --region).
3. Which trails: cloudtrail:DescribeTrails in every region, organization and shadow trails
   included; cloudtrail:GetTrailStatus for when each one started and stopped logging; and
   whether each trail's bucket can be read (s3:ListBucket).
4. The plan is printed before anything is read: per region, the trails whose S3 files
   cover it and the parts of the window event history must fill: no trail, a trail that
   started after --from or stopped before --to, a region outside a single-region trail, a
   bucket that cannot be read, a trail whose status is unknown.
5. The S3 files (of this account) and event history are read at once into the store,
   events de-duplicated by eventID; then a coverage summary per region: each source, its
   time span, and the events stored.

Only read calls are made. Event history keeps 90 days of management events and answers 2
requests per second per region, 50 events a request; all regions are read in parallel, so
the busiest region sets the time. Run the same command again after an interrupt: S3 objects
already read and event history already read are not read again.

Times: RFC 3339 (2021-11-27T13:00:00Z; without a zone, UTC), a date (2021-11-27, UTC
midnight), or a duration back from now (30min, 36h, 7d, 2w). --to defaults to now. Credentials come from the standard AWS chain
(environment, --profile, SSO, roles); AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE>
select other endpoints. The minimal IAM policy is in the README.

Exit codes: 0 all read, 3 some regions or objects not read (listed with the reason), 1
failure (e.g. expired credentials, with the fix), 2 usage error, 130 interrupted.`,
		Example: `  trailhound collect --from 2021-11-25
  trailhound --db case.duckdb collect --from 30d --profile victim
  trailhound collect --from 2021-11-25 --to 2021-11-29 --region us-east-1,eu-west-1`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runCollect(c, e, opts) },
	}
	f := c.Flags()
	f.StringVar(&opts.From, "from", "", "start of the window (inclusive): RFC 3339, a date, or a duration back from now like 7d (required)")
	f.StringVar(&opts.To, "to", "", "end of the window (exclusive); default now")
	f.StringSliceVar(&opts.Regions, "region", nil, `regions to read (repeatable, or comma-separated); default "all": every enabled region`)
	f.StringVar(&opts.Profile, "profile", "", "AWS shared config profile")
	f.StringVar(&opts.Region, "aws-region", "", "region for the STS and EC2 calls (default from the environment or profile)")
	f.Float64Var(&opts.Rate, "rate", ingest.HistoryRate, "event-history requests per second per region (CloudTrail allows 2)")
	f.IntVar(&opts.Concurrency, "concurrency", 32, "S3 objects downloaded at once")
	f.Int64Var(&opts.MaxDecompressed, "max-decompressed", ingest.DefaultMaxDecompressed>>20,
		"largest decompressed size of one S3 object, in MiB")
	addMaxRecordFlag(c, &opts.MaxRecord)
	c.MarkFlagRequired("from")
	c.RegisterFlagCompletionFunc("region", completeRegions(true))
	return c
}

func runCollect(c *cobra.Command, e *env, o collectOptions) error {
	ctx := c.Context()
	from, to, err := parseWindow(o.From, o.To, time.Now().UTC())
	if err != nil {
		return err
	}
	if o.Rate <= 0 || o.Concurrency < 1 || o.MaxDecompressed < 1 || o.MaxRecord < 1 {
		return usageErrorf("--rate, --concurrency, --max-decompressed and --max-record must be positive")
	}
	cfg, err := ingest.LoadAWSConfig(ctx, ingest.AWSOptions{Profile: o.Profile, Region: o.Region}, e.logger())
	if err != nil {
		return err
	}
	apis := ingest.NewCollectAPIs(cfg, e.getenv)
	return withIngestStore(ctx, e, int(o.MaxRecord<<20), o.MaxDecompressed<<20, func(st *queries.Store) error {
		res, err := ingest.Collect(ctx, st, apis, ingest.CollectOptions{
			From: from, To: to, Regions: o.Regions, Rate: o.Rate, Profile: o.Profile,
			Command: "collect --from " + from.Format(time.RFC3339) + " --to " + to.Format(time.RFC3339) +
				" --region " + askedRegions(o.Regions),
			Concurrency: o.Concurrency, MaxDecompressed: o.MaxDecompressed << 20, MaxRecord: int(o.MaxRecord << 20),
			Progress: e.progressWriter(), ProgressWidth: e.progressWidth,
			OnPlan: func(p *ingest.Plan, history map[string][]ingest.HistoryCursor) { writePlan(e.err, p, history) },
		}, e.logger())
		if res.Coverage != nil {
			writeCoverage(e.err, res.Coverage)
			printSummary(e.err, e.db, res.Summary)
		}
		return err
	})
}
