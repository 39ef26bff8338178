// Package ingest turns CloudTrail objects into rows of the trailhound store.
//
// The pipeline: a Source lists objects (local files, S3 objects, event-history pages)
// with their provenance; decode workers read, hash, gunzip and Decode each one; a single
// writer goroutine de-duplicates by eventID and appends rows, committing whole objects.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"sort"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/trailhound/trailhound/queries"
)

// Object is one input that may hold CloudTrail data, with its provenance.
type Object struct {
	Kind         string // file | s3 | history
	URI          string // absolute path, s3://bucket/key, history:REGION
	ETag         string
	LastModified time.Time
	Open         func(ctx context.Context) (io.ReadCloser, error)
	// Cursor, on an event-history page, is where its query stands after the page. The
	// writer saves it in the same transaction as the page's events (or once the page is
	// reported unreadable), in page order, so a resumed query never skips an event.
	Cursor *HistoryCursor
}

// unreadable is an input a source could not list or reach (a denied prefix, a region
// that is not enabled): sent as an object whose Open fails with reason, it is reported
// and recorded with the other rejected inputs while the rest goes on.
func unreadable(ctx context.Context, out chan<- Object, kind, uri string, reason error) error {
	o := Object{Kind: kind, URI: uri, Open: func(context.Context) (io.ReadCloser, error) { return nil, reason }}
	select {
	case out <- o:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Source lists the objects of one origin. List may send objects while it is still walking.
type Source interface {
	List(ctx context.Context, out chan<- Object) error
}

// ScanWindow is a part of an S3 trail that an ingest listed whole: every object under
// Prefix (of the accounts, organizations and regions named, or all) whose name puts
// its delivery in [From, To). It is recorded in ingest_windows once the ingest has
// finished, so trailhound verify can tell a log file a digest lists that should be in
// the store (missing) from one the ingest never looked for (not ingested).
type ScanWindow struct {
	Prefix                    string // s3://BUCKET/[PREFIX/]AWSLogs/
	Accounts, Regions, OrgIDs []string
	From, To                  time.Time
}

// windowedSource is a Source that knows the windows it reads whole.
type windowedSource interface {
	ScanWindows() []ScanWindow
}

// Options tunes Run.
type Options struct {
	Command string // recorded in ingest_runs, e.g. "ingest files ./logs"
	// Concurrency is how many objects are fetched at once (default GOMAXPROCS; S3 wants
	// more, to hide latency). Gunzip and decode run on at most GOMAXPROCS of them at a time.
	Concurrency int
	// From and To keep only records whose eventTime is in [From, To); zero is unbounded.
	// Records without a time are kept. An object with records outside the window is not
	// treated as fully read, so a later run with a wider window reads it again.
	From, To        time.Time
	MaxDecompressed int64 // per-object cap; default DefaultMaxDecompressed
	Progress        io.Writer
	Now             func() time.Time
}

// Rejection is an input that could not be read, and why.
type Rejection struct {
	URI, Reason string
}

// Summary is what an ingest did.
type Summary struct {
	FilesRead     int   // objects read and stored (including FilesSkipped)
	FilesSkipped  int   // already stored with the same content: not decoded again
	Digests       int   // CloudTrail-Digest files among FilesRead
	Records       int64 // CloudTrail records read (duplicates included)
	EventsNew     int64 // events stored for the first time
	EventsPresent int64 // records whose eventID was already stored
	OutsideWindow int64 // records dropped because their eventTime is outside [From, To)
	// TrailingData counts gzipped objects with bytes after their gzip stream (not read:
	// CloudTrail never writes them; trailhound verify reports each such log file).
	TrailingData int
	Rejected     []Rejection
	Interrupted  bool
	Elapsed      time.Duration
}

// ErrPartial means some inputs could not be read; the rest were stored.
var ErrPartial = errors.New("some inputs could not be read")

// item is one object after a decode worker is done with it.
type item struct {
	obj  Object
	p    payload
	dec  Decoded
	err  error
	skip *knownFile // set when the same content was stored before
	// outside counts the records dropped by the time window.
	outside int64
	// weight is the item's share of the decode queue's byte budget.
	weight int64
	// meta is the object's metadata where its source has some (an S3 object's
	// x-amz-meta-* values: a digest's signature).
	meta map[string]string
}

// queueBytes bounds the decompressed bytes waiting for the writer.
const queueBytes = 32 << 20

type knownFile struct {
	sha256, etag string
	records      int64
	// complete: no record was left out by a time window, and what verify needs was
	// recorded (a file read before content hashes existed is read again).
	complete bool
}

// Run reads every object of src into the store. It returns ErrPartial (wrapped) when some
// objects were rejected, and ctx's error when interrupted; what was committed stays.
func Run(ctx context.Context, st *queries.Store, src Source, opts Options, log *slog.Logger) (Summary, error) {
	start := time.Now()
	if opts.Concurrency <= 0 {
		opts.Concurrency = runtime.GOMAXPROCS(0)
	}
	if opts.MaxDecompressed <= 0 {
		opts.MaxDecompressed = DefaultMaxDecompressed
	}
	if opts.Now == nil {
		opts.Now = func() time.Time { return time.Now().UTC() }
	}
	var sum Summary
	known, err := loadKnownFiles(ctx, st)
	if err != nil {
		return sum, err
	}
	w, err := newWriter(ctx, st.DB, opts.Now, log)
	if err != nil {
		return sum, err
	}
	// The writer finishes with a context that outlives an interrupt, so committed work
	// and the run's summary are written even after Ctrl-C.
	wctx := context.WithoutCancel(ctx)
	defer w.close()
	if err := w.begin(wctx, opts.Command); err != nil {
		return sum, err
	}

	prog := newProgress(opts.Progress, src)
	defer prog.stop()

	// work stops the lister and the decoders early when the writer fails.
	work, stopWork := context.WithCancel(ctx)
	defer stopWork()
	objects := make(chan Object, 64)
	// Decoded objects wait for the writer in a queue bounded by bytes, not by count, so
	// decoding runs ahead while the writer commits, and memory stays bounded.
	items := make(chan *item, 4096)
	budget := semaphore.NewWeighted(queueBytes)
	var listErr error
	listed := make(chan struct{})
	go func() {
		defer close(listed)
		defer close(objects)
		listErr = src.List(work, objects)
	}()
	var wg sync.WaitGroup
	// CPU work (gunzip, decode) is bounded by the cores, whatever the fetch concurrency.
	cpu := semaphore.NewWeighted(int64(runtime.GOMAXPROCS(0)))
	for range opts.Concurrency {
		wg.Go(func() {
			for o := range objects {
				it := readObject(work, o, known, cpu, opts)
				prog.bytes.Add(it.p.Size)
				it.weight = min(int64(cap(it.p.Content))+1, queueBytes)
				if err := budget.Acquire(work, it.weight); err != nil {
					return
				}
				select {
				case items <- it:
				case <-work.Done():
					budget.Release(it.weight)
					return
				}
			}
		})
	}
	go func() { wg.Wait(); close(items) }()

	var werr error
	for it := range items {
		if werr != nil || ctx.Err() != nil {
			budget.Release(it.weight)
			continue // drain
		}
		werr = handle(wctx, w, it, &sum, log)
		budget.Release(it.weight)
		if werr != nil {
			stopWork()
		}
		prog.files.Add(1)
		prog.events.Store(sum.Records)
	}
	sum.Interrupted = ctx.Err() != nil
	// Workers stop early on an interrupt; the source stops too (it watches work), and
	// its error is read only once it has.
	stopWork()
	<-listed
	if werr == nil && listErr != nil && !errors.Is(listErr, context.Canceled) {
		werr = listErr
	}
	sort.Slice(sum.Rejected, func(i, j int) bool { return sum.Rejected[i].URI < sum.Rejected[j].URI })
	if ws, ok := src.(windowedSource); ok && werr == nil && !sum.Interrupted {
		w.windows = ws.ScanWindows() // read whole: verify may call what is absent from them missing
	}
	if err := w.finish(wctx, &sum); err != nil && werr == nil {
		werr = err
	}
	sum.Elapsed = time.Since(start)
	switch {
	case werr != nil:
		return sum, werr
	case sum.Interrupted:
		return sum, ctx.Err()
	case len(sum.Rejected) > 0:
		return sum, fmt.Errorf("%d of %d inputs: %w", len(sum.Rejected), sum.FilesRead+len(sum.Rejected), ErrPartial)
	}
	return sum, nil
}

func handle(ctx context.Context, w *writer, it *item, sum *Summary, log *slog.Logger) error {
	if it.obj.Cursor != nil {
		w.stageCursor(*it.obj.Cursor)
	}
	switch {
	case it.err != nil:
		reason := it.err.Error()
		sum.Rejected = append(sum.Rejected, Rejection{URI: it.obj.URI, Reason: reason})
		log.Debug("rejected", "uri", it.obj.URI, "reason", reason)
		return w.reject(ctx, it.obj.URI, reason)
	case it.skip != nil:
		sum.FilesRead++
		sum.FilesSkipped++
		sum.Records += it.skip.records
		sum.EventsPresent += it.skip.records
		return nil
	}
	res, err := w.store(ctx, it)
	if err != nil {
		return err
	}
	sum.FilesRead++
	if it.dec.Digest != nil {
		sum.Digests++
	}
	sum.Records += int64(len(it.dec.Records))
	sum.OutsideWindow += it.outside
	if it.p.Trailing > 0 {
		sum.TrailingData++
		log.Warn("bytes after the end of the gzip stream: not read (trailhound verify reports the file)",
			"uri", it.obj.URI, "bytes", it.p.Trailing)
	}
	sum.EventsNew += res.New
	sum.EventsPresent += res.Present
	return nil
}

// readObject is a worker's job: fetch, hash, gunzip, decode, keep the window.
func readObject(ctx context.Context, o Object, known map[string]knownFile, cpu *semaphore.Weighted, opts Options) *item {
	it := &item{obj: o}
	k, wasRead := known[o.URI]
	wasRead = wasRead && k.complete
	if wasRead && o.ETag != "" && k.etag == o.ETag {
		it.skip = &k // same object (key and ETag): not fetched again
		return it
	}
	rc, err := o.Open(ctx)
	if err != nil {
		it.err = err
		return it
	}
	if m, ok := rc.(interface{ Metadata() map[string]string }); ok {
		it.meta = m.Metadata()
	}
	stored, err := readStored(rc)
	rc.Close()
	if err != nil {
		it.err = err
		return it
	}
	if err := cpu.Acquire(ctx, 1); err != nil {
		it.err = err
		return it
	}
	defer cpu.Release(1)
	it.p, err = readPayload(stored, opts.MaxDecompressed)
	if err != nil {
		it.err = err
		return it
	}
	if wasRead && k.sha256 == it.p.SHA256 {
		it.skip = &k
		it.p.Content = nil
		return it
	}
	it.dec, it.err = Decode(it.p.Content)
	if it.err == nil && (!opts.From.IsZero() || !opts.To.IsZero()) {
		it.outside = keepWindow(&it.dec, opts.From, opts.To)
	}
	return it
}

// keepWindow drops the records outside [from, to) and returns how many it dropped.
func keepWindow(d *Decoded, from, to time.Time) int64 {
	kept := d.Records[:0]
	for _, r := range d.Records {
		if r.Time.IsZero() || ((from.IsZero() || !r.Time.Before(from)) && (to.IsZero() || r.Time.Before(to))) {
			kept = append(kept, r)
		}
	}
	n := int64(len(d.Records) - len(kept))
	d.Records = kept
	return n
}

// loadKnownFiles lists the objects already stored, so unchanged ones are not decoded again.
func loadKnownFiles(ctx context.Context, st *queries.Store) (map[string]knownFile, error) {
	rows, err := st.DB.QueryContext(ctx, `SELECT uri, sha256, coalesce(etag, ''), records,
			outside_window = 0 AND content_sha256 IS NOT NULL
		FROM source_files WHERE sha256 IS NOT NULL ORDER BY file_id`)
	if err != nil {
		return nil, fmt.Errorf("read source_files: %w", err)
	}
	defer rows.Close()
	known := map[string]knownFile{}
	for rows.Next() {
		var uri string
		var k knownFile
		if err := rows.Scan(&uri, &k.sha256, &k.etag, &k.records, &k.complete); err != nil {
			return nil, fmt.Errorf("read source_files: %w", err)
		}
		known[uri] = k
	}
	return known, rows.Err()
}
