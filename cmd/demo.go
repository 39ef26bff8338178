package cmd

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/trailhound/trailhound/ingest"
	"github.com/trailhound/trailhound/ingest/synth"
	"github.com/trailhound/trailhound/queries"
)

type demoOptions struct {
	Out           string
	Events        int
	EventsPerFile int
	Seed          uint64
	DuplicateRate float64
	GenerateOnly  bool
}

func newDemoCmd(e *env) *cobra.Command {
	opts := demoOptions{}
	c := &cobra.Command{
		Use:   "demo",
		Short: "Generate a synthetic leaked-key incident, ingest it, and show what trailhound finds",
		Long: `Generate a realistic synthetic incident, modelled on real leaked-key cases: the owner's
normal use, then an attacker who validates the key, creates IAM users and keys to stay in,
launches c5.xlarge instances in every region within half an hour and runs ECS/Fargate
tasks in many regions for two days, over background noise from AWS services.

It is written as a real CloudTrail S3 tree of .json.gz files under --out, ingested into a
store (--out/demo.duckdb unless --db is given), and the headline findings are printed. The
evidence pack for the leaked key (see 'trailhound report') is written to --out/evidence-pack.
No AWS account is needed.`,
		Example: `  trailhound demo
  trailhound demo --out /tmp/incident --events 200000`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if opts.Events <= 0 || opts.EventsPerFile <= 0 {
				return usageErrorf("--events and --events-per-file must be positive")
			}
			if opts.DuplicateRate < 0 || opts.DuplicateRate >= 1 {
				return usageErrorf("--duplicates must be in [0, 1)")
			}
			if !c.Flags().Changed("db") && e.getenv("TRAILHOUND_DB") == "" {
				e.db = filepath.Join(opts.Out, "demo.duckdb")
			}
			return runDemo(c.Context(), e, opts)
		},
	}
	f := c.Flags()
	f.StringVar(&opts.Out, "out", "trailhound-demo", "directory for the generated CloudTrail tree, the store and the evidence pack")
	f.IntVar(&opts.Events, "events", 20000, "approximate number of CloudTrail records to generate")
	f.IntVar(&opts.EventsPerFile, "events-per-file", 30, "approximate records per delivery file")
	f.Uint64Var(&opts.Seed, "seed", 1, "random seed: the same seed gives the same files")
	f.Float64Var(&opts.DuplicateRate, "duplicates", 0.01, "fraction of records CloudTrail delivers twice")
	f.BoolVar(&opts.GenerateOnly, "generate-only", false, "write the tree and stop (for benchmarks)")
	return c
}

func runDemo(ctx context.Context, e *env, opts demoOptions) error {
	trail := filepath.Join(opts.Out, "trail")
	m, err := synth.Generate(ctx, trail, synth.Options{
		Seed: opts.Seed, Events: opts.Events, EventsPerFile: opts.EventsPerFile, DuplicateRate: opts.DuplicateRate,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.err, "generated %d records (%d distinct events) in %d log files and %d digest files under %s\n",
		m.Records, m.DistinctEvents, m.Files, m.DigestFiles, trail)
	if opts.GenerateOnly {
		return nil
	}
	if err := runIngest(ctx, e, "demo: ingest files "+trail, ingest.Files{Paths: []string{trail}},
		ingest.DefaultMaxDecompressed); err != nil {
		return err
	}
	st, err := queries.Open(ctx, e.db, queries.OpenOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer st.Close()
	w := e.out
	fmt.Fprintf(w, "Synthetic incident in account %s: the leaked key is %s (user %s).\n\n", m.Account, m.LeakedKey, m.LeakedKeyUser)
	for _, name := range []string{"iam_changes", "compute_by_region", "overview"} {
		if err := printCanned(ctx, w, st, name); err != nil {
			return err
		}
	}
	pack, err := writePack(ctx, e, st, filepath.Join(opts.Out, "evidence-pack"), queries.Params{Keys: []string{m.LeakedKey}})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "Evidence pack for AWS Support: %s (open %s)\n", pack, filepath.Join(pack, "index.html"))
	fmt.Fprintf(w, "Store: %s. Try: trailhound --db %s sql \"SELECT event_name, count(*) FROM events GROUP BY ALL ORDER BY 2 DESC\"\n",
		e.db, shellQuote(e.db))
	return nil
}

func printCanned(ctx context.Context, w io.Writer, st *queries.Store, name string) error {
	q, err := queries.Lookup(name)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "## %s: %s\n", q.Name, q.Description)
	rows, err := q.Run(ctx, st.DB, queries.Params{})
	if err != nil {
		return err
	}
	if _, err := queries.WriteRows(w, queries.FormatTable, rows); err != nil {
		return fmt.Errorf("query %s: %w", name, err)
	}
	fmt.Fprintln(w)
	return nil
}

// shellQuote quotes a path for the example command line when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
