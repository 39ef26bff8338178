package cmd

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/trailhound/trailhound/ingest"
	"github.com/trailhound/trailhound/lake"
	"github.com/trailhound/trailhound/queries"
	"github.com/trailhound/trailhound/queries/prices"
	"github.com/trailhound/trailhound/viz"
)

type queryOptions struct {
	Keys     []string
	KeyGiven bool // --key was on the command line (possibly empty)
	From, To string
	// The cost queries' own flags.
	Until    string
	Prices   string // "" (trailhound's table), "live", or a file
	Currency string
	Rate     float64
	Given    func(flag string) bool // whether a flag was on the command line
	// Engine is trino://USER@HOST:PORT/CATALOG/SCHEMA: run on Trino over a lake instead of the store.
	Engine string
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

The cost queries (cost, cost-per-hour, cost-total) also take --until (runs with no logged end
count to then; default the last event in the store), --prices FILE or live (default
trailhound's own table of list prices) and --currency with --rate (amounts converted beside
USD; not cost-per-hour).

Each query is a SQL file you can read and run in the duckdb CLI on the same store:
see queries/canned/NAME.sql in the source, or 'trailhound query list'.

--engine trino://USER@HOST:PORT/CATALOG/SCHEMA runs the query on Trino (or Athena's engine)
over a lake written by 'trailhound export parquet' and set up with 'trailhound lake ddl',
instead of on the store, with the same output (trinos:// for HTTPS). A query runs there when
it has a Trino text (queries/trino/NAME.sql; so far: ` + strings.Join(trinoQueries(), ", ") + `); any other
query says so. --key is not checked against the store there. The cost queries take --until,
--currency/--rate and --prices FILE there too (the prices travel with the query as a
parameter; --prices live needs a store).`,
		Example: `  trailhound query list
  trailhound query lineage --key AKIAIOSFODNN7EXAMPLE
  trailhound query timeline --key AKIAIOSFODNN7EXAMPLE --from 2021-11-27 --format csv > timeline.csv
  trailhound query compute-launches --key AKIAIOSFODNN7EXAMPLE --format json
  trailhound query left-running --key AKIAIOSFODNN7EXAMPLE
  trailhound query cost --key AKIAIOSFODNN7EXAMPLE --currency KRW --rate 1180
  trailhound query cost-total --key AKIAIOSFODNN7EXAMPLE --prices live
  trailhound query coverage --from 7d
  trailhound query regions --engine trino://me@trino.example:8080/lake/trailhound`,
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
			opts.Given = c.Flags().Changed
			p, err := queryParams(q, opts, e.now())
			if err != nil {
				return err
			}
			if opts.Engine != "" {
				return runOnEngine(c.Context(), e, q, p, opts, f, out)
			}
			// --prices live keeps the answers in the store: it opens it for writing.
			live := q.Takes("prices") && opts.Prices == "live"
			st, err := queries.Open(c.Context(), e.db, queries.OpenOptions{ReadOnly: !live})
			if err != nil {
				return err
			}
			defer st.Close()
			if p.Keys, err = knownKeys(c.Context(), e, st, p.Keys); err != nil {
				return err
			}
			err = costSetup(c.Context(), e, st, q, &p, opts)
			if err == nil {
				var rows *sql.Rows
				if rows, err = q.Run(c.Context(), st.DB, p); err == nil {
					err = e.writeResult(rows, f, out, wholeHint)
				}
			}
			if queries.IsUntilBeforeFirstLaunch(err) {
				msg := err.Error()
				return usageErrorf("--%s", msg[strings.Index(msg, "until "):])
			}
			return err
		},
	}
	fl := c.Flags()
	fl.StringSliceVar(&opts.Keys, "key", nil, "access key id whose lineage scopes the query (repeat or comma-separate for several)")
	fl.StringVar(&opts.From, "from", "", "only events at or after this time (UTC)")
	fl.StringVar(&opts.To, "to", "", "only events before this time (UTC)")
	fl.StringVar(&opts.Until, "until", "", "cost queries: count runs without a logged end until this time (UTC; default: the last event in the store)")
	fl.StringVar(&opts.Prices, "prices", "", "cost queries: prices from FILE (trailhound's CSV or an AWS bulk offer file, CSV or JSON) or 'live' (the AWS Price List API; cached in the store), over trailhound's own table")
	fl.StringVar(&opts.Currency, "currency", "", "cost queries: also show the amounts in this currency (e.g. KRW; needs --rate)")
	fl.Float64Var(&opts.Rate, "rate", 0, "cost queries: units of --currency per USD (e.g. 1180)")
	fl.StringVar(&opts.Engine, "engine", "", "run on Trino over a lake instead of the store: trino://USER@HOST:PORT/CATALOG/SCHEMA")
	bindOutput(c, &out, true)
	c.AddCommand(newListCmd(e, false))
	return c
}

// trinoQueries names the canned queries that have a Trino text.
func trinoQueries() []string {
	qs, _ := queries.Canned()
	var out []string
	for _, q := range qs {
		if q.Trino != "" {
			out = append(out, q.Name)
		}
	}
	return out
}

// runOnEngine runs q on the Trino engine opts.Engine names, printing as the store's rows print.
func runOnEngine(ctx context.Context, e *env, q queries.Query, p queries.Params, opts queryOptions, f queries.Format, out outputOptions) error {
	if q.Trino == "" {
		return usageErrorf("query %s has no Trino text yet (queries/trino/%s.sql): run it on the store, without --engine "+
			"(on Trino so far: %s)", q.Name, q.Name, strings.Join(trinoQueries(), ", "))
	}
	if q.Takes("prices") {
		// --prices live asks the Price List API for what the store's cost query needs, and caches
		// the answers in the store: there is no store here. A file's prices go to Trino as the
		// store's would, bound as $prices (trailhound's own table when none is given).
		if opts.Prices == "live" {
			return usageErrorf("--prices live is not supported with --engine: use --prices FILE (an AWS bulk offer file or trailhound's CSV)")
		}
		ps, note, err := costPrices(ctx, e, nil, p, opts.Prices)
		if err != nil {
			return err
		}
		p.Prices = ps
		fmt.Fprintf(e.err, "prices: %s\n", queries.DisplayText(note))
	}
	eng, err := lake.OpenEngine(ctx, opts.Engine)
	if err != nil {
		return fmt.Errorf("query %s: %w", q.Name, err)
	}
	defer eng.Close()
	rows, release, err := eng.Run(ctx, q, p)
	if queries.IsUntilBeforeFirstLaunch(err) {
		msg := err.Error()
		return usageErrorf("--%s", strings.TrimRight(msg[strings.Index(msg, "until "):], `"`))
	}
	if err != nil {
		return err
	}
	defer release()
	defer rows.Close()
	return e.writeResult(rows, f, out, wholeHint)
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
	given := opts.Given
	if given == nil {
		given = func(string) bool { return false }
	}
	for _, f := range []struct {
		flag, param string
		set         bool
	}{{"until", "until", opts.Until != ""}, {"prices", "prices", opts.Prices != ""},
		{"currency", "currency", opts.Currency != "" || given("currency")}, {"rate", "rate", given("rate")}} {
		if f.set && !q.Takes(f.param) {
			return p, usageErrorf("query %s takes no --%s", q.Name, f.flag)
		}
	}
	if opts.Until != "" {
		if p.Until, err = queries.ParseTime(opts.Until, now); err != nil {
			return p, usageErrorf("--until: %v", err)
		}
	}
	if opts.Currency != "" || given("rate") {
		if !currencyRE.MatchString(opts.Currency) {
			return p, usageErrorf("--currency %q: want a three-letter code (KRW, EUR) with --rate", opts.Currency)
		}
		if !(opts.Rate > 0) || math.IsInf(opts.Rate, 0) {
			return p, usageErrorf("--rate: want how many %s one USD buys (e.g. --currency KRW --rate 1180)", opts.Currency)
		}
		p.Currency, p.Rate = opts.Currency, opts.Rate
	}
	return p, nil
}

var currencyRE = regexp.MustCompile(`^[A-Z]{3}$`)

// costSetup prepares what the cost queries need: the prices (--prices; said on stderr with
// their source) and, without --until, says which time open-ended runs count to.
func costSetup(ctx context.Context, e *env, st *queries.Store, q queries.Query, p *queries.Params, opts queryOptions) error {
	if q.Takes("prices") {
		ps, note, err := costPrices(ctx, e, st, *p, opts.Prices)
		if err != nil {
			return err
		}
		p.Prices = ps
		fmt.Fprintf(e.err, "prices: %s\n", queries.DisplayText(note))
	}
	if q.Takes("until") && p.Until.IsZero() {
		last, ok, err := queries.LastEvent(ctx, st.DB)
		if err != nil {
			return err
		}
		if ok {
			fmt.Fprintf(e.err, "until: %s, the last event in the store (--until to change): runs without a logged end count to then\n",
				last.Format(time.RFC3339))
		}
	}
	return nil
}

// costPrices loads the price table --prices names, over trailhound's own: nil for the
// store's price_table (no --prices), a file's prices, or the Price List API's (cached in the
// store, asked only for what the cache lacks).
func costPrices(ctx context.Context, e *env, st *queries.Store, p queries.Params, spec string) ([]prices.Price, string, error) {
	own := prices.Embedded()
	switch spec {
	case "":
		return nil, own.Source + " (--prices FILE or live for others)", nil
	case "live":
		needs, err := queries.PriceNeeds(ctx, st.DB, p)
		if err != nil {
			return nil, "", err
		}
		cached, err := queries.CachedPrices(ctx, st.DB)
		if err != nil {
			return nil, "", err
		}
		have := map[prices.Need]bool{}
		for _, c := range cached.Prices {
			have[prices.Need{Service: c.Service, Region: c.Region, Item: c.Item}] = true
			have[prices.Need{Service: c.Service, Region: c.Region}] = true
		}
		var missing []prices.Need
		for _, n := range needs {
			k := n
			if k.Service == "fargate" {
				k.Item = ""
			}
			if (k.Service == "ec2" || k.Service == "fargate") && !have[k] {
				missing = append(missing, n)
			}
		}
		fetched := prices.Table{Name: "live"}
		if len(missing) > 0 {
			cfg, err := ingest.LoadAWSConfig(ctx, ingest.AWSOptions{}, e.log)
			if err != nil {
				return nil, "", err
			}
			fetched, err = prices.Live(ctx, prices.NewClient(cfg), missing, e.now(), e.log)
			if err != nil {
				return nil, "", ingest.ExplainAWSError(err, "")
			}
			if err := queries.CachePrices(ctx, st.DB, fetched.Prices, e.now()); err != nil {
				return nil, "", err
			}
		}
		note := fmt.Sprintf("AWS Price List Query API: %d prices asked now for %d types and regions, %d from the store's cache; then %s",
			len(fetched.Prices), len(missing), len(cached.Prices), own.Source)
		return prices.Merge(fetched, cached, own), note, nil
	}
	t, err := prices.ParseFile(spec)
	if err != nil {
		return nil, "", err
	}
	return prices.Merge(t, own), fmt.Sprintf("%s (%d prices from %s); then %s", t.Source, len(t.Prices), spec, own.Source), nil
}
