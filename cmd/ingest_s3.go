package cmd

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/trailhound/trailhound/ingest"
)

type ingestS3Options struct {
	URL                       string
	From, To                  string
	Accounts, Regions, OrgIDs []string
	Profile, Region, Endpoint string
	Concurrency               int
	MaxDecompressed           int64
	MaxRecord                 int64
}

func newIngestS3Cmd(e *env) *cobra.Command {
	opts := ingestS3Options{}
	c := &cobra.Command{
		Use:   "s3 s3://BUCKET[/PREFIX] --from T [--to T]",
		Short: "Load a trail's S3 bucket: every account, organization and region, for a time window",
		Long: `Load CloudTrail from a trail's S3 bucket for the window [--from, --to).

The layout [PREFIX/]AWSLogs/[o-ORGID/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/ is found by
walking with a "/" delimiter: every account, organization and region found is read (unknown
region names too) unless narrowed with --account, --org-id or --region. Only the day
folders the window needs are listed (plus the delivery lag after --to), and only events
whose eventTime is in the window are stored. us-east-1 carries IAM and STS (global) events:
do not narrow it away. CloudTrail-Digest files of the same days are stored too.

Times: RFC 3339 (2021-11-27T13:00:00Z; without a zone, UTC), a date (2021-11-27, UTC
midnight), or a duration back from now (30min, 36h, 7d, 2w). --to defaults to now.

Credentials come from the standard AWS chain (environment, --profile, SSO, roles).
--endpoint-url, AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL select an S3-compatible server
(path-style). Only ListObjectsV2 and GetObject are called. Objects already read (same key
and ETag) are not fetched again, so an interrupted run resumes.

Exit codes: 0 all read, 3 some prefixes or objects unreadable (e.g. access denied; listed
with the missing permission), 1 failure, 2 usage error, 130 interrupted.`,
		Example: `  trailhound ingest s3 s3://my-trail-bucket --from 2021-11-25 --to 2021-11-29
  trailhound ingest s3 s3://org-trails/cloudtrail --from 7d --org-id o-a1b2c3d4e5 --account 111122223333
  trailhound ingest s3 s3://trail --from 2d --endpoint-url http://127.0.0.1:9000`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			opts.URL = args[0]
			return runIngestS3(c, e, opts)
		},
	}
	f := c.Flags()
	f.StringVar(&opts.From, "from", "", "start of the window (inclusive): RFC 3339, a date, or a duration back from now like 7d (required)")
	f.StringVar(&opts.To, "to", "", "end of the window (exclusive); default now")
	f.StringSliceVar(&opts.Accounts, "account", nil, "read only these account ids (repeatable)")
	f.StringSliceVar(&opts.Regions, "region", nil, "read only these regions (repeatable; keep us-east-1 for IAM/STS events)")
	f.StringSliceVar(&opts.OrgIDs, "org-id", nil, "read only these organization ids of an organization trail (repeatable)")
	f.StringVar(&opts.Profile, "profile", "", "AWS shared config profile")
	f.StringVar(&opts.Region, "aws-region", "", "region for the S3 client (default from the environment or profile)")
	f.StringVar(&opts.Endpoint, "endpoint-url", "", "S3-compatible endpoint, e.g. http://127.0.0.1:9000 (path-style)")
	f.IntVar(&opts.Concurrency, "concurrency", 32, "objects downloaded at once")
	f.Int64Var(&opts.MaxDecompressed, "max-decompressed", ingest.DefaultMaxDecompressed>>20,
		"largest decompressed size of one object, in MiB")
	addMaxRecordFlag(c, &opts.MaxRecord)
	c.MarkFlagRequired("from")
	c.RegisterFlagCompletionFunc("region", completeRegions(false))
	return c
}

func runIngestS3(c *cobra.Command, e *env, o ingestS3Options) error {
	ctx := c.Context()
	bucket, prefix, err := parseS3URL(o.URL)
	if err != nil {
		return usageError{err}
	}
	from, to, err := parseWindow(o.From, o.To, time.Now().UTC())
	if err != nil {
		return err
	}
	if o.Concurrency < 1 || o.MaxDecompressed < 1 || o.MaxRecord < 1 {
		return usageErrorf("--concurrency, --max-decompressed and --max-record must be positive")
	}
	if len(o.Regions) > 0 && !slices.Contains(o.Regions, "us-east-1") {
		e.warnf("us-east-1 is not among --region: IAM and STS (global) events, where new users, keys and sessions show, are logged there")
	}
	cfg, err := ingest.LoadAWSConfig(ctx, ingest.AWSOptions{Profile: o.Profile, Region: o.Region}, e.logger())
	if err != nil {
		return err
	}
	src := ingest.NewS3Source(ingest.NewS3Client(cfg, o.Endpoint, e.getenv), ingest.S3Options{
		Bucket: bucket, Prefix: prefix, From: from, To: to,
		Accounts: o.Accounts, Regions: o.Regions, OrgIDs: o.OrgIDs,
	}, e.logger())
	fmt.Fprintf(e.err, "window: %s to %s (UTC)\n", from.Format(time.RFC3339), to.Format(time.RFC3339))
	_, err = runIngest(ctx, e, src, ingest.Options{
		Command:         "ingest s3 " + o.URL + " --from " + from.Format(time.RFC3339) + " --to " + to.Format(time.RFC3339),
		Concurrency:     o.Concurrency,
		MaxDecompressed: o.MaxDecompressed << 20,
		MaxRecord:       int(o.MaxRecord << 20),
		From:            from, To: to,
	})
	l, st := src.Layout(), src.Stats()
	if len(l.Accounts) > 0 {
		fmt.Fprintf(e.err, "s3 layout:       accounts %s", strings.Join(l.Accounts, ", "))
		if len(l.OrgIDs) > 0 {
			fmt.Fprintf(e.err, " (organization %s)", strings.Join(l.OrgIDs, ", "))
		}
		fmt.Fprintf(e.err, "; %d regions (%s); %d days\n", len(l.Regions), strings.Join(l.Regions, ", "), len(l.Days))
	}
	fmt.Fprintf(e.err, "s3 requests:     %d LIST, %d GET; %d objects (%.1f MiB) in the window, %d skipped by name\n",
		st.ListRequests, st.GetRequests, st.Objects, float64(st.Bytes)/(1<<20), st.OutsideNames)
	return err
}

// parseS3URL splits s3://bucket/prefix.
func parseS3URL(s string) (bucket, prefix string, err error) {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "s3" || u.Host == "" {
		return "", "", fmt.Errorf("%q is not an s3://BUCKET[/PREFIX] URL", s)
	}
	return u.Host, strings.TrimPrefix(u.Path, "/"), nil
}
