package cmd

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/trailhound/trailhound/queries"
)

// bindScope binds --key, --from and --to as 'trailhound query' has them.
func bindScope(f *pflag.FlagSet, opts *queryOptions, keyHelp string) {
	f.StringSliceVar(&opts.Keys, "key", nil, keyHelp+" (repeat or comma-separate for several)")
	f.StringVar(&opts.From, "from", "", "only events at or after this time (UTC): RFC 3339, a date, or a duration back (7d)")
	f.StringVar(&opts.To, "to", "", "only events before this time (UTC): RFC 3339, a date, or a duration back (12h)")
}

// scopeParams checks --key, --from and --to for a command that runs many canned queries
// (the evidence pack): every key is required to be non-empty, the times to parse.
func scopeParams(opts queryOptions, now time.Time) (queries.Params, error) {
	var p queries.Params
	for _, k := range opts.Keys {
		if k = strings.TrimSpace(k); k != "" && !slices.Contains(p.Keys, k) {
			p.Keys = append(p.Keys, k)
		}
	}
	if len(opts.Keys) > 0 && len(p.Keys) == 0 {
		return p, usageErrorf("--key is empty")
	}
	var err error
	p.From, p.To, err = parseTimes(opts.From, opts.To, now, func(string) error { return nil })
	if err != nil {
		return p, err
	}
	return p, nil
}

// warnMissingKeys says on stderr which keys appear in no event of the store, and returns them.
func warnMissingKeys(ctx context.Context, e *env, st *queries.Store, keys []string) ([]string, error) {
	missing, err := queries.MissingKeys(ctx, st.DB, keys)
	if err != nil {
		return nil, err
	}
	for _, k := range missing {
		fmt.Fprintf(e.err, "warning: key %s appears in no event of %s\n", queries.DisplayText(k), e.db)
	}
	return missing, nil
}
