// Package lake writes a trailhound store as a Hive-partitioned Parquet lake and describes it
// to Trino and Athena (CREATE statements), so that many stores, exported from many machines,
// are queried as one.
//
// Layout under the lake's root (a directory):
//
//	events/account=A/region=R/day=YYYY-MM-DD/ID_N.parquet   every stored column, record whole
//	event_sources/ID_N.parquet                              which source file each event came from
//	source_files/ID_N.parquet                               the chain of custody of those files
//	digests/ID_N.parquet                                    CloudTrail-Digest files, raw bytes kept
//	verify_findings/ID_N.parquet                            the last verify run's findings
//	verify_files/ID_N.parquet                               and its verdict on every file
//
// ID is the export's id: one per store (see StoreID), so several stores export into one lake
// without clashing, and a store exported again replaces its own files and no others. Every
// row carries it (export_id), and file ids are only unique within it. An event in two stores
// is in the lake twice; the lake's views (DDL) keep one row per event_id and record_hash.
package lake

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/trailhound/trailhound/queries"
)

// Tables are the lake's tables, in the order they are written.
var Tables = []string{"events", "event_sources", "source_files", "digests", "verify_findings", "verify_files"}

// DefaultPartition is Hive's name for a NULL partition value (Trino reads it as NULL).
const DefaultPartition = "__HIVE_DEFAULT_PARTITION__"

// ExportOptions scope an export.
type ExportOptions struct {
	ID       string   // the export's id; "" = StoreID
	Accounts []string // only these accounts' events (empty: all)
	From, To time.Time
}

// ExportStats says what an export wrote.
type ExportStats struct {
	ID     string
	Events int64
	Files  int // Parquet files written
	Rows   map[string]int64
}

var idRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// ValidID checks an export id: lower-case letters, digits and dashes (it is part of file names).
func ValidID(id string) error {
	if !idRE.MatchString(id) {
		return fmt.Errorf("export id %q: want lower-case letters, digits and dashes (at most 63)", id)
	}
	return nil
}

// StoreID is the default export id of a store: the first 16 hex digits of the SHA-256 of its
// first ingest run's start and first source file (kind, uri, sha256). It stays the same
// wherever the store file is moved and however it grows, and differs between stores ingested
// separately.
func StoreID(ctx context.Context, db *sql.DB) (string, error) {
	var started, uri, sum sql.NullString
	err := db.QueryRowContext(ctx, `SELECT
		(SELECT strftime(min(started_at), '%Y-%m-%dT%H:%M:%S.%f') FROM ingest_runs),
		(SELECT kind || ' ' || uri FROM source_files ORDER BY file_id LIMIT 1),
		(SELECT sha256 FROM source_files ORDER BY file_id LIMIT 1)`).Scan(&started, &uri, &sum)
	if err != nil {
		return "", fmt.Errorf("store id: %w", err)
	}
	h := sha256.Sum256([]byte(started.String + "\n" + uri.String + "\n" + sum.String))
	return "s" + hex.EncodeToString(h[:])[:15], nil
}

// eventsSelect is the events table's rows: every stored column, the record whole, and the
// partition columns (account: the account whose trail logged it, recipientAccountId, else
// the caller's; day in UTC).
const eventsSelect = `SELECT event_id, event_time, event_source, event_name, aws_region, source_ip, user_agent,
    identity_type, principal_id, arn, account_id, access_key_id, user_name, session_issuer_arn,
    error_code, error_message, read_only, event_type, event_category, recipient_account_id, event_version,
    minted_key_id, role_arn, variant, record_hash, record, ? AS export_id,
    coalesce(recipient_account_id, account_id, '` + DefaultPartition + `') AS account,
    coalesce(aws_region, '` + DefaultPartition + `') AS region,
    coalesce(strftime(event_time, '%Y-%m-%d'), '` + DefaultPartition + `') AS day
FROM event_rows
WHERE (len(?::VARCHAR[]) = 0 OR coalesce(recipient_account_id, account_id) IN (SELECT unnest(?::VARCHAR[])))
  AND (?::TIMESTAMPTZ IS NULL OR event_time >= ?::TIMESTAMPTZ)
  AND (?::TIMESTAMPTZ IS NULL OR event_time < ?::TIMESTAMPTZ)`

// provenance are the other tables' rows, each with the export id. event_sources keeps the
// rows of the exported events only, each with its event's record_hash (so that the lake's
// view of it numbers the variants as the events view does without reading the events).
var provenance = map[string]string{
	"event_sources": `SELECT s.event_id, s.file_id, s.variant, e.record_hash, ? AS export_id FROM event_sources s
		JOIN th_export_events e ON e.event_id = s.event_id AND e.variant = s.variant`,
	"source_files": `SELECT file_id, kind, uri, size, sha256, etag, last_modified, shape, records, outside_window,
		events_new, read_at, run_id, records_rejected, content_sha256, trailing_bytes, ? AS export_id FROM source_files`,
	"digests": `SELECT file_id, account_id, digest_start_time, digest_end_time, digest_s3_bucket, digest_s3_object,
		log_files, CAST(content AS VARCHAR) AS content, raw, signature, signature_algorithm, backfill_generated,
		? AS export_id FROM digests`,
	"verify_findings": `SELECT kind, tampering, account_id, region, object, file_id, listed_by, listed_by_file_id,
		delivered, expected, actual, detail, ? AS export_id FROM verify_findings`,
	"verify_files": `SELECT file_id, verdict, tampering, listed_by, detail, ? AS export_id FROM verify_files`,
}

// Export writes the store as the lake under dir. The store is opened read-only by the
// caller (queries.OpenOptions{ReadOnly: true, Export: true}: DuckDB's READ_ONLY access mode,
// so the store cannot change; only COPY TO writes, and only under dir).
//
// Files are written under dir/.staging-ID first, then each is renamed into place (a rename
// replaces a file atomically), then this export's older files that the new export did not
// replace are removed: a reader sees, per file, the old export or the new one, never a
// partial file; and files of other export ids are never touched.
func Export(ctx context.Context, db *sql.DB, dir string, o ExportOptions, log *slog.Logger) (ExportStats, error) {
	st := ExportStats{ID: o.ID, Rows: map[string]int64{}}
	if st.ID == "" {
		id, err := StoreID(ctx, db)
		if err != nil {
			return st, err
		}
		st.ID = id
	}
	if err := ValidID(st.ID); err != nil {
		return st, err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return st, fmt.Errorf("export to %s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return st, fmt.Errorf("export to %s: %w", dir, err)
	}
	staging := filepath.Join(abs, ".staging-"+st.ID)
	if err := os.RemoveAll(staging); err != nil {
		return st, fmt.Errorf("export to %s: clear %s: %w", dir, staging, err)
	}
	if err := os.MkdirAll(staging, 0o755); err != nil {
		return st, fmt.Errorf("export to %s: %w", dir, err)
	}
	defer os.RemoveAll(staging)

	conn, err := db.Conn(ctx)
	if err != nil {
		return st, fmt.Errorf("export: %w", err)
	}
	defer conn.Close()
	accounts := o.Accounts
	if accounts == nil {
		accounts = []string{}
	}
	var from, to any
	if !o.From.IsZero() {
		from = o.From.UTC()
	}
	if !o.To.IsZero() {
		to = o.To.UTC()
	}
	// The exported events, for event_sources (a TEMP table: in memory, not in the store).
	if _, err := conn.ExecContext(ctx, `CREATE OR REPLACE TEMP TABLE th_export_events AS
		SELECT event_id, variant, record_hash FROM (`+eventsSelect+`)`, st.ID, accounts, accounts, from, from, to, to); err != nil {
		return st, fmt.Errorf("export events: %w", err)
	}
	pattern := quote(st.ID + "_{i}")
	// No ORDER BY: sorting a million records (about 1 GB of JSON) for the partitioned write
	// took over 6 GB of memory. Rows keep the store's order (DuckDB preserves insertion order).
	// zstd level 1: at a million events it wrote smaller files than the default level 3
	// (162 MB against 166 MB: the records are JSON of one shape) in about 15% less CPU.
	copyEvents := "COPY (" + eventsSelect + ") TO " +
		quote(filepath.Join(staging, "events")) +
		" (FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1, PARTITION_BY (account, region, day), FILENAME_PATTERN " + pattern +
		", ROW_GROUP_SIZE 100000)"
	res, err := conn.ExecContext(ctx, copyEvents, st.ID, accounts, accounts, from, from, to, to)
	if err != nil {
		return st, fmt.Errorf("export events to %s: %w", dir, err)
	}
	// COPY's result is the number of rows it wrote.
	if st.Events, err = res.RowsAffected(); err != nil {
		return st, fmt.Errorf("export events to %s: %w", dir, err)
	}
	st.Rows["events"] = st.Events
	for _, t := range Tables[1:] {
		if err := os.MkdirAll(filepath.Join(staging, t), 0o755); err != nil {
			return st, fmt.Errorf("export %s: %w", t, err)
		}
		// Sorted, so that exporting the same store again writes the same files.
		file := filepath.Join(staging, t, st.ID+"_0.parquet")
		res, err := conn.ExecContext(ctx, "COPY ("+provenance[t]+" ORDER BY ALL) TO "+quote(file)+" (FORMAT parquet, COMPRESSION zstd)", st.ID)
		if err != nil {
			return st, fmt.Errorf("export %s to %s: %w", t, dir, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return st, fmt.Errorf("export %s to %s: %w", t, dir, err)
		}
		st.Rows[t] = n
		if n == 0 {
			// No file: an empty table is a directory without this export's files.
			if err := os.Remove(file); err != nil {
				return st, fmt.Errorf("export %s: %w", t, err)
			}
		}
	}
	// Move the new files into place, then remove this export's files it did not replace.
	written := map[string]bool{}
	err = filepath.WalkDir(staging, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(staging, p)
		dst := filepath.Join(abs, rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := os.Rename(p, dst); err != nil {
			return err
		}
		written[rel] = true
		return nil
	})
	if err != nil {
		return st, fmt.Errorf("export to %s: move files into place: %w", dir, err)
	}
	st.Files = len(written)
	var stale []string
	for _, t := range Tables {
		root := filepath.Join(abs, t)
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil
				}
				return err
			}
			if d.IsDir() || !strings.HasPrefix(d.Name(), st.ID+"_") || !strings.HasSuffix(d.Name(), ".parquet") {
				return nil
			}
			rel, _ := filepath.Rel(abs, p)
			if !written[rel] {
				stale = append(stale, p)
			}
			return nil
		})
		if err != nil {
			return st, fmt.Errorf("export to %s: %w", dir, err)
		}
	}
	sort.Strings(stale)
	for _, p := range stale {
		if err := os.Remove(p); err != nil {
			return st, fmt.Errorf("export to %s: remove the earlier export's %s: %w", dir, p, err)
		}
		// A partition left empty goes too (fails, harmlessly, while other files are in it).
		for d := filepath.Dir(p); d != abs && strings.HasPrefix(d, abs); d = filepath.Dir(d) {
			if os.Remove(d) != nil {
				break
			}
		}
	}
	// Every table has its directory, empty or not (an engine's table needs its location).
	for _, t := range Tables {
		if err := os.MkdirAll(filepath.Join(abs, t), 0o755); err != nil {
			return st, fmt.Errorf("export to %s: %w", dir, err)
		}
	}
	log.Debug("export", "id", st.ID, "events", st.Events, "files", st.Files, "replaced", len(stale))
	return st, nil
}

// quote is a SQL string literal (paths and the file name pattern: trailhound's, and the
// user's directory).
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// OpenStore opens the store at path for an export: read-only, external access on (see
// queries.OpenOptions.Export).
func OpenStore(ctx context.Context, path string) (*queries.Store, error) {
	// 512 MB of buffers: a partitioned write of a million events then stays under 1 GiB.
	return queries.Open(ctx, path, queries.OpenOptions{ReadOnly: true, Export: true, MemoryLimit: "512MB"})
}
