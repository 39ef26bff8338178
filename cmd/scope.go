package cmd

import (
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/trailhound/trailhound/queries"
)

// scopeFlags are --key, --from and --to: which lineage and which window a command looks at.
type scopeFlags struct {
	keys     []string
	from, to string
}

func (s *scopeFlags) bind(f *pflag.FlagSet, keyHelp string) {
	f.StringArrayVar(&s.keys, "key", nil, keyHelp)
	f.StringVar(&s.from, "from", "", "only events at or after this time: RFC 3339, a date (UTC), or an age such as 7d")
	f.StringVar(&s.to, "to", "", "only events before this time: RFC 3339, a date (UTC), or an age such as 36h")
}

// params checks the flags and returns the query parameters.
func (s *scopeFlags) params(now time.Time) (queries.Params, error) {
	var p queries.Params
	seen := map[string]bool{}
	for _, k := range s.keys {
		for _, k := range strings.Split(k, ",") {
			k = strings.TrimSpace(k)
			if k == "" || seen[k] {
				continue
			}
			if !validKeyID(k) {
				return p, usageErrorf("--key %q: an access key ID is 16 to 128 letters and digits, such as AKIAIOSFODNN7EXAMPLE", safeText(k))
			}
			seen[k] = true
			p.Keys = append(p.Keys, k)
		}
	}
	var err error
	if s.from != "" {
		if p.From, err = queries.ParseTime(s.from, now); err != nil {
			return p, usageErrorf("--from: %v", err)
		}
	}
	if s.to != "" {
		if p.To, err = queries.ParseTime(s.to, now); err != nil {
			return p, usageErrorf("--to: %v", err)
		}
	}
	if !p.From.IsZero() && !p.To.IsZero() && !p.To.After(p.From) {
		return p, usageErrorf("--to must be after --from")
	}
	return p, nil
}

// validKeyID accepts what IAM allows for an access key ID: 16 to 128 word characters.
func validKeyID(k string) bool {
	if len(k) < 16 || len(k) > 128 {
		return false
	}
	for _, r := range k {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}
