package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/trailhound/trailhound/ingest"
	"github.com/trailhound/trailhound/ingest/synth"
	"github.com/trailhound/trailhound/queries"
	"github.com/trailhound/trailhound/queries/verify"
)

type demoOptions struct {
	Out           string
	Events        int
	EventsPerFile int
	Seed          uint64
	DuplicateRate float64
	GenerateOnly  bool
	Tamper        bool
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
store of its own, --out/demo.duckdb, and the headline answers for the leaked key are
printed: its lineage, the compute it launched, the IAM changes, what is left running after
the owner's cleanup, what the compute cost at public list prices, and what AWS itself did. The evidence pack for the leaked key (see
'trailhound report') is written to --out/evidence-pack. No AWS account is needed.

The demo writes only under --out: never into --db or TRAILHOUND_DB, which hold real cases.
--out must be empty, new, or an earlier demo's, which is replaced whole (so two seeds never
mix in one store).

The trail's digests are signed and chained as CloudTrail's are, with a published demo key
whose public half is written to --out/public-keys.json (as 'aws cloudtrail list-public-keys'
prints it); the demo verifies the store with it ('trailhound verify'). --tamper changes the
trail after it is written, as an attacker with write access to the bucket would: it drops the
attacker's RunInstances record from its log file in eu-west-3 and deletes another log file,
so that verify has something to find.`,
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
			store := filepath.Join(opts.Out, "demo.duckdb")
			if c.Flags().Changed("db") {
				return usageErrorf("demo writes only under --out (its store is %s), never into --db: drop --db, or choose the directory with --out", store)
			}
			if v := e.getenv("TRAILHOUND_DB"); v != "" {
				fmt.Fprintf(e.err, "note: demo does not use TRAILHOUND_DB (%s): it writes only under --out; its store is %s\n",
					queries.DisplayText(v), store)
			}
			e.db = store
			if err := prepareDemoDir(e, opts.Out); err != nil {
				return err
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
	f.BoolVar(&opts.Tamper, "tamper", false, "tamper with the written trail (a record dropped, a log file deleted) for verify to find")
	return c
}

// demoMarker marks a directory as a demo's, so that a later demo may replace it.
const demoMarker = ".trailhound-demo"

// demoEntries are what a demo writes in its directory.
var demoEntries = []string{"trail", "demo.duckdb", "demo.duckdb.wal", "demo.duckdb.tmp", "evidence-pack", demoMarker}

// prepareDemoDir makes dir ready for a demo: new or empty, or an earlier demo's, whose
// files are removed (a second seed's files would otherwise join the first one's in the
// trail and the store). A directory with other files is refused.
func prepareDemoDir(e *env, dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("demo directory %s: %w", dir, err)
	}
	names := map[string]bool{}
	for _, en := range entries {
		names[en.Name()] = true
	}
	var other []string
	for n := range names {
		if !slices.Contains(demoEntries, n) {
			other = append(other, n)
		}
	}
	slices.Sort(other)
	// An earlier demo's: marked (a demo wrote it), or holding nothing but what a demo
	// writes (a demo before the marker).
	earlier := names[demoMarker] || len(other) == 0
	switch {
	case len(names) == 0:
	case !earlier:
		if len(other) > 3 {
			other = append(other[:3], "…")
		}
		return usageErrorf("--out %s holds other files (%s): the demo writes only into a new or empty directory, or an earlier demo's; choose another --out",
			dir, queries.DisplayText(strings.Join(other, ", ")))
	default:
		fmt.Fprintf(e.err, "replacing the earlier demo in %s\n", queries.DisplayText(dir))
		for _, n := range demoEntries {
			if err := os.RemoveAll(filepath.Join(dir, n)); err != nil {
				return fmt.Errorf("replace the earlier demo: %w", err)
			}
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("demo directory: %w", err)
	}
	marker := "written by trailhound demo: a later demo with this --out replaces trail/, demo.duckdb and evidence-pack/\n"
	if err := os.WriteFile(filepath.Join(dir, demoMarker), []byte(marker), 0o644); err != nil {
		return fmt.Errorf("demo directory: %w", err)
	}
	return nil
}

func runDemo(ctx context.Context, e *env, opts demoOptions) error {
	trail := filepath.Join(opts.Out, "trail")
	m, err := synth.Generate(ctx, trail, synth.Options{
		Seed: opts.Seed, Events: opts.Events, EventsPerFile: opts.EventsPerFile, DuplicateRate: opts.DuplicateRate,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.err, "generated %d records (%d distinct events) in %d log files and %d digest files under %s; the leaked key is %s\n",
		m.Records, m.DistinctEvents, m.Files, m.DigestFiles, trail, m.LeakedKey)
	keys := filepath.Join(opts.Out, "public-keys.json")
	if err := os.WriteFile(keys, synth.PublicKeysJSON(m), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", keys, err)
	}
	if opts.Tamper {
		changed, err := synth.Tamper(trail, m, synth.Tampering{Edit: 1, EditContaining: `"eventName":"RunInstances"`,
			EditRegion: "eu-west-3", Delete: 1, Seed: opts.Seed})
		if err != nil {
			return err
		}
		for _, c := range changed {
			fmt.Fprintf(e.err, "tampered: %s (%s)\n", c.Key, c.Kind)
		}
	}
	if opts.GenerateOnly {
		return nil
	}
	if _, err := runIngest(ctx, e, ingest.NewFiles([]string{trail}, nil, e.logger()),
		ingest.Options{Command: "demo: ingest files " + trail}); err != nil {
		return err
	}
	st, err := queries.Open(ctx, e.db, queries.OpenOptions{}) // read-write: verify records its findings
	if err != nil {
		return err
	}
	defer st.Close()
	w := e.out
	key := m.LeakedKey
	fmt.Fprintf(w, "Synthetic incident in account %s: the leaked key is %s (user %s).\n", m.Account, key, m.LeakedKeyUser)
	self := e.selfCommand()
	fmt.Fprintf(w, "Every answer below is a canned query scoped to the key's lineage: %s --db %s query NAME --key %s\n\n",
		self, shellQuote(e.db), key)
	p := queries.Params{Keys: []string{key}}
	if err := printCanned(ctx, e, st, "lineage", p, "the credentials derived from the leaked key"); err != nil {
		return err
	}
	if err := printComputeSummary(ctx, w, st, p); err != nil {
		return err
	}
	if err := printCanned(ctx, e, st, "iam-changes", p, "identities and privileges the lineage created or changed"); err != nil {
		return err
	}
	if err := printLeftRunning(ctx, w, st, p); err != nil {
		return err
	}
	if err := printCostTotal(ctx, w, st, p); err != nil {
		return err
	}
	if err := printCanned(ctx, e, st, "aws-markers", queries.Params{}, "what AWS itself did (never the attacker)"); err != nil {
		return err
	}
	if err := printIntegrity(ctx, w, e, st, keys); err != nil {
		return err
	}
	pack, err := writePack(ctx, e, st, filepath.Join(opts.Out, "evidence-pack"), p)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "Evidence pack for AWS Support: %s (open %s)\n", pack, filepath.Join(pack, "index.html"))
	fmt.Fprintf(w, "Store: %s. Try: %s --db %s query list\n", e.db, self, shellQuote(e.db))
	if self == goRunCommand {
		fmt.Fprintf(w, "(To type trailhound instead of %s: go install ./cmd/trailhound, with $(go env GOPATH)/bin on your PATH.)\n", goRunCommand)
	}
	return nil
}

// printIntegrity verifies the store against the trail's digests and prints the tampering
// findings, and what the events of the tampered files were.
func printIntegrity(ctx context.Context, w io.Writer, e *env, st *queries.Store, keysFile string) error {
	keys, err := verify.ReadPublicKeysFile(keysFile)
	if err != nil {
		return err
	}
	sum, err := verify.Run(ctx, st, verify.Options{Keys: keys, KeysGiven: true}, e.logger())
	if err != nil && !errors.Is(err, verify.ErrTampering) {
		return err
	}
	fmt.Fprintf(w, "## integrity: the store against CloudTrail's signed digests (%s --db %s verify --public-keys %s)\n",
		e.selfCommand(), shellQuote(e.db), shellQuote(keysFile))
	fmt.Fprintf(w, "  %d of %d digest signatures valid (the newest of each region's chain has its signature only in S3 metadata: unverifiable in a copy)\n",
		sum.DigestsValid, sum.Digests)
	fmt.Fprintf(w, "  %d of %d log files verified, %d match only unverifiable digests\n", sum.LogFilesVerified, sum.LogFiles, sum.LogFilesUnverified)
	if sum.Tampering == 0 {
		fmt.Fprint(w, "  no tampering or loss found\n\n")
		return nil
	}
	rows, err := st.DB.QueryContext(ctx, `SELECT kind, region, object, detail FROM verify_findings WHERE tampering
		ORDER BY kind, region, object`)
	if err != nil {
		return fmt.Errorf("read verify_findings: %w", err)
	}
	if err := e.writeResult(rows, queries.FormatTable, outputOptions{}, "'verify --format json' shows them whole"); err != nil {
		return err
	}
	fmt.Fprintln(w)
	return printCanned(ctx, e, st, "tampered-events", queries.Params{}, "the events those files hold (query tampered-events)")
}

// printCanned prints a canned query's result as a table under a heading.
func printCanned(ctx context.Context, e *env, st *queries.Store, name string, p queries.Params, title string) error {
	q, err := queries.Lookup(name)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.out, "## %s: %s\n", q.Name, title)
	rows, err := q.Run(ctx, st.DB, p)
	if err != nil {
		return err
	}
	if err := e.writeResult(rows, queries.FormatTable, outputOptions{}, "'query NAME --format json' shows them whole"); err != nil {
		return fmt.Errorf("query %s: %w", name, err)
	}
	fmt.Fprintln(e.out)
	return nil
}

// cannedRows runs a canned query and returns its rows as maps from column name to value.
func cannedRows(ctx context.Context, st *queries.Store, name string, p queries.Params) ([]map[string]any, error) {
	q, err := queries.Lookup(name)
	if err != nil {
		return nil, err
	}
	rows, err := q.Run(ctx, st.DB, p)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, fmt.Errorf("query %s: %w", name, err)
	}
	var out []map[string]any
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("query %s: %w", name, err)
		}
		r := map[string]any{}
		for i, c := range cols {
			r[c] = vals[i]
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query %s: %w", name, err)
	}
	return out, nil
}

// tally counts things per label and remembers in which regions.
type tally struct {
	labels  []string
	n       map[string]int64
	failed  map[string]int64
	regions map[string]map[string]bool
	ids     map[string][]string
}

func newTally() *tally {
	return &tally{n: map[string]int64{}, failed: map[string]int64{}, regions: map[string]map[string]bool{}, ids: map[string][]string{}}
}

func (t *tally) add(label, region string, n, failed int64, id string) {
	if _, ok := t.regions[label]; !ok {
		t.labels = append(t.labels, label)
		t.regions[label] = map[string]bool{}
	}
	t.n[label] += n
	t.failed[label] += failed
	if n > 0 {
		t.regions[label][region] = true
	}
	if id != "" {
		t.ids[label] = append(t.ids[label], id)
	}
}

func (t *tally) regionList(label string) string {
	rs := make([]string, 0, len(t.regions[label]))
	for r := range t.regions[label] {
		rs = append(rs, r)
	}
	slices.Sort(rs)
	return strings.Join(rs, " ")
}

// printComputeSummary sums compute-launches over the hours, per service and action.
func printComputeSummary(ctx context.Context, w io.Writer, st *queries.Store, p queries.Params) error {
	rows, err := cannedRows(ctx, st, "compute-launches", p)
	if err != nil {
		return err
	}
	t := newTally()
	for _, r := range rows {
		t.add(fmt.Sprintf("%v %v", r["service"], r["action"]), fmt.Sprint(r["region"]), toInt(r["launched"]), toInt(r["failed"]), "")
	}
	fmt.Fprintln(w, "## compute-launches, summed over the hours: what the lineage started (per hour and region: query compute-launches)")
	for _, l := range t.labels {
		fmt.Fprintf(w, "  %-22s %6d started, %4d failed", l, t.n[l], t.failed[l])
		if rs := t.regionList(l); rs != "" {
			fmt.Fprintf(w, "  in %d regions: %s", len(t.regions[l]), rs)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)
	return nil
}

// printLeftRunning counts left-running per service and type, listing the ids of small groups.
func printLeftRunning(ctx context.Context, w io.Writer, st *queries.Store, p queries.Params) error {
	rows, err := cannedRows(ctx, st, "left-running", p)
	if err != nil {
		return err
	}
	t := newTally()
	for _, r := range rows {
		t.add(fmt.Sprintf("%v %v", r["service"], r["resource_type"]), fmt.Sprint(r["region"]), 1, 0, fmt.Sprint(r["resource_id"]))
	}
	fmt.Fprintln(w, "## left-running: what the lineage created that nothing stopped or deleted (the full checklist: query left-running)")
	if len(t.labels) == 0 {
		fmt.Fprintln(w, "  nothing")
	}
	for _, l := range t.labels {
		fmt.Fprintf(w, "  %-22s %6d in %s\n", l, t.n[l], t.regionList(l))
		if ids := t.ids[l]; len(ids) <= 8 {
			fmt.Fprintf(w, "  %-22s        %s\n", "", queries.DisplayText(strings.Join(ids, " ")))
		}
	}
	fmt.Fprintln(w)
	return nil
}

// printCostTotal prints what the lineage's compute cost: query cost-total's line for AWS Support.
func printCostTotal(ctx context.Context, w io.Writer, st *queries.Store, p queries.Params) error {
	rows, err := cannedRows(ctx, st, "cost-total", p)
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "## cost-total: what the compute cost at public list prices (per region and type: query cost; per hour: query cost-per-hour)")
	for _, r := range rows {
		fmt.Fprintf(w, "  USD %v (range %v to %v); %v resources still running, USD %v per day\n",
			r["usd"], r["usd_low"], r["usd_high"], r["still_running"], r["usd_per_day_running"])
		fmt.Fprintf(w, "  %s\n", queries.DisplayText(fmt.Sprint(r["support_line"])))
	}
	fmt.Fprintln(w)
	return nil
}

func toInt(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case int32:
		return int64(x)
	case float64:
		return int64(x)
	case *big.Int:
		return x.Int64()
	}
	return 0
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
