package cmd

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/trailhound/trailhound/ingest"
	"github.com/trailhound/trailhound/queries"
)

// The printing of what ingest returns as data: collect's plan and coverage, event
// history's status per region.

// writePlan prints collect's plan: who, when, where, and which source reads what.
func writePlan(w io.Writer, p *ingest.Plan, history map[string][]ingest.HistoryCursor) {
	fmt.Fprintf(w, "identity:  %s (account %s)\n", queries.DisplayText(p.Arn), queries.DisplayText(p.Account))
	fmt.Fprintf(w, "window:    %s (UTC)\n", p.Window)
	fmt.Fprintf(w, "regions:   %d to read: %s\n", len(p.Regions), strings.Join(p.Regions, ", "))
	if len(p.Trails) == 0 {
		fmt.Fprintln(w, "trails:    none: event history is the only source (management events, 90 days)")
	} else {
		fmt.Fprintln(w, "trails:")
		for _, t := range p.Trails {
			var kind []string
			if t.Organization {
				kind = append(kind, "organization")
			}
			if t.MultiRegion {
				kind = append(kind, "multi-region")
			} else {
				kind = append(kind, "single-region")
			}
			status := "status unknown"
			switch {
			case t.StatusKnown && t.Logging:
				status = "logging since " + fmtTime(t.Started)
			case t.StatusKnown:
				status = "not logging (stopped " + fmtTime(t.Stopped) + ")"
			}
			fmt.Fprintf(w, "  %s (home %s, %s, %d regions): %s", queries.DisplayText(t.Name), queries.DisplayText(t.HomeRegion),
				strings.Join(kind, ", "), len(t.Regions), status)
			if t.Bucket != "" {
				fmt.Fprintf(w, "; %s", queries.DisplayText(ingest.Bucket{Name: t.Bucket, Prefix: t.Prefix}.URL()))
			}
			fmt.Fprintln(w)
		}
	}
	for _, b := range p.Buckets {
		if b.Readable {
			fmt.Fprintf(w, "s3:        %s (bucket in %s): this account's files of %d regions\n",
				queries.DisplayText(b.URL()), queries.DisplayText(b.Region), len(b.Regions))
		} else {
			fmt.Fprintf(w, "s3:        %s: not read: %s\n", queries.DisplayText(b.URL()), queries.DisplayText(b.Reason))
		}
	}
	fmt.Fprintln(w, "plan:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  REGION\tSOURCE\tSPAN")
	for _, r := range p.Regions {
		first := r
		row := func(source, span string) {
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", first, source, span)
			first = ""
		}
		for _, name := range p.S3[r] {
			for _, t := range p.Trails {
				if t.Name == name && slices.Contains(t.Regions, r) {
					row("s3 (trail "+queries.DisplayText(name)+")", t.Covers.String())
					break
				}
			}
		}
		if _, ok := p.History[r]; !ok {
			continue
		}
		qs := history[r]
		if len(qs) == 0 {
			row("event history", "already read by an earlier run")
		}
		for _, q := range qs {
			what := "event history"
			if q.Pages > 0 {
				what += fmt.Sprintf(" (resumes after page %d)", q.Pages)
			}
			row(what, ingest.Span{From: q.QueryStart, To: q.QueryEnd}.String())
		}
	}
	for _, r := range sortedMapKeys(p.Unavailable) {
		fmt.Fprintf(tw, "  %s\tnot read\t%s\n", r, queries.DisplayText(p.Unavailable[r]))
	}
	tw.Flush()
	for _, n := range p.Notes {
		fmt.Fprintf(w, "note: %s\n", queries.DisplayText(n))
	}
}

func sortedMapKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "?"
	}
	return t.UTC().Format(time.RFC3339)
}

// writeCoverage prints, per region, each source with the span it read and the events it
// delivered, then the distinct events stored and the first and last of them.
func writeCoverage(w io.Writer, cov []ingest.RegionCoverage) {
	fmt.Fprintln(w, "coverage (events stored in the window, by awsRegion):")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  REGION\tSOURCE\tSPAN\tEVENTS")
	for _, c := range cov {
		first := queries.DisplayText(c.Region)
		row := func(source, span string, n any) {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%v\n", first, source, span, n)
			first = ""
		}
		if len(c.S3) > 0 {
			row("s3 (trail "+queries.DisplayText(strings.Join(c.S3, ", "))+")", c.S3Span.String(), c.FromS3)
		}
		for i, s := range c.History {
			n := any(c.FromHistory)
			if i > 0 {
				n = "" // counted on the first line
			}
			row("event history", s.String(), n)
		}
		if c.FromFiles > 0 {
			row("files (earlier ingests)", "", c.FromFiles)
		}
		if c.FromS3 > 0 && len(c.S3) == 0 {
			row("s3 (earlier ingests)", "", c.FromS3)
		}
		if c.FromHistory > 0 && len(c.History) == 0 {
			row("event history (earlier runs)", "", c.FromHistory)
		}
		if c.Skipped != "" {
			row("not read", queries.DisplayText(c.Skipped), "")
			if c.Events == 0 {
				continue
			}
		}
		span := "no events"
		if !c.First.IsZero() {
			span = "first " + fmtTime(c.First) + ", last " + fmtTime(c.Last)
		}
		row("all sources (distinct)", span, c.Events)
	}
	tw.Flush()
}

// writeHistoryStatus prints one line per region: how it ended, what this run read.
func writeHistoryStatus(w io.Writer, status []ingest.RegionStatus) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  REGION\tSTATE\tEVENTS\tPAGES\tTHROTTLED\tREAD")
	for _, s := range status {
		var spans []string
		for _, q := range s.Queries {
			spans = append(spans, ingest.Span{From: q.QueryStart, To: q.QueryEnd}.String())
		}
		read := strings.Join(spans, ", ")
		switch {
		case s.State == "skipped" || s.State == "failed":
			read = queries.DisplayText(s.Reason)
		case len(spans) == 0:
			read = "already read by an earlier run"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%d\t%d\t%d\t%s\n", s.Region, s.State, s.Events, s.Pages, s.Throttled, read)
	}
	tw.Flush()
}
