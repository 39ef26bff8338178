package cmd

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/trailhound/trailhound/queries"
)

func newSQLCmd(e *env) *cobra.Command {
	var out outputOptions
	var write bool
	c := &cobra.Command{
		Use:   "sql QUERY",
		Short: "Run ad-hoc SQL on the store",
		Long: `Run one SQL statement on the store. Tables: events (one row per event: per eventID and
content, with variant 1, 2... for records that share an eventID with different content;
typed columns plus the whole record as JSON), event_sources, event_conflicts, source_files,
digests, ingest_runs, ingest_errors. Times are UTC.

The store is opened read-only unless --write is given. Read-only means nothing changes and
nothing but the store is read: no INSERT, UPDATE, DELETE, CREATE or DROP in the store (TEMP
tables and macros, which live in memory, are allowed), no file read or written (COPY,
EXPORT DATABASE, ATTACH, read_csv and the like, INSTALL or LOAD), and no SET that would
turn that back on. To save a result, use --format csv or json and redirect stdout.
With --write, the store may change and DuckDB may use files as it does in its own CLI.

One statement a run: a text with several (SELECT 1; SELECT 2) is refused, since only the
last result could be shown. For a script, use the duckdb CLI: duckdb -readonly STORE.

Table cells wider than --max-width are cut and end in …; --format json or csv shows them
whole. In table and markdown output NULL reads NULL, and the text 'NULL' reads "NULL".`,
		Example: `  trailhound sql "SELECT aws_region, count(*) n FROM events GROUP BY ALL ORDER BY n DESC"
  trailhound sql --format csv "SELECT event_time, event_name, record->>'$.requestParameters.userName' FROM events WHERE event_source = 'iam.amazonaws.com' ORDER BY event_time"`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			f, err := out.parse(c)
			if err != nil {
				return err
			}
			text := args[0]
			switch n := queries.CountStatements(text); {
			case strings.TrimSpace(text) == "" || n == 0:
				return usageErrorf("no SQL statement given")
			case n > 1:
				return usageErrorf("%d statements given; sql runs one at a time (only the last result could be shown): "+
					"run each with its own 'trailhound sql', or use the duckdb CLI for a script (duckdb -readonly %s)", n, shellQuote(e.db))
			}
			st, err := queries.Open(c.Context(), e.db, queries.OpenOptions{ReadOnly: !write})
			if err != nil {
				return err
			}
			defer st.Close()
			rows, err := st.DB.QueryContext(c.Context(), text)
			if err != nil {
				return sqlError(err, write)
			}
			if err := e.writeResult(rows, f, out, wholeHint); err != nil {
				return sqlError(err, write)
			}
			return nil
		},
	}
	bindOutput(c, &out, true)
	c.Flags().BoolVar(&write, "write", false, "open the store read-write: statements may change it, and DuckDB may read and write files")
	return c
}

// sqlError adds what to do to DuckDB's refusals of a read-only store.
func sqlError(err error, write bool) error {
	if write {
		return err
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "read-only mode"):
		return hinted{err, "the store is open read-only: add --write to change it"}
	case strings.Contains(msg, "disabled by configuration") || strings.Contains(msg, "disabled through configuration"):
		return hinted{err, "read-only sql reads nothing but the store (no files, ATTACH, COPY, INSTALL or LOAD): " +
			"save a result with --format csv > FILE, or add --write"}
	case strings.Contains(msg, "configuration has been locked"):
		return hinted{err, "settings are locked while the store is open read-only: add --write to change them"}
	}
	return err
}
