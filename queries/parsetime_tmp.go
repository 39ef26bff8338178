package queries

// TEMPORARY (branch viz): the queries branch adds the real ParseTime for --from/--to. This file
// goes when that branch is merged.

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseTime reads a --from/--to value: RFC 3339 (2026-11-07T23:00:00Z), a date (2026-11-07,
// midnight UTC), a date and time without zone (2026-11-07T23:00, UTC), or a duration before now
// (7d, 36h, 90m).
func ParseTime(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t.UTC(), nil
		}
	}
	if n := len(s); n >= 2 {
		unit := map[byte]time.Duration{'d': 24 * time.Hour, 'h': time.Hour, 'm': time.Minute}[s[n-1]]
		if v, err := strconv.Atoi(s[:n-1]); err == nil && unit != 0 && v >= 0 {
			return now.UTC().Add(-time.Duration(v) * unit), nil
		}
	}
	return time.Time{}, fmt.Errorf("time %q: want RFC 3339 (2026-11-07T23:00:00Z), a date (2026-11-07) or an age (7d, 36h, 90m)", s)
}
