package queries_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/trailhound/trailhound/queries"
)

// TestScopedMacroCalls: every canned query asks lineage_events and lineage_of for its own
// scope, which is what lets a Scoped connection answer them from its temporary tables.
func TestScopedMacroCalls(t *testing.T) {
	qs, err := queries.Canned()
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range qs {
		if !q.ScopeSafe() {
			t.Errorf("%s calls lineage_events or lineage_of with other arguments than its $keys, $from and $to", q.Name)
		}
	}
	bad := queries.Query{SQL: "SELECT * FROM lineage_of(['AKIAEXAMPLEKEY000001'])"}
	if bad.ScopeSafe() {
		t.Error("a call with a literal list passes")
	}
}

// TestScopedMatchesRun: every canned query gives the same rows on a Scoped connection as on
// its own, for a lineage and a window; a call for another scope fails.
func TestScopedMatchesRun(t *testing.T) {
	inc := generatedIncident(t)
	st := openRO(t, inc.db)
	qs, err := queries.Canned()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []queries.Params{
		{Keys: []string{inc.m.LeakedKey}},
		{Keys: []string{inc.m.LeakedKey}, From: inc.m.SweepStart, To: inc.m.SweepStart.Add(30 * time.Hour)},
	} {
		s, err := queries.NewScoped(t.Context(), st.DB, p)
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range qs {
			var own, scoped bytes.Buffer
			rows, err := q.Run(t.Context(), st.DB, p)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := queries.WriteRows(&own, queries.FormatCSV, rows); err != nil {
				t.Fatal(err)
			}
			if rows, err = s.Run(t.Context(), q); err != nil {
				t.Fatal(err)
			}
			if _, err := queries.WriteRows(&scoped, queries.FormatCSV, rows); err != nil {
				t.Fatal(err)
			}
			if own.String() != scoped.String() {
				t.Errorf("%s (from %v): scoped rows differ:\n%s", q.Name, p.From, firstDiff(scoped.String(), own.String()))
			}
		}
		other := queries.Query{Name: "other", SQL: "SELECT count(*) FROM lineage_of(['AKIAEXAMPLEKEY000001'])"}
		if rows, err := s.Run(t.Context(), other); err == nil {
			for rows.Next() {
			}
			if rows.Err() == nil {
				t.Error("the lineage of other keys on a scoped connection did not fail")
			}
			rows.Close()
		}
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	}
	// The scoped connection is not handed out again: the lineage of another key still works.
	lin, err := queries.Lookup("lineage")
	if err != nil {
		t.Fatal(err)
	}
	for range 4 {
		rows, err := lin.Run(t.Context(), st.DB, queries.Params{Keys: []string{"AKIAEXAMPLEKEY000001"}})
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
		}
		if err := rows.Err(); err != nil {
			t.Errorf("after Close: %v", err)
		}
		rows.Close()
	}
}
