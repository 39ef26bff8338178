package cmd

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/trailhound/trailhound/ingest"
	"github.com/trailhound/trailhound/queries"
)

func newIngestCmd(e *env) *cobra.Command {
	c := &cobra.Command{
		Use:   "ingest",
		Short: "Load CloudTrail into the store",
		Long:  "Load CloudTrail into the store. Events are de-duplicated by eventID; every source is recorded.",
	}
	c.AddCommand(newIngestFilesCmd(e), newIngestS3Cmd(e), newIngestHistoryCmd(e))
	return c
}

type ingestFilesOptions struct {
	Paths           []string
	MaxDecompressed int64
	MaxRecord       int64
}

func newIngestFilesCmd(e *env) *cobra.Command {
	opts := ingestFilesOptions{}
	var maxMiB int64
	c := &cobra.Command{
		Use:   "files PATH...",
		Short: "Load CloudTrail files and directories (walked recursively)",
		Long: `Load CloudTrail files and directories, walked recursively, in any mix of shapes:
  - S3 delivery files {"Records":[...]}, gzipped or not, whatever their names;
  - a JSON array of events, a single event object, JSON Lines (one event per line);
  - aws cloudtrail lookup-events output ({"Events":[...]}) and its JSON Lines form;
  - CloudTrail-Digest files (kept as digests, not counted as events).
Anything else is reported by name with what it is ("a zip archive: extract it first") and
the other files are still read. Symbolic links are followed (a link back into the tree is
skipped and said); the store itself and its temporary files are never read. A line of a
JSON Lines file that is not a whole event (an export cut off mid-line) is rejected by line
number and the other lines are stored; so is a record over --max-record.

Exit codes: 0 all read, 3 some inputs (or lines, or records) unreadable: listed in the
summary and in ingest_errors; also when nothing at all could be read (an empty directory,
a named pipe); 1 failure, 2 usage error, 130 interrupted (what was committed stays; run it
again to complete).`,
		Example: `  trailhound ingest files ./AWSLogs
  trailhound --db case.duckdb ingest files export.json lookup-events.jsonl`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Paths = args
			opts.MaxDecompressed = maxMiB << 20
			if maxMiB <= 0 || opts.MaxRecord <= 0 {
				return usageErrorf("--max-decompressed and --max-record must be positive")
			}
			if err := ingest.CheckPaths(args); err != nil {
				return usageError{err}
			}
			src := ingest.NewFiles(opts.Paths, storeFiles(e.db), e.logger())
			_, err := runIngest(c.Context(), e, src, ingest.Options{
				Command: "ingest files " + strings.Join(args, " "), MaxDecompressed: opts.MaxDecompressed,
				MaxRecord: int(opts.MaxRecord << 20)})
			return err
		},
	}
	c.Flags().Int64Var(&maxMiB, "max-decompressed", ingest.DefaultMaxDecompressed>>20,
		"largest decompressed size of one file, in MiB (bigger ones are rejected as gzip bombs; raising it raises the ingest's memory)")
	addMaxRecordFlag(c, &opts.MaxRecord)
	return c
}

// addMaxRecordFlag adds --max-record, the per-record limit, in MiB.
func addMaxRecordFlag(c *cobra.Command, v *int64) {
	c.Flags().Int64Var(v, "max-record", ingest.DefaultMaxRecord>>20,
		"largest CloudTrail record stored, in MiB (bigger ones are rejected; raising it raises DuckDB's memory limit during the ingest)")
}

// storeFiles are the store's files, which an ingest never reads: the store, its
// write-ahead log and DuckDB's temporary directory.
func storeFiles(db string) []string {
	return []string{db, db + ".wal", db + ".tmp"}
}

// ingestMemoryMB caps DuckDB's buffers during an ingest. With the decoder's byte-bounded
// queue and memory budget it keeps the whole process under 1 GiB however large the input
// (measured by .ci/bench-ingest-files: about 910 MiB peak RSS at 1M events); DuckDB spills
// beyond it.
const ingestMemoryMB = 256

// ingestMemoryLimit is DuckDB's memory limit for an ingest whose records may be maxRecord
// bytes (0: the default): 256 MB, or 8 times a larger per-record limit. A record takes
// several times its size in DuckDB while it is stored (measured at 256 MB: a 64 MiB record
// failed, 56 MiB passed alone and 48 MiB in a batch of 300,000 events).
func ingestMemoryLimit(maxRecord int) string {
	mb := max(ingestMemoryMB, 8*maxRecord>>20)
	return strconv.Itoa(mb) + "MB"
}

// runIngest opens the store, runs one ingest and prints its summary on stderr.
func runIngest(ctx context.Context, e *env, src ingest.Source, opts ingest.Options) (ingest.Summary, error) {
	var sum ingest.Summary
	err := withIngestStore(ctx, e, opts.MaxRecord, opts.MaxDecompressed, func(st *queries.Store) error {
		var err error
		sum, err = runIngestIn(ctx, e, st, src, opts)
		return err
	})
	return sum, err
}

// withIngestStore opens the store for an ingest, runs fn, and closes the store. Go's
// garbage collector is held to the decode memory budget plus a margin (unless GOMEMLIMIT
// says otherwise), so that what the budget gives back is soon given back to the system.
func withIngestStore(ctx context.Context, e *env, maxRecord int, maxDecompressed int64, fn func(*queries.Store) error) error {
	if e.getenv("GOMEMLIMIT") == "" {
		if maxDecompressed <= 0 {
			maxDecompressed = ingest.DefaultMaxDecompressed
		}
		prev := debug.SetMemoryLimit(ingest.MemoryBudgetFor(maxDecompressed) + 256<<20)
		defer debug.SetMemoryLimit(prev)
	}
	st, err := queries.Open(ctx, e.db, queries.OpenOptions{MemoryLimit: ingestMemoryLimit(maxRecord)})
	if err != nil {
		return err
	}
	err = fn(st)
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	return err
}

// runIngestIn runs one ingest into an open store and prints its summary on stderr.
func runIngestIn(ctx context.Context, e *env, st *queries.Store, src ingest.Source, opts ingest.Options) (ingest.Summary, error) {
	opts.Progress = e.progressWriter()
	opts.ProgressWidth = e.progressWidth
	sum, err := ingest.Run(ctx, st, src, opts, e.logger())
	printSummary(e.err, e.db, sum)
	return sum, err
}

func printSummary(w io.Writer, db string, s ingest.Summary) {
	fmt.Fprintf(w, "files read:      %d", s.FilesRead)
	var notes []string
	if s.FilesSkipped > 0 {
		notes = append(notes, fmt.Sprintf("%d unchanged since an earlier ingest", s.FilesSkipped))
	}
	if s.Digests > 0 {
		notes = append(notes, fmt.Sprintf("%d CloudTrail-Digest", s.Digests))
	}
	if len(notes) > 0 {
		fmt.Fprintf(w, " (%s)", strings.Join(notes, ", "))
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "events new:      %d\n", s.EventsNew)
	fmt.Fprintf(w, "events present:  %d (already stored, or delivered twice)\n", s.EventsPresent)
	if s.OutsideWindow > 0 {
		fmt.Fprintf(w, "outside window:  %d (eventTime outside --from/--to; not stored)\n", s.OutsideWindow)
	}
	if s.TrailingData > 0 {
		fmt.Fprintf(w, "trailing data:   %d files with bytes after their gzip stream (not read; trailhound verify reports them)\n", s.TrailingData)
	}
	fmt.Fprintf(w, "files rejected:  %d\n", len(s.Rejected))
	for _, r := range s.Rejected {
		fmt.Fprintf(w, "  %s: %s\n", queries.DisplayText(r.URI), queries.DisplayText(r.Reason))
	}
	if len(s.BadRecords) > 0 {
		fmt.Fprintf(w, "bad records:     %d (not stored; the rest of their files was)\n", len(s.BadRecords))
		for _, r := range s.BadRecords {
			where := queries.DisplayText(r.URI)
			if r.Line > 0 {
				where += fmt.Sprintf(" line %d", r.Line)
			}
			fmt.Fprintf(w, "  %s: %s\n", where, queries.DisplayText(r.Reason))
		}
	}
	if len(s.Skipped) > 0 {
		fmt.Fprintf(w, "skipped:         %d (not read; nothing lost)\n", len(s.Skipped))
		for _, r := range s.Skipped {
			fmt.Fprintf(w, "  %s: %s\n", queries.DisplayText(r.URI), queries.DisplayText(r.Reason))
		}
	}
	rate := 0.0
	if secs := s.Elapsed.Seconds(); secs > 0 {
		rate = float64(s.Records) / secs
	}
	fmt.Fprintf(w, "store:           %s (%.1fs, %.0f records/s)\n", db, s.Elapsed.Seconds(), rate)
	if s.Interrupted {
		fmt.Fprintln(w, "interrupted:     yes")
	}
}
