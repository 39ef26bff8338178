package ingest

import (
	"fmt"
	"time"
)

// RegionStatus is where one region's event-history reading stands.
type RegionStatus struct {
	Region        string
	State         string // waiting | reading | done | skipped | failed (the ingest stopped)
	Reason        string // why a region was skipped
	Pages, Events int64  // read by this run
	Throttled     int64  // HTTP attempts answered with throttling
	Remaining     float64
	ETA           time.Duration // estimated time left; 0 when unknown or done
	Queries       []HistoryCursor
	started       time.Time
}

// Status returns every region's status, sorted by region.
func (h *HistorySource) Status() []RegionStatus {
	out := make([]RegionStatus, 0, len(h.regions))
	for _, r := range h.regions {
		out = append(out, r.status())
	}
	return out
}

func (r *regionRun) status() RegionStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := RegionStatus{Region: r.region, State: r.state, Reason: r.reason, Pages: r.pages, Events: r.events,
		Throttled: r.throttled.Load(), Remaining: r.fraction(), Queries: append([]HistoryCursor(nil), r.current...),
		started: r.started}
	if s.State == "reading" && r.remaining > s.Remaining && r.pages > 0 && r.rate > 0 {
		// The pages still to read, if events are spread as in those read so far, at the
		// region's rate.
		left := float64(r.pages) * s.Remaining / (r.remaining - s.Remaining)
		s.ETA = time.Duration(left / r.rate * float64(time.Second))
	}
	if s.State == "done" {
		s.Remaining = 0
	}
	return s
}

// fraction is the part of the region's queries not read yet, weighted by their length.
func (r *regionRun) fraction() float64 {
	var total, left float64
	for _, c := range r.current {
		d := float64(c.QueryEnd.Sub(c.QueryStart))
		total += d
		left += d * c.Remaining()
	}
	if total == 0 {
		return 0
	}
	return left / total
}

// ProgressLines is one line per region for the progress display.
func (h *HistorySource) ProgressLines() []string {
	var lines []string
	for _, s := range h.Status() {
		line := fmt.Sprintf("  %-16s %-8s %7d events %5d pages", s.Region, s.State, s.Events, s.Pages)
		switch s.State {
		case "reading":
			line += fmt.Sprintf("  %3.0f%% left", 100*s.Remaining)
			if s.ETA > 0 {
				line += "  ~" + s.ETA.Round(time.Second).String()
			}
		case "skipped":
			line = fmt.Sprintf("  %-16s skipped", s.Region)
		}
		if s.Throttled > 0 {
			line += fmt.Sprintf("  (%d throttled)", s.Throttled)
		}
		lines = append(lines, line)
	}
	return lines
}
