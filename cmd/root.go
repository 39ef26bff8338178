// Package cmd holds trailhound's commands: flags and wiring only. Each command fills an
// options struct and calls one function of ingest, queries or viz.
package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/trailhound/trailhound/ingest"
	"github.com/trailhound/trailhound/queries/verify"
)

// Exit codes.
const (
	ExitOK          = 0
	ExitFailure     = 1
	ExitUsage       = 2
	ExitPartial     = 3 // some inputs could not be read; the rest were stored
	ExitTampered    = 4 // verify found tampering or loss
	ExitInterrupted = 130
)

// DefaultDB is the store used when neither --db nor TRAILHOUND_DB is given.
const DefaultDB = "trailhound.duckdb"

// env is what every command shares: the streams and global flags.
type env struct {
	in       io.Reader
	out, err io.Writer
	db       string
	logLevel string
	level    slog.Level // --log-level, parsed
	quiet    bool
	log      *slog.Logger
	cutNoted bool // the note on cut table cells was printed
	getenv   func(string) string
	args     []string         // the command line after the program name, as given
	runBy    func() string    // who runs it: user@host (fixed in tests)
	clock    func() time.Time // nil: time.Now
}

// now is the current time (tests fix it).
func (e *env) now() time.Time {
	if e.clock != nil {
		return e.clock()
	}
	return time.Now()
}

// usageError is a mistake in the command line: the usage is printed with it.
type usageError struct{ error }

func usageErrorf(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// Main runs trailhound with args and returns the process exit code.
func Main(ctx context.Context, args []string, in io.Reader, out, errOut io.Writer) int {
	e := &env{in: in, out: out, err: errOut, getenv: os.Getenv, args: args, runBy: whoRuns}
	root := newRootCmd(e)
	root.SetArgs(args)
	root.SetIn(in)
	root.SetOut(out)
	root.SetErr(errOut)
	c, err := root.ExecuteContextC(ctx)
	if err == nil {
		return ExitOK
	}
	return report(e, c, err)
}

// report prints err once, with a hint where one helps, and maps it to an exit code.
func report(e *env, c *cobra.Command, err error) int {
	var ue usageError
	var uk unknownKeysError
	switch {
	case errors.As(err, &uk):
		fmt.Fprintf(e.err, "Error: %v\n", err)
		return ExitUsage
	case errors.As(err, &ue) || isFlagError(err):
		fmt.Fprintf(e.err, "Error: %v\n", err)
		if c != nil {
			fmt.Fprintf(e.err, "Run '%s --help' for usage.\n", c.CommandPath())
		}
		return ExitUsage
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(e.err, "interrupted: what was committed before the interrupt is in the store; run the same command again to complete it")
		return ExitInterrupted
	case errors.Is(err, ingest.ErrPartial):
		fmt.Fprintf(e.err, "partial: %v\n", err)
		return ExitPartial
	case errors.Is(err, verify.ErrTampering):
		return ExitTampered // the findings and the summary say what
	}
	fmt.Fprintf(e.err, "Error: %v\n", err)
	var h *ingest.AWSHint
	var hh hinted
	switch {
	case errors.As(err, &h):
		fmt.Fprintf(e.err, "Hint: %s\n", h.Hint)
	case errors.As(err, &hh):
		fmt.Fprintf(e.err, "Hint: %s\n", hh.hint)
	}
	return ExitFailure
}

// hinted is an error with what to do about it, printed on its own line after the error.
type hinted struct {
	error
	hint string
}

func (h hinted) Unwrap() error { return h.error }

// isFlagError recognises cobra's and pflag's own parse errors, which are not typed.
func isFlagError(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown flag", "unknown shorthand flag", "unknown command", "flag needs an argument",
		"invalid argument", "accepts ", "requires at least", "requires at most", "required flag", "bad flag syntax"} {
		if strings.HasPrefix(msg, p) || strings.Contains(msg, " "+p) {
			return true
		}
	}
	return false
}

func newRootCmd(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:   "trailhound",
		Short: "CloudTrail forensics for a leaked AWS access key",
		Long: `trailhound pulls CloudTrail from every region into one DuckDB file and rebuilds what
a leaked access key did: which credentials derived from it, what they created, what they
launched where and when.

All times are UTC. The store is a plain DuckDB file: open it with the duckdb CLI too.`,
		SilenceErrors: true,
		SilenceUsage:  true,
		PersistentPreRunE: func(c *cobra.Command, _ []string) error {
			if !c.Flags().Changed("db") {
				if v := e.getenv("TRAILHOUND_DB"); v != "" {
					e.db = v
				}
			}
			var lvl slog.Level
			if err := lvl.UnmarshalText([]byte(e.logLevel)); err != nil {
				return usageErrorf("--log-level %q: want debug, info, warn or error", e.logLevel)
			}
			e.level = lvl
			e.log = slog.New(slog.NewTextHandler(e.err, &slog.HandlerOptions{Level: lvl}))
			return nil
		},
	}
	root.Version = version()
	root.SetVersionTemplate("trailhound {{.Version}}\n")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	pf := root.PersistentFlags()
	pf.StringVar(&e.db, "db", DefaultDB, "the store: a DuckDB file (env TRAILHOUND_DB)")
	pf.StringVar(&e.logLevel, "log-level", "info", "debug, info, warn or error (logs, warnings and notes go to stderr; error leaves only errors)")
	root.RegisterFlagCompletionFunc("log-level", completeFixed("debug", "info", "warn", "error"))
	pf.BoolVarP(&e.quiet, "quiet", "q", false, "no progress line")
	root.AddCommand(newCollectCmd(e), newExportCmd(e), newIngestCmd(e), newSQLCmd(e), newQueryCmd(e), newDemoCmd(e), newChartCmd(e), newReportCmd(e),
		newVerifyCmd(e), newVersionCmd(), newDetectCmd(e), newLakeCmd(e))
	return root
}

// progressWriter is stderr when it is a terminal and --quiet is off; otherwise nil.
func (e *env) progressWriter() io.Writer {
	if e.quiet {
		return nil
	}
	if f, ok := e.err.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return f
	}
	return nil
}

// progressWidth is the width of the terminal progress is drawn on (0: unknown), asked at
// each redraw since a terminal can be resized.
func (e *env) progressWidth() int {
	if f, ok := e.err.(*os.File); ok {
		if w, _, err := term.GetSize(int(f.Fd())); err == nil {
			return w
		}
	}
	return 0
}

// logs reports whether messages of level l are shown (--log-level).
func (e *env) logs(l slog.Level) bool { return l >= e.level }

// warnf prints "warning: ..." on stderr unless --log-level is error. Every warning of a command
// goes through it (or through the logger), so --log-level error leaves only errors.
func (e *env) warnf(format string, args ...any) {
	if e.logs(slog.LevelWarn) {
		fmt.Fprintf(e.err, "warning: "+format+"\n", args...)
	}
}

// logger returns the configured logger (a discarding one before flags are parsed).
func (e *env) logger() *slog.Logger {
	if e.log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return e.log
}
