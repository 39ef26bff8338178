package cmd

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/trailhound/trailhound/queries"
	"github.com/trailhound/trailhound/queries/sigma"
)

type detectOptions struct {
	scope     queryOptions
	rules     []string
	noBuiltin bool
	level     string
	format    string
}

// detectMemoryLimit caps DuckDB's memory for a detect run: without it the buffer pool keeps
// every block of the records it read (1M events: 2.5 GB RSS; with it 1.5 GB, same CPU time,
// same findings); sorts larger than that spill to the store's .tmp directory.
const detectMemoryLimit = "1GB"

func newDetectCmd(e *env) *cobra.Command {
	opts := detectOptions{}
	c := &cobra.Command{
		Use:   "detect",
		Short: "Run Sigma detection rules over the store: trailhound's own for a leaked key, and any you point at",
		Long: `Run Sigma rules (https://sigmahq.io) over the store: trailhound's own rules for a leaked
access key (built in: identities, keys and passwords created, admin policies, trust policies
opened to other accounts, compute in many regions, quotas hit, key validation, logging
disabled, data made public or shared, permission brute force, stolen instance credentials),
and the rules of every --rules file or folder (for instance a copy of SigmaHQ's
rules/cloud/aws/cloudtrail). Each rule runs as one SQL statement inside DuckDB.

One row per rule and event it matched: rule_id, title, level, tags (ATT&CK tactics and
techniques), author (the rule's author: SigmaHQ's rules are under the Detection Rule
License, which asks that every match shows it), event_id, variant (0; 1, 2... for records
that share an eventID with other content: see query conflicts), event_time, region,
event_name, access_key_id, source_ip. A correlation rule (event_count, value_count, temporal) lists
every event of the windows that met its condition.

With --key, the rules run over that key's lineage as the canned queries have it
('trailhound query lineage --key K'); without, over the whole store. --from and --to bound
the events to [from, to), UTC. --level drops rules below a level (informational, low,
medium, high, critical). A summary on stderr says how many rules loaded, which were
skipped and why, which fired, and the findings by level.`,
		Example: `  trailhound detect --key AKIAIOSFODNN7EXAMPLE
  trailhound detect --rules ../sigma/rules/cloud/aws/cloudtrail --level medium
  trailhound detect --no-builtin --rules my-rules/ --format csv > findings.csv`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			f, err := queries.ParseFormat(opts.format)
			if err != nil {
				return usageError{err}
			}
			if opts.level != "" && sigma.LevelRank(opts.level) < 0 {
				return usageErrorf("--level %q: want one of %s", opts.level, strings.Join(sigma.Levels, ", "))
			}
			if opts.noBuiltin && len(opts.rules) == 0 {
				return usageErrorf("--no-builtin needs --rules: there would be no rule to run")
			}
			p, err := scopeParams(opts.scope, e.now())
			if err != nil {
				return err
			}
			if c.Flags().Changed("key") && len(p.Keys) == 0 {
				return usageErrorf("--key is empty")
			}
			var rules []*sigma.Rule
			var probs []sigma.Problem
			if !opts.noBuiltin {
				rules, probs = sigma.Builtin()
			}
			r, pr := sigma.LoadPaths(opts.rules)
			rules, probs = append(rules, r...), append(probs, pr...)
			if len(rules) == 0 {
				writeProblems(e.err, probs)
				return fmt.Errorf("no rule could be loaded")
			}
			st, err := queries.Open(c.Context(), e.db, queries.OpenOptions{ReadOnly: true, MemoryLimit: detectMemoryLimit})
			if err != nil {
				return err
			}
			defer st.Close()
			if p.Keys, err = knownKeys(c.Context(), e, st, p.Keys); err != nil {
				return err
			}
			plan := sigma.Prepare(rules, opts.level)
			res, err := plan.Start(c.Context(), st.DB, sigma.Options{Keys: p.Keys, From: p.From, To: p.To})
			if err != nil {
				return err
			}
			defer res.Close()
			rows, err := res.Rows(c.Context())
			if err != nil {
				return err
			}
			if _, err := queries.WriteRows(e.out, f, rows); err != nil {
				return err
			}
			sum, err := res.Summary(c.Context(), probs)
			if err != nil {
				return err
			}
			writeDetectSummary(e.err, sum)
			return nil
		},
	}
	fl := c.Flags()
	fl.StringArrayVar(&opts.rules, "rules", nil, "a Sigma rule file, or a folder of them (walked for *.yml, *.yaml); repeat for several")
	fl.BoolVar(&opts.noBuiltin, "no-builtin", false, "leave out trailhound's own rules")
	fl.StringVar(&opts.level, "level", "", "only rules at this level or above: "+strings.Join(sigma.Levels, ", "))
	fl.StringVarP(&opts.format, "format", "f", "table", "output format: "+strings.Join(queries.Formats(), ", "))
	bindScope(fl, &opts.scope, "run the rules over the lineage of this access key id")
	return c
}

func writeProblems(w io.Writer, probs []sigma.Problem) {
	for _, p := range probs {
		fmt.Fprintf(w, "  %s\n", queries.DisplayText(p.String()))
	}
}

// writeDetectSummary writes what a detect run loaded, skipped and found.
func writeDetectSummary(w io.Writer, s sigma.Summary) {
	fmt.Fprintf(w, "rules loaded:  %d; run: %d (%d built-in, %d from --rules; rules a correlation uses run inside it)\n",
		s.Loaded, s.Run, s.Builtin, s.Run-s.Builtin)
	fmt.Fprintf(w, "rules skipped: %d\n", len(s.Skipped))
	writeProblems(w, s.Skipped)
	fired := s.FiredRules()
	fmt.Fprintf(w, "rules fired:   %d\n", len(fired))
	for _, id := range fired {
		fmt.Fprintf(w, "  %6d  %-13s %s (%s)\n", s.Fired[id], queries.DisplayText(s.Levels[id]),
			queries.DisplayText(s.Titles[id]), queries.DisplayText(id))
	}
	var parts []string
	for i := len(sigma.Levels) - 1; i >= 0; i-- {
		if n := s.ByLevel[sigma.Levels[i]]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", sigma.Levels[i], n))
		}
	}
	if n := s.ByLevel[""]; n > 0 {
		parts = append(parts, fmt.Sprintf("no level %d", n))
	}
	by := ""
	if len(parts) > 0 {
		by = " (" + strings.Join(parts, ", ") + ")"
	}
	fmt.Fprintf(w, "findings:      %d%s\n", s.Findings, by)
}
