package lake

import (
	"fmt"
	"strings"

	"github.com/trailhound/trailhound/queries"
)

// column is one column of a lake table as Hive (Trino's Hive connector, Athena) declares it.
type column struct{ name, typ string }

// tableColumns are the columns of each table's files, in file order (Export writes them so).
// Timestamps are UTC instants (Parquet TIMESTAMP, adjusted to UTC); the views make them
// "timestamp with time zone" in UTC, as the store has them.
var tableColumns = map[string][]column{
	"events": {{"event_id", "varchar"}, {"event_time", "timestamp"}, {"event_source", "varchar"},
		{"event_name", "varchar"}, {"aws_region", "varchar"}, {"source_ip", "varchar"}, {"user_agent", "varchar"},
		{"identity_type", "varchar"}, {"principal_id", "varchar"}, {"arn", "varchar"}, {"account_id", "varchar"},
		{"access_key_id", "varchar"}, {"user_name", "varchar"}, {"session_issuer_arn", "varchar"},
		{"error_code", "varchar"}, {"error_message", "varchar"}, {"read_only", "boolean"}, {"event_type", "varchar"},
		{"event_category", "varchar"}, {"recipient_account_id", "varchar"}, {"event_version", "varchar"},
		{"minted_key_id", "varchar"}, {"role_arn", "varchar"}, {"variant", "integer"}, {"record_hash", "varchar"}, {"record", "varchar"}, {"export_id", "varchar"}},
	"event_sources": {{"event_id", "varchar"}, {"file_id", "bigint"}, {"variant", "integer"}, {"record_hash", "varchar"},
		{"export_id", "varchar"}},
	"source_files": {{"file_id", "bigint"}, {"kind", "varchar"}, {"uri", "varchar"}, {"size", "bigint"},
		{"sha256", "varchar"}, {"etag", "varchar"}, {"last_modified", "timestamp"}, {"shape", "varchar"},
		{"records", "bigint"}, {"outside_window", "bigint"}, {"events_new", "bigint"}, {"read_at", "timestamp"},
		{"run_id", "bigint"}, {"records_rejected", "bigint"}, {"content_sha256", "varchar"},
		{"trailing_bytes", "bigint"}, {"export_id", "varchar"}},
	"digests": {{"file_id", "bigint"}, {"account_id", "varchar"}, {"digest_start_time", "timestamp"},
		{"digest_end_time", "timestamp"}, {"digest_s3_bucket", "varchar"}, {"digest_s3_object", "varchar"},
		{"log_files", "bigint"}, {"content", "varchar"}, {"raw", "varbinary"}, {"signature", "varchar"},
		{"signature_algorithm", "varchar"}, {"backfill_generated", "varchar"}, {"export_id", "varchar"}},
	"verify_findings": {{"kind", "varchar"}, {"tampering", "boolean"}, {"account_id", "varchar"},
		{"region", "varchar"}, {"object", "varchar"}, {"file_id", "bigint"}, {"listed_by", "varchar"},
		{"listed_by_file_id", "bigint"}, {"delivered", "timestamp"}, {"expected", "varchar"}, {"actual", "varchar"},
		{"detail", "varchar"}, {"export_id", "varchar"}},
	"verify_files": {{"file_id", "bigint"}, {"verdict", "varchar"}, {"tampering", "boolean"},
		{"listed_by", "varchar"}, {"detail", "varchar"}, {"export_id", "varchar"}},
}

// partitions are the events table's partition columns (Hive: after the file's columns).
var partitions = []string{"account", "region", "day"}

// DDLOptions say where the lake is and how it is named in the catalog.
type DDLOptions struct {
	Engine   string // trino or athena
	Location string // the lake's root: local:///abs/dir or s3://bucket/prefix (Trino); s3://... (Athena)
	Catalog  string // Trino: the Hive catalog (default lake)
	Schema   string // default trailhound
	// Regions and the first day feed Athena's partition projection (region enum, day range).
	Regions  []string
	FirstDay string // yyyy-MM-dd
}

// Engines are the engines DDL writes for.
var Engines = []string{"trino", "athena"}

// DDL returns the statements that make the lake queryable: a schema, a table over each
// directory (names ending in _files: every export's rows), and views over them (events: one
// row per event across exports, times as UTC timestamp with time zone, as the store has
// them; the other tables with their times likewise). Trino's Hive connector needs the
// events partitions registered (the CALL at the end; run it again after each export);
// Athena projects them from the paths instead (partition projection), so a new export is
// visible at once.
func DDL(o DDLOptions) (string, error) {
	if o.Schema == "" {
		o.Schema = "trailhound"
	}
	if o.Catalog == "" {
		o.Catalog = "lake"
	}
	loc := strings.TrimSuffix(o.Location, "/")
	if loc == "" {
		return "", fmt.Errorf("lake ddl: no location (the lake's root: a directory or s3://bucket/prefix)")
	}
	var b strings.Builder
	athena := false
	switch o.Engine {
	case "", "trino":
	case "athena":
		athena = true
		if !strings.HasPrefix(loc, "s3://") {
			return "", fmt.Errorf("lake ddl --engine athena: location %q: Athena reads only s3://bucket/prefix", o.Location)
		}
	default:
		return "", fmt.Errorf("lake ddl: engine %q: want trino or athena", o.Engine)
	}
	schema := o.Catalog + "." + o.Schema
	if athena {
		schema = o.Schema
		fmt.Fprintf(&b, "-- Athena (engine version 3): run each statement in the query editor, database %s.\n", o.Schema)
		fmt.Fprintf(&b, "CREATE DATABASE IF NOT EXISTS %s;\n\n", o.Schema)
	} else {
		fmt.Fprintf(&b, "-- Trino, Hive connector catalog %s.\n", o.Catalog)
		fmt.Fprintf(&b, "CREATE SCHEMA IF NOT EXISTS %s;\n\n", schema)
	}
	for _, t := range Tables {
		cols := tableColumns[t]
		name := schema + "." + t + "_files"
		if athena {
			fmt.Fprintf(&b, "CREATE EXTERNAL TABLE IF NOT EXISTS %s (\n", name)
		} else {
			fmt.Fprintf(&b, "CREATE TABLE IF NOT EXISTS %s (\n", name)
		}
		var lines []string
		for _, c := range cols {
			typ := c.typ
			if athena {
				typ = hiveType(typ)
			} else if typ == "timestamp" {
				typ = "timestamp(6)" // the catalog's hive.timestamp-precision=MICROSECONDS (as the store's)
			}
			lines = append(lines, "    "+c.name+" "+typ)
		}
		if t == "events" && !athena {
			for _, p := range partitions {
				lines = append(lines, "    "+p+" varchar")
			}
		}
		b.WriteString(strings.Join(lines, ",\n"))
		b.WriteString("\n)")
		if athena {
			if t == "events" {
				b.WriteString("\nPARTITIONED BY (account string, region string, day string)")
			}
			fmt.Fprintf(&b, "\nSTORED AS PARQUET\nLOCATION '%s/%s/'", loc, t)
			if t == "events" {
				day := o.FirstDay
				if day == "" {
					day = "2020-01-01"
				}
				regions := o.Regions
				if len(regions) == 0 {
					regions = []string{"us-east-1"}
				}
				fmt.Fprintf(&b, "\nTBLPROPERTIES (\n    'projection.enabled' = 'true',\n"+
					"    'projection.account.type' = 'injected',\n"+
					"    'projection.region.type' = 'enum',\n    'projection.region.values' = '%s',\n"+
					"    'projection.day.type' = 'date',\n    'projection.day.format' = 'yyyy-MM-dd',\n"+
					"    'projection.day.range' = '%s,NOW',\n    'projection.day.interval' = '1',\n"+
					"    'projection.day.interval.unit' = 'DAYS'\n)", strings.Join(regions, ","), day)
			}
		} else {
			fmt.Fprintf(&b, "\nWITH (format = 'PARQUET', external_location = '%s/%s'", loc, t)
			if t == "events" {
				b.WriteString(", partitioned_by = ARRAY['account', 'region', 'day']")
			}
			b.WriteString(")")
		}
		b.WriteString(";\n\n")
	}
	if !athena {
		fmt.Fprintf(&b, "-- The events partitions (account=/region=/day= directories): again after each export.\n")
		fmt.Fprintf(&b, "CALL %s.system.sync_partition_metadata('%s', 'events_files', 'FULL');\n\n", o.Catalog, o.Schema)
	}
	// Views: one row per event and content (variant): a record exported by several stores
	// (same event_id and record_hash) is the lowest export id's row, with that store's
	// variant number; distinct contents of one eventID all stay. Rule for variant numbers
	// across stores: each (event_id, record_hash) keeps the number the lowest export id
	// gave it (one store: exactly the store's numbers). Partitioned by the partition
	// columns too, so that a filter on account, region or day still prunes partitions
	// under the window; times in UTC.
	fmt.Fprintf(&b, "CREATE OR REPLACE VIEW %s.events AS\nSELECT %s\nFROM (SELECT *, row_number() OVER "+
		"(PARTITION BY account, region, day, event_id, record_hash ORDER BY export_id) AS th_n\n      FROM %s.events_files)\nWHERE th_n = 1;\n\n",
		schema, viewColumns("events", true), schema)
	for _, t := range Tables[1:] {
		fmt.Fprintf(&b, "CREATE OR REPLACE VIEW %s.%s AS\n%s;\n\n", schema, t, provenanceView(schema, t))
	}
	// The credential derivations, over the events view (what the lineage queries walk).
	edges := strings.TrimSpace(stripComments(queries.TrinoFragment("lineage_edges.view.sql")))
	edges = strings.ReplaceAll(edges, "FROM events", "FROM "+schema+".events")
	fmt.Fprintf(&b, "CREATE OR REPLACE VIEW %s.lineage_edges AS\n%s;\n", schema, edges)
	return b.String(), nil
}

// fileMap maps every export's source file (export_id, file_id) to the lake's: a source file
// is one object and content (kind, uri, sha256) across exports, the n-th read of it in an
// export (ordered by file_id) the same as the n-th in another; the lake's row of it is the
// lowest export id's (lake_export_id, lake_file_id). One store: every file is its own.
func fileMap(schema string) string {
	// (The window is spelt twice: Athena's engine may predate Trino's WINDOW clause.)
	return fmt.Sprintf(`SELECT export_id, file_id,
        first_value(export_id) OVER (PARTITION BY kind, uri, sha256, th_read ORDER BY export_id) AS lake_export_id,
        first_value(file_id) OVER (PARTITION BY kind, uri, sha256, th_read ORDER BY export_id) AS lake_file_id
    FROM (SELECT export_id, file_id, kind, uri, sha256,
              row_number() OVER (PARTITION BY export_id, kind, uri, sha256 ORDER BY file_id) AS th_read
          FROM %s.source_files_files)`, schema)
}

// provenanceView is the view over a provenance table's files: each row once however many
// exports hold it (a store exported twice, or two stores that read the same objects), so
// that a query gives on the lake what it gives on one store.
//   - source_files: each source file once (fileMap), as the lowest export id has it;
//   - digests: the rows of those files only;
//   - verify_files: each file's verdict once, the lowest export id's that has one;
//   - event_sources: each (event, source file) once, the event's variant as the events view
//     numbers it and the file as the lake's (file_id, export_id);
//   - verify_findings: a finding several exports hold (the same columns but the file ids and
//     the export id) is the lowest export id's; one export's repeated findings all stay.
func provenanceView(schema, t string) string {
	cols := viewColumns(t, false)
	switch t {
	case "source_files":
		return fmt.Sprintf(`SELECT %s
FROM (SELECT *, row_number() OVER (PARTITION BY kind, uri, sha256, th_read ORDER BY export_id) AS th_n
      FROM (SELECT *, row_number() OVER (PARTITION BY export_id, kind, uri, sha256 ORDER BY file_id) AS th_read
            FROM %s.%s_files))
WHERE th_n = 1`, cols, schema, t)
	case "digests":
		return fmt.Sprintf(`SELECT %s
FROM %s.%s_files
WHERE (export_id, file_id) IN (
    SELECT export_id, file_id FROM (%s)
    WHERE export_id = lake_export_id)`, cols, schema, t, fileMap(schema))
	case "verify_files":
		// A file's verdict is the lowest export id's that has one (a store that never ran
		// verify has none), under the lake's (file_id, export_id) of the file.
		return fmt.Sprintf(`SELECT file_id, verdict, tampering, listed_by, detail, export_id
FROM (SELECT m.lake_file_id AS file_id, v.verdict, v.tampering, v.listed_by, v.detail, m.lake_export_id AS export_id,
          row_number() OVER (PARTITION BY m.lake_export_id, m.lake_file_id ORDER BY v.export_id) AS th_n
      FROM %s.verify_files_files v
      JOIN (%s) m ON m.export_id = v.export_id AND m.file_id = v.file_id)
WHERE th_n = 1`, schema, fileMap(schema))
	case "event_sources":
		// The variant is the one the lowest export id holding the event (event_id, record_hash)
		// gave it, as in the events view: every exported event has its sources exported.
		return fmt.Sprintf(`SELECT DISTINCT s.event_id, m.lake_file_id AS file_id,
    first_value(s.variant) OVER (PARTITION BY s.event_id, s.record_hash ORDER BY s.export_id) AS variant,
    s.record_hash, m.lake_export_id AS export_id
FROM %s.event_sources_files s
JOIN (%s) m ON m.export_id = s.export_id AND m.file_id = s.file_id`, schema, fileMap(schema))
	case "verify_findings":
		same := "kind, tampering, account_id, region, object, listed_by, delivered, expected, actual, detail"
		return fmt.Sprintf(`SELECT %s
FROM (SELECT *, row_number() OVER (PARTITION BY %s, th_k ORDER BY export_id) AS th_n
      FROM (SELECT *, row_number() OVER (PARTITION BY export_id, %s ORDER BY file_id, listed_by_file_id) AS th_k
            FROM %s.%s_files))
WHERE th_n = 1`, cols, same, same, schema, t)
	}
	return fmt.Sprintf("SELECT %s\nFROM %s.%s_files", cols, schema, t)
}

// viewColumns are a view's columns: timestamps as UTC timestamp with time zone.
func viewColumns(t string, parts bool) string {
	var out []string
	for _, c := range tableColumns[t] {
		if c.typ == "timestamp" {
			out = append(out, fmt.Sprintf("with_timezone(%s, 'UTC') AS %s", c.name, c.name))
		} else {
			out = append(out, c.name)
		}
	}
	if parts {
		out = append(out, partitions...)
	}
	return strings.Join(out, ",\n    ")
}

// hiveType is a column type as Athena's Hive DDL spells it.
func hiveType(t string) string {
	switch t {
	case "varchar":
		return "string"
	case "varbinary":
		return "binary"
	case "integer":
		return "int"
	}
	return t
}
