package sigma

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/trailhound/trailhound/ingest/synth"
)

// persistenceSteps are the calls with which an attacker stays in an account.
var persistenceSteps = []string{"CreateUser", "CreateAccessKey", "CreateLoginProfile", "UpdateLoginProfile",
	"AttachUserPolicy", "AttachRolePolicy", "AttachGroupPolicy", "PutUserPolicy", "PutRolePolicy", "CreateRole",
	"UpdateAssumeRolePolicy", "GetSessionToken", "GetFederationToken", "ConsoleLogin", "CreateKeyPair", "ImportKeyPair"}

// TestGeneratedIncident: on the generated incident (the one the demo and the shared
// fixtures use), every persistence step of the attacker is flagged by a built-in rule, and
// the owner's own use (every call from the owner's IP, the containment included) raises
// nothing above low.
func TestGeneratedIncident(t *testing.T) {
	for _, seed := range []uint64{7, 3} {
		dir := tempDir(t)
		m, err := synth.Generate(context.Background(), filepath.Join(dir, "trail"), synth.Options{Seed: seed, Events: 5000, EventsPerFile: 30})
		if err != nil {
			t.Fatal(err)
		}
		db := filepath.Join(dir, "incident.duckdb")
		ingestInto(t, db, filepath.Join(dir, "trail"))
		st := openStore(t, db)
		rules, probs := Builtin()
		if len(probs) > 0 {
			t.Fatal(probs)
		}
		p := Prepare(rules, "")
		res, err := p.Start(context.Background(), st.DB, Options{})
		if err != nil {
			t.Fatal(err)
		}
		flagged := map[string][]string{} // event id -> titles
		rows, err := res.conn.QueryContext(context.Background(), "SELECT event_id, title, level FROM th_findings")
		if err != nil {
			t.Fatal(err)
		}
		levels := map[string]string{}
		for rows.Next() {
			var id, title, level string
			if err := rows.Scan(&id, &title, &level); err != nil {
				t.Fatal(err)
			}
			flagged[id] = append(flagged[id], title)
			if LevelRank(level) > LevelRank(levels[id]) {
				levels[id] = level
			}
		}
		rows.Close()
		res.Close()

		evs, err := st.DB.Query("SELECT event_id, event_name, source_ip FROM event_rows")
		if err != nil {
			t.Fatal(err)
		}
		steps, owner := 0, 0
		for evs.Next() {
			var id, name string
			var ip *string
			if err := evs.Scan(&id, &name, &ip); err != nil {
				t.Fatal(err)
			}
			if ip == nil {
				continue
			}
			if slices.Contains(m.AttackerIPs, *ip) && slices.Contains(persistenceSteps, name) {
				steps++
				if len(flagged[id]) == 0 {
					t.Errorf("seed %d: attacker's %s (%s) is flagged by no built-in rule", seed, name, id)
				}
			}
			if *ip == m.OwnerIP {
				owner++
				if LevelRank(levels[id]) > LevelRank("low") {
					t.Errorf("seed %d: the owner's %s (%s) raises %s: %v", seed, name, id, levels[id], flagged[id])
				}
			}
		}
		evs.Close()
		if steps < 10 || owner < 100 {
			t.Fatalf("seed %d: %d attacker persistence steps and %d owner events: not the incident", seed, steps, owner)
		}

		// what the evidence pack will show: the techniques on the leaked key's lineage
		ts, sum, err := Observed(context.Background(), st.DB, nil, Options{Keys: []string{m.LeakedKey}})
		if err != nil {
			t.Fatal(err)
		}
		byTactic := map[string][]string{}
		for _, x := range ts {
			byTactic[x.Tactic] = append(byTactic[x.Tactic], x.Title)
			if x.Events != len(x.EventIDs) || x.First.After(x.Last) || x.Author == "" {
				t.Errorf("seed %d: technique %+v is inconsistent", seed, x)
			}
		}
		for tactic, title := range map[string]string{"persistence": "IAM user created", "privilege-escalation": "Administrator policy attached to a user, role or group",
			"impact": "EC2 instances launched in many regions within an hour", "initial-access": "Access key used from an offensive Linux distribution"} {
			if !slices.Contains(byTactic[tactic], title) {
				t.Errorf("seed %d: lineage techniques under %s: %v, want %q", seed, tactic, byTactic[tactic], title)
			}
		}
		if sum.Findings == 0 || sum.Run == 0 {
			t.Errorf("seed %d: summary %+v", seed, sum)
		}
	}
}
