package cmd

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// parseTimeFlag reads --from/--to: RFC 3339, a date (UTC midnight), or a duration back
// from now (7d, 36h, 90m). Anything else is an error, never a silent empty window.
func parseTimeFlag(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	if n, ok := strings.CutSuffix(s, "d"); ok {
		if d, err := strconv.Atoi(n); err == nil && d >= 0 {
			return now.UTC().AddDate(0, 0, -d), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.UTC().Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a time: use RFC 3339 (2021-11-27T13:00:00Z), a date (2021-11-27) or a duration back from now (7d, 36h)", s)
}
