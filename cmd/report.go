package cmd

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/trailhound/trailhound/queries"
	"github.com/trailhound/trailhound/viz"
)

func newReportCmd(e *env) *cobra.Command {
	var scope queryOptions
	var out string
	c := &cobra.Command{
		Use:   "report --key AKIA... [--from T] [--to T] [--until T] [--prices FILE|live] [--currency C --rate R] --out DIR",
		Short: "Write the evidence pack for a leaked key: page, charts, tables, answers for AWS Support",
		Long: `Write the evidence pack for a leaked access key into DIR: the key's lineage (the key and
every credential derived from it), as files you can attach to an AWS Support case and open
years later with no network:

  index.html      one self-contained page: "Do this now" (the steps to take, in order, each
                  linking to its evidence), what is still there, a summary in plain words,
                  the charts, the tables
  answers.md      the same "Do this now", then AWS Support's checklist (IAM users, access keys, login profiles, policies,
                  roles, temporary credentials, usage in every region), and what else a
                  victim must know (stolen session keys, data read or changed, resources
                  made public or shared, permission brute-forcing, what it cost, whether
                  the logs verified, techniques observed), answered with evidence
  data/*.csv      every table, also as data/*.jsonl; data/lineage-events.jsonl holds the
                  lineage's CloudTrail records whole, one per line
  manifest.json   tool version, command line, who ran it and when, the CloudTrail files the
                  store was loaded from with their SHA-256 and the last verify's verdict on
                  each, and the SHA-256 of every file here

"What it cost" prices what the lineage launched as query cost does: --until (runs with no
logged end count to then; default the last event in the store), --prices FILE or live
(default trailhound's own table), --currency with --rate (amounts beside USD).
The integrity section reports the last 'trailhound verify' on the store; the pack does
not run verify (it only reads the store): run it first to have the files checked.
"Techniques observed" runs trailhound's built-in detection rules over the lineage's events.

Session tokens and other secrets are redacted in every file (the store keeps the originals).
DIR is replaced if it holds an earlier pack; a DIR with other files in it is refused.
A --key that appears in no event of the store is left out with a warning; when no key is
left, nothing is written (exit 2).`,
		Example: `  trailhound report --key AKIAIOSFODNN7EXAMPLE --out evidence
  trailhound report --key AKIAIOSFODNN7EXAMPLE --currency KRW --rate 1180 --out evidence
  trailhound report --key AKIAIOSFODNN7EXAMPLE --from 2026-11-01 --out evidence`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			p, err := scopeParams(scope, e.now())
			if err != nil {
				return err
			}
			if len(p.Keys) == 0 {
				return usageErrorf("--key is required: the leaked access key")
			}
			costQ, err := queries.Lookup("cost-total")
			if err != nil {
				return err
			}
			scope.Given = c.Flags().Changed
			cp, err := queryParams(costQ, queryOptions{Until: scope.Until, Prices: scope.Prices, Currency: scope.Currency,
				Rate: scope.Rate, Given: scope.Given}, e.now())
			if err != nil {
				return err
			}
			p.Until, p.Currency, p.Rate = cp.Until, cp.Currency, cp.Rate
			// --prices live keeps the answers in the store: it opens it for writing.
			st, err := queries.Open(c.Context(), e.db, queries.OpenOptions{ReadOnly: scope.Prices != "live"})
			if err != nil {
				return err
			}
			defer st.Close()
			if p.Keys, err = knownKeys(c.Context(), e, st, p.Keys); err != nil {
				return err
			}
			if scope.Prices != "" {
				ps, note, err := costPrices(c.Context(), e, st, p, scope.Prices)
				if err != nil {
					return err
				}
				p.Prices = ps
				fmt.Fprintf(e.err, "prices: %s\n", queries.DisplayText(note))
			}
			dir, err := writePack(c.Context(), e, st, out, p)
			if queries.IsUntilBeforeFirstLaunch(err) {
				msg := err.Error()
				return usageErrorf("--%s", msg[strings.Index(msg, "until "):])
			}
			if err != nil {
				return err
			}
			fmt.Fprintln(e.out, dir)
			return nil
		},
	}
	bindScope(c.Flags(), &scope, "the leaked access key; its lineage is followed")
	c.Flags().StringVarP(&out, "out", "o", "evidence-pack", "the directory to write")
	c.Flags().StringVar(&scope.Until, "until", "", "what it cost: count runs without a logged end until this time (UTC; default: the last event in the store)")
	c.Flags().StringVar(&scope.Prices, "prices", "", "what it cost: prices from FILE (trailhound's CSV or an AWS bulk offer file) or 'live' (the AWS Price List API; cached in the store), over trailhound's own table")
	c.Flags().StringVar(&scope.Currency, "currency", "", "what it cost: also show the amounts in this currency (e.g. KRW; needs --rate)")
	c.Flags().Float64Var(&scope.Rate, "rate", 0, "what it cost: units of --currency per USD (e.g. 1180)")
	c.MarkFlagDirname("out")
	return c
}

// writePack writes the evidence pack for p from st into dir, says on stderr how it went, and
// returns the directory.
func writePack(ctx context.Context, e *env, st *queries.Store, dir string, p queries.Params) (string, error) {
	start := time.Now()
	store, err := filepath.Abs(st.Path)
	if err != nil {
		store = st.Path
	}
	res, err := viz.WritePack(ctx, st.DB, viz.PackOptions{
		Dir: dir, Params: p, Version: version(), Command: append([]string{"trailhound"}, e.args...),
		RunBy: e.runBy(), RunAt: e.now().UTC().Truncate(time.Second), StorePath: store,
	}, e.logger())
	if err != nil {
		return "", err
	}
	if res.Events == 0 {
		e.warnf("no event of the lineage in this window: the pack says so")
	}
	if len(res.Missing) > 0 {
		e.warnf("evidence pack: not in this build of trailhound, listed as not available: %s", strings.Join(res.Missing, ", "))
	}
	fmt.Fprintf(e.err, "evidence pack: %d files in %s (%.1fs); open %s\n", len(res.Files)+1, res.Dir,
		time.Since(start).Seconds(), filepath.Join(res.Dir, "index.html"))
	return res.Dir, nil
}
