package cmd

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/trailhound/trailhound/queries"
)

// newExportCmd is `trailhound export`: the store, or the lineage's part of it, in the
// formats other tools import.
func newExportCmd(e *env) *cobra.Command {
	c := &cobra.Command{
		Use:   "export",
		Short: "Write the store's events in a format another tool imports (Timesketch, a Parquet lake for Trino and Athena)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return usageErrorf("name what to export: %s", "trailhound export timesketch FILE, or trailhound export parquet DIR")
		},
	}
	c.AddCommand(newExportTimesketchCmd(e), newExportParquetCmd(e))
	return c
}

func newExportTimesketchCmd(e *env) *cobra.Command {
	opts := queryOptions{}
	c := &cobra.Command{
		Use:   "timesketch FILE.jsonl [--key K]... [--from T] [--to T]",
		Short: "Write the lineage's events (or the store's) as Timesketch's JSON Lines import, with plaso's CloudTrail fields",
		Long: `Write the events of the keys' lineage (without --key: every event in the store) to FILE
in Timesketch's JSON Lines import format: one event per line, in time order, with the
fields Timesketch requires (message, datetime with an explicit +00:00, timestamp_desc) and
the field names plaso's CloudTrail parser uses (data_type aws:cloudtrail:entry, event_name,
user_identity_arn, cloud_trail_event...), so that Timesketch's own CloudTrail analyzer and
graph work on the import unchanged. Upload FILE in Timesketch (its name must end in .jsonl),
or with timesketch_importer. The fields are those of the canned query timesketch
(queries/canned/timesketch.sql); cloud_trail_event is the whole record as CloudTrail wrote it.

FILE "-" writes to stdout. An existing FILE is never replaced: choose a new name. The file
is written beside FILE and renamed into place at the end, so an interrupted export leaves
nothing half-written.`,
		Example: `  trailhound export timesketch incident.jsonl --key AKIAIOSFODNN7EXAMPLE
  trailhound export timesketch whole-store.jsonl --from 2026-11-01 --to 2026-11-08
  trailhound export timesketch - --key AKIAIOSFODNN7EXAMPLE | gzip > incident.jsonl.gz`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			q, err := queries.Lookup("timesketch")
			if err != nil {
				return err
			}
			opts.KeyGiven = c.Flags().Changed("key")
			p, err := queryParams(q, opts, e.now())
			if err != nil {
				return err
			}
			path := args[0]
			if path != "-" {
				if err := checkNewFile(path); err != nil {
					return err
				}
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
				return fmt.Errorf("export timesketch: %w", err)
			}
			defer rows.Close()
			if path == "-" {
				_, err := queries.WriteRows(e.out, queries.FormatJSONL, rows)
				return err
			}
			var n int
			err = writeFileAtomic(path, true, func(f *os.File) error {
				w := bufio.NewWriterSize(f, 256<<10)
				var err error
				if n, err = queries.WriteRows(w, queries.FormatJSONL, rows); err == nil {
					err = w.Flush()
				}
				if err == nil {
					err = f.Sync()
				}
				return err
			})
			if err != nil {
				return fmt.Errorf("export timesketch: %w", err)
			}
			if !e.quiet {
				fmt.Fprintf(e.err, "wrote %d events to %s (Timesketch JSON Lines)\n", n, queries.DisplayText(path))
			}
			return nil
		},
	}
	fl := c.Flags()
	fl.StringSliceVar(&opts.Keys, "key", nil, "access key id whose lineage to export (repeat or comma-separate for several; none: the whole store)")
	fl.StringVar(&opts.From, "from", "", "only events at or after this time (UTC)")
	fl.StringVar(&opts.To, "to", "", "only events before this time (UTC)")
	return c
}

// checkNewFile refuses a path that exists (an export never replaces a file) or whose
// directory does not.
func checkNewFile(path string) error {
	if _, err := os.Lstat(path); err == nil {
		return usageErrorf("%s exists: an export never replaces a file; choose a new name", queries.DisplayText(path))
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if fi, err := os.Stat(filepath.Dir(path)); err != nil || !fi.IsDir() {
		return usageErrorf("%s: no such directory", queries.DisplayText(filepath.Dir(path)))
	}
	return nil
}
