package cmd

import (
	"github.com/spf13/cobra"

	"github.com/trailhound/trailhound/queries"
)

func newSQLCmd(e *env) *cobra.Command {
	var format string
	var write bool
	c := &cobra.Command{
		Use:   "sql QUERY",
		Short: "Run ad-hoc SQL on the store",
		Long: `Run ad-hoc SQL on the store. The store is opened read-only unless --write is given.
Tables: events (one row per eventID, typed columns plus the whole record as JSON),
event_sources, source_files, digests, ingest_runs, ingest_errors. Times are UTC.`,
		Example: `  trailhound sql "SELECT aws_region, count(*) n FROM events GROUP BY ALL ORDER BY n DESC"
  trailhound sql --format csv "SELECT event_time, event_name, record->>'$.requestParameters.userName' FROM events WHERE event_source = 'iam.amazonaws.com' ORDER BY event_time"`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			f, err := queries.ParseFormat(format)
			if err != nil {
				return usageError{err}
			}
			st, err := queries.Open(c.Context(), e.db, queries.OpenOptions{ReadOnly: !write})
			if err != nil {
				return err
			}
			defer st.Close()
			rows, err := st.DB.QueryContext(c.Context(), args[0])
			if err != nil {
				return err
			}
			_, err = queries.WriteRows(e.out, f, rows)
			return err
		},
	}
	c.Flags().StringVarP(&format, "format", "f", "table", "output format: table, csv, json, jsonl or markdown")
	c.Flags().BoolVar(&write, "write", false, "open the store read-write (statements may change it)")
	return c
}
