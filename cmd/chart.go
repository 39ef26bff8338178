package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/trailhound/trailhound/queries"
	"github.com/trailhound/trailhound/viz"
)

func newChartCmd(e *env) *cobra.Command {
	var scope queryOptions
	var out string
	c := &cobra.Command{
		Use:   "chart NAME",
		Short: "Draw a chart as one offline HTML file",
		Long: `Draw a chart of the store as one HTML file that opens with no network (the chart
library is inside it). With --key, the chart covers that key's lineage: the key and every
credential derived from it; without, the whole store. Times are UTC.

--out (default NAME.html) is written only if it does not exist or is a page trailhound
wrote; a file of an evidence pack is never replaced (its manifest.json would no longer
match), nor a file trailhound did not write.

A --key that appears in no event of the store is left out with a warning; when no key is
left, nothing is written (exit 2).

'trailhound chart list' lists the charts.`,
		Example: `  trailhound chart list
  trailhound chart tasks-per-hour --key AKIAIOSFODNN7EXAMPLE --out tasks.html
  trailhound chart region-heatmap --from 2026-11-07 --to 2026-11-10`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeQueries(true),
		RunE: func(c *cobra.Command, args []string) error {
			q, err := queries.Lookup(args[0])
			if err != nil {
				return usageErrorf("%v (trailhound chart list shows the charts)", err)
			}
			p, err := queryParams(q, scope, e.now())
			if err != nil {
				return err
			}
			if out == "" {
				out = args[0] + ".html"
			}
			return runChart(c.Context(), e, viz.ChartOptions{Name: args[0], Params: p, Version: version(),
				RunBy: e.runBy(), RunAt: e.now()}, out)
		},
	}
	bindScope(c.Flags(), &scope, "scope to the lineage of this access key")
	c.Flags().StringVarP(&out, "out", "o", "", "the HTML file to write (default NAME.html); never replaces a file trailhound did not write")
	c.MarkFlagFilename("out", "html")
	c.AddCommand(newListCmd(e, true))
	return c
}

func runChart(ctx context.Context, e *env, o viz.ChartOptions, out string) error {
	if err := viz.CheckReplace(out); err != nil {
		return err
	}
	st, err := queries.Open(ctx, e.db, queries.OpenOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer st.Close()
	if o.Params.Keys, err = knownKeys(ctx, e, st, o.Params.Keys); err != nil {
		return err
	}
	ch, err := viz.DrawChart(ctx, st.DB, o)
	if errors.Is(err, viz.ErrUnknownChart) {
		return usageError{err}
	}
	if err != nil {
		return err
	}
	if err := writeFileAtomic(out, false, func(f *os.File) error { return viz.WriteChartPage(f, ch, o) }); err != nil {
		return err
	}
	if ch.Empty {
		e.warnf("chart %s: no data in this scope (the page says so)", o.Name)
	}
	fmt.Fprintln(e.out, out)
	return nil
}

// writeFileAtomic writes path through a temporary file beside it, put in place when write
// succeeded: renamed over path, or, with noReplace, linked to it, which fails if path exists
// (a file that appeared since it was checked is never replaced).
func writeFileAtomic(path string, noReplace bool, write func(*os.File) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(f.Name()) // a no-op once renamed
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	place := os.Rename
	if noReplace {
		place = os.Link
	}
	if err := place(f.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
