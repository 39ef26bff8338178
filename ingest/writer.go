package ingest

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"
	"unsafe"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/trailhound/trailhound/queries"
)

// writer is the only code that inserts into the store. One goroutine owns it: it holds
// one connection and the appenders, and de-duplicates events by eventID and content: a
// record with a stored eventID and the same canonical JSON is a second delivery (a source
// row), one with other content a new variant of that eventID (a row of its own; see
// variants.go).
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
	ledgers ledgers          // the resumable sources' checkpoints, written with the batch
	windows []ScanWindow     // S3 windows read whole, recorded when the run finishes

	runID          int64
	nextFileID     int64
	batch          []stagedFile // the objects staged since the last commit, by file_id
	lost           []stagedFile // objects a commit could not store, for the summary
	orphans        []Rejection  // records lost with them (see isolate)
	progress       *progress
	isolated       bool          // the staging tables were rearranged by isolate
	pendingOrphans []Rejection   // orphans of the range being committed
	pendingKept    []keptVariant // events the range keeps for a rejected object
	kept           int           // events kept so, for the summary
	keptConflict   int           // of those, variants of an eventID stored before (variant > 0)
	soloIDs        []keptVariant // the new events of an object committed alone (store)
	seen           variantBook   // every (eventID, content) stored or staged
	pending        int           // events staged since the last commit
	staged         bool          // anything staged since the last commit
	lastCommit     time.Time
	now            func() time.Time
	log            *slog.Logger
}

// keptVariant is one variant of an event, named by eventID.
type keptVariant struct {
	id string
	v  int32
	h  hashKey
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
	"shape", "records", "outside_window", "events_new", "read_at", "run_id", "records_rejected",
	"content_sha256", "trailing_bytes"}

// stagedFile is what the writer remembers of an object staged in the current batch: enough
// to take it out of the summary if the commit cannot store it.
type stagedFile struct {
	id               int64
	uri              string
	records, outside int64
	res              objectResult
	digest           bool
	reason           string // why it was not stored
	stored           bool   // committed by isolate, before the rest of its batch
}

// The staging tables. A new event is staged once, in staged_events, with the file it came
// from; staged_sources holds only the other sources of events (a record already stored, or
// delivered again), so a new event costs one appended row.
var stagingTables = []string{
	"CREATE OR REPLACE TEMP TABLE staged_files AS SELECT " + strings.Join(sourceFileColumns, ", ") + " FROM source_files LIMIT 0",
	"CREATE OR REPLACE TEMP TABLE staged_events (event_id VARCHAR, variant INTEGER, record_hash VARCHAR, event_time TIMESTAMPTZ, record VARCHAR, fields VARCHAR, file_id BIGINT)",
	"CREATE OR REPLACE TEMP TABLE staged_sources (event_id VARCHAR, variant INTEGER, file_id BIGINT)",
	"CREATE OR REPLACE TEMP TABLE staged_digests AS SELECT * REPLACE (content::VARCHAR AS content) FROM digests LIMIT 0",
}

// What a commit moves from the staging tables into the store, in this order; event_rows
// is last (see commit).
var commitStatements = []struct{ table, sql string }{
	{"source_files", "INSERT INTO source_files (" + strings.Join(sourceFileColumns, ", ") + ") SELECT " +
		strings.Join(sourceFileColumns, ", ") + " FROM staged_files"},
	{"event_sources", `INSERT INTO event_sources (event_id, variant, file_id)
		SELECT event_id, variant, file_id FROM staged_events UNION ALL SELECT event_id, variant, file_id FROM staged_sources`},
	{"digests", "INSERT INTO digests SELECT * FROM staged_digests"},
}

func newWriter(ctx context.Context, db *sql.DB, now func() time.Time, log *slog.Logger) (*writer, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("connect to store: %w", err)
	}
	w := &writer{conn: conn, seen: newVariantBook(), now: now, lastCommit: now(), log: log}
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
	if w.isolated {
		for _, q := range []string{"DROP VIEW IF EXISTS staged_events", "DROP TABLE IF EXISTS staged_events_all",
			"DROP TABLE IF EXISTS lost_files", "DROP TABLE IF EXISTS kept_events"} {
			if _, err := w.conn.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("reset staging: %w", err)
			}
		}
		w.isolated = false
	}
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
	rows, err := w.conn.QueryContext(ctx, "SELECT event_id, variant, left(record_hash, 32) FROM event_rows")
	if err != nil {
		return fmt.Errorf("read event ids: %w", err)
	}
	defer rows.Close()
	var id, h string
	var v int32
	for rows.Next() {
		if err := rows.Scan(&id, &v, &h); err != nil {
			return fmt.Errorf("read event ids: %w", err)
		}
		k, ok := hashKeyHex(h)
		if !ok {
			return fmt.Errorf("read event ids: event %s has record_hash %q", id, h)
		}
		w.seen.put(idKey(id), k, v)
	}
	return rows.Err()
}

// closeDeadRuns records the runs that never finished (the process was killed: an
// interrupt records itself) as interrupted, with what they stored: the files and events
// of their committed batches, and the inputs they rejected. What they did not record (files
// skipped as unchanged) stays NULL. An ingest holds the store's write lock, so no other
// run can be going on.
func closeDeadRuns(ctx context.Context, st *queries.Store) error {
	_, err := st.DB.ExecContext(ctx, `UPDATE ingest_runs SET interrupted = true,
		files_read = (SELECT count(*) FROM source_files f WHERE f.run_id = ingest_runs.run_id),
		events_new = (SELECT coalesce(sum(events_new), 0) FROM source_files f WHERE f.run_id = ingest_runs.run_id),
		events_present = (SELECT coalesce(sum(records - events_new), 0) FROM source_files f WHERE f.run_id = ingest_runs.run_id),
		files_rejected = (SELECT count(*) FROM ingest_errors e WHERE e.run_id = ingest_runs.run_id AND e.part IS NOT TRUE),
		records_rejected = (SELECT count(*) FROM ingest_errors e WHERE e.run_id = ingest_runs.run_id AND e.part),
		events_conflicting = (SELECT count(*) FROM (SELECT min(file_id) AS first FROM event_sources WHERE variant > 0
			GROUP BY event_id, variant) v JOIN source_files f ON f.file_id = v.first WHERE f.run_id = ingest_runs.run_id)
		WHERE finished_at IS NULL AND interrupted IS NULL`)
	if err != nil {
		return fmt.Errorf("record interrupted ingest runs: %w", err)
	}
	return nil
}

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
// transaction is rolled back and done again in order, which needs less memory. Should
// that fail too, or the batch fail for what its data holds, the batch is split until the
// objects that cannot be stored are found (isolate): they are rejected, the rest stored.
func (w *writer) commit(ctx context.Context) error {
	if !w.staged {
		return nil
	}
	for _, a := range w.appenders() {
		if err := (*a.dst).Flush(); err != nil {
			if len(w.batch) == 1 && len(w.soloIDs) > 0 && isolatable(err) {
				return w.loseUnstaged(ctx, err)
			}
			return fmt.Errorf("stage rows: %w", err)
		}
	}
	w.progress.phase(fmt.Sprintf("committing %d events of %d objects to the store", w.pending, len(w.batch)))
	defer w.progress.phase("")
	err := w.commitStaged(ctx, true, nil)
	if de := (*duckdb.Error)(nil); errors.As(err, &de) && de.Type == duckdb.ErrorTypeOutOfMemory {
		w.log.Warn("out of memory committing a batch; trying again with events written in order", "err", firstLine(err))
		err = w.commitStaged(ctx, false, nil)
	}
	if err != nil && isolatable(err) && len(w.batch) > 0 {
		w.log.Warn("a batch could not be stored; storing its objects apart to find the ones at fault",
			"objects", len(w.batch), "err", firstLine(err))
		err = w.isolate(ctx, err)
	}
	if _, rerr := w.conn.ExecContext(ctx, "RESET preserve_insertion_order"); rerr != nil && err == nil {
		err = fmt.Errorf("reset preserve_insertion_order: %w", rerr)
	}
	if err != nil {
		return err
	}
	w.ledgers.committed()
	if err := w.resetStaging(ctx); err != nil {
		return err
	}
	w.batch = w.batch[:0]
	w.pending = 0
	w.staged = false
	w.lastCommit = w.now()
	return nil
}

// fileRange is a run of the batch's objects by file_id, [lo, hi]; nil is all of them.
// With keep, events that a rejected object of the batch staged first are stored from
// the range's objects that delivered them too (see isolate).
type fileRange struct {
	lo, hi int64
	keep   bool
}

// commitStaged runs the commit's transaction for the objects of r (nil: all, with the
// checkpoints); the staging tables are left as they are.
func (w *writer) commitStaged(ctx context.Context, parallel bool, r *fileRange) (err error) {
	if _, err := w.conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	defer func() {
		if err != nil {
			w.conn.ExecContext(ctx, "ROLLBACK")
		}
	}()
	if r == nil {
		for _, c := range commitStatements {
			if _, err := w.conn.ExecContext(ctx, c.sql); err != nil {
				return fmt.Errorf("write %s: %w", c.table, err)
			}
		}
		if err := w.ledgers.save(ctx, w.conn, w.now()); err != nil {
			return err
		}
	} else if err := w.commitRange(ctx, *r); err != nil {
		return err
	}
	if r != nil {
		defer func() {
			if err == nil {
				w.orphans = append(w.orphans, w.pendingOrphans...)
				for _, k := range w.pendingKept {
					w.seen.put(idKey(k.id), k.h, k.v) // stored after all
					if k.v > 0 {
						w.keptConflict++
					}
				}
				w.kept += len(w.pendingKept)
			}
			w.pendingOrphans, w.pendingKept = nil, nil
		}()
	}
	if err := w.insertEvents(ctx, parallel); err != nil {
		return err
	}
	if _, err := w.conn.ExecContext(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// isolatable reports whether a failed commit may be the fault of some of its objects
// (their size, their content), so that storing them apart stores the others. A store that
// cannot be written at all (I/O, a fatal error) is not.
func isolatable(err error) bool {
	var de *duckdb.Error
	if !errors.As(err, &de) {
		return false
	}
	switch de.Type {
	case duckdb.ErrorTypeOutOfMemory, duckdb.ErrorTypeInvalidInput, duckdb.ErrorTypeConversion,
		duckdb.ErrorTypeConstraint, duckdb.ErrorTypeOutOfRange, duckdb.ErrorTypeInvalid:
		return true
	}
	return outOfMemory(err)
}

// outOfMemory recognises DuckDB running out of memory, also where it says so in another
// kind of error (a COMMIT that could not allocate is a TransactionContext error).
func outOfMemory(err error) bool {
	var de *duckdb.Error
	return errors.As(err, &de) && (de.Type == duckdb.ErrorTypeOutOfMemory ||
		strings.Contains(de.Msg, "could not allocate block") || strings.Contains(de.Msg, "failed to pin block"))
}

// isolate stores a batch that failed as a whole (with failed) in parts: halves, each in
// its own transaction, and halves of the halves that fail, down to single objects; an
// object that fails alone is rejected, with DuckDB's reason, and the rest is stored.
// The parts are stored in file_id order, so an event staged by a rejected object is known
// to be rejected before any later object that delivered it too is stored: the first such
// object stores it (the writer kept only the event's first delivery; by eventID they are
// the same event). Should that make the object fail alone, it is stored without that
// event, which it then reports as a record not stored (and the next ingest reads the
// object again). The checkpoints are saved last.
func (w *writer) isolate(ctx context.Context, failed error) error {
	w.isolated = true
	byID := map[int64]int{}
	for i, f := range w.batch {
		byID[f.id] = i
	}
	for _, q := range []string{"ALTER TABLE staged_events RENAME TO staged_events_all",
		"CREATE OR REPLACE TEMP TABLE lost_files (file_id BIGINT)",
		"CREATE OR REPLACE TEMP TABLE kept_events (event_id VARCHAR, variant INTEGER, file_id BIGINT)"} {
		if _, err := w.conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("isolate failed batch: %w", err)
		}
	}
	var store func(r fileRange, err error) error
	store = func(r fileRange, err error) error {
		if err == nil {
			err = w.commitStaged(ctx, false, &r)
		}
		if err != nil && isolatable(err) && r.lo == r.hi && r.keep {
			r.keep = false
			err = w.commitStaged(ctx, false, &r)
		}
		switch {
		case err == nil:
			for i := range w.batch {
				if f := &w.batch[i]; f.id >= r.lo && f.id <= r.hi {
					f.stored = true
				}
			}
			return nil
		case !isolatable(err):
			return err
		case r.lo == r.hi:
			return w.loseFile(ctx, byID, r.lo, err)
		}
		mid := r.lo + (r.hi-r.lo)/2
		if err := store(fileRange{r.lo, mid, true}, nil); err != nil {
			return err
		}
		return store(fileRange{mid + 1, r.hi, true}, nil)
	}
	all := fileRange{w.batch[0].id, w.batch[len(w.batch)-1].id, true}
	if all.lo == all.hi {
		if err := w.loseFile(ctx, byID, all.lo, failed); err != nil {
			return err
		}
	} else {
		mid := all.lo + (all.hi-all.lo)/2
		if err := store(fileRange{all.lo, mid, true}, nil); err != nil {
			return err
		}
		if err := store(fileRange{mid + 1, all.hi, true}, nil); err != nil {
			return err
		}
	}
	if _, err := w.conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	if err := w.ledgers.save(ctx, w.conn, w.now()); err != nil {
		w.conn.ExecContext(ctx, "ROLLBACK")
		return err
	}
	if _, err := w.conn.ExecContext(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// lostEvent is the condition that the event (event_id, variant) of the staged row aliased
// s was staged first by an object that could not be stored, and is not kept yet.
func lostEvent(s string) string {
	return `EXISTS (SELECT 1 FROM staged_events_all a WHERE a.event_id = ` + s + `.event_id AND a.variant = ` + s + `.variant
			AND a.file_id IN (SELECT file_id FROM lost_files)
			AND NOT EXISTS (SELECT 1 FROM kept_events k WHERE k.event_id = a.event_id AND k.variant = a.variant))`
}

// commitRange writes one part of a batch (inside commitStaged's transaction): its source
// files, event sources, digests, and (through a view of that part) its events.
//
// Events a rejected object staged first, delivered again in this part: with r.keep,
// stored from the first object of the part that delivered them (kept_events); else left
// out and reported. An event is one variant of an eventID: (event_id, variant).
func (w *writer) commitRange(ctx context.Context, r fileRange) error {
	if r.keep {
		if err := w.keepLost(ctx, r); err != nil {
			return err
		}
	}
	orphans, err := w.orphansOf(ctx, r)
	if err != nil {
		return err
	}
	for _, o := range orphans {
		if _, err := w.conn.ExecContext(ctx, "UPDATE staged_files SET records_rejected = records_rejected + 1 WHERE file_id = ?", o.file); err != nil {
			return fmt.Errorf("write source_files: %w", err)
		}
	}
	// insert_events.sql reads staged_events: here, a view of this part and of the events
	// it keeps for a rejected object. The bounds are the writer's own file ids (a view
	// takes no parameters).
	if _, err := w.conn.ExecContext(ctx, fmt.Sprintf(`CREATE OR REPLACE TEMP VIEW staged_events AS
		SELECT * FROM staged_events_all WHERE file_id BETWEEN %[1]d AND %[2]d
		UNION ALL
		SELECT e.event_id, e.variant, e.record_hash, e.event_time, e.record, e.fields, k.file_id
		FROM kept_events k JOIN staged_events_all e USING (event_id, variant)
		WHERE k.file_id BETWEEN %[1]d AND %[2]d`, r.lo, r.hi)); err != nil {
		return fmt.Errorf("write event_rows: %w", err)
	}
	cols := strings.Join(sourceFileColumns, ", ")
	for _, c := range []struct {
		table, sql string
		args       []any
	}{
		{"source_files", "INSERT INTO source_files (" + cols + ") SELECT " + cols + " FROM staged_files WHERE file_id BETWEEN ? AND ?",
			[]any{r.lo, r.hi}},
		{"event_sources", `INSERT INTO event_sources (event_id, variant, file_id)
			SELECT event_id, variant, file_id FROM staged_events
			UNION ALL SELECT event_id, variant, file_id FROM staged_sources s WHERE file_id BETWEEN ? AND ?
				AND NOT ` + lostEvent("s") + `
				AND NOT EXISTS (SELECT 1 FROM kept_events k WHERE k.event_id = s.event_id AND k.variant = s.variant AND k.file_id = s.file_id)`,
			[]any{r.lo, r.hi}},
		{"digests", "INSERT INTO digests SELECT * FROM staged_digests WHERE file_id BETWEEN ? AND ?", []any{r.lo, r.hi}},
	} {
		if _, err := w.conn.ExecContext(ctx, c.sql, c.args...); err != nil {
			return fmt.Errorf("write %s: %w", c.table, err)
		}
	}
	for _, o := range orphans {
		f := w.batch[w.batchIndex(o.file)]
		reason := queries.DisplayText(fmt.Sprintf("record with eventID %s not stored: DuckDB refused it in an object that could not be stored; the next ingest reads this object again", o.id))
		if err := w.reject(ctx, f.uri, true, 0, reason); err != nil {
			return err
		}
		w.pendingOrphans = append(w.pendingOrphans, Rejection{URI: f.uri, Reason: reason})
	}
	return nil
}

// rangeOrphan is an event of a part of a batch that was lost with a rejected object.
type rangeOrphan struct {
	file int64
	id   string
}

// orphansOf lists the part's events lost with a rejected object, by file and eventID.
func (w *writer) orphansOf(ctx context.Context, r fileRange) ([]rangeOrphan, error) {
	rows, err := w.conn.QueryContext(ctx, `SELECT s.file_id, s.event_id FROM staged_sources s
		WHERE s.file_id BETWEEN ? AND ? AND `+lostEvent("s")+` ORDER BY s.file_id, s.event_id, s.variant`, r.lo, r.hi)
	if err != nil {
		return nil, fmt.Errorf("write event_sources: %w", err)
	}
	var orphans []rangeOrphan
	for rows.Next() {
		var o rangeOrphan
		if err := rows.Scan(&o.file, &o.id); err != nil {
			rows.Close()
			return nil, fmt.Errorf("write event_sources: %w", err)
		}
		orphans = append(orphans, o)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("write event_sources: %w", err)
	}
	return orphans, nil
}

// keepLost stores, from the part r, the events a rejected object staged first (see
// commitRange): kept_events, and each keeping file's count of new events.
func (w *writer) keepLost(ctx context.Context, r fileRange) error {
	if _, err := w.conn.ExecContext(ctx, `INSERT INTO kept_events SELECT event_id, variant, min(file_id) FROM staged_sources s
		WHERE file_id BETWEEN ? AND ? AND `+lostEvent("s")+` GROUP BY event_id, variant`, r.lo, r.hi); err != nil {
		return fmt.Errorf("write event_rows: %w", err)
	}
	if _, err := w.conn.ExecContext(ctx, `UPDATE staged_files f SET events_new = events_new + k.n
		FROM (SELECT file_id, count(*) AS n FROM kept_events WHERE file_id BETWEEN ? AND ? GROUP BY file_id) k
		WHERE f.file_id = k.file_id`, r.lo, r.hi); err != nil {
		return fmt.Errorf("write source_files: %w", err)
	}
	kept, err := w.conn.QueryContext(ctx, `SELECT k.event_id, k.variant, e.record_hash FROM kept_events k
		JOIN staged_events_all e USING (event_id, variant) WHERE k.file_id BETWEEN ? AND ?`, r.lo, r.hi)
	if err != nil {
		return fmt.Errorf("write event_rows: %w", err)
	}
	for kept.Next() {
		var k keptVariant
		var h string
		if err := kept.Scan(&k.id, &k.v, &h); err != nil {
			kept.Close()
			return fmt.Errorf("write event_rows: %w", err)
		}
		k.h, _ = hashKeyHex(h)
		w.pendingKept = append(w.pendingKept, k)
	}
	kept.Close()
	if err := kept.Err(); err != nil {
		return fmt.Errorf("write event_rows: %w", err)
	}
	return nil
}

// loseUnstaged rejects the one object of a batch that could not even be staged (a record
// too large for DuckDB's memory), and starts a new batch.
func (w *writer) loseUnstaged(ctx context.Context, cause error) error {
	f := w.batch[0]
	f.reason = storeFailure(cause)
	for _, k := range w.soloIDs {
		w.seen.remove(idKey(k.id), k.h)
	}
	w.log.Warn("an object could not be stored; the others are", "uri", f.uri, "err", firstLine(cause))
	for _, a := range w.appenders() {
		(*a.dst).Clear()
	}
	if err := w.resetStaging(ctx); err != nil {
		return err
	}
	if err := w.reject(ctx, f.uri, false, 0, f.reason); err != nil {
		return err
	}
	w.lost = append(w.lost, f)
	w.batch, w.soloIDs, w.pending = w.batch[:0], w.soloIDs[:0], 0
	return nil
}

// batchIndex finds an object of the batch by file_id (the batch is in file_id order).
func (w *writer) batchIndex(id int64) int {
	return sort.Search(len(w.batch), func(i int) bool { return w.batch[i].id >= id })
}

// loseFile rejects one object that could not be stored, even alone: it is recorded in
// ingest_errors and taken out of the summary; its events are forgotten, so that a later
// object delivering them stores them.
func (w *writer) loseFile(ctx context.Context, byID map[int64]int, id int64, cause error) error {
	i, ok := byID[id]
	if !ok {
		return nil // no object has this id (the batch's ids are contiguous, so never)
	}
	f := &w.batch[i]
	f.reason = storeFailure(cause)
	if _, err := w.conn.ExecContext(ctx, "INSERT INTO lost_files VALUES (?)", id); err != nil {
		return fmt.Errorf("isolate failed batch: %w", err)
	}
	rows, err := w.conn.QueryContext(ctx, "SELECT event_id, record_hash FROM staged_events_all WHERE file_id = ?", id)
	if err != nil {
		return fmt.Errorf("isolate failed batch: %w", err)
	}
	for rows.Next() {
		var ev, h string
		if err := rows.Scan(&ev, &h); err != nil {
			rows.Close()
			return fmt.Errorf("isolate failed batch: %w", err)
		}
		k, _ := hashKeyHex(h)
		w.seen.remove(idKey(ev), k)
		w.pending--
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("isolate failed batch: %w", err)
	}
	w.log.Warn("an object could not be stored; the others are", "uri", f.uri, "err", firstLine(cause))
	if err := w.reject(ctx, f.uri, false, 0, f.reason); err != nil {
		return err
	}
	w.lost = append(w.lost, *f)
	return nil
}

// storeFailure is the reason an object could not be stored, from DuckDB's error: its first
// line (without the tuning advice that follows), and what raises DuckDB's memory.
func storeFailure(err error) string {
	reason := "could not be stored, even alone (DuckDB: " + firstLine(err) + "); the other objects were stored"
	if outOfMemory(err) {
		reason += ". It needs more memory than DuckDB has during an ingest: --max-record raises that memory with the per-record limit"
	}
	return queries.DisplayText(reason)
}

// firstLine is an error's first line, without the operation the writer wrapped it in.
func firstLine(err error) string {
	msg := err.Error()
	var de *duckdb.Error
	if errors.As(err, &de) {
		msg = de.Msg
	}
	msg, _, _ = strings.Cut(msg, "\n")
	return strings.TrimSpace(msg)
}

// settle takes the objects a commit could not store out of the summary, as rejected
// inputs, with the records lost with them.
func (w *writer) settle(s *Summary) {
	for _, f := range w.lost {
		s.FilesRead--
		s.Records -= f.records
		s.OutsideWindow -= f.outside
		s.EventsNew -= f.res.New
		s.EventsPresent -= f.res.Present
		s.EventsConflicting -= f.res.Conflicting
		if f.digest {
			s.Digests--
		}
		s.Rejected = append(s.Rejected, Rejection{URI: f.uri, Reason: f.reason})
	}
	for _, o := range w.orphans {
		s.EventsPresent--
		s.BadRecords = append(s.BadRecords, o)
	}
	s.EventsNew += int64(w.kept) // counted present where they were staged as a second delivery
	s.EventsPresent -= int64(w.kept)
	s.EventsConflicting += int64(w.keptConflict)
	w.lost, w.orphans, w.kept, w.keptConflict = nil, nil, 0, 0
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
	Conflicting  int64 // of New, variants of an eventID stored or staged with other content
}

// store stages one decoded object and its provenance.
func (w *writer) store(ctx context.Context, it *item) (objectResult, error) {
	var res objectResult
	largest := 0
	for i := range it.dec.Records {
		largest = max(largest, len(it.dec.Records[i].Raw))
	}
	solo := largest > soloRecord
	if solo && w.staged {
		if err := w.commit(ctx); err != nil {
			return res, err
		}
	}
	w.soloIDs = w.soloIDs[:0]
	fileID := w.nextFileID
	w.nextFileID++
	w.staged = true
	type rowKey struct{ id, h [16]byte }
	inFile := make(map[rowKey]struct{}, len(it.dec.Records))
	for i := range it.dec.Records {
		r := &it.dec.Records[i]
		if r.Hash == ([32]byte{}) {
			r.Hash = recordHash(r.Raw)
		}
		k, h := idKey(r.EventID), hashKeyOf(r.Hash)
		if _, dup := inFile[rowKey{k, h}]; dup {
			res.Present++
			continue
		}
		inFile[rowKey{k, h}] = struct{}{}
		if v, ok := w.seen.find(k, h); ok {
			res.Present++
			if err := w.sources.AppendRow(r.EventID, v, fileID); err != nil {
				return res, fmt.Errorf("stage provenance of %s: %w", r.EventID, err)
			}
			continue
		}
		v := w.seen.add(k, h)
		if err := w.events.AppendRow(r.EventID, v, hashHex(r.Hash), nullTime(r.Time), bytesString(r.Raw), nullString(r.Fields), fileID); err != nil {
			return res, fmt.Errorf("stage event %s: %w", r.EventID, err)
		}
		res.New++
		if v > 0 {
			res.Conflicting++
		}
		w.pending++
		if solo {
			w.soloIDs = append(w.soloIDs, keptVariant{r.EventID, v, h})
		}
	}
	o := it.obj
	var trailing any
	if it.p.Trailing >= 0 {
		trailing = it.p.Trailing
	}
	err := w.files.AppendRow(fileID, o.Kind, o.URI, it.p.Size, nullString(it.p.SHA256), nullString(o.ETag),
		nullTime(o.LastModified), string(it.dec.Shape), int64(len(it.dec.Records)), it.outside, res.New, w.now(), w.runID,
		int64(len(it.dec.Bad)), nullString(it.p.ContentSHA256), trailing)
	if err != nil {
		return res, fmt.Errorf("stage source file %s: %w", o.URI, err)
	}
	w.batch = append(w.batch, stagedFile{id: fileID, uri: o.URI, records: int64(len(it.dec.Records)),
		outside: it.outside, res: res, digest: it.dec.Digest != nil})
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
	if solo {
		return res, w.commit(ctx)
	}
	return res, w.maybeCommit(ctx)
}

// soloRecord: an object with a record larger than this is committed in a batch of its own
// (real records are under 300 KB). A batch that cannot be stored is split to find the
// objects at fault, and each part reads the whole staging table again; a record too large
// for DuckDB's memory would make every part fail, so it must be alone.
const soloRecord = 1 << 20

// stageCheckpoint records a source's checkpoint, to be saved with the next commit.
func (w *writer) stageCheckpoint(c Checkpoint) {
	w.ledgers.stage(c)
	w.staged = true
}

// reject records an object that could not be read, or (part) a part of one that could
// not be stored while the rest was: a record, or a line of a JSON Lines file (line > 0).
func (w *writer) reject(ctx context.Context, uri string, part bool, line int, reason string) error {
	var l, p any
	if line > 0 {
		l = int64(line)
	}
	if part {
		p = true
	}
	if _, err := w.conn.ExecContext(ctx, "INSERT INTO ingest_errors (run_id, uri, reason, occurred_at, line, part) VALUES (?, ?, ?, ?, ?, ?)",
		w.runID, uri, reason, w.now(), l, p); err != nil {
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

// finish commits the last objects and closes the run with its summary. A run whose last
// commit failed is recorded with what is in the store, not with what was staged.
func (w *writer) finish(ctx context.Context, s *Summary) error {
	err := w.commit(ctx)
	if err == nil {
		err = w.recordWindows(ctx)
	}
	w.settle(s)
	if err != nil {
		for _, f := range w.batch { // staged, not stored
			if f.stored {
				continue
			}
			w.lost = append(w.lost, stagedFile{id: f.id, uri: f.uri, records: f.records, outside: f.outside,
				res: f.res, digest: f.digest, reason: queries.DisplayText("not stored: the ingest failed (" + firstLine(err) + ")")})
		}
		w.settle(s)
	}
	_, uerr := w.conn.ExecContext(ctx, `UPDATE ingest_runs SET finished_at = ?, files_read = ?, files_skipped = ?,
		events_new = ?, events_present = ?, files_rejected = ?, interrupted = ?, records_rejected = ?,
		events_conflicting = ? WHERE run_id = ?`,
		w.now(), s.FilesRead, s.FilesSkipped, s.EventsNew, s.EventsPresent, len(s.Rejected), s.Interrupted,
		len(s.BadRecords), s.EventsConflicting, w.runID)
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
