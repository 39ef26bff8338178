package cmd

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/trailhound/trailhound/ingest"
	"github.com/trailhound/trailhound/queries"
)

type ingestHistoryOptions struct {
	From, To        string
	Regions         []string
	Profile, Region string
	Rate            float64
}

func newIngestHistoryCmd(e *env) *cobra.Command {
	opts := ingestHistoryOptions{}
	c := &cobra.Command{
		Use:   "history --from T [--to T] [--region R|all]...",
		Short: "Load CloudTrail event history (LookupEvents) from every enabled region, for a time window",
		Long: `Load CloudTrail event history (the LookupEvents API: the last 90 days of management
events, kept by CloudTrail in every region even without a trail) for the window [--from, --to).

Every enabled region (found with ec2:DescribeRegions) is read at once, one worker per
region, each held to 2 requests per second (CloudTrail's limit, per account and region) by
a token bucket that every HTTP attempt passes, the SDK's retries included. Throttling is
expected and retried; it is not an error. Each page holds 50 events, so a region with
30,000 events takes about 5 minutes; all regions together take as long as the busiest.

The raw CloudTrailEvent is stored as the record, de-duplicated by eventID with events from
S3 or files, and its origin is "event history, REGION" (view event_origins). Where each
region's query stands is saved in the store with the events it follows: an interrupted run
resumes where it stopped, and a later run reads only what no run has read yet.

Times: RFC 3339 (2021-11-27T13:00:00Z; without a zone, UTC), a date (2021-11-27, UTC
midnight), or a duration back from now (30min, 36h, 7d, 2w). --to defaults to now. Credentials come from the standard AWS chain
(environment, --profile, SSO, roles); AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_CLOUDTRAIL /
_EC2 select other endpoints. Only ec2:DescribeRegions and cloudtrail:LookupEvents are called.

Exit codes: 0 all read, 3 some regions not read (denied, or not enabled; listed with the
reason), 1 failure (e.g. expired credentials, with the fix), 2 usage error, 130 interrupted.`,
		Example: `  trailhound ingest history --from 2021-11-25 --to 2021-11-29
  trailhound ingest history --from 7d --region us-east-1 --region eu-west-1
  trailhound --db case.duckdb ingest history --from 30d --profile victim`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runIngestHistory(c, e, opts) },
	}
	f := c.Flags()
	f.StringVar(&opts.From, "from", "", "start of the window (inclusive): RFC 3339, a date, or a duration back from now like 7d (required)")
	f.StringVar(&opts.To, "to", "", "end of the window (exclusive); default now")
	f.StringSliceVar(&opts.Regions, "region", nil, `regions to read (repeatable, or comma-separated); default "all": every enabled region`)
	f.StringVar(&opts.Profile, "profile", "", "AWS shared config profile")
	f.StringVar(&opts.Region, "aws-region", "", "region for the EC2 DescribeRegions call (default from the environment or profile)")
	f.Float64Var(&opts.Rate, "rate", ingest.HistoryRate, "LookupEvents requests per second per region (CloudTrail allows 2)")
	c.MarkFlagRequired("from")
	c.RegisterFlagCompletionFunc("region", completeRegions(true))
	return c
}

func runIngestHistory(c *cobra.Command, e *env, o ingestHistoryOptions) error {
	ctx := c.Context()
	from, to, err := parseWindow(o.From, o.To, time.Now().UTC())
	if err != nil {
		return err
	}
	if o.Rate <= 0 {
		return usageErrorf("--rate must be positive")
	}
	cfg, err := ingest.LoadAWSConfig(ctx, ingest.AWSOptions{Profile: o.Profile, Region: o.Region}, e.logger())
	if err != nil {
		return err
	}
	apis := ingest.NewCollectAPIs(cfg, e.getenv)
	regions, unavailable, err := ingest.ResolveRegions(ctx, apis.Regions, o.Regions, e.logger())
	if err != nil {
		return err
	}
	return withIngestStore(ctx, e, 0, 0, func(st *queries.Store) error {
		cursors, err := ingest.LoadHistoryCursors(ctx, st.DB)
		if err != nil {
			return err
		}
		src, err := ingest.NewHistorySource(apis.Lookup, ingest.HistoryOptions{
			Regions: regions, Unavailable: unavailable, From: from, To: to, Cursors: cursors,
			Rate: o.Rate, Profile: o.Profile,
		}, e.logger())
		if err != nil {
			return err
		}
		w := src.Window()
		fmt.Fprintf(e.err, "window:    %s (UTC)\n", w)
		fmt.Fprintf(e.err, "regions:   %d: %s\n", len(regions), strings.Join(regions, ", "))
		if horizon := time.Now().UTC().Add(-ingest.HistoryRetention); w.From.Before(horizon) && e.logs(slog.LevelWarn) {
			fmt.Fprintf(e.err, "note:      event history keeps 90 days: it has nothing before %s\n", horizon.Format(time.RFC3339))
		}
		_, err = runIngestIn(ctx, e, st, src, ingest.Options{
			Command: "ingest history --from " + w.From.Format(time.RFC3339) + " --to " + w.To.Format(time.RFC3339) +
				" --region " + askedRegions(o.Regions),
			From: w.From, To: w.To,
		})
		fmt.Fprintln(e.err, "event history:")
		writeHistoryStatus(e.err, src.Status())
		return err
	})
}

// askedRegions is how the regions were asked for, for the record of the run.
func askedRegions(asked []string) string {
	if len(asked) == 0 {
		return "all"
	}
	return strings.Join(asked, ",")
}
