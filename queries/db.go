// Package queries owns the trailhound store: its schema, how it is opened, and the
// SQL that reads it (canned queries and the output formats of ad-hoc SQL).
package queries

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"strconv"
	"strings"

	duckdb "github.com/duckdb/duckdb-go/v2"
	"github.com/duckdb/duckdb-go/v2/mapping"

	"github.com/trailhound/trailhound/queries/prices"
)

// SchemaSQL is the store schema; it is idempotent and runs on every read-write open.
//
//go:embed schema.sql
var SchemaSQL string

// InsertEventsSQL moves a staged batch into event_rows, deriving the typed columns
// from each record (see the file's header).
//
//go:embed insert_events.sql
var InsertEventsSQL string

// MacrosSQL defines the view and macros the canned queries share (lineage_edges, lineage_of,
// lineage_events, ...).
// Open stores them in the store on every read-write open (for the duckdb CLI too) with
// their hash in meta. A read-only open of a store whose macros differ from this binary's
// defines this binary's as TEMP macros on every connection instead.
//
//go:embed macros.sql
var macrosFile string

// MacrosSQL is macros.sql and the view price_table (the embedded price table).
var MacrosSQL = macrosFile + "\n" + prices.ViewSQL()

// upgrade2SQL derives the columns version 2 added from each record of a version 1 store.
//
//go:embed upgrade_2.sql
var upgrade2SQL string

// upgrade4SQL moves a version 2 or 3 store to version 4 (the integrity columns and tables).
//
//go:embed upgrade_4.sql
var upgrade4SQL string

// upgrades run in order on a store older than their version, after SchemaSQL (which adds
// the new columns and tables); each sets the store's version. One is SQL, or Go (run).
var upgrades = []struct {
	version int
	sql     string
	run     func(*Store, context.Context) error
}{{2, upgrade2SQL, nil}, {4, upgrade4SQL, nil}, {5, "", (*Store).upgrade5}}

// SchemaVersion is the version of SchemaSQL. A store written by a newer trailhound is refused;
// an older one is upgraded when it is opened for writing.
const SchemaVersion = 5

// tempMacros is MacrosSQL with every view and macro made TEMP (per connection).
var tempMacros = strings.NewReplacer("CREATE OR REPLACE MACRO", "CREATE OR REPLACE TEMP MACRO",
	"CREATE OR REPLACE VIEW", "CREATE OR REPLACE TEMP VIEW").Replace(MacrosSQL)

// macrosHash identifies MacrosSQL in meta.
var macrosHash = func() string {
	h := sha256.Sum256([]byte(MacrosSQL))
	return hex.EncodeToString(h[:])
}()

// ErrLocked means another process holds the store open for writing.
var ErrLocked = errors.New("store is locked")

// LockedError names the store that another process is using.
type LockedError struct{ Path string }

func (e *LockedError) Error() string {
	return fmt.Sprintf("another trailhound is using %s (or a duckdb shell has it open); wait for it to finish or close it", e.Path)
}

func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// OpenOptions tunes Open.
type OpenOptions struct {
	ReadOnly bool
	// Export, with ReadOnly, keeps external access on so that COPY ... TO can write a copy of
	// the store elsewhere (trailhound export parquet). The store itself is still opened in
	// DuckDB's READ_ONLY access mode, so nothing can modify it; only the lines COPY TO names
	// are written, and what runs on such a connection is trailhound's own SQL, never a user's.
	Export bool
	// MemoryLimit caps DuckDB's buffer memory (e.g. "256MB") and turns on the bulk-load
	// settings an ingest wants; empty keeps DuckDB's defaults.
	MemoryLimit string
}

// Store is an open trailhound store.
type Store struct {
	DB   *sql.DB
	Path string
	conn *duckdb.Connector
}

// Close checkpoints and closes the store.
func (s *Store) Close() error {
	err := s.DB.Close()
	if cerr := s.conn.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("close store %s: %w", s.Path, err)
	}
	return nil
}

// Open opens (creating if needed) the store at path. Every pooled connection uses UTC,
// and extension autoload/autoinstall are off: the store never reaches the network.
//
// Read-only means, for an evidence store, that nothing on the machine changes and nothing
// outside the store is read: the file is opened in DuckDB's READ_ONLY access mode (no INSERT,
// DROP, CHECKPOINT...), and external access is off (enable_external_access=false: no COPY TO
// or FROM, EXPORT or IMPORT DATABASE, ATTACH, INSTALL or LOAD, read_csv/read_json/glob of a
// path, secrets on disk); then the configuration is locked (lock_configuration), so no SET
// turns any of it back on. Temporary tables and macros, in memory, still work; DuckDB may
// still spill to its own STORE.tmp directory.
func Open(ctx context.Context, path string, opts OpenOptions) (*Store, error) {
	if opts.ReadOnly {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("no store at %s: load one first with 'trailhound ingest' (or point --db at it)", path)
		}
	}
	if err := checkStoreFile(path); err != nil {
		return nil, err
	}
	q := url.Values{}
	q.Set("autoinstall_known_extensions", "false")
	q.Set("autoload_known_extensions", "false")
	if opts.ReadOnly {
		q.Set("access_mode", "READ_ONLY")
		if !opts.Export {
			q.Set("enable_external_access", "false")
		} else {
			// A partitioned COPY TO buffers each open partition: fewer open files, flushed
			// sooner, keep a million-event export under its memory limit (the defaults, 100
			// files and 512k rows, ran out of 512 MB).
			q.Set("partitioned_write_max_open_files", "16")
			q.Set("partitioned_write_flush_threshold", "20000")
		}
	}
	if opts.MemoryLimit != "" {
		q.Set("memory_limit", opts.MemoryLimit)
		// Bulk-load settings (an ingest is the only writer): hand freed memory back to the
		// OS as work goes, so RSS follows the limit, and checkpoint at close rather than
		// after every large commit (measured: 37 s -> 30 s for 1M events).
		q.Set("allocator_background_threads", "true")
		q.Set("allocator_flush_threshold", "16MB")
		q.Set("checkpoint_threshold", "1GB")
	}
	dsn := path + "?" + q.Encode()
	st, err := connect(ctx, path, dsn, false, opts.ReadOnly)
	if err != nil {
		return nil, err
	}
	if !opts.ReadOnly {
		removeStaleTemp(path)
		if err := st.setUp(ctx); err != nil {
			st.Close()
			return nil, err
		}
	}
	if err := st.checkVersion(ctx); err != nil {
		st.Close()
		return nil, err
	}
	if opts.ReadOnly {
		var stored string
		err := st.DB.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = 'macros_sha256'").Scan(&stored)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			st.Close()
			return nil, fmt.Errorf("read macros of %s: %w", path, err)
		}
		if stored != macrosHash {
			// The store's macros come from another trailhound: reconnect with our own.
			if err := st.Close(); err != nil {
				return nil, err
			}
			return connect(ctx, path, dsn, true, true)
		}
	}
	return st, nil
}

// connect opens the store at dsn. Every pooled connection uses UTC, and, with ownMacros,
// has this binary's views and macros as TEMP ones; with lock, the first connection locks the
// configuration once it is set (DuckDB's TimeZone can only be set on a connection, after the
// database is open: not in the DSN).
func connect(ctx context.Context, path, dsn string, ownMacros, lock bool) (*Store, error) {
	// The pool opens connections long after Open returns: their set-up must not die with
	// Open's context (after a Ctrl-C, every new connection would fail to set its time zone).
	initCtx := context.WithoutCancel(ctx)
	c, err := duckdb.NewConnector(dsn, func(e driver.ExecerContext) error {
		ctx := initCtx
		tz, locked, err := settings(ctx, e)
		if err != nil {
			return err
		}
		if tz != "UTC" {
			// GLOBAL: a connection opened later, after the lock, has it already.
			if _, err := e.ExecContext(ctx, "SET GLOBAL TimeZone='UTC'", nil); err != nil {
				return fmt.Errorf("set time zone: %w", err)
			}
		}
		if ownMacros {
			if _, err := e.ExecContext(ctx, tempMacros, nil); err != nil {
				return fmt.Errorf("define macros: %w", err)
			}
		}
		if lock && !locked {
			if _, err := e.ExecContext(ctx, "SET GLOBAL lock_configuration = true", nil); err != nil {
				return fmt.Errorf("lock configuration: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, openError(path, err)
	}
	st := &Store{DB: sql.OpenDB(c), Path: path, conn: c}
	if err := st.DB.PingContext(ctx); err != nil {
		st.Close()
		return nil, openError(path, err)
	}
	return st, nil
}

// settings reads a new connection's time zone and whether the configuration is locked.
func settings(ctx context.Context, e driver.ExecerContext) (tz string, locked bool, err error) {
	q, ok := e.(driver.QueryerContext)
	if !ok {
		return "", false, errors.New("read settings: the driver's connection cannot query")
	}
	rows, err := q.QueryContext(ctx, "SELECT current_setting('TimeZone'), current_setting('lock_configuration')", nil)
	if err != nil {
		return "", false, fmt.Errorf("read settings: %w", err)
	}
	defer rows.Close()
	v := make([]driver.Value, 2)
	if err := rows.Next(v); err != nil {
		return "", false, fmt.Errorf("read settings: %w", err)
	}
	tz, _ = v[0].(string)
	locked, _ = v[1].(bool)
	return tz, locked, nil
}

// CountStatements returns how many SQL statements text holds, as DuckDB's own parser splits it
// (on an empty in-memory database with one thread and no file access, so nothing is run; its
// start costs tens of milliseconds). A text that does not parse counts as one: running it
// reports the error.
func CountStatements(text string) int {
	var db mapping.Database
	var cfg mapping.Config
	if mapping.CreateConfig(&cfg) == mapping.StateError {
		return 1
	}
	defer mapping.DestroyConfig(&cfg)
	for _, kv := range [][2]string{{"threads", "1"}, {"enable_external_access", "false"},
		{"autoload_known_extensions", "false"}, {"autoinstall_known_extensions", "false"}} {
		if mapping.SetConfig(cfg, kv[0], kv[1]) == mapping.StateError {
			return 1
		}
	}
	var msg string
	if mapping.OpenExt(":memory:", &db, cfg, &msg) == mapping.StateError {
		return 1
	}
	defer mapping.Close(&db)
	var conn mapping.Connection
	if mapping.Connect(db, &conn) == mapping.StateError {
		return 1
	}
	defer mapping.Disconnect(&conn)
	var stmts mapping.ExtractedStatements
	n := mapping.ExtractStatements(conn, text, &stmts)
	defer mapping.DestroyExtracted(&stmts)
	if n == 0 && mapping.ExtractStatementsError(stmts) != "" {
		return 1
	}
	return int(n)
}

// setUp creates or upgrades the schema and stores the macros.
func (s *Store) setUp(ctx context.Context) error {
	if _, err := s.DB.ExecContext(ctx, SchemaSQL); err != nil {
		return fmt.Errorf("create schema in %s: %w", s.Path, err)
	}
	var v string
	if err := s.DB.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = 'schema_version'").Scan(&v); err != nil {
		return fmt.Errorf("read schema version of %s: %w", s.Path, err)
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return fmt.Errorf("%s has schema version %q: not a trailhound store", s.Path, v)
	}
	for _, u := range upgrades {
		if n < u.version {
			var err error
			if u.run != nil {
				err = u.run(s, ctx)
			} else {
				_, err = s.DB.ExecContext(ctx, u.sql)
			}
			if err != nil {
				return fmt.Errorf("upgrade %s to schema version %d: %w", s.Path, u.version, err)
			}
			n = u.version
		}
		// Version 3 only added columns, which SchemaSQL has added already.
		if _, err := s.DB.ExecContext(ctx, "UPDATE meta SET value = '3' WHERE key = 'schema_version' AND value = '2'"); err != nil {
			return fmt.Errorf("upgrade %s to schema version 3: %w", s.Path, err)
		}
	}
	if _, err := s.DB.ExecContext(ctx, MacrosSQL); err != nil {
		return fmt.Errorf("store macros in %s: %w", s.Path, err)
	}
	if _, err := s.DB.ExecContext(ctx, `INSERT INTO meta VALUES ('macros_sha256', ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, macrosHash); err != nil {
		return fmt.Errorf("store macros in %s: %w", s.Path, err)
	}
	return nil
}

func (s *Store) checkVersion(ctx context.Context) error {
	var v string
	err := s.DB.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = 'schema_version'").Scan(&v)
	if err != nil {
		return fmt.Errorf("%s is not a trailhound store (no schema version): %w", s.Path, err)
	}
	n, err := strconv.Atoi(v)
	if err != nil || n > SchemaVersion {
		return fmt.Errorf("%s has schema version %s; this trailhound reads up to %d: upgrade trailhound", s.Path, v, SchemaVersion)
	}
	if n < SchemaVersion {
		return fmt.Errorf("%s has schema version %d and needs an upgrade to %d: open it for writing once, e.g. trailhound --db %s sql --write \"SELECT 1\"",
			s.Path, n, SchemaVersion, s.Path)
	}
	return nil
}

// removeStaleTemp removes what DuckDB left in the store's temporary directory (PATH.tmp,
// where it spills beyond its memory limit) when a process was killed: DuckDB removes it at
// a clean close, but neither reuses nor removes a dead process's files (measured: 120 MB
// left after kill -9 during an ingest, still there after the next ingest). A read-write
// open holds the store's only lock and has spilled nothing yet, so every file there is a
// dead process's. Only DuckDB's own temporary files are removed, then the directory if
// that empties it.
func removeStaleTemp(path string) {
	dir := path + ".tmp"
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.Type().IsRegular() && strings.HasPrefix(e.Name(), "duckdb_temp_") {
			os.Remove(dir + string(os.PathSeparator) + e.Name())
		}
	}
	os.Remove(dir) // fails, harmlessly, when something else is in it
}

func openError(path string, err error) error {
	msg := err.Error()
	if strings.Contains(msg, "Could not set lock") || strings.Contains(msg, "Conflicting lock") {
		return &LockedError{Path: path}
	}
	return fmt.Errorf("open store %s: %w", path, err)
}

// checkStoreFile refuses a file that exists but is no DuckDB database, by what it is, before
// DuckDB tries to open it (which, for a SQLite file, asks for an extension to be installed).
// A DuckDB file has "DUCK" at byte 8; an absent or empty file becomes a new store.
func checkStoreFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return nil // absent: created (or refused read-only) below; unreadable: DuckDB says why
	}
	defer f.Close()
	head := make([]byte, 16)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	switch {
	case n == 0 || n >= 12 && string(head[8:12]) == "DUCK":
		return nil
	case bytes.HasPrefix(head, []byte("SQLite format 3\x00")):
		return fmt.Errorf("open store %s: this is a SQLite database, not a trailhound store (a DuckDB file); point --db at a store made by 'trailhound ingest'", path)
	}
	return fmt.Errorf("open store %s: not a trailhound store (no DuckDB header); point --db at a store made by 'trailhound ingest'", path)
}
