package cmd

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/trailhound/trailhound/lake"
)

// newExportParquetCmd is 'trailhound export parquet': the store as a Parquet lake.
func newExportParquetCmd(e *env) *cobra.Command {
	var accounts []string
	var from, to, id string
	c := &cobra.Command{
		Use:   "parquet DIR",
		Short: "Write the store as a Hive-partitioned Parquet lake (events/account=/region=/day=/) for Trino and Athena",
		Long: `Write the store as a Parquet lake under DIR, for Trino, Athena or any engine that reads
Hive-partitioned Parquet ('trailhound lake ddl' prints the CREATE statements):

  DIR/events/account=A/region=R/day=YYYY-MM-DD/ID_N.parquet  every column, the record whole
  DIR/event_sources/ID_0.parquet    which source file each event came from
  DIR/source_files/ID_0.parquet     the chain of custody: URI, size, SHA-256, when read
  DIR/digests/ID_0.parquet          CloudTrail-Digest files (raw bytes, signature)
  DIR/verify_findings/ID_0.parquet  the last 'trailhound verify' run's findings
  DIR/verify_files/ID_0.parquet     and its verdict on every file

ID is the export's id (--id; by default one derived from the store, the same wherever the
file is), and every row carries it as export_id. Several stores (one per account or shard,
ingested on different machines) export into one DIR without clashing; an event in two of
them is in the lake twice, and the lake's events view keeps one row per event. Exporting the
same store again replaces its own files (each renamed into place, then its older files that
were not replaced removed) and leaves other exports' files alone.

The account partition is recipientAccountId (the account whose trail logged the event),
else the caller's; day is the event's UTC day. --account keeps those accounts' events (and
their event_sources rows); --from/--to bound the events to [from, to). The provenance tables
are written whole. The store is opened read-only: it is never modified.`,
		Example: `  trailhound export parquet /data/lake
  trailhound --db acct-111.duckdb export parquet /data/lake --account 111111111111 --from 2026-11-01
  trailhound lake ddl --location /data/lake`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if strings.HasPrefix(args[0], "s3://") {
				return usageErrorf("export parquet %s: S3 is not supported yet; export to a directory and copy it (aws s3 sync DIR %s)", args[0], args[0])
			}
			if id != "" {
				if err := lake.ValidID(id); err != nil {
					return usageErrorf("--id: %v", err)
				}
			}
			f, t, err := parseTimes(from, to, e.now(), func(string) error { return nil })
			if err != nil {
				return err
			}
			var accts []string
			for _, a := range accounts {
				if a = strings.TrimSpace(a); a != "" {
					accts = append(accts, a)
				}
			}
			st, err := lake.OpenStore(c.Context(), e.db)
			if err != nil {
				return err
			}
			defer st.Close()
			s, err := lake.Export(c.Context(), st.DB, args[0], lake.ExportOptions{ID: id, Accounts: accts, From: f, To: t}, e.logger())
			if err != nil {
				return err
			}
			fmt.Fprintf(e.err, "exported %d events (%d source files, %d digests, %d verify findings) as %s: %d Parquet files under %s\n",
				s.Events, s.Rows["source_files"], s.Rows["digests"], s.Rows["verify_findings"], s.ID, s.Files, args[0])
			return nil
		},
	}
	fl := c.Flags()
	fl.StringSliceVar(&accounts, "account", nil, "only this account's events (repeat or comma-separate for several)")
	fl.StringVar(&from, "from", "", "only events at or after this time (UTC)")
	fl.StringVar(&to, "to", "", "only events before this time (UTC)")
	fl.StringVar(&id, "id", "", "the export's id in file names and export_id (default: derived from the store)")
	return c
}
