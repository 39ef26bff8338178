package viz

import (
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/trailhound/trailhound/queries"
	"github.com/trailhound/trailhound/queries/sigma"
)

// The evidence pack's sections on what it cost (queries cost, cost-total, cost-per-hour),
// the integrity of the files behind it (the last trailhound verify: evidence-files,
// integrity, tampered-events, and the integrity column of timeline and key-usage) and the
// techniques the Sigma rules observed on the lineage (data/detections.*, linked to timeline
// rows shown on the page).

// costText is what the pack says of the cost: the sentence, what still runs, the line for
// AWS Support. ok is false when the build has no cost-total query.
type costText struct {
	ok       bool
	total    string   // the estimate in one sentence
	running  []string // what still runs, per region, service and type, with its cost per day
	support  string   // cost-total's support_line, verbatim (display text)
	usd      string   // the estimate, as "USD 12.34"
	short    string   // the estimate in a few words, for the summary
	priced   bool     // something was launched and ran
	currency string
}

// money shows an amount as the cost queries' support_line does (two decimals).
func money(cur string, v float64) string { return cur + " " + strconv.FormatFloat(v, 'f', 2, 64) }

func (p *packer) cost() costText {
	res, ok := p.results["cost-total"]
	if !ok || len(res.Values) == 0 {
		return costText{}
	}
	r := row{res: res}
	f := func(col string) float64 { v, _ := number(r.get(col)); return v }
	c := costText{ok: true, support: r.text("support_line")}
	cur := r.text("currency")
	local := func(col string) string {
		if cur == "" || r.get(col) == nil {
			return ""
		}
		v, _ := number(r.get(col))
		return " (" + money(cur, v) + ")"
	}
	c.currency = cur
	c.usd = money("USD", f("usd"))
	resources, still, unpriced := r.num("resources"), r.num("still_running"), r.num("unpriced")
	if resources == 0 {
		c.total = "nothing the lineage launched is in the logs as having run (no successful launch): no compute cost to estimate."
		c.usd = money("USD", 0)
		c.short = "no compute cost: nothing the lineage launched ran, as far as the logs show."
		return c
	}
	c.priced = true
	s := "about " + c.usd + local("local") + " for the compute the lineage launched (" + plural(resources, "resource", "resources") + ")"
	if f("usd_low") < f("usd_high") {
		s += ", between " + money("USD", f("usd_low")) + local("local_low") + " and " + money("USD", f("usd_high")) + local("local_high") +
			" as some runs have no logged end"
	}
	until := ""
	if t, ok := r.time("until"); ok {
		until = fmtTime(t)
	}
	if still > 0 {
		s += fmt.Sprintf("; %d %s still running at %s, costing %s%s a day more", still, verb(int(still), "is", "are"), until,
			money("USD", f("usd_per_day_running")), local("local_per_day_running"))
	}
	c.short = c.usd + local("local")
	if f("usd_low") < f("usd_high") {
		c.short += " (from " + money("USD", f("usd_low")) + ")"
	}
	if still > 0 {
		c.short += fmt.Sprintf("; %d still running, %s a day more", still, money("USD", f("usd_per_day_running")))
	}
	c.short += ", at public list prices: see \"What it cost\"."
	if unpriced > 0 {
		s += "; " + plural(unpriced, "resource has no known price and is", "resources have no known price and are") + " not in the sum"
	}
	c.total = s + ". At public on-demand list prices (" + r.text("price_sources") + "), excluding tax, discounts, storage and data transfer."
	if cost := p.results["cost"]; cost != nil {
		for i := range cost.Values {
			cr := row{res: cost, i: i}
			if cr.num("still_running") == 0 {
				continue
			}
			it := fmt.Sprintf("%s, %s %s: %d still running", cr.text("region"), cr.text("service"), cr.text("resource_type"), cr.num("still_running"))
			if v, ok := number(cr.get("usd_per_day_running")); ok && cr.get("usd_per_day_running") != nil {
				it += ", " + money("USD", v) + " a day"
			} else {
				it += ", price unknown"
			}
			c.running = append(c.running, it)
		}
	}
	return c
}

// verifyRun is the last trailhound verify on the store.
type verifyRun struct {
	finished                                                            time.Time
	digests, digestsValid, logFiles, logFilesVerified, tamper, findings int64
}

// integrityText is what the pack says of the files behind it.
type integrityText struct {
	ran      bool
	run      verifyRun
	files    int      // files the lineage's events came from
	verified int      // of them, verified
	bad      []string // tampered files, with their verdict
	other    []string // neither verified nor tampered: verdict and count
	unread   int      // read after the last verify (no verdict)
	marked   int      // timeline rows (events) marked
	text     []string // the sentences
	short    string   // in a few words, for the summary
	why      string   // for answers.md: why the pack did not check itself
}

func (p *packer) lastVerify() (verifyRun, bool, error) {
	var v verifyRun
	err := p.db.QueryRowContext(p.ctx, `SELECT finished_at, digests, digests_valid, log_files, log_files_verified, tampering, findings
		FROM verify_runs ORDER BY run_id DESC LIMIT 1`).Scan(&v.finished, &v.digests, &v.digestsValid, &v.logFiles,
		&v.logFilesVerified, &v.tamper, &v.findings)
	if err == sql.ErrNoRows {
		return v, false, nil
	}
	if err != nil {
		return v, false, fmt.Errorf("evidence pack: last verify: %w", err)
	}
	return v, true, nil
}

// verifyCommand is the command that verifies the pack's store.
func (p *packer) verifyCommand() string {
	s := "trailhound"
	if p.o.StorePath != "" {
		s += " --db " + shellWord(p.o.StorePath)
	}
	return s + " verify"
}

// shellWord quotes s for a POSIX shell when it needs it.
func shellWord(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=@+,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func (p *packer) integrity(marked int) (integrityText, error) {
	it := integrityText{marked: marked}
	run, ran, err := p.lastVerify()
	if err != nil {
		return it, err
	}
	it.ran, it.run = ran, run
	if !ran {
		it.text = []string{"Not checked: trailhound verify has never been run on this store, so the CloudTrail files behind these " +
			"tables have not been checked against CloudTrail's signed digests (for a file modified, deleted or added after " +
			"delivery). Run " + p.verifyCommand() + " (with --public-keys FILE, from aws cloudtrail list-public-keys, to stay " +
			"offline), then write this pack again."}
		it.why = "The pack does not run verify itself: verify records its findings in the store, which the pack only reads, " +
			"and it may ask AWS for CloudTrail's public keys."
		it.short = "not checked: trailhound verify has never been run on this store (see \"Can the logs be trusted?\")."
		return it, nil
	}
	res := p.results["evidence-files"]
	others := map[string]int{}
	if res != nil {
		it.files = res.Total
		for i := range res.Values {
			r := row{res: res, i: i}
			v := r.text("verdict")
			switch {
			case r.get("verdict") == nil:
				it.unread++
			case v == "verified":
				it.verified++
			case r.get("tampering") == true:
				it.bad = append(it.bad, r.text("uri")+" ("+v+")")
			default:
				others[v]++
			}
		}
	}
	for _, v := range slices.Sorted(mapKeys(others)) {
		it.other = append(it.other, fmt.Sprintf("%d %s", others[v], v))
	}
	run1 := fmt.Sprintf("Last trailhound verify, finished %s: %d digest files (%d with a valid signature), %d log files "+
		"(%d verified), %s of tampering or loss in the store.", fmtTime(run.finished), run.digests, run.digestsValid,
		run.logFiles, run.logFilesVerified, plural(run.tamper, "finding", "findings"))
	it.text = append(it.text, run1)
	switch {
	case len(it.bad) > 0:
		it.short = fmt.Sprintf("%s behind these tables did NOT verify (%s); their events are marked (see \"Can the logs be trusted?\").",
			plural(int64(len(it.bad)), "CloudTrail file", "CloudTrail files"), joinSemi(it.bad, 3))
	case it.files > 0 && it.verified == it.files:
		it.short = fmt.Sprintf("verified: the %s behind these tables match what CloudTrail signed.", plural(int64(it.files), "CloudTrail file", "CloudTrail files"))
	default:
		it.short = fmt.Sprintf("no file found tampered; %d of %d files behind these tables verified (see \"Can the logs be trusted?\").", it.verified, it.files)
	}
	switch {
	case it.files == 0:
		it.text = append(it.text, "No event of the lineage is in the store, so no file is behind these tables.")
	case len(it.bad) == 0 && it.verified == it.files:
		it.text = append(it.text, fmt.Sprintf("Verified: all %s behind these tables match what CloudTrail signed "+
			"(none was modified or added after delivery).", plural(int64(it.files), "CloudTrail file", "CloudTrail files")))
	default:
		s := fmt.Sprintf("Of the %s behind these tables, %d verified against CloudTrail's signed digests.",
			plural(int64(it.files), "CloudTrail file", "CloudTrail files"), it.verified)
		if len(it.bad) > 0 {
			s += fmt.Sprintf(" NOT VERIFIED, changed after CloudTrail delivered them or never delivered by it (%d): %s. "+
				"The %s of the lineage read from them are marked in the integrity column of the timeline and key-usage tables.",
				len(it.bad), joinSemi(it.bad, 20), plural(int64(marked), "event", "events"))
		}
		if len(it.other) > 0 {
			s += " Could not be checked (not tampering): " + strings.Join(it.other, ", ") + " (see data/evidence-files.csv)."
		}
		if it.unread > 0 {
			s += fmt.Sprintf(" %s read into the store after the last verify: run %s again.",
				plural(int64(it.unread), "file was", "files were"), p.verifyCommand())
		}
		it.text = append(it.text, s)
	}
	if f := p.results["integrity"]; f != nil && run.tamper > 0 {
		var items []string
		for i := range f.Values {
			r := row{res: f, i: i}
			if r.get("tampering") == true {
				items = append(items, r.text("kind")+": "+r.text("object"))
			}
		}
		if len(items) > 0 {
			it.text = append(it.text, "Verify's findings of tampering or loss anywhere in the store (a missing log file may have "+
				"held events of the lineage; data/integrity.csv has them all): "+joinSemi(items, 10)+".")
		}
	}
	return it, nil
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// techniques runs the built-in Sigma rules over the lineage's events on the pack's scope,
// writes every finding as data/detections.csv and .jsonl (what trailhound detect --key
// prints) and returns the techniques observed.
func (p *packer) techniques() ([]sigma.Technique, error) {
	start := time.Now()
	rules, probs := sigma.Builtin()
	plan := sigma.Prepare(rules, "")
	res, err := plan.StartIn(p.ctx, p.scope, sigma.Options{Keys: p.o.Params.Keys, From: p.o.Params.From, To: p.o.Params.To})
	if err != nil {
		return nil, fmt.Errorf("evidence pack: %w", err)
	}
	defer res.Close()
	rows, err := res.Rows(p.ctx)
	if err != nil {
		return nil, fmt.Errorf("evidence pack: %w", err)
	}
	if err := p.writeRows("detections", rows, &queries.Collected{Limit: 1}); err != nil {
		return nil, err
	}
	ts, err := res.Techniques(p.ctx)
	if err != nil {
		return nil, fmt.Errorf("evidence pack: %w", err)
	}
	if sum, err := res.Summary(p.ctx, probs); err == nil {
		p.log.Debug("evidence pack: detections", "rules", sum.Run, "fired", len(sum.Fired), "findings", sum.Findings,
			"took", time.Since(start).Round(time.Millisecond))
	}
	return ts, nil
}

// linksShown is how many of a technique's events the page links to (the first ones).
const linksShown = 5

// flaggedEvents are the events the page shows as timeline rows: each technique's first ones.
func flaggedEvents(ts []sigma.Technique) map[string]bool {
	out := map[string]bool{}
	for _, t := range ts {
		for i, id := range t.EventIDs {
			if i == linksShown {
				break
			}
			out[id] = true
		}
	}
	return out
}

// timelineRows maps each event id of the kept timeline rows to its row number (from 1, as
// in data/timeline.csv and .jsonl).
func timelineRows(res *queries.Collected) map[string]int {
	out := map[string]int{}
	if res == nil {
		return out
	}
	j := res.Column("event_id")
	if j < 0 {
		return out
	}
	for i, vals := range res.Values {
		if id, ok := vals[j].(string); ok {
			if _, dup := out[id]; !dup {
				out[id] = res.Index[i] + 1
			}
		}
	}
	return out
}

// timelineAnchor is the page id of timeline row n (from 1).
func timelineAnchor(n int) string { return "timeline-" + strconv.Itoa(n) }

// techniquesTable is "Techniques observed" for the page: one row per tactic and rule, each
// linking to its first events' timeline rows.
func techniquesTable(ts []sigma.Technique, rows map[string]int, ok bool) Table {
	t := Table{Name: "techniques", Title: "Techniques observed: detection rules that matched the lineage's events, by ATT&CK tactic",
		Description: "trailhound's own Sigma rules (trailhound detect) run over the lineage's events: each rule that matched, " +
			"under each ATT&CK tactic it is tagged with, with its first and last match and links to those events' rows of the " +
			"timeline (the rows of data/timeline.csv of the same number). Every match is in data/detections.csv.",
		Files:     []string{"data/detections.csv", "data/detections.jsonl"},
		Available: ok, Empty: "no rule matched an event of the lineage.",
		Columns: []string{"tactic", "techniques", "rule", "level", "author", "first_match", "last_match", "events", "timeline_rows"},
		Total:   len(ts)}
	if !ok {
		t.Note = "the detection rules did not run."
	}
	for i, tc := range ts {
		tactic := tc.Tactic
		if tactic == "" {
			tactic = "(no ATT&CK tactic)"
		}
		c := []Cell{{Text: queries.DisplayText(tactic)}, {Text: displayLines(tc.Techniques), Class: "list"},
			{Text: clip(queries.DisplayText(tc.Title), 400)}, {Text: queries.DisplayText(tc.Level)}, {Text: clip(queries.DisplayText(tc.Author), 200)},
			{Text: timeCell(tc.First), Class: "time"}, {Text: timeCell(tc.Last), Class: "time"}, {Text: strconv.Itoa(tc.Events), Class: "num"}}
		var links []Link
		for j, id := range tc.EventIDs {
			if j == linksShown {
				break
			}
			if n, ok := rows[id]; ok {
				links = append(links, Link{Text: "row " + strconv.Itoa(n), Href: "#" + timelineAnchor(n)})
			}
		}
		rest := ""
		if more := tc.Events - len(links); more > 0 {
			rest = fmt.Sprintf("and %d more in data/detections.csv", more)
		}
		c = append(c, Cell{Text: rest, Links: links})
		t.Rows = append(t.Rows, c)
		t.RowIDs = append(t.RowIDs, rowID("techniques", i))
	}
	t.Collapsed = len(t.Rows) > openRows
	return t
}

func timeCell(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// flaggedTable shows the timeline rows the techniques link to, each with its row number.
func flaggedTable(q queries.Query, res *queries.Collected, ok bool) Table {
	t := pageTable(packTable{name: "timeline", title: "The events the rules matched, as rows of the timeline",
		empty: "no rule matched an event of the lineage."}, q, res, ok)
	t.Name = "flagged"
	t.Description = "The rows of the timeline (data/timeline.csv: every event of the lineage in time order) that \"Techniques " +
		"observed\" links to, the first " + strconv.Itoa(linksShown) + " of each rule."
	t.Note = ""
	if !ok {
		t.Note = "this build of trailhound has no query timeline."
		return t
	}
	t.Total = len(res.Values)
	t.Collapsed = t.Total > openRows
	t.Columns = append([]string{"row"}, t.Columns...)
	t.RowIDs = nil
	for i := range t.Rows {
		n := res.Index[i] + 1
		t.Rows[i] = append([]Cell{{Text: strconv.Itoa(n), Class: "num"}}, t.Rows[i]...)
		t.RowIDs = append(t.RowIDs, timelineAnchor(n))
	}
	return t
}

// costTable is the cost table, with the total, what still runs and the AWS Support line
// above its rows.
func costTable(pt Table, c costText) Table {
	if !c.ok {
		return pt
	}
	pt.Lead = append(pt.Lead, "Estimate: "+c.total)
	if len(c.running) > 0 {
		pt.Lead = append(pt.Lead, "Still running and costing money: "+joinSemi(c.running, 4)+".")
	}
	if c.support != "" {
		pt.Lead = append(pt.Lead, "For the AWS Support case: "+c.support)
	}
	return pt
}

// sectionSummary is what the summary says of the cost, the integrity and the techniques.
func (p *packer) sectionSummary() []SummaryItem {
	var items []SummaryItem
	if c := p.costText; c.ok {
		items = append(items, SummaryItem{Label: "What it cost (estimate)", Text: capitalize(c.short)})
	}
	items = append(items, SummaryItem{Label: "Can the logs be trusted? (integrity)", Text: capitalize(p.integ.short)})
	if len(p.techs) > 0 {
		var tactics []string
		rules := map[string]bool{}
		for _, t := range p.techs {
			rules[t.RuleID] = true
			if t.Tactic != "" && !slices.Contains(tactics, t.Tactic) {
				tactics = append(tactics, t.Tactic)
			}
		}
		items = append(items, SummaryItem{Label: "Techniques observed (detection rules that matched)",
			Text: queries.DisplayText(fmt.Sprintf("%s matched, under %s: %s (see \"Techniques observed\").",
				plural(int64(len(rules)), "rule", "rules"), plural(int64(len(tactics)), "ATT&CK tactic", "ATT&CK tactics"), strings.Join(tactics, ", ")))})
	}
	return items
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// techniqueLines are the techniques in words, one a line: tactic, rule, count, first and last.
func techniqueLines(ts []sigma.Technique) []string {
	var out []string
	for _, t := range ts {
		tactic := t.Tactic
		if tactic == "" {
			tactic = "no ATT&CK tactic"
		}
		s := tactic + ": " + t.Title
		if len(t.Techniques) > 0 {
			s += " (" + strings.Join(t.Techniques, ", ") + ")"
		}
		s += fmt.Sprintf(", %s, %s", t.Level, plural(int64(t.Events), "event", "events"))
		if !t.First.IsZero() {
			s += " from " + fmtTime(t.First) + " to " + fmtTime(t.Last)
		}
		if t.Author != "" {
			s += "; rule by " + t.Author
		}
		out = append(out, queries.DisplayText(s))
	}
	return out
}

// answerSections writes answers.md's sections on the cost, the integrity and the techniques.
func (p *packer) answerSections(w func(string, ...any), list func([]string)) {
	w("## 13. What it cost\n\nWhat did the attacker's compute cost, and what is still costing money?\n\n")
	c := p.costText
	if !c.ok {
		w("**Answer:** not available: this build of trailhound has no query cost-total.\n\n")
	} else {
		w("**Answer:** %s\n\n", md(capitalize(c.total)))
		if cost := p.results["cost"]; cost != nil && len(cost.Values) > 0 {
			w("| region | service | resource type | resources | hours | still running | USD | USD a day (still running) | basis |\n" +
				"| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- |\n")
			for i := range cost.Values {
				if i == maxItems {
					w("\n… and %d more rows (see the file)\n", len(cost.Values)-maxItems)
					break
				}
				r := row{res: cost, i: i}
				w("| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", md(r.text("region")), md(r.text("service")),
					md(r.text("resource_type")), md(r.text("resources")), md(r.text("hours")), md(r.text("still_running")),
					md(orUnknown(r.text("usd"))), md(r.text("usd_per_day_running")), md(clip(r.text("basis"), 200)))
			}
			w("\n")
		}
		if len(c.running) > 0 {
			w("Still running and costing money:\n\n")
			list(c.running)
		}
		if c.support != "" {
			w("For the AWS Support case (the estimate, its basis and its price source):\n\n> %s\n\n", md(c.support))
		}
	}
	w("Evidence: data/cost.csv (per region, service and resource type, with how each run ended in basis), data/cost-per-hour.csv " +
		"(what accrued each hour, by region: the shape of the bill), data/cost-total.csv.\n\n")

	w("## 14. Integrity of the logs\n\nAre the CloudTrail files behind these answers the ones CloudTrail delivered?\n\n")
	w("**Answer:** %s\n\n", md(strings.TrimSpace(strings.Join(p.integ.text, " ")+" "+p.integ.why)))
	w("Evidence: data/evidence-files.csv (each file behind these tables with its verdict), data/integrity.csv (the last " +
		"verify's findings), data/tampered-events.csv (the lineage's events from files that did not verify); the integrity " +
		"column of data/timeline.csv and data/key-usage.csv; manifest.json (the verdict of every source file).\n\n")

	w("## 15. Techniques observed\n\nWhich known attack techniques do the lineage's events show?\n\n")
	if len(p.techs) == 0 {
		w("**Answer:** no detection rule matched an event of the lineage.\n\n")
	} else {
		rows := timelineRows(p.results["timeline"])
		w("**Answer:** trailhound's detection rules (Sigma) matched these, by ATT&CK tactic:\n\n")
		var items []string
		for i, t := range p.techs {
			line := techniqueLines(p.techs[i : i+1])[0]
			var ns []string
			for j, id := range t.EventIDs {
				if j == linksShown {
					break
				}
				if n, ok := rows[id]; ok {
					ns = append(ns, strconv.Itoa(n))
				}
			}
			if len(ns) > 0 {
				line += "; timeline rows " + strings.Join(ns, ", ")
				if t.Events > len(ns) {
					line += " …"
				}
			}
			items = append(items, line)
		}
		list(items)
	}
	w("Evidence: data/detections.csv (every match: rule, event id, time; what trailhound detect --key prints), " +
		"data/timeline.csv (the rows named above).\n")
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// displayLines shows items one a line, each as display text.
func displayLines(items []string) string {
	out := make([]string, len(items))
	for i, s := range items {
		out[i] = queries.DisplayText(s)
	}
	return strings.Join(out, "\n")
}

// costSpansSetup computes the lineage's cost spans once, on the pack's scope connection, for
// the three cost queries (cost, cost-total, cost-per-hour), which each call cost_spans
// (queries/macros.sql) with the same launches, until and prices: a temporary macro of the
// same name reads them back on that connection only, and fails rather than answer for other
// arguments (as the scope's own lineage_events does).
var costSpansSetup = []string{
	`CREATE OR REPLACE TEMP TABLE th_cost_args AS
	 SELECT (SELECT list({'event_id': event_id, 'event_time': event_time})
	         FROM lineage_events($keys::VARCHAR[], $from::TIMESTAMPTZ, $to::TIMESTAMPTZ)
	         WHERE error_code IS NULL AND is_compute_launch(event_source, event_name)) AS th_launches,
	        $until::TIMESTAMPTZ AS th_until, $prices::VARCHAR AS th_prices`,
	`CREATE OR REPLACE TEMP TABLE th_cost_spans AS
	 SELECT * FROM cost_spans((SELECT th_launches FROM th_cost_args), (SELECT th_until FROM th_cost_args), (SELECT th_prices FROM th_cost_args))`,
	`CREATE OR REPLACE TEMP MACRO cost_spans(launches, t_until, prices) AS TABLE
	 SELECT s.* FROM th_cost_spans s
	 WHERE (SELECT CASE WHEN list_sort(a.th_launches) IS NOT DISTINCT FROM list_sort(launches)
	                         AND a.th_until IS NOT DISTINCT FROM t_until::TIMESTAMPTZ AND a.th_prices IS NOT DISTINCT FROM prices::VARCHAR
	                    THEN true ELSE error('cost_spans: this connection holds the spans of other launches or prices') END
	        FROM th_cost_args a)`,
}

func (p *packer) shareCostSpans() error {
	if _, err := queries.Lookup("cost"); err != nil {
		return nil // a build without the cost queries
	}
	for i, stmt := range costSpansSetup {
		rows, err := p.scope.Run(p.ctx, queries.Query{Name: "cost spans " + strconv.Itoa(i+1), SQL: stmt})
		if err != nil {
			return fmt.Errorf("evidence pack: %w", err)
		}
		rows.Close()
	}
	return nil
}
