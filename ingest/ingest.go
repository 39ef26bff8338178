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
	"strings"
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
	// Size is the object's stored size when the source knows it before opening it (from
	// the walk or the listing), so the memory to read it is reserved first; 0 = unknown.
	Size int64
	// Skipped, when set, is why the source did not read this input on purpose (a link
	// back into a directory being walked, a file reached twice): it is reported, nothing
	// is lost, and it is no error.
	Skipped string
	// Checkpoint, from a resumable source, is where it stands after this object (event
	// history: its query's cursor after the page). The writer saves it through its Ledger
	// in the same transaction as the object's events (or once the object is reported
	// unreadable), so a resumed source never skips an event.
	Checkpoint Checkpoint
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
	MaxRecord       int   // per-record cap, bytes; default DefaultMaxRecord
	// MemoryBudget bounds the bytes the decode workers hold at once, all together;
	// default MemoryBudgetFor(MaxDecompressed).
	MemoryBudget int64
	Progress     io.Writer
	// ProgressWidth, when not nil, is the width of the terminal Progress draws on, asked
	// at each redraw (a terminal can be resized): progress lines are cut to fit it.
	ProgressWidth func() int
	Now           func() time.Time
}

// Rejection is an input, or part of one, that could not be read, and why.
type Rejection struct {
	URI, Reason string
	Line        int // the line of a JSON Lines file, for a part of one; 0 otherwise
}

// Summary is what an ingest did.
type Summary struct {
	FilesRead     int   // objects read and stored (including FilesSkipped)
	FilesSkipped  int   // already stored with the same content: not decoded again
	Digests       int   // CloudTrail-Digest files among FilesRead
	Records       int64 // CloudTrail records read (duplicates included)
	EventsNew     int64 // events stored for the first time
	EventsPresent int64 // records already stored: the same eventID and content (a second delivery)
	// EventsConflicting counts, of EventsNew, the records whose eventID is stored (or was
	// read before in the run) with other content: kept as variants (query conflicts).
	EventsConflicting int64
	OutsideWindow     int64 // records dropped because their eventTime is outside [From, To)
	// TrailingData counts gzipped objects with bytes after their gzip stream (not read:
	// CloudTrail never writes them; trailhound verify reports each such log file).
	TrailingData int
	Rejected     []Rejection
	// BadRecords are parts of objects that were stored without them: lines of a JSON
	// Lines file that are not whole events, records over the per-record limit.
	BadRecords []Rejection
	// Skipped are inputs not read on purpose, with nothing lost (Object.Skipped).
	Skipped     []Rejection
	Interrupted bool
	Elapsed     time.Duration
}

// ErrPartial means some inputs could not be read; the rest were stored.
var ErrPartial = errors.New("some inputs could not be read")

// partialError says how much could not be read.
func partialError(s Summary) error {
	var parts []string
	if n := len(s.Rejected); n > 0 {
		parts = append(parts, fmt.Sprintf("%d of %d inputs", n, s.FilesRead+n))
	}
	if n := len(s.BadRecords); n > 0 {
		files := map[string]bool{}
		for _, b := range s.BadRecords {
			files[b.URI] = true
		}
		parts = append(parts, fmt.Sprintf("%d %s in %d %s", n, plural(n, "record", "records"),
			len(files), plural(len(files), "file", "files")))
	}
	if s.FilesRead == 0 {
		return fmt.Errorf("%s, nothing read: %w", strings.Join(parts, " and "), ErrPartial)
	}
	return fmt.Errorf("%s: %w", strings.Join(parts, " and "), ErrPartial)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// item is one object after a decode worker is done with it.
type item struct {
	obj  Object
	p    payload
	dec  Decoded
	err  error
	skip *knownFile // set when the same content was stored before
	// outside counts the records dropped by the time window.
	outside int64
	// hold is the item's share of the memory budget, and weight its share of the queue's
	// (both given back once the writer has staged it).
	hold   *hold
	weight int64
	// meta is the object's metadata where its source has some (an S3 object's
	// x-amz-meta-* values: a digest's signature).
	meta map[string]string
}

// done gives back the memory the item held.
func (it *item) done() {
	it.hold.release()
	it.p.Content, it.dec = nil, Decoded{}
}

// queueBytes bounds the decompressed bytes waiting for the writer.
const queueBytes = 32 << 20

type knownFile struct {
	sha256, etag string
	records      int64
	// complete: no record was left out by a time window, or rejected, and what verify
	// needs was recorded (a file read before content hashes existed is read again).
	complete bool
}

// Run reads every object of src into the store. It returns ErrPartial (wrapped) when some
// objects were rejected, and ctx's error when interrupted; what was committed stays.
func Run(ctx context.Context, st *queries.Store, src Source, opts Options, log *slog.Logger) (Summary, error) {
	start := time.Now()
	opts = opts.withDefaults()
	var sum Summary
	known, err := loadKnownFiles(ctx, st)
	if err != nil {
		return sum, err
	}
	if err := closeDeadRuns(ctx, st); err != nil {
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

	prog := newProgress(opts.Progress, src, opts.ProgressWidth)
	defer prog.stop()
	w.progress = prog

	// work stops the lister and the decoders early when the writer fails.
	work, stopWork := context.WithCancel(ctx)
	defer stopWork()
	p := startPipeline(work, src, known, opts, prog)
	var werr error
	for it := range p.items {
		if werr != nil || ctx.Err() != nil {
			p.release(it)
			continue // drain
		}
		werr = handle(wctx, w, it, &sum, log)
		p.release(it)
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
	if listErr := p.wait(); werr == nil && listErr != nil && !errors.Is(listErr, context.Canceled) {
		werr = listErr
	}
	if ws, ok := src.(windowedSource); ok && werr == nil && !sum.Interrupted {
		w.windows = ws.ScanWindows() // read whole: verify may call what is absent from them missing
	}
	if err := w.finish(wctx, &sum); err != nil && werr == nil {
		werr = err
	}
	sum.sortRejections()
	sum.Elapsed = time.Since(start)
	switch {
	case werr != nil:
		return sum, werr
	case sum.Interrupted:
		return sum, ctx.Err()
	case len(sum.Rejected) > 0 || len(sum.BadRecords) > 0:
		return sum, partialError(sum)
	}
	return sum, nil
}

// withDefaults fills the options left zero.
func (o Options) withDefaults() Options {
	if o.Concurrency <= 0 {
		o.Concurrency = runtime.GOMAXPROCS(0)
	}
	if o.MaxDecompressed <= 0 {
		o.MaxDecompressed = DefaultMaxDecompressed
	}
	if o.MaxRecord <= 0 {
		o.MaxRecord = DefaultMaxRecord
	}
	if o.MemoryBudget <= 0 {
		o.MemoryBudget = MemoryBudgetFor(o.MaxDecompressed)
	}
	if o.Now == nil {
		o.Now = func() time.Time { return time.Now().UTC() }
	}
	return o
}

// sortRejections puts the rejected objects, bad records and skipped inputs in URI and
// line order (workers finish in any order).
func (s *Summary) sortRejections() {
	for _, l := range []*[]Rejection{&s.Rejected, &s.BadRecords, &s.Skipped} {
		sort.SliceStable(*l, func(i, j int) bool {
			a, b := (*l)[i], (*l)[j]
			return a.URI < b.URI || a.URI == b.URI && a.Line < b.Line
		})
	}
}

// pipeline is the reading side of a run: the source's lister and the workers that fetch,
// gunzip and decode its objects, handing them to the writer (Run's loop) through items.
type pipeline struct {
	items   chan *item
	queue   *semaphore.Weighted // the bytes of the decoded objects waiting for the writer
	listed  chan struct{}       // closed when the lister has returned
	listErr error
}

// startPipeline lists src and reads its objects on opts.Concurrency workers until work
// is done. Decoded objects wait for the writer in a queue bounded by bytes, not by count,
// so decoding runs ahead while the writer commits, and memory stays bounded: everything a
// worker holds, from the fetch to the writer, is within the memory budget.
func startPipeline(work context.Context, src Source, known map[string]knownFile, opts Options, prog *progress) *pipeline {
	p := &pipeline{items: make(chan *item, 4096), queue: semaphore.NewWeighted(queueBytes), listed: make(chan struct{})}
	objects := make(chan Object, 64)
	mem := newMemBudget(opts.MemoryBudget)
	go func() {
		defer close(p.listed)
		defer close(objects)
		p.listErr = src.List(work, objects)
		prog.listDone.Store(true)
	}()
	var wg sync.WaitGroup
	// CPU work (gunzip, decode) is bounded by the cores, whatever the fetch concurrency.
	cpu := semaphore.NewWeighted(int64(runtime.GOMAXPROCS(0)))
	for range opts.Concurrency {
		wg.Go(func() {
			for o := range objects {
				it := readObject(work, o, known, cpu, mem, opts)
				prog.bytes.Add(max(it.p.Size, o.Size))
				it.weight = min(int64(cap(it.p.Content))+1, queueBytes)
				if err := p.queue.Acquire(work, it.weight); err != nil {
					it.done()
					return
				}
				select {
				case p.items <- it:
				case <-work.Done():
					p.queue.Release(it.weight)
					it.done()
					return
				}
			}
		})
	}
	go func() { wg.Wait(); close(p.items) }()
	return p
}

// release hands an item's queue bytes and memory back once the writer is done with it.
func (p *pipeline) release(it *item) {
	p.queue.Release(it.weight)
	it.done()
}

// wait waits for the lister to return and gives its error.
func (p *pipeline) wait() error {
	<-p.listed
	return p.listErr
}

func handle(ctx context.Context, w *writer, it *item, sum *Summary, log *slog.Logger) error {
	// A source's checkpoint is saved with (or after) the object's events: staged after
	// them, since storing them may commit.
	if it.obj.Checkpoint != nil {
		defer w.stageCheckpoint(it.obj.Checkpoint)
	}
	switch {
	case it.obj.Skipped != "":
		sum.Skipped = append(sum.Skipped, Rejection{URI: it.obj.URI, Reason: queries.DisplayText(it.obj.Skipped)})
		log.Debug("skipped", "uri", it.obj.URI, "reason", it.obj.Skipped)
		return nil
	case it.err != nil:
		reason := queries.DisplayText(it.err.Error())
		sum.Rejected = append(sum.Rejected, Rejection{URI: it.obj.URI, Reason: reason})
		log.Debug("rejected", "uri", it.obj.URI, "reason", reason)
		return w.reject(ctx, it.obj.URI, false, 0, reason)
	case it.skip != nil:
		sum.FilesRead++
		sum.FilesSkipped++
		sum.Records += it.skip.records
		sum.EventsPresent += it.skip.records
		return nil
	}
	for _, b := range it.dec.Bad {
		sum.BadRecords = append(sum.BadRecords, Rejection{URI: it.obj.URI, Line: b.Line, Reason: b.Reason})
		if err := w.reject(ctx, it.obj.URI, true, b.Line, b.Reason); err != nil {
			return err
		}
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
	res, err := w.store(ctx, it)
	sum.EventsNew += res.New
	sum.EventsPresent += res.Present
	sum.EventsConflicting += res.Conflicting
	w.settle(sum)
	return err
}

// readObject is a worker's job: fetch, hash, gunzip, decode, keep the window, all within
// the memory budget (memBudget). An object that does not fit what could be reserved for
// it at once is read again in the budget's big mode: alone, within the whole budget.
func readObject(ctx context.Context, o Object, known map[string]knownFile, cpu *semaphore.Weighted, mem *memBudget, opts Options) *item {
	it := &item{obj: o}
	if o.Skipped != "" {
		return it
	}
	k, wasRead := known[o.URI]
	wasRead = wasRead && k.complete
	if wasRead && o.ETag != "" && k.etag == o.ETag {
		it.skip = &k // same object (key and ETag): not fetched again
		return it
	}
	if o.Size > opts.MaxDecompressed && o.Open != nil {
		it.err = tooLarge(o.Size, opts.MaxDecompressed)
		return it
	}
	var known1 *knownFile
	if wasRead {
		known1 = &k
	}
	// An object that cannot be decoded within what may be reserved without waiting (its
	// content, a repaired copy, its records) goes to the big mode at once, not after a read.
	err := errOverBudget
	if 3*o.Size+decodeOverhead(o.Size) < mem.total {
		err = fill(ctx, it, known1, cpu, mem, opts, false)
	}
	if errors.Is(err, errOverBudget) {
		it.hold.release()
		mem.big.Lock()
		*it = item{obj: o}
		err = fill(ctx, it, known1, cpu, mem, opts, true)
		mem.big.Unlock()
	}
	if err != nil {
		it.hold.release()
		it.hold, it.err, it.p.Content, it.dec = nil, err, nil, Decoded{}
		return it
	}
	if !opts.From.IsZero() || !opts.To.IsZero() {
		it.outside = keepWindow(&it.dec, opts.From, opts.To)
	}
	return it
}

// fill reads it.obj into it within the memory budget: in big mode within the whole
// budget, otherwise within what can be reserved without waiting while holding some
// (errOverBudget when that is not enough).
func fill(ctx context.Context, it *item, k *knownFile, cpu *semaphore.Weighted, mem *memBudget, opts Options, big bool) error {
	want := max(it.obj.Size, 64<<10)
	if big {
		want = mem.total
	}
	h, err := mem.reserve(ctx, want)
	if err != nil {
		return err
	}
	it.hold = h
	rc, err := it.obj.Open(ctx)
	if err != nil {
		return err
	}
	if m, ok := rc.(interface{ Metadata() map[string]string }); ok {
		it.meta = m.Metadata()
	}
	stored, err := readStored(rc, opts.MaxDecompressed)
	rc.Close()
	if err != nil {
		return err
	}
	if n := int64(len(stored)); n > h.n && !h.grow(n-h.n) {
		if big {
			return overBudget(mem, n)
		}
		return errOverBudget
	}
	if err := cpu.Acquire(ctx, 1); err != nil {
		return err
	}
	defer cpu.Release(1)
	it.p = hashStored(stored)
	if k != nil && k.sha256 == it.p.SHA256 {
		it.skip = k
		h.release()
		it.hold = nil
		return nil
	}
	content := stored
	if it.p.Gzip {
		measured := int64(0)
		if big {
			if measured, err = gunzippedSize(stored, opts.MaxDecompressed); err != nil {
				return err
			}
			if int64(len(stored))+measured > h.n {
				return overBudget(mem, int64(len(stored))+measured)
			}
		}
		hh := h
		if big {
			hh = nil // the whole budget is held
		}
		g, err := gunzip(stored, opts.MaxDecompressed, hh, measured)
		if err != nil {
			return err
		}
		content, it.p.ContentSHA256, it.p.Trailing = g.content, g.sha256, g.trailing
		stored = nil
	}
	c := int64(len(content))
	it.p.Content = content
	lim := Limits{MaxRecord: opts.MaxRecord}
	if big {
		lim.Memory = max(1, h.n-c)
	} else {
		// The content, and decoding: a repaired copy, the parser's tape, the records.
		h.shrink(c)
		lim.Memory = 2*c + decodeOverhead(c) + 64<<10
		if !h.grow(lim.Memory) {
			return errOverBudget
		}
	}
	it.dec, err = DecodeWithin(content, lim)
	var re *RejectError
	switch {
	case errors.Is(err, errDecodeMemory) && big:
		return reject("decoding it needs more memory than the %s memory budget of an ingest (records too many or too dense for its size): not read; raise --max-decompressed to raise the budget", mib(mem.total))
	case errors.Is(err, errDecodeMemory):
		return errOverBudget
	case errors.As(err, &re) && re.notJSON && it.p.Gzip:
		return notJSONError(content, true)
	case err != nil:
		return err
	}
	h.shrink(c + it.dec.mem)
	return nil
}

func overBudget(mem *memBudget, n int64) error {
	return reject("reading it needs %s, more than the %s memory budget of an ingest: not read; raise --max-decompressed to raise the budget", mib(n), mib(mem.total))
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
	rows, err := st.DB.QueryContext(ctx, `SELECT uri, sha256, coalesce(etag, ''), records, outside_window = 0 AND coalesce(records_rejected, 0) = 0
			AND content_sha256 IS NOT NULL
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
