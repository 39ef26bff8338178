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

// unknownKeysError: no key of the scope appears in the store. It exits 2, like a usage error,
// without the usage line: the command line is fine, the key is not in these logs.
type unknownKeysError struct {
	keys []string
	db   string
}

func (u unknownKeysError) Error() string {
	noun := "key"
	if len(u.keys) > 1 {
		noun = "keys"
	}
	return fmt.Sprintf("%s %s: in no event of %s; check the key, or ingest the logs that cover it "+
		"('trailhound query key-usage' lists the keys the store has)", noun, queries.DisplayText(strings.Join(u.keys, ", ")), u.db)
}

// knownKeys returns the keys that appear in the store (signing or minted by an event), in their
// order, with a warning for each one that does not; when none does, it fails with an
// unknownKeysError, said once. No keys: nothing to check.
func knownKeys(ctx context.Context, e *env, st *queries.Store, keys []string) ([]string, error) {
	missing, err := queries.MissingKeys(ctx, st.DB, keys)
	if err != nil || len(missing) == 0 {
		return keys, err
	}
	var known []string
	for _, k := range keys {
		if !slices.Contains(missing, k) {
			known = append(known, k)
		}
	}
	if len(known) == 0 {
		return nil, unknownKeysError{keys: missing, db: e.db}
	}
	for _, k := range missing {
		e.warnf("key %s appears in no event of %s: left out of the scope", queries.DisplayText(k), e.db)
	}
	return known, nil
}
