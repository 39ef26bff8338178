package cmd

import (
	"time"

	"github.com/trailhound/trailhound/queries"
)

// parseWindow reads the --from (required) and --to (default now) of an ingest into a window of
// whole seconds. It reads the flags as parseTimes does: one parser for every --from and --to.
func parseWindow(fromFlag, toFlag string, now time.Time) (time.Time, time.Time, error) {
	if fromFlag == "" {
		// cobra marks --from required; this is for callers that do not.
		return time.Time{}, time.Time{}, usageErrorf("--from is required")
	}
	from, to, err := parseTimes(fromFlag, toFlag, now, func(string) error { return nil })
	if err != nil {
		return from, to, err
	}
	if to.IsZero() {
		to = now
	}
	from = from.Truncate(time.Second)
	if t := to.Truncate(time.Second); t.Before(to) {
		to = t.Add(time.Second)
	}
	if !from.Before(to) {
		return from, to, usageErrorf("--from (%s) must be before --to (%s)", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	return from, to, nil
}

// parseTimes reads the optional --from and --to of a query (zero = unbounded); takes
// reports whether the query accepts a flag, and may refuse it.
func parseTimes(fromFlag, toFlag string, now time.Time, takes func(flag string) error) (from, to time.Time, err error) {
	for _, t := range []struct {
		flag, value string
		dst         *time.Time
	}{{"from", fromFlag, &from}, {"to", toFlag, &to}} {
		if t.value == "" {
			continue
		}
		if err := takes(t.flag); err != nil {
			return from, to, err
		}
		v, err := queries.ParseTime(t.value, now)
		if err != nil {
			return from, to, usageErrorf("--%s: %v", t.flag, err)
		}
		*t.dst = v
	}
	if !from.IsZero() && !to.IsZero() && !to.After(from) {
		return from, to, usageErrorf("--to (%s) must be after --from (%s)", to.Format(time.RFC3339), from.Format(time.RFC3339))
	}
	return from, to, nil
}
