package ingest

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unsafe"

	duckdb "github.com/duckdb/duckdb-go/v2"
	"github.com/zeebo/xxh3"

	"github.com/trailhound/trailhound/queries"
)

// writer is the only code that inserts into the store. One goroutine owns it: it holds
// one connection and the appenders, and de-duplicates events by eventID.
//
// Rows are appended to temporary staging tables (in memory, spilling to DuckDB's
// temporary directory beyond its memory limit) and moved into the store's tables by one
// transaction per batch: INSERT … SELECT, which DuckDB runs on every core and which
// writes whole compressed row groups. A batch holds whole objects only, so an
// interrupted ingest leaves a consistent store, and running it again reads what the
// interrupt lost.
type writer struct {
	conn    *sql.Conn
	events  *duckdb.Appender // → staged_events
	sources *duckdb.Appender // → staged_sources (events already stored or seen)
	files   *duckdb.Appender // → staged_files
	digests *duckdb.Appender // → staged_digests
	cursors cursorBook       // event-history cursors, written with the batch
	windows []ScanWindow     // S3 windows read whole, recorded when the run finishes

	runID      int64
	nextFileID int64
	seen       map[[16]byte]struct{} // hashes of every eventID stored or staged
	pending    int                   // events staged since the last commit
	staged     bool                  // anything staged since the last commit
	lastCommit time.Time
	now        func() time.Time
	log        *slog.Logger
}

// commitRows is a multiple of DuckDB's row-group size (122,880 rows): the INSERT then
// writes full row groups, and fewer, larger commits were measurably faster (1M events,
// parallel INSERT: 8 row groups 23-24 s, 4 row groups 24.8 s, 2 27.5 s, 1 36.8 s).
// Staged rows beyond the memory limit spill to DuckDB's temporary directory.
// commitEvery bounds what an interrupt can lose.
const (
	commitRows  = 8 * 122_880
	commitEvery = 30 * time.Second
)

var sourceFileColumns = []string{"file_id", "kind", "uri", "size", "sha256", "etag", "last_modified",
	"shape", "records", "outside_window", "events_new", "read_at", "run_id", "content_sha256", "trailing_bytes"}

// The staging tables. A new event is staged once, in staged_events, with the file it came
// from; staged_sources holds only the other sources of events (a record already stored, or
// delivered again), so a new event costs one appended row.
var stagingTables = []string{
	"CREATE OR REPLACE TEMP TABLE staged_files AS SELECT " + strings.Join(sourceFileColumns, ", ") + " FROM source_files LIMIT 0",
	"CREATE OR REPLACE TEMP TABLE staged_events (event_id VARCHAR, event_time TIMESTAMPTZ, record VARCHAR, fields VARCHAR, file_id BIGINT)",
	"CREATE OR REPLACE TEMP TABLE staged_sources (event_id VARCHAR, file_id BIGINT)",
	"CREATE OR REPLACE TEMP TABLE staged_digests AS SELECT * REPLACE (content::VARCHAR AS content) FROM digests LIMIT 0",
}

// What a commit moves from the staging tables into the store, in this order; event_rows
// is last (see commit).
var commitStatements = []struct{ table, sql string }{
	{"source_files", "INSERT INTO source_files (" + strings.Join(sourceFileColumns, ", ") + ") SELECT " +
		strings.Join(sourceFileColumns, ", ") + " FROM staged_files"},
	{"event_sources", `INSERT INTO event_sources (event_id, file_id)
		SELECT event_id, file_id FROM staged_events UNION ALL SELECT event_id, file_id FROM staged_sources`},
	{"digests", "INSERT INTO digests SELECT * FROM staged_digests"},
}

func newWriter(ctx context.Context, db *sql.DB, now func() time.Time, log *slog.Logger) (*writer, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("connect to store: %w", err)
	}
	w := &writer{conn: conn, seen: make(map[[16]byte]struct{}), now: now, lastCommit: now(), log: log}
	if err := w.open(ctx); err != nil {
		w.closeAppenders()
		conn.Close()
		return nil, err
	}
	return w, nil
}

func (w *writer) open(ctx context.Context) error {
	if err := w.loadState(ctx); err != nil {
		return err
	}
	return w.resetStaging(ctx)
}

// resetStaging (re)creates empty staging tables and their appenders. Each batch gets
// fresh tables: rows deleted from a table would still be scanned by the next INSERT.
func (w *writer) resetStaging(ctx context.Context) error {
	w.closeAppenders()
	for _, q := range stagingTables {
		if _, err := w.conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("create staging table: %w", err)
		}
	}
	return w.conn.Raw(func(dc any) error {
		c := dc.(driver.Conn)
		for _, a := range w.appenders() {
			app, err := duckdb.NewAppender(c, "temp", "main", a.table)
			if err != nil {
				return fmt.Errorf("appender for %s: %w", a.table, err)
			}
			*a.dst = app
		}
		return nil
	})
}

func (w *writer) loadState(ctx context.Context) error {
	if err := w.conn.QueryRowContext(ctx,
		"SELECT coalesce(max(file_id), 0) + 1 FROM source_files").Scan(&w.nextFileID); err != nil {
		return fmt.Errorf("read source_files: %w", err)
	}
	rows, err := w.conn.QueryContext(ctx, "SELECT event_id FROM event_rows")
	if err != nil {
		return fmt.Errorf("read event ids: %w", err)
	}
	defer rows.Close()
	var id string
	for rows.Next() {
		if err := rows.Scan(&id); err != nil {
			return fmt.Errorf("read event ids: %w", err)
		}
		w.seen[idKey(id)] = struct{}{}
	}
	return rows.Err()
}

func idKey(id string) [16]byte { return xxh3.HashString128(id).Bytes() }

// begin starts the run: it records it in ingest_runs.
func (w *writer) begin(ctx context.Context, command string) error {
	if err := w.conn.QueryRowContext(ctx,
		"SELECT coalesce(max(run_id), 0) + 1 FROM ingest_runs").Scan(&w.runID); err != nil {
		return fmt.Errorf("read ingest_runs: %w", err)
	}
	if _, err := w.conn.ExecContext(ctx,
		"INSERT INTO ingest_runs (run_id, command, started_at) VALUES (?, ?, ?)",
		w.runID, command, w.now()); err != nil {
		return fmt.Errorf("record ingest run: %w", err)
	}
	return nil
}

// commit moves everything staged into the store in one transaction.
//
// event_rows is written by a parallel INSERT (insertion order not preserved: rows are
// found by their columns, never by position), which on 2 cores halves the longest step
// of an ingest (1M events: 13-17 s to about 8 s). Its row groups are written as they fill, so
// it comes last in the transaction. Should DuckDB run out of memory doing it, the
// transaction is rolled back and done again in order, which needs less memory.
func (w *writer) commit(ctx context.Context) error {
	if !w.staged {
		return nil
	}
	for _, a := range w.appenders() {
		if err := (*a.dst).Flush(); err != nil {
			return fmt.Errorf("stage rows: %w", err)
		}
	}
	err := w.commitStaged(ctx, true)
	if de := (*duckdb.Error)(nil); errors.As(err, &de) && de.Type == duckdb.ErrorTypeOutOfMemory {
		w.log.Warn("out of memory committing a batch; trying again with events written in order", "err", err)
		err = w.commitStaged(ctx, false)
	}
	if _, rerr := w.conn.ExecContext(ctx, "RESET preserve_insertion_order"); rerr != nil && err == nil {
		err = fmt.Errorf("reset preserve_insertion_order: %w", rerr)
	}
	if err != nil {
		return err
	}
	w.cursors.committed()
	if err := w.resetStaging(ctx); err != nil {
		return err
	}
	w.pending = 0
	w.staged = false
	w.lastCommit = w.now()
	return nil
}

// commitStaged runs the commit's transaction; the staging tables are left as they are.
func (w *writer) commitStaged(ctx context.Context, parallel bool) (err error) {
	if _, err := w.conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	defer func() {
		if err != nil {
			w.conn.ExecContext(ctx, "ROLLBACK")
		}
	}()
	for _, c := range commitStatements {
		if _, err := w.conn.ExecContext(ctx, c.sql); err != nil {
			return fmt.Errorf("write %s: %w", c.table, err)
		}
	}
	if err := w.cursors.save(ctx, w.conn, w.now()); err != nil {
		return err
	}
	if err := w.insertEvents(ctx, parallel); err != nil {
		return err
	}
	if _, err := w.conn.ExecContext(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// insertEvents derives event_rows from staged_events (queries/insert_events.sql).
// preserve_insertion_order is a global DuckDB setting (the writer is the store's only
// user during an ingest): it is set for this statement, and commit resets it once the
// transaction is over (a failed transaction refuses every statement until then).
func (w *writer) insertEvents(ctx context.Context, parallel bool) error {
	if _, err := w.conn.ExecContext(ctx, fmt.Sprintf("SET preserve_insertion_order = %t", !parallel)); err != nil {
		return fmt.Errorf("write event_rows: %w", err)
	}
	if _, err := w.conn.ExecContext(ctx, queries.InsertEventsSQL); err != nil {
		return fmt.Errorf("write event_rows: %w", err)
	}
	return nil
}

// maybeCommit commits when enough rows or time have gone by.
func (w *writer) maybeCommit(ctx context.Context) error {
	if w.pending >= commitRows || w.now().Sub(w.lastCommit) >= commitEvery {
		return w.commit(ctx)
	}
	return nil
}

// objectResult is what the writer learns from storing one object.
type objectResult struct {
	New, Present int64
}

// store stages one decoded object and its provenance.
func (w *writer) store(ctx context.Context, it *item) (objectResult, error) {
	var res objectResult
	fileID := w.nextFileID
	w.nextFileID++
	w.staged = true
	inFile := make(map[[16]byte]struct{}, len(it.dec.Records))
	for i := range it.dec.Records {
		r := &it.dec.Records[i]
		k := idKey(r.EventID)
		if _, dup := inFile[k]; dup {
			res.Present++
			continue
		}
		inFile[k] = struct{}{}
		if _, ok := w.seen[k]; ok {
			res.Present++
			if err := w.sources.AppendRow(r.EventID, fileID); err != nil {
				return res, fmt.Errorf("stage provenance of %s: %w", r.EventID, err)
			}
			continue
		}
		if err := w.events.AppendRow(r.EventID, nullTime(r.Time), bytesString(r.Raw), nullString(r.Fields), fileID); err != nil {
			return res, fmt.Errorf("stage event %s: %w", r.EventID, err)
		}
		w.seen[k] = struct{}{}
		res.New++
		w.pending++
	}
	o := it.obj
	var trailing any
	if it.p.Trailing >= 0 {
		trailing = it.p.Trailing
	}
	err := w.files.AppendRow(fileID, o.Kind, o.URI, it.p.Size, nullString(it.p.SHA256), nullString(o.ETag),
		nullTime(o.LastModified), string(it.dec.Shape), int64(len(it.dec.Records)), it.outside, res.New, w.now(), w.runID,
		nullString(it.p.ContentSHA256), trailing)
	if err != nil {
		return res, fmt.Errorf("stage source file %s: %w", o.URI, err)
	}
	if it.dec.Digest != nil {
		// The digest's bytes exactly as decompressed (its signature covers their hash), and
		// its S3 object metadata: the signature itself is not in the file.
		d := it.dec.Digest
		if err := w.digests.AppendRow(fileID, nullString(d.AccountID), nullTime(d.Start), nullTime(d.End),
			nullString(d.S3Bucket), nullString(d.S3Object), int64(d.LogFiles), string(d.Content), it.p.Content,
			nullString(metaValue(it.meta, "signature")), nullString(metaValue(it.meta, "signature-algorithm")),
			nullString(metaValue(it.meta, "backfill-generation-timestamp"))); err != nil {
			return res, fmt.Errorf("stage digest %s: %w", o.URI, err)
		}
	}
	return res, w.maybeCommit(ctx)
}

// stageCursor records an event-history cursor, to be saved with the next commit.
func (w *writer) stageCursor(c HistoryCursor) {
	w.cursors.stage(c)
	w.staged = true
}

// reject records an object that could not be read.
func (w *writer) reject(ctx context.Context, uri, reason string) error {
	if _, err := w.conn.ExecContext(ctx, "INSERT INTO ingest_errors VALUES (?, ?, ?, ?)",
		w.runID, uri, reason, w.now()); err != nil {
		return fmt.Errorf("record ingest error for %s: %w", uri, err)
	}
	return nil
}

// metaValue is an object's user metadata value for name (x-amz-meta-NAME), whatever
// the case of the key the server returned.
func metaValue(meta map[string]string, name string) string {
	if v, ok := meta[name]; ok {
		return v
	}
	for k, v := range meta {
		if strings.EqualFold(k, name) || strings.EqualFold(k, "x-amz-meta-"+name) {
			return v
		}
	}
	return ""
}

// finish commits the last objects and closes the run with its summary.
func (w *writer) finish(ctx context.Context, s *Summary) error {
	err := w.commit(ctx)
	if err == nil {
		err = w.recordWindows(ctx)
	}
	_, uerr := w.conn.ExecContext(ctx, `UPDATE ingest_runs SET finished_at = ?, files_read = ?, files_skipped = ?,
		events_new = ?, events_present = ?, files_rejected = ?, interrupted = ? WHERE run_id = ?`,
		w.now(), s.FilesRead, s.FilesSkipped, s.EventsNew, s.EventsPresent, len(s.Rejected), s.Interrupted, w.runID)
	if uerr != nil {
		uerr = fmt.Errorf("record ingest summary: %w", uerr)
	}
	return errors.Join(err, uerr)
}

// recordWindows records the S3 windows the run read whole (see ScanWindow).
func (w *writer) recordWindows(ctx context.Context) error {
	for _, sw := range w.windows {
		if _, err := w.conn.ExecContext(ctx, `INSERT INTO ingest_windows (run_id, prefix, accounts, regions, org_ids, name_from, name_to)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, w.runID, sw.Prefix, nonNil(sw.Accounts), nonNil(sw.Regions), nonNil(sw.OrgIDs),
			sw.From.UTC(), sw.To.UTC()); err != nil {
			return fmt.Errorf("record the window of %s: %w", sw.Prefix, err)
		}
	}
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// stagingAppender is one of the writer's appenders and the staging table it fills.
type stagingAppender struct {
	dst   **duckdb.Appender
	table string
}

func (w *writer) appenders() []stagingAppender {
	return []stagingAppender{{&w.files, "staged_files"}, {&w.events, "staged_events"},
		{&w.sources, "staged_sources"}, {&w.digests, "staged_digests"}}
}

func (w *writer) closeAppenders() {
	for _, a := range w.appenders() {
		if *a.dst != nil {
			(*a.dst).Close()
			*a.dst = nil
		}
	}
}

// close releases the connection; staged rows that were not committed are dropped with
// the temporary tables.
func (w *writer) close() {
	w.closeAppenders()
	w.conn.Close()
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// bytesString views b as a string without copying; the appender copies it into DuckDB
// before b's buffer is released.
func bytesString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
