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
		Use:   "report --key AKIA... [--from T] [--to T] --out DIR",
		Short: "Write the evidence pack for a leaked key: page, charts, tables, answers for AWS Support",
		Long: `Write the evidence pack for a leaked access key into DIR: the key's lineage (the key and
every credential derived from it), as files you can attach to an AWS Support case and open
years later with no network:

  index.html      one self-contained page: a summary in plain words, the charts, the tables
  answers.md      AWS Support's checklist (IAM users, access keys, login profiles, policies,
                  roles, temporary credentials, usage in every region), and what else a
                  victim must know (stolen session keys, data read or changed, resources
                  made public or shared, permission brute-forcing), answered with evidence
  data/*.csv      every table, also as data/*.jsonl; data/lineage-events.jsonl holds the
                  lineage's CloudTrail records whole, one per line
  manifest.json   tool version, command line, who ran it and when, the CloudTrail files the
                  store was loaded from with their SHA-256, and the SHA-256 of every file here

Session tokens and other secrets are redacted in every file (the store keeps the originals).
DIR is replaced if it holds an earlier pack; a DIR with other files in it is refused.
A --key that appears in no event of the store is left out with a warning; when no key is
left, nothing is written (exit 2).`,
		Example: `  trailhound report --key AKIAIOSFODNN7EXAMPLE --out evidence
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
			st, err := queries.Open(c.Context(), e.db, queries.OpenOptions{ReadOnly: true})
			if err != nil {
				return err
			}
			defer st.Close()
			if p.Keys, err = knownKeys(c.Context(), e, st, p.Keys); err != nil {
				return err
			}
			dir, err := writePack(c.Context(), e, st, out, p)
			if err != nil {
				return err
			}
			fmt.Fprintln(e.out, dir)
			return nil
		},
	}
	bindScope(c.Flags(), &scope, "the leaked access key; its lineage is followed")
	c.Flags().StringVarP(&out, "out", "o", "evidence-pack", "the directory to write")
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
