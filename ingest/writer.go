package ingest

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
	"github.com/zeebo/xxh3"
)

// writer is the only code that inserts into the store. One goroutine owns it: it
// holds one connection and the appenders, de-duplicates events by eventID, and
// commits whole objects only, so an interrupted ingest leaves a consistent store.
type writer struct {
	conn    *sql.Conn
	events  *duckdb.Appender
	sources *duckdb.Appender
	files   *duckdb.Appender

	runID      int64
	nextFileID int64
	seen       map[[16]byte]struct{} // hashes of every eventID in the store
	inTx       bool
	pending    int // rows appended since the last commit
	lastCommit time.Time
	now        func() time.Time
}

// commitRows and commitEvery bound how much work an interruption can lose.
const (
	commitRows  = 250_000
	commitEvery = 5 * time.Second
)

func newWriter(ctx context.Context, db *sql.DB, now func() time.Time) (*writer, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("connect to store: %w", err)
	}
	w := &writer{conn: conn, seen: make(map[[16]byte]struct{}), now: now}
	if err := w.loadState(ctx); err != nil {
		conn.Close()
		return nil, err
	}
	err = conn.Raw(func(dc any) error {
		var err error
		c := dc.(driver.Conn)
		if w.events, err = duckdb.NewAppenderFromConn(c, "", "events"); err != nil {
			return fmt.Errorf("appender for events: %w", err)
		}
		if w.sources, err = duckdb.NewAppenderFromConn(c, "", "event_sources"); err != nil {
			return fmt.Errorf("appender for event_sources: %w", err)
		}
		if w.files, err = duckdb.NewAppenderFromConn(c, "", "source_files"); err != nil {
			return fmt.Errorf("appender for source_files: %w", err)
		}
		return nil
	})
	if err != nil {
		w.closeAppenders()
		conn.Close()
		return nil, err
	}
	return w, nil
}

func (w *writer) loadState(ctx context.Context) error {
	if err := w.conn.QueryRowContext(ctx,
		"SELECT coalesce(max(file_id), 0) + 1 FROM source_files").Scan(&w.nextFileID); err != nil {
		return fmt.Errorf("read source_files: %w", err)
	}
	rows, err := w.conn.QueryContext(ctx, "SELECT event_id FROM events")
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

func (w *writer) ensureTx(ctx context.Context) error {
	if w.inTx {
		return nil
	}
	if _, err := w.conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	w.inTx = true
	w.lastCommit = w.now()
	return nil
}

// commit makes everything appended so far durable.
func (w *writer) commit(ctx context.Context) error {
	if !w.inTx {
		return nil
	}
	for _, a := range []*duckdb.Appender{w.files, w.events, w.sources} {
		if err := a.Flush(); err != nil {
			w.rollback(ctx)
			return fmt.Errorf("write to store: %w", err)
		}
	}
	if _, err := w.conn.ExecContext(ctx, "COMMIT"); err != nil {
		w.inTx = false
		return fmt.Errorf("commit: %w", err)
	}
	w.inTx = false
	w.pending = 0
	return nil
}

func (w *writer) rollback(ctx context.Context) {
	if w.inTx {
		w.conn.ExecContext(ctx, "ROLLBACK")
		w.inTx = false
	}
}

// maybeCommit commits when enough rows or time have gone by.
func (w *writer) maybeCommit(ctx context.Context) error {
	if w.inTx && (w.pending >= commitRows || w.now().Sub(w.lastCommit) >= commitEvery) {
		return w.commit(ctx)
	}
	return nil
}

// objectResult is what the writer learns from storing one object.
type objectResult struct {
	New, Present int64
}

// store writes one decoded object and its provenance; the object is committed whole.
func (w *writer) store(ctx context.Context, it *item) (objectResult, error) {
	var res objectResult
	if err := w.ensureTx(ctx); err != nil {
		return res, err
	}
	fileID := w.nextFileID
	w.nextFileID++
	inFile := make(map[[16]byte]struct{}, len(it.dec.Records))
	for i := range it.dec.Records {
		r := &it.dec.Records[i]
		k := idKey(r.EventID)
		if _, dup := inFile[k]; dup {
			res.Present++
			continue
		}
		inFile[k] = struct{}{}
		if err := w.sources.AppendRow(r.EventID, fileID); err != nil {
			return res, fmt.Errorf("append provenance of %s: %w", r.EventID, err)
		}
		if _, ok := w.seen[k]; ok {
			res.Present++
			continue
		}
		if err := w.events.AppendRow(eventRow(r)...); err != nil {
			return res, fmt.Errorf("append event %s: %w", r.EventID, err)
		}
		w.seen[k] = struct{}{}
		res.New++
	}
	o := it.obj
	err := w.files.AppendRow(fileID, o.Kind, o.URI, it.p.Size, nullString(it.p.SHA256), nullString(o.ETag),
		nullTime(o.LastModified), string(it.dec.Shape), int64(len(it.dec.Records)), res.New, w.now(), w.runID)
	if err != nil {
		return res, fmt.Errorf("append source file %s: %w", o.URI, err)
	}
	if d := it.dec.Digest; d != nil {
		if _, err := w.conn.ExecContext(ctx, "INSERT INTO digests VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
			fileID, nullString(d.AccountID), nullTime(d.Start), nullTime(d.End), nullString(d.S3Bucket),
			nullString(d.S3Object), int64(d.LogFiles), string(d.Content)); err != nil {
			return res, fmt.Errorf("store digest %s: %w", o.URI, err)
		}
	}
	w.pending += len(it.dec.Records) + 1
	return res, w.maybeCommit(ctx)
}

// reject records an object that could not be read.
func (w *writer) reject(ctx context.Context, uri, reason string) error {
	if err := w.ensureTx(ctx); err != nil {
		return err
	}
	if _, err := w.conn.ExecContext(ctx, "INSERT INTO ingest_errors VALUES (?, ?, ?, ?)",
		w.runID, uri, reason, w.now()); err != nil {
		return fmt.Errorf("record ingest error for %s: %w", uri, err)
	}
	return nil
}

// finish commits the last objects and closes the run with its summary.
func (w *writer) finish(ctx context.Context, s *Summary) error {
	if err := w.commit(ctx); err != nil {
		return err
	}
	_, err := w.conn.ExecContext(ctx, `UPDATE ingest_runs SET finished_at = ?, files_read = ?, files_skipped = ?,
		events_new = ?, events_present = ?, files_rejected = ?, interrupted = ? WHERE run_id = ?`,
		w.now(), s.FilesRead, s.FilesSkipped, s.EventsNew, s.EventsPresent, len(s.Rejected), s.Interrupted, w.runID)
	if err != nil {
		return fmt.Errorf("record ingest summary: %w", err)
	}
	return nil
}

func (w *writer) closeAppenders() {
	for _, a := range []*duckdb.Appender{w.events, w.sources, w.files} {
		if a != nil {
			a.Close()
		}
	}
}

// close releases the connection; anything not committed is rolled back.
func (w *writer) close(ctx context.Context) {
	w.rollback(ctx)
	w.closeAppenders()
	w.conn.Close()
}

// eventRow lists a record's values in the column order of the events table.
func eventRow(r *Record) []driver.Value {
	var ro any
	if r.ReadOnly >= 0 {
		ro = r.ReadOnly == 1
	}
	return []driver.Value{
		r.EventID, nullTime(r.Time), nullString(r.EventSource), nullString(r.EventName), nullString(r.Region),
		nullString(r.SourceIP), nullString(r.UserAgent), nullString(r.IdentityType), nullString(r.PrincipalID),
		nullString(r.ARN), nullString(r.AccountID), nullString(r.AccessKeyID), nullString(r.UserName),
		nullString(r.SessionIssuerARN), nullString(r.ErrorCode), nullString(r.ErrorMessage), ro,
		nullString(r.EventType), nullString(r.EventCategory), nullString(r.RecipientAccountID),
		nullString(r.EventVersion), nullJSON(r.RequestParameters), nullJSON(r.ResponseElements),
		nullJSON(r.Resources), json.RawMessage(r.Raw),
	}
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

func nullJSON(b []byte) any {
	if b == nil {
		return nil
	}
	return json.RawMessage(b)
}
