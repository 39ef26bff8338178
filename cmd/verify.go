package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/spf13/cobra"

	"github.com/trailhound/trailhound/ingest"
	"github.com/trailhound/trailhound/queries"
	"github.com/trailhound/trailhound/queries/verify"
)

type verifyOptions struct {
	PublicKeys []string
	Profile    string
	out        outputOptions
	format     queries.Format
}

func newVerifyCmd(e *env) *cobra.Command {
	opts := verifyOptions{}
	c := &cobra.Command{
		Use:   "verify [--public-keys FILE]...",
		Short: "Check the stored CloudTrail files against CloudTrail's signed digests: modified, missing, forged",
		Long: `Validate every CloudTrail log file and digest in the store (from ingest files and ingest s3
alike) against CloudTrail's signed, chained digest files, offline: from what ingest recorded
(each file's content hash, each digest's bytes and S3 signature), without reading the files
again. One row per finding goes to stdout, a summary to stderr; the findings are kept in the
store (verify_findings, and each file's verdict in verify_files: query tampered-events
joins them to events).

Tampering or loss:
  modified                     a log file's content does not hash to what its digest lists
  missing                      a log file a digest lists is not in the store, though the store
                               holds the log files delivered around it
  unlisted                     a log file no digest lists, though digests cover its region and time
  trailing-data                a log file with bytes after its gzip stream
  unreadable                   a CloudTrail log file or digest the store could not read
  signature-invalid            a digest whose signature does not verify
  digest-invalid               a digest that is not what CloudTrail writes
  previous-hash-mismatch       a digest's previousDigestHashValue is not the previous digest's hash
  previous-signature-mismatch  a digest's previousDigestSignature is not the previous one's signature
  digest-missing               a hole in a chain: the digest the next one points to is absent
Not checked (no evidence of tampering):
  not-ingested                 log files a digest lists that the ingest did not look for
  unverifiable                 digests whose signature cannot be checked: the newest of a chain
                               copied without its S3 metadata (the signature lives there; the next
                               digest records it for the others), or an unknown public key
  no-digest                    hours of a region with log files that no digest covers
  chain-restart                a new chain after older ones (validation or logging was off)
  digest-moved                 S3 digests read from another place than CloudTrail delivered them
                               to (a copied bucket): their signatures still cover them
  needs-reingest               files read by a trailhound without content hashes: ingest them again

Public keys: --public-keys reads the JSON that 'aws cloudtrail list-public-keys' prints
(repeat it for several regions' keys). Without it, the keys kept in the store are used, and
cloudtrail:ListPublicKeys (read-only, the standard AWS credential chain, AWS_ENDPOINT_URL*
honoured) is called in each region whose digests name a key the store does not have; the
keys are kept, so later runs are offline.

Exit codes: 0 everything verifies (unverifiable digests alone do not fail), 4 tampering or
loss found, 1 failure, 2 usage error.`,
		Example: `  trailhound --db case.duckdb verify
  trailhound verify --public-keys keys-us-east-1.json --public-keys keys-eu-west-3.json
  trailhound verify --format csv > findings.csv
  trailhound query tampered-events --key AKIAIOSFODNN7EXAMPLE`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			f, err := opts.out.parse(c)
			if err != nil {
				return err
			}
			opts.format = f
			return runVerify(c.Context(), e, opts)
		},
	}
	f := c.Flags()
	f.StringArrayVar(&opts.PublicKeys, "public-keys", nil, "JSON of 'aws cloudtrail list-public-keys' (repeatable); no AWS call is made")
	f.StringVar(&opts.Profile, "profile", "", "AWS shared config profile for ListPublicKeys")
	bindOutput(c, &opts.out, true)
	return c
}

func runVerify(ctx context.Context, e *env, o verifyOptions) error {
	vo := verify.Options{KeysGiven: len(o.PublicKeys) > 0, Now: func() time.Time { return e.now().UTC() }}
	for _, p := range o.PublicKeys {
		keys, err := verify.ReadPublicKeysFile(p)
		if err != nil {
			return usageError{err}
		}
		vo.Keys = append(vo.Keys, keys...)
	}
	// AWS is reached only when a digest names a key the store does not have.
	var once sync.Once
	var clients *ingest.CloudTrailClients
	var cfgErr error
	vo.KeyAPI = func(ctx context.Context, region string) (verify.PublicKeysAPI, error) {
		once.Do(func() {
			var cfg aws.Config
			cfg, cfgErr = ingest.LoadAWSConfig(ctx, ingest.AWSOptions{Profile: o.Profile}, e.logger())
			clients = ingest.NewCloudTrailClients(cfg)
		})
		if cfgErr != nil {
			return nil, cfgErr
		}
		return clients.Client(region), nil
	}
	if _, err := os.Stat(e.db); err != nil {
		return fmt.Errorf("no store at %s: load one first with 'trailhound ingest' (or point --db at it)", e.db)
	}
	st, err := queries.Open(ctx, e.db, queries.OpenOptions{}) // read-write: the findings are kept
	if err != nil {
		return err
	}
	defer st.Close()
	sum, verr := verify.Run(ctx, st, vo, e.logger())
	if verr != nil && !errors.Is(verr, verify.ErrTampering) {
		return verr
	}
	q, err := queries.Lookup("integrity")
	if err != nil {
		return err
	}
	rows, err := q.Run(ctx, st.DB, queries.Params{})
	if err != nil {
		return err
	}
	if err := e.writeResult(rows, o.format, o.out, wholeHint); err != nil {
		return err
	}
	printVerifySummary(e.err, sum)
	return verr
}

func printVerifySummary(w io.Writer, s verify.Summary) {
	fmt.Fprintf(w, "digests:         %d checked: %d signatures valid, %d unverifiable, %d invalid\n",
		s.Digests, s.DigestsValid, s.DigestsUnverifiable, s.DigestsInvalid)
	fmt.Fprintf(w, "log files:       %d: %d verified, %d match only unverifiable digests, %d not covered by a digest\n",
		s.LogFiles, s.LogFilesVerified, s.LogFilesUnverified, s.LogFilesNoDigest)
	if s.HistoryPages > 0 || s.OtherFiles > 0 {
		fmt.Fprintf(w, "not checkable:   %d event history pages and %d other files (no digests exist for them)\n", s.HistoryPages, s.OtherFiles)
	}
	if len(s.KeyRegions) > 0 {
		fmt.Fprintf(w, "public keys:     %d fetched with ListPublicKeys (%s) and kept in the store\n", s.KeysFetched, strings.Join(s.KeyRegions, ", "))
	}
	for _, warn := range s.Warnings {
		fmt.Fprintf(w, "warning:         %s\n", queries.DisplayText(warn))
	}
	kinds := make([]string, 0, len(s.Kinds))
	for k := range s.Kinds {
		kinds = append(kinds, k)
	}
	sort.Slice(kinds, func(i, j int) bool {
		if verify.IsTampering(kinds[i]) != verify.IsTampering(kinds[j]) {
			return verify.IsTampering(kinds[i])
		}
		return kinds[i] < kinds[j]
	})
	var parts []string
	for _, k := range kinds {
		parts = append(parts, fmt.Sprintf("%s %d", k, s.Kinds[k]))
	}
	if len(parts) == 0 {
		parts = []string{"none"}
	}
	fmt.Fprintf(w, "findings:        %s\n", strings.Join(parts, ", "))
	switch {
	case s.Tampering > 0:
		fmt.Fprintf(w, "result:          TAMPERING OR LOSS: %d findings (above, and in verify_findings)\n", s.Tampering)
	case s.Digests == 0:
		fmt.Fprintln(w, "result:          nothing verified: the store holds no CloudTrail-Digest files (ingest the trail's CloudTrail-Digest/ folders too)")
	case s.DigestsValid == 0:
		fmt.Fprintln(w, "result:          no tampering found, but no digest signature could be checked (see the unverifiable findings)")
	default:
		fmt.Fprintln(w, "result:          no tampering or loss found")
	}
}
