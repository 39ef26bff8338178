package cmd

import (
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/trailhound/trailhound/queries"
)

// outputOptions are the flags of a command that prints a result: --format and --max-width.
type outputOptions struct {
	Format   string
	MaxWidth int
	widthSet bool // --max-width was given
}

// bindOutput binds --format (with completion) and, for results that come from the store,
// --max-width.
func bindOutput(c *cobra.Command, o *outputOptions, maxWidth bool) {
	c.Flags().StringVarP(&o.Format, "format", "f", "table", "output format: "+strings.Join(queries.Formats(), ", "))
	c.RegisterFlagCompletionFunc("format", completeFixed(queries.Formats()...))
	if maxWidth {
		c.Flags().IntVar(&o.MaxWidth, "max-width", 0, fmt.Sprintf("widest table cell, in columns; longer ones end in … "+
			"(0: no limit; default: on a terminal, its width less 4, and the widest columns cut so that lines fit; else %d)", queries.DefaultMaxWidth))
	}
}

// parse checks --format and --max-width (c is the command, to see whether --max-width was given).
func (o *outputOptions) parse(c *cobra.Command) (queries.Format, error) {
	f, err := queries.ParseFormat(o.Format)
	if err != nil {
		return f, usageError{err}
	}
	if fl := c.Flags().Lookup("max-width"); fl != nil && fl.Changed {
		if o.MaxWidth < 0 {
			return f, usageErrorf("--max-width %d: want 0 (no limit) or a number of columns", o.MaxWidth)
		}
		o.widthSet = true
	}
	return f, nil
}

// tableOptions say how wide table cells may be: --max-width when given (0 there: no cap);
// else, when stdout is a terminal, the terminal's width less 4 (at least 40) for any cell, and
// the widest columns cut further so that a line fits the terminal (but none below 24
// columns); else queries.DefaultMaxWidth.
func (e *env) tableOptions(o outputOptions) queries.WriteOptions {
	if o.widthSet {
		if o.MaxWidth == 0 {
			return queries.WriteOptions{MaxWidth: -1}
		}
		return queries.WriteOptions{MaxWidth: o.MaxWidth}
	}
	if f, ok := e.out.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		if w, _, err := term.GetSize(int(f.Fd())); err == nil && w > 0 {
			return queries.WriteOptions{MaxWidth: max(w-4, 40), FitWidth: w}
		}
	}
	return queries.WriteOptions{} // queries.DefaultMaxWidth
}

// wholeHint says how to see cut table cells whole, for commands with --max-width.
const wholeHint = "--format json or --format csv shows them whole (or --max-width 0)"

// writeResult writes rows to stdout in format f and says on stderr, once per run, when table
// cells were cut and how to see them whole (whole says how, for this command).
func (e *env) writeResult(rows *sql.Rows, f queries.Format, o outputOptions, whole string) error {
	st, err := queries.WriteRowsWith(e.out, f, rows, e.tableOptions(o))
	if err != nil {
		return err
	}
	e.noteCut(st, whole)
	return nil
}

// noteCut says once that table cells were cut (an info message: --log-level warn hides it).
func (e *env) noteCut(st queries.WriteStats, whole string) {
	if st.Cut == 0 || e.cutNoted || !e.logs(slog.LevelInfo) {
		return
	}
	e.cutNoted = true
	noun := "cells were"
	if st.Cut == 1 {
		noun = "cell was"
	}
	how := fmt.Sprintf("wider than %d columns and cut", st.MaxWidth)
	if st.Fit > 0 {
		how = fmt.Sprintf("cut to fit the terminal's %d columns", st.Fit)
	}
	fmt.Fprintf(e.err, "note: %d table %s %s (ending in …); %s\n", st.Cut, noun, how, whole)
}

// completeFixed completes a flag or argument from a fixed list.
func completeFixed(values ...string) cobra.CompletionFunc {
	return func(_ *cobra.Command, _ []string, prefix string) ([]string, cobra.ShellCompDirective) {
		return withPrefix(values, prefix), cobra.ShellCompDirectiveNoFileComp
	}
}

// withPrefix keeps the values that begin with prefix.
func withPrefix(values []string, prefix string) []string {
	var out []string
	for _, v := range values {
		if strings.HasPrefix(v, prefix) {
			out = append(out, v)
		}
	}
	return out
}

// knownRegions are the AWS commercial regions (botocore 1.43.11's partition "aws", 34 regions):
// only a completion hint. Any region name is accepted, and "all" reads every enabled region.
var knownRegions = []string{
	"af-south-1", "ap-east-1", "ap-east-2", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
	"ap-south-1", "ap-south-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4",
	"ap-southeast-5", "ap-southeast-6", "ap-southeast-7", "ca-central-1", "ca-west-1", "eu-central-1",
	"eu-central-2", "eu-north-1", "eu-south-1", "eu-south-2", "eu-west-1", "eu-west-2", "eu-west-3",
	"il-central-1", "me-central-1", "me-south-1", "mx-central-1", "sa-east-1", "us-east-1", "us-east-2",
	"us-west-1", "us-west-2",
}

// completeRegions completes --region: "all" and the known regions.
func completeRegions(all bool) cobra.CompletionFunc {
	list := knownRegions
	if all {
		list = append([]string{"all"}, knownRegions...)
	}
	return completeFixed(list...)
}
