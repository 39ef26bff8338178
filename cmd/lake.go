package cmd

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/trailhound/trailhound/lake"
)

// newLakeCmd is 'trailhound lake': setting up a Parquet lake in a query engine.
func newLakeCmd(e *env) *cobra.Command {
	c := &cobra.Command{
		Use:   "lake",
		Short: "Set up a Parquet lake ('trailhound export parquet') in Trino or Athena",
		Args:  cobra.NoArgs,
	}
	c.AddCommand(newLakeDDLCmd(e))
	return c
}

func newLakeDDLCmd(e *env) *cobra.Command {
	o := lake.DDLOptions{}
	var apply string
	c := &cobra.Command{
		Use:   "ddl",
		Short: "Print the CREATE statements for the lake: Trino's Hive connector, or Athena with partition projection",
		Long: `Print the statements that make a lake written by 'trailhound export parquet' queryable, to
run in your own catalog: a schema, a table over each of the lake's directories (events_files,
source_files_files, ...: every export's rows), and views named as the store's tables
(events: one row per event across exports, times as UTC timestamp with time zone).

--engine trino (default): tables of the Hive connector catalog --catalog (default lake) over
--location (local:///abs/dir for a local directory, or s3://bucket/prefix), and the CALL
that registers the events partitions (run it again after each export).
--engine athena: external tables over --location (s3:// only) with partition projection
(account injected, region an enum of --region, day a date from --first-day to NOW), so a
query must name the account (WHERE account = '...') and new exports need no registration.
--apply trino://USER@HOST:PORT/CATALOG/SCHEMA runs them there instead (again after each
export: that registers the new partitions).
'trailhound query NAME --engine trino://...' runs the canned queries on the result.`,
		Example: `  trailhound lake ddl --location /data/lake | trino --server localhost:8080
  trailhound lake ddl --engine athena --location s3://my-lake/trailhound --region us-east-1,eu-west-1 --first-day 2026-01-01`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if o.Location != "" && !strings.Contains(o.Location, "://") {
				abs, err := filepath.Abs(o.Location)
				if err != nil {
					return err
				}
				o.Location = "local://" + abs
			}
			if apply != "" {
				_, catalog, schema, err := lake.ParseEngine(apply)
				if err != nil {
					return usageErrorf("--apply: %v", err)
				}
				if o.Engine == "athena" {
					return usageErrorf("--apply runs the statements on Trino: not with --engine athena")
				}
				o.Catalog, o.Schema = catalog, schema
			}
			text, err := lake.DDL(o)
			if err != nil {
				return usageError{err}
			}
			if apply == "" {
				_, err = fmt.Fprintln(e.out, text)
				return err
			}
			eng, err := lake.OpenEngine(c.Context(), apply)
			if err != nil {
				return err
			}
			defer eng.Close()
			if err := eng.Exec(c.Context(), text); err != nil {
				return err
			}
			fmt.Fprintf(e.err, "lake %s set up in %s.%s on %s\n", o.Location, o.Catalog, o.Schema, eng.URL)
			return nil
		},
	}
	fl := c.Flags()
	fl.StringVar(&o.Engine, "engine", "trino", "trino or athena")
	c.RegisterFlagCompletionFunc("engine", completeFixed(lake.Engines...))
	fl.StringVar(&o.Location, "location", "", "the lake's root: a directory, local:///abs/dir or s3://bucket/prefix")
	fl.StringVar(&o.Catalog, "catalog", "lake", "Trino: the Hive connector catalog")
	fl.StringVar(&o.Schema, "schema", "trailhound", "the schema (Athena: database) to create")
	fl.StringSliceVar(&o.Regions, "region", nil, "Athena: the regions for partition projection (default us-east-1)")
	fl.StringVar(&o.FirstDay, "first-day", "", "Athena: the first day for partition projection (default 2020-01-01)")
	fl.StringVar(&apply, "apply", "", "run the statements on this Trino instead of printing them: trino://USER@HOST:PORT/CATALOG/SCHEMA (its catalog and schema are used)")
	c.MarkFlagRequired("location")
	return c
}
