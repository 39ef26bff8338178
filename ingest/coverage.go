package ingest

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/trailhound/trailhound/queries"
)

// RegionCoverage is what the store holds for one region's window after collect.
type RegionCoverage struct {
	Region string
	S3     []string // the trails whose files the plan read for it
	// History is the parts of the window the plan read from event history.
	History                        []Span
	S3Span                         Span  // the part of the window the trails' files cover
	Events                         int64 // distinct events in the window
	FromS3, FromHistory, FromFiles int64 // of those, delivered by each source (an event may come from several)
	First, Last                    time.Time
	Skipped                        string // why the region (or part of it) was not read
}

// coverage reads, per region, what the store holds in the plan's window.
func coverage(ctx context.Context, st *queries.Store, plan *Plan, hist *HistorySource) ([]RegionCoverage, error) {
	q, err := queries.Lookup("sources")
	if err != nil {
		return nil, err
	}
	rows, err := q.Run(ctx, st.DB, queries.Params{From: plan.Window.From, To: plan.Window.To})
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	byRegion := map[string]*RegionCoverage{}
	for rows.Next() {
		var c RegionCoverage
		var region *string
		var first, last *time.Time
		if err := rows.Scan(&region, &c.Events, &c.FromS3, &c.FromHistory, &c.FromFiles, &first, &last); err != nil {
			return nil, fmt.Errorf("query coverage: %w", err)
		}
		c.Region = "(none)"
		if region != nil {
			c.Region = *region
		}
		if first != nil {
			c.First, c.Last = first.UTC(), last.UTC()
		}
		byRegion[c.Region] = &c
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query coverage: %w", err)
	}
	get := func(r string) *RegionCoverage {
		if byRegion[r] == nil {
			byRegion[r] = &RegionCoverage{Region: r}
		}
		return byRegion[r]
	}
	for _, r := range plan.Regions {
		c := get(r)
		c.S3 = plan.S3[r]
		for _, t := range plan.Trails {
			if slices.Contains(c.S3, t.Name) && slices.Contains(t.Regions, r) {
				if c.S3Span.empty() {
					c.S3Span = t.Covers
				} else {
					c.S3Span = Span{earliest(c.S3Span.From, t.Covers.From), latest(c.S3Span.To, t.Covers.To)}
				}
			}
		}
		c.History = plan.History[r]
	}
	for r, why := range plan.Unavailable {
		get(r).Skipped = why
	}
	for _, s := range hist.Status() {
		if s.State == "skipped" {
			get(s.Region).Skipped = s.Reason
		}
	}
	keys := make([]string, 0, len(byRegion))
	for r := range byRegion {
		keys = append(keys, r)
	}
	sort.Strings(keys)
	out := make([]RegionCoverage, 0, len(keys))
	for _, r := range keys {
		out = append(out, *byRegion[r])
	}
	return out, nil
}
