package sigma

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Technique is what a run found for one ATT&CK tactic and one rule: for the evidence
// pack's "Techniques observed" (rules that fired on the lineage, by tactic, each with its
// first and last time and the events, which the timeline rows name by event_id).
type Technique struct {
	Tactic     string   // ATT&CK tactic (persistence, privilege-escalation, ...); "" for a rule without one
	Techniques []string // the rule's technique ids (T1098.001)
	RuleID     string
	Title      string
	Level      string
	Author     string // the rule's author: SigmaHQ's licence asks that every view of a match shows it
	First      time.Time
	Last       time.Time
	Events     int
	EventIDs   []string // in time order
}

// Techniques groups the run's findings by ATT&CK tactic and rule, tactics in ATT&CK's
// order (then those it does not list), rules by their first finding. A rule with several
// tactics is listed under each.
func (r *Result) Techniques(ctx context.Context) ([]Technique, error) {
	rules := map[string]*Rule{}
	for _, rule := range r.plan.Run {
		rules[rule.Key()] = rule
	}
	rows, err := r.conn.QueryContext(ctx, `SELECT rule_id, min(event_time), max(event_time), count(*),
		list(event_id ORDER BY event_time NULLS LAST, event_id)
		FROM th_findings GROUP BY rule_id ORDER BY min(event_time) NULLS LAST, rule_id`)
	if err != nil {
		return nil, fmt.Errorf("detect: techniques: %w", err)
	}
	defer rows.Close()
	var out []Technique
	for rows.Next() {
		var t Technique
		var first, last *time.Time
		var ids []any
		if err := rows.Scan(&t.RuleID, &first, &last, &t.Events, &ids); err != nil {
			return nil, fmt.Errorf("detect: techniques: %w", err)
		}
		if first != nil {
			t.First, t.Last = first.UTC(), last.UTC()
		}
		for _, id := range ids {
			if s, ok := id.(string); ok {
				t.EventIDs = append(t.EventIDs, s)
			}
		}
		rule := rules[t.RuleID]
		if rule == nil {
			continue
		}
		t.Title, t.Level, t.Author, t.Techniques = rule.Title, rule.Level, rule.Author, rule.Techniques()
		tactics := rule.Tactics()
		if len(tactics) == 0 {
			tactics = []string{""}
		}
		for _, tac := range tactics {
			t.Tactic = tac
			out = append(out, t)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	sort.SliceStable(out, func(i, j int) bool { return tacticRank(out[i].Tactic) < tacticRank(out[j].Tactic) })
	return out, nil
}

// attackTactics is ATT&CK's order of enterprise tactics.
var attackTactics = []string{"reconnaissance", "resource-development", "initial-access", "execution", "persistence",
	"privilege-escalation", "defense-evasion", "stealth", "credential-access", "discovery", "lateral-movement",
	"collection", "command-and-control", "exfiltration", "impact"}

func tacticRank(t string) int {
	for i, a := range attackTactics {
		if strings.EqualFold(a, t) {
			return i
		}
	}
	if t == "" {
		return len(attackTactics) + 1
	}
	return len(attackTactics)
}

// Observed runs rules (nil: the built-in ones) over the lineage of keys (and [from, to))
// and returns the techniques they found, for the evidence pack.
func Observed(ctx context.Context, db *sql.DB, rules []*Rule, opts Options) ([]Technique, Summary, error) {
	var probs []Problem
	if rules == nil {
		rules, probs = Builtin()
	}
	p := Prepare(rules, "")
	res, err := p.Start(ctx, db, opts)
	if err != nil {
		return nil, Summary{}, err
	}
	defer res.Close()
	ts, err := res.Techniques(ctx)
	if err != nil {
		return nil, Summary{}, err
	}
	sum, err := res.Summary(ctx, probs)
	return ts, sum, err
}
