package viz

import (
	"bytes"
	"fmt"
	"html"
	"math"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/trailhound/trailhound/queries"
	"github.com/trailhound/trailhound/queries/sigma"
)

// section returns the part of a page or of answers.md from start to the next end.
func section(t *testing.T, doc, start, end string) string {
	t.Helper()
	i := strings.Index(doc, start)
	if i < 0 {
		t.Fatalf("no %q", start)
	}
	rest := doc[i+len(start):]
	if j := strings.Index(rest, end); j >= 0 {
		rest = rest[:j]
	}
	return start + rest
}

// TestPackCost: "What it cost" in answers.md and on the page gives the total the cost
// queries give, run on their own over the same store and scope; the cost table's rows sum
// to it; the chart of cost per hour is there; and the AWS Support line is cost-total's.
func TestPackCost(t *testing.T) {
	inc, dir := testPack(t)
	q, err := queries.Lookup("cost-total")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := q.Run(t.Context(), inc.st.DB, queries.Params{Keys: []string{inc.m.LeakedKey}})
	if err != nil {
		t.Fatal(err)
	}
	res := &queries.Collected{}
	if _, err := queries.WriteRowsMulti(rows, nil, queries.Output{Collect: res}); err != nil {
		t.Fatal(err)
	}
	r := row{res: res}
	usd, _ := number(r.get("usd"))
	perDay, _ := number(r.get("usd_per_day_running"))
	if usd <= 0 || r.num("still_running") == 0 {
		t.Fatalf("the fixture's cost is %v with %d still running: the test would prove little", usd, r.num("still_running"))
	}
	total := fmt.Sprintf("USD %.2f", usd)
	answers := markdownText(string(readFile(t, filepath.Join(dir, "answers.md"))))
	sec := section(t, answers, "## 13. What it cost", "\n## ")
	want := "**Answer:** About " + total + " for the compute the lineage launched (" + r.text("resources") + " resources)"
	if !strings.Contains(sec, want) {
		t.Errorf("answers.md does not say %q:\n%s", want, sec)
	}
	if want := fmt.Sprintf("%d are still running at ", r.num("still_running")); !strings.Contains(sec, want) ||
		!strings.Contains(sec, fmt.Sprintf("costing USD %.2f a day more", perDay)) {
		t.Errorf("answers.md does not say what still runs and costs per day (USD %.2f):\n%s", perDay, sec)
	}
	support := r.text("support_line")
	if !strings.Contains(support, total) || !strings.Contains(sec, "> "+support) {
		t.Errorf("answers.md does not quote the AWS Support line %q", support)
	}
	// The cost table's rows sum to the total (each rounded to the cent).
	sum, n := 0.0, 0
	for _, c := range readCSV(t, filepath.Join(dir, "data", "cost.csv")) {
		if v, err := strconv.ParseFloat(c["usd"], 64); err == nil {
			sum += v
			n++
		}
	}
	if math.Abs(sum-usd) > 0.01*float64(n) {
		t.Errorf("data/cost.csv sums to %.2f, the total is %.2f", sum, usd)
	}
	if got := readCSV(t, filepath.Join(dir, "data", "cost-total.csv")); len(got) != 1 || got[0]["usd"] != strconv.FormatFloat(usd, 'f', -1, 64) {
		t.Errorf("data/cost-total.csv = %v, want usd %v", got, usd)
	}
	page := string(readFile(t, filepath.Join(dir, "index.html")))
	items, _ := summaryItems(t, page)
	if got := items["What it cost (estimate)"]; !strings.HasPrefix(got, total) {
		t.Errorf("the summary's cost is %q, want it to begin with %s", got, total)
	}
	costSec := html.UnescapeString(section(t, page, `<section id="table-cost">`, "</section>"))
	for _, want := range []string{"Estimate: about " + total, "For the AWS Support case: " + support, "Still running and costing money: "} {
		if !strings.Contains(costSec, want) {
			t.Errorf("the page's cost section does not say %q", want)
		}
	}
	if !strings.Contains(page, `<div class="th-chart" id="chart-cost-per-hour"`) {
		t.Error("the page has no chart of cost per hour")
	}
	// The chart's data: what accrued per hour adds up to the priced total.
	hourly := 0.0
	for _, c := range readCSV(t, filepath.Join(dir, "data", "cost-per-hour.csv")) {
		v, _ := strconv.ParseFloat(c["usd"], 64)
		hourly += v
	}
	if math.Abs(hourly-usd) > 1 {
		t.Errorf("cost per hour sums to %.2f, the total is %.2f", hourly, usd)
	}
}

// TestPackCostCurrency: with --currency and --rate, the amounts are shown in that currency
// beside USD, never instead of it.
func TestPackCostCurrency(t *testing.T) {
	inc := getIncident(t)
	o := packOptions(inc, filepath.Join(t.TempDir(), "pack"))
	o.Params.Currency, o.Params.Rate = "KRW", 1180
	if _, err := WritePack(t.Context(), inc.st.DB, o, nil); err != nil {
		t.Fatal(err)
	}
	tot := readCSV(t, filepath.Join(o.Dir, "data", "cost-total.csv"))[0]
	usd, _ := strconv.ParseFloat(tot["usd"], 64)
	local, _ := strconv.ParseFloat(tot["local"], 64)
	want := fmt.Sprintf("About USD %.2f (KRW %.2f) for the compute", usd, local)
	answers := markdownText(string(readFile(t, filepath.Join(o.Dir, "answers.md"))))
	if math.Abs(local-usd*1180) > 0.01*1180 || !strings.Contains(answers, want) {
		t.Errorf("answers.md does not say %q:\n%q", want, section(t, answers, "**Answer:** About", " for the"))
	}
}

// TestPackIntegrityNotRun: on a store verify never ran on, the pack says so in plain words,
// gives the command, and the manifest's sources carry no verdict; nothing is marked.
func TestPackIntegrityNotRun(t *testing.T) {
	_, dir := testPack(t)
	answers := markdownText(string(readFile(t, filepath.Join(dir, "answers.md"))))
	sec := section(t, answers, "## 14. Integrity of the logs", "\n## ")
	for _, want := range []string{"Not checked: trailhound verify has never been run on this store", "Run trailhound --db case.duckdb verify"} {
		if !strings.Contains(sec, want) {
			t.Errorf("answers.md does not say %q:\n%s", want, sec)
		}
	}
	page := html.UnescapeString(string(readFile(t, filepath.Join(dir, "index.html"))))
	if !strings.Contains(page, "Not checked: trailhound verify has never been run on this store") {
		t.Error("the page does not say verify never ran")
	}
	m := readManifestT(t, dir)
	if len(m.Sources) == 0 {
		t.Fatal("no sources in the manifest")
	}
	for _, s := range m.Sources {
		if s.Verdict != nil {
			t.Errorf("source %s has verdict %q though verify never ran", s.URI, *s.Verdict)
		}
	}
	if !bytes.Contains(readFile(t, filepath.Join(dir, "manifest.json")), []byte(`"verdict": null`)) {
		t.Error("the manifest does not record the missing verdict as null")
	}
	for _, f := range []string{"timeline", "key-usage"} {
		for _, r := range readCSV(t, filepath.Join(dir, "data", f+".csv")) {
			if r["integrity"] != "" {
				t.Fatalf("%s.csv marks an event though verify never ran: %v", f, r)
			}
		}
	}
}

func readManifestT(t *testing.T, dir string) Manifest {
	t.Helper()
	m, ok := readManifest(dir)
	if !ok {
		t.Fatal("no manifest")
	}
	return m
}

// TestPackTechniques: "Techniques observed" lists exactly the rules trailhound detect finds
// on the lineage, with their first and last times, and each link of the page resolves to a
// timeline row of the page whose event the rule matched.
func TestPackTechniques(t *testing.T) {
	inc, dir := testPack(t)
	rules, _ := sigma.Builtin()
	res, err := sigma.Prepare(rules, "").Start(t.Context(), inc.st.DB, sigma.Options{Keys: []string{inc.m.LeakedKey}})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()
	rows, err := res.Rows(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	detect := &queries.Collected{}
	if _, err := queries.WriteRowsMulti(rows, nil, queries.Output{Collect: detect}); err != nil {
		t.Fatal(err)
	}
	type span struct {
		first, last string
		events      map[string]bool
	}
	want := map[string]*span{}
	for i := range detect.Values {
		r := row{res: detect, i: i}
		s := want[r.text("rule_id")]
		if s == nil {
			s = &span{first: r.text("event_time"), events: map[string]bool{}}
			want[r.text("rule_id")] = s
		}
		s.last = r.text("event_time")
		s.events[r.text("event_id")] = true
	}
	if len(want) < 5 {
		t.Fatalf("detect finds %d rules on the lineage: the test would prove little", len(want))
	}
	// data/detections.csv is detect's output on the lineage.
	got := readCSV(t, filepath.Join(dir, "data", "detections.csv"))
	if len(got) != len(detect.Values) {
		t.Errorf("data/detections.csv has %d rows, detect %d", len(got), len(detect.Values))
	}
	for i, g := range got {
		if i < len(detect.Values) && (g["rule_id"] != row{res: detect, i: i}.text("rule_id") || g["event_id"] != row{res: detect, i: i}.text("event_id")) {
			t.Fatalf("detections.csv row %d: %v, detect: %v", i+1, g, detect.Text[i])
		}
	}
	// The page's table: one row per tactic and rule; every rule of detect is in it, with its times.
	page := string(readFile(t, filepath.Join(dir, "index.html")))
	sec := section(t, page, `<section id="table-techniques">`, "</section>")
	titles := map[string]string{}
	for _, r := range rules {
		titles[r.Key()] = r.Title
	}
	for id, s := range want {
		title := html.EscapeString(titles[id])
		re := regexp.MustCompile(`<td>` + regexp.QuoteMeta(title) + `</td><td>[^<]*</td><td>[^<]*</td><td class="time">` +
			regexp.QuoteMeta(s.first) + `</td><td class="time">` + regexp.QuoteMeta(s.last) + `</td><td class="num">` +
			strconv.Itoa(len(s.events)) + `</td>`)
		if !re.MatchString(sec) {
			t.Errorf("the techniques table has no row for %s (%s) from %s to %s with %d events", id, titles[id], s.first, s.last, len(s.events))
		}
	}
	if n := strings.Count(sec, "<tr id=\"techniques-"); n < len(want) {
		t.Errorf("%d technique rows for %d rules", n, len(want))
	}
	// Every link goes to a timeline row on the page, whose event the rule of its row matched.
	timeline := readCSV(t, filepath.Join(dir, "data", "timeline.csv"))
	byTitle := map[string]string{}
	for id, title := range titles {
		byTitle[html.EscapeString(title)] = id
	}
	links := 0
	for _, tr := range regexp.MustCompile(`<tr id="techniques-\d+">(.*?)</tr>`).FindAllStringSubmatch(sec, -1) {
		cells := regexp.MustCompile(`<td[^>]*>(.*?)</td>`).FindAllStringSubmatch(tr[1], -1)
		rule := byTitle[cells[2][1]]
		for _, l := range regexp.MustCompile(`<a href="#timeline-(\d+)">row (\d+)</a>`).FindAllStringSubmatch(cells[8][1], -1) {
			links++
			if l[1] != l[2] || !strings.Contains(page, `<tr id="timeline-`+l[1]+`">`) {
				t.Errorf("link to timeline row %s does not resolve on the page", l[1])
				continue
			}
			n, _ := strconv.Atoi(l[1])
			if n < 1 || n > len(timeline) || !want[rule].events[timeline[n-1]["event_id"]] {
				t.Errorf("timeline row %d is not an event rule %s matched", n, rule)
			}
			row := section(t, page, `<tr id="timeline-`+l[1]+`">`, "</tr>")
			if !strings.Contains(row, ">"+timeline[n-1]["event_id"]+"<") {
				t.Errorf("the page's timeline row %d is not data/timeline.csv's row %d", n, n)
			}
		}
	}
	if links < len(want) {
		t.Errorf("%d links for %d rules", links, len(want))
	}
	// answers.md lists the same rules, by tactic.
	answers := markdownText(string(readFile(t, filepath.Join(dir, "answers.md"))))
	asec := section(t, answers, "## 15. Techniques observed", "\n## ")
	for id := range want {
		if !strings.Contains(asec, ": "+titles[id]+" (") {
			t.Errorf("answers.md does not list %s (%s)", id, titles[id])
		}
	}
	if slices.Contains(strings.Split(asec, "\n"), "**Answer:** no detection rule matched an event of the lineage.") {
		t.Error("answers.md says no rule matched")
	}
}

// TestPackSectionsHostile: the attacker's region names in the cost section are text on the
// page and in answers.md.
func TestPackSectionsHostile(t *testing.T) {
	_, dir := testPack(t)
	page := string(readFile(t, filepath.Join(dir, "index.html")))
	sec := section(t, page, `<section id="table-cost">`, "</section>")
	if strings.Contains(sec, xssRegion) || !strings.Contains(sec, html.EscapeString(xssRegion)) {
		t.Error("the cost section does not show the hostile region as escaped text")
	}
	lead := section(t, sec, `<p class="lead">Still running`, "</p>")
	if !strings.Contains(lead, html.EscapeString(xssRegion)) {
		t.Errorf("the still-running line does not name the hostile region as text: %s", lead)
	}
	answers := string(readFile(t, filepath.Join(dir, "answers.md")))
	cost := section(t, answers, "## 13. What it cost", "\n## ")
	if strings.Contains(cost, xssRegion) || strings.Contains(cost, formulaRgn) ||
		!strings.Contains(markdownText(cost), xssRegion) || !strings.Contains(markdownText(cost), formulaRgn) {
		t.Error("answers.md's cost section does not show the hostile regions escaped")
	}
}
