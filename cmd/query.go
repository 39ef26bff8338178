package cmd

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/trailhound/trailhound/queries"
)

type queryOptions struct {
	Keys     []string
	KeyGiven bool // --key was on the command line (possibly empty)
	From, To string
	Format   string
}

func newQueryCmd(e *env) *cobra.Command {
	opts := queryOptions{}
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

Each query is a SQL file you can read and run in the duckdb CLI on the same store:
see queries/NAME.sql in the source, or 'trailhound query list'.`,
		Example: `  trailhound query list
  trailhound query lineage --key AKIAIOSFODNN7EXAMPLE
  trailhound query timeline --key AKIAIOSFODNN7EXAMPLE --from 2021-11-27 --format csv > timeline.csv
  trailhound query compute-launches --key AKIAIOSFODNN7EXAMPLE --format json
  trailhound query left-running --key AKIAIOSFODNN7EXAMPLE
  trailhound query coverage --from 7d`,
		Args: cobra.ExactArgs(1),
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			qs, _ := queries.Canned()
			var names []string
			for _, q := range qs {
				names = append(names, q.Name)
			}
			return names, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(c *cobra.Command, args []string) error {
			q, err := queries.Lookup(args[0])
			if err != nil {
				return usageErrorf("%v (trailhound query list shows the queries)", err)
			}
			f, err := queries.ParseFormat(opts.Format)
			if err != nil {
				return usageError{err}
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
			missing, err := queries.MissingKeys(c.Context(), st.DB, p.Keys)
			if err != nil {
				return err
			}
			for _, k := range missing {
				fmt.Fprintf(e.err, "warning: key %s appears in no event of %s\n", queries.DisplayText(k), e.db)
			}
			rows, err := q.Run(c.Context(), st.DB, p)
			if err != nil {
				return err
			}
			_, err = queries.WriteRows(e.out, f, rows)
			return err
		},
	}
	fl := c.Flags()
	fl.StringSliceVar(&opts.Keys, "key", nil, "access key id whose lineage scopes the query (repeat or comma-separate for several)")
	fl.StringVar(&opts.From, "from", "", "only events at or after this time (UTC)")
	fl.StringVar(&opts.To, "to", "", "only events before this time (UTC)")
	fl.StringVarP(&opts.Format, "format", "f", "table", "output format: "+strings.Join(queries.Formats(), ", "))
	c.AddCommand(newQueryListCmd(e))
	return c
}

func newQueryListCmd(e *env) *cobra.Command {
	var format string
	c := &cobra.Command{
		Use:   "list",
		Short: "List the canned queries: name, description, parameters",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			f, err := queries.ParseFormat(format)
			if err != nil {
				return usageError{err}
			}
			return queries.WriteList(c.Context(), e.out, f)
		},
	}
	c.Flags().StringVarP(&format, "format", "f", "table", "output format: "+strings.Join(queries.Formats(), ", "))
	return c
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
