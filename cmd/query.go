package cmd

import (
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/trailhound/trailhound/queries"
	"github.com/trailhound/trailhound/viz"
)

type queryOptions struct {
	Keys     []string
	KeyGiven bool // --key was on the command line (possibly empty)
	From, To string
}

func newQueryCmd(e *env) *cobra.Command {
	opts := queryOptions{}
	var out outputOptions
	c := &cobra.Command{
		Use:   "query NAME",
		Short: "Run a canned query: the attacker's lineage, timeline, IAM changes, compute, what is left running",
		Long: `Run a canned query on the store ('trailhound query list' shows them all).

With --key, a query is scoped to that key's lineage: the key, the session keys and
access keys minted from it, the keys and console sessions of users it created, and so
on recursively ('trailhound query lineage --key AKIA...' shows them and how each came
to be). Without --key, a query covers the whole store. --from and --to bound the events
to [from, to), in UTC: RFC 3339 (2021-11-27T13:00:00Z; without a zone, UTC, so the
page's "2021-11-27 13:00:00 UTC" works too), a date (2021-11-27), or a duration back from
now (30min, 12h, 7d, 2w; "m" alone is refused: minutes or months?).

A --key that appears in no event of the store is left out with a warning; when no key is
left, the query fails (exit 2) rather than answer for nothing.

Table cells wider than --max-width are cut and end in …; --format json or csv shows them
whole. In table and markdown output NULL reads NULL, and the text 'NULL' reads "NULL".

Each query is a SQL file you can read and run in the duckdb CLI on the same store:
see queries/NAME.sql in the source, or 'trailhound query list'.`,
		Example: `  trailhound query list
  trailhound query lineage --key AKIAIOSFODNN7EXAMPLE
  trailhound query timeline --key AKIAIOSFODNN7EXAMPLE --from 2021-11-27 --format csv > timeline.csv
  trailhound query compute-launches --key AKIAIOSFODNN7EXAMPLE --format json
  trailhound query left-running --key AKIAIOSFODNN7EXAMPLE
  trailhound query coverage --from 7d`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeQueries(false),
		RunE: func(c *cobra.Command, args []string) error {
			q, err := queries.Lookup(args[0])
			if err != nil {
				return usageErrorf("%v (trailhound query list shows the queries)", err)
			}
			f, err := out.parse(c)
			if err != nil {
				return err
			}
			opts.KeyGiven = c.Flags().Changed("key")
			p, err := queryParams(q, opts, e.now())
			if err != nil {
				return err
			}
			st, err := queries.Open(c.Context(), e.db, queries.OpenOptions{ReadOnly: true})
			if err != nil {
				return err
			}
			defer st.Close()
			if p.Keys, err = knownKeys(c.Context(), e, st, p.Keys); err != nil {
				return err
			}
			rows, err := q.Run(c.Context(), st.DB, p)
			if err != nil {
				return err
			}
			return e.writeResult(rows, f, out, wholeHint)
		},
	}
	fl := c.Flags()
	fl.StringSliceVar(&opts.Keys, "key", nil, "access key id whose lineage scopes the query (repeat or comma-separate for several)")
	fl.StringVar(&opts.From, "from", "", "only events at or after this time (UTC)")
	fl.StringVar(&opts.To, "to", "", "only events before this time (UTC)")
	bindOutput(c, &out, true)
	c.AddCommand(newListCmd(e, false))
	return c
}

// newListCmd is 'trailhound query list' and, with charts, 'trailhound chart list': the same
// columns (name, description, parameters, chart) and formats.
func newListCmd(e *env, charts bool) *cobra.Command {
	var out outputOptions
	c := &cobra.Command{
		Use:   "list",
		Short: "List the canned queries: name, description, parameters, chart",
		Long: `List the canned queries, one a row: name, description, parameters (keys, from, to, or
none) and the kind of chart it draws ('trailhound chart NAME'), empty for a query that draws
none. 'trailhound chart list' lists the charts alone, with the same columns. Needs no store.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			f, err := out.parse(c)
			if err != nil {
				return err
			}
			return viz.WriteList(e.out, f, charts)
		},
	}
	if charts {
		c.Short = "List the charts: name, description, parameters, chart"
	}
	bindOutput(c, &out, false)
	return c
}

// completeQueries completes a canned query's name (with charts, a chart's).
func completeQueries(charts bool) cobra.CompletionFunc {
	return func(_ *cobra.Command, args []string, prefix string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var names []string
		if charts {
			list, _ := viz.ListCharts()
			for _, ch := range list {
				names = append(names, ch.Name)
			}
		} else {
			qs, _ := queries.Canned()
			for _, q := range qs {
				names = append(names, q.Name)
			}
		}
		return withPrefix(names, prefix), cobra.ShellCompDirectiveNoFileComp
	}
}

// queryParams checks the flags against what q takes and parses the times.
func queryParams(q queries.Query, opts queryOptions, now time.Time) (queries.Params, error) {
	var p queries.Params
	for _, k := range opts.Keys {
		if k = strings.TrimSpace(k); k != "" {
			p.Keys = append(p.Keys, k)
		}
	}
	if opts.KeyGiven && len(p.Keys) == 0 {
		return p, usageErrorf("--key is empty")
	}
	if len(p.Keys) > 0 && !q.Takes("keys") {
		return p, usageErrorf("query %s takes no --key: it covers the whole store", q.Name)
	}
	var err error
	p.From, p.To, err = parseTimes(opts.From, opts.To, now, func(flag string) error {
		if !q.Takes(flag) {
			return usageErrorf("query %s takes no --%s", q.Name, flag)
		}
		return nil
	})
	if err != nil {
		return p, err
	}
	return p, nil
}
