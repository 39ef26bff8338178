package viz

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trailhound/trailhound/queries"

	"github.com/trailhound/trailhound/internal/golden"
)

func packOptions(inc *incident, dir string) PackOptions {
	return PackOptions{
		Dir: dir, Params: queries.Params{Keys: []string{inc.m.LeakedKey}}, Version: "test",
		Command: []string{"trailhound", "report", "--key", inc.m.LeakedKey, "--out", "pack"},
		RunBy:   "tester@example", RunAt: time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC), StorePath: "case.duckdb",
	}
}

// writeTestPack writes the fixture's pack into a new directory and returns it.
func writeTestPack(t *testing.T, inc *incident) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "pack")
	if _, err := WritePack(t.Context(), inc.st.DB, packOptions(inc, dir), nil); err != nil {
		t.Fatal(err)
	}
	return dir
}

var packDir struct {
	dir string
}

// testPack is one pack of the fixture shared by the read-only tests.
func testPack(t *testing.T) (*incident, string) {
	t.Helper()
	inc := getIncident(t)
	if packDir.dir == "" {
		dir := filepath.Join(fixtureTmp, "pack")
		if _, err := WritePack(t.Context(), inc.st.DB, packOptions(inc, dir), nil); err != nil {
			t.Fatal(err)
		}
		packDir.dir = dir
	}
	return inc, packDir.dir
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readCSV(t *testing.T, path string) []map[string]string {
	t.Helper()
	recs, err := csv.NewReader(bytes.NewReader(readFile(t, path))).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var out []map[string]string
	for _, r := range recs[1:] {
		m := map[string]string{}
		for i, h := range recs[0] {
			m[h] = r[i]
		}
		out = append(out, m)
	}
	return out
}

func readJSONL(t *testing.T, path string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(readFile(t, path)))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("%s: line %d: %v", path, len(out)+1, err)
		}
		out = append(out, m)
	}
	return out
}

// packFiles lists every file of a pack, relative, with /.
func packFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// withoutLibrary replaces the inlined chart library (checked on its own by TestEChartsAsset) so
// that golden files and tag scans see only the page itself.
func withoutLibrary(t *testing.T, page []byte) []byte {
	t.Helper()
	lib := []byte("<script>" + echartsJS + "</script>")
	if bytes.Count(page, lib) != 1 {
		t.Fatalf("the page does not inline the chart library exactly once")
	}
	return bytes.Replace(page, lib, []byte("<script>/* echarts.min.js */</script>"), 1)
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	golden.Check(t, filepath.Join(goldenDir, name), got)
}

// TestPackGolden compares the page (without the library), answers.md and the chart and summary
// tables of the generated incident with golden files.
func TestPackGolden(t *testing.T) {
	_, dir := testPack(t)
	// (the files behind the tables are named by this run's temporary directory)
	tmp := []byte(fixtureTmp)
	checkGolden(t, "index.html", bytes.ReplaceAll(withoutLibrary(t, readFile(t, filepath.Join(dir, "index.html"))), tmp, []byte("$TMP")))
	checkGolden(t, "answers.md", bytes.ReplaceAll(readFile(t, filepath.Join(dir, "answers.md")), tmp, []byte("$TMP")))
	for _, name := range append([]string{"summary"}, packCharts(t)...) {
		checkGolden(t, name+".csv", readFile(t, filepath.Join(dir, "data", name+".csv")))
	}
}

func sumBy(rows []map[string]string, key, val string) map[string]int {
	out := map[string]int{}
	for _, r := range rows {
		n, err := strconv.Atoi(r[val])
		if err != nil {
			continue
		}
		out[r[key]] += n
	}
	return out
}

// TestPackGroundTruth checks the charts' data and the summary against what the generator says it
// wrote (plus the hostile records the fixture added).
func TestPackGroundTruth(t *testing.T) {
	inc, dir := testPack(t)
	m := inc.m

	// ECS tasks: per region and per hour. CSV cells are text: the formula region has its '.
	tasks := readJSONL(t, filepath.Join(dir, "data", "tasks-per-hour.jsonl"))
	perRegion, perHour := map[string]int{}, map[string]int{}
	for _, r := range tasks {
		n := int(r["tasks"].(float64))
		perRegion[r["region"].(string)] += n
		perHour[r["hour"].(string)] += n
	}
	wantRegion := maps.Clone(m.ECSTasks)
	wantHour := maps.Clone(m.ECSTasksByHour)
	for rg, n := range hostileTasks {
		wantRegion[rg] += n
		wantHour[hostileHour.Format(time.RFC3339)] += n
	}
	if !maps.Equal(perRegion, wantRegion) {
		t.Errorf("tasks per region = %v\nwant %v", perRegion, wantRegion)
	}
	if !maps.Equal(perHour, wantHour) {
		t.Errorf("tasks per hour = %v\nwant %v", perHour, wantHour)
	}
	inst := map[string]int{}
	for _, r := range readJSONL(t, filepath.Join(dir, "data", "instances-per-hour.jsonl")) {
		inst[r["region"].(string)] += int(r["instances"].(float64))
	}
	if !maps.Equal(inst, m.RunInstances) {
		t.Errorf("instances per region = %v, want %v", inst, m.RunInstances)
	}

	sum := readJSONL(t, filepath.Join(dir, "data", "summary.jsonl"))[0]
	strs := func(k string) []string {
		var out []string
		for _, v := range sum[k].([]any) {
			out = append(out, v.(string))
		}
		return out
	}
	wantFirst := m.FirstAttackerEvent.Format(time.RFC3339)
	if got := sum["first_attacker_activity"]; got != wantFirst {
		t.Errorf("first attacker activity %v, want %s", got, wantFirst)
	}
	if got := sum["last_attacker_activity"]; got != m.LastAttackerEvent.Format(time.RFC3339) {
		t.Errorf("last attacker activity %v, want %s", got, m.LastAttackerEvent.Format(time.RFC3339))
	}
	if got := strs("created_users"); !slices.Equal(got, m.AttackerUsers) {
		t.Errorf("created users %v, want %v", got, m.AttackerUsers)
	}
	if got := strs("owner_ips"); !slices.Equal(got, []string{m.OwnerIP}) {
		t.Errorf("owner IPs %v, want [%s]", got, m.OwnerIP)
	}
	wantIPs := append(slices.Clone(m.AttackerIPs), hostileIP)
	slices.Sort(wantIPs)
	if got := strs("attacker_ips"); !slices.Equal(got, wantIPs) {
		t.Errorf("attacker IPs %v, want %v", got, wantIPs)
	}
	lineage := append([]string{m.LeakedKey}, m.DerivedKeys...)
	lineage = append(lineage, m.AttackerConsoleKeys...)
	slices.Sort(lineage)
	lineage = slices.Compact(lineage)
	if got := int(sum["lineage_keys"].(float64)); got != len(lineage) {
		t.Errorf("lineage keys %d, want %d", got, len(lineage))
	}
	var timeline []string
	for _, r := range readJSONL(t, filepath.Join(dir, "data", "key-timeline.jsonl")) {
		timeline = append(timeline, r["access_key_id"].(string))
	}
	slices.Sort(timeline)
	if !slices.Equal(timeline, lineage) {
		t.Errorf("key timeline keys %v\nwant %v", timeline, lineage)
	}
	ecs := 0
	for _, n := range wantRegion {
		ecs += n
	}
	ec2 := 0
	for _, n := range m.RunInstances {
		ec2 += n
	}
	if got := int(sum["ecs_tasks"].(float64)); got != ecs {
		t.Errorf("summary ECS tasks %d, want %d", got, ecs)
	}
	if got := int(sum["ec2_instances"].(float64)); got != ec2 {
		t.Errorf("summary EC2 instances %d, want %d", got, ec2)
	}

	// The page's plain words: AWS's quarantine and what is still there, from the tables.
	page := string(readFile(t, filepath.Join(dir, "index.html")))
	if want := "AWS attached " + m.QuarantinePolicy + " to " + m.LeakedKeyUser + " on " + fmtTime(m.Quarantine); !strings.Contains(page, want) {
		t.Errorf("the summary does not say %q", want)
	}
	left := 0
	for _, n := range hostileTasks {
		left += n // never stopped
	}
	left += len(m.LeftRunning)
	if n := len(readJSONL(t, filepath.Join(dir, "data", "left-running.jsonl"))); n != left {
		t.Errorf("left-running has %d rows, want %d", n, left)
	}
	if want := strconv.Itoa(left) + " resources in "; !strings.Contains(page, want) {
		t.Errorf("the summary does not say %q", want)
	}

	// Every call of the lineage, three ways: the summary, calls per hour, the raw events.
	calls := 0
	for _, n := range sumBy(readCSV(t, filepath.Join(dir, "data", "calls-per-hour.csv")), "outcome", "calls") {
		calls += n
	}
	events := readJSONL(t, filepath.Join(dir, "data", "lineage-events.jsonl"))
	if n := int(sum["events"].(float64)); n != calls || n != len(events) {
		t.Errorf("summary events %d, calls per hour %d, lineage events %d: want all equal", n, calls, len(events))
	}
	// The attacker's calls: the generator's count plus the hostile records; the rest of the
	// lineage's events are the owner's and AWS's quarantine.
	attacker := 0
	for _, e := range events {
		aws := e["sourceIPAddress"] == m.QuarantineIP && e["eventName"] == "PutUserPolicy"
		if e["sourceIPAddress"] != m.OwnerIP && !aws {
			attacker++
		}
	}
	if want := m.AttackerEvents + len(hostileRecords(m)); attacker != want {
		t.Errorf("lineage events not from the owner's IP: %d, want %d", attacker, want)
	}
}

// TestPackDeterministic: the same store and options give byte-identical packs.
func TestPackDeterministic(t *testing.T) {
	inc, dir1 := testPack(t)
	dir2 := writeTestPack(t, inc)
	f1, f2 := packFiles(t, dir1), packFiles(t, dir2)
	if !slices.Equal(f1, f2) {
		t.Fatalf("file lists differ:\n%v\n%v", f1, f2)
	}
	for _, f := range f1 {
		if !bytes.Equal(readFile(t, filepath.Join(dir1, f)), readFile(t, filepath.Join(dir2, f))) {
			t.Errorf("%s differs between two runs", f)
		}
	}
}

var (
	tagRE    = regexp.MustCompile(`<[a-zA-Z][^>]*>`)
	scriptRE = regexp.MustCompile(`(?s)(<script[^>]*>)(.*?)</script>`)
	// attributes that make a browser fetch or navigate
	fetchAttrRE = regexp.MustCompile(`(?i)\s(src|href|action|formaction|poster|data|srcset|background|xlink:href|ping|manifest)\s*=\s*["']?\s*([^"'\s>]*)`)
)

// knownLibraryURLs are the only URLs in echarts.min.js: XML namespace names and licence links,
// none of which is ever fetched.
var knownLibraryURLs = []string{
	"http://www.apache.org/licenses/LICENSE-2.0", "http://www.w3.org/1999/xlink", "http://www.w3.org/2000/svg",
	"http://www.w3.org/2000/xmlns/", "http://www.w3.org/XML/1998/namespace",
	"https://github.com/ecomfe/zrender/blob/master/LICENSE.txt",
}

// TestPackNoNetwork: nothing in the pack makes a viewer fetch from the network.
func TestPackNoNetwork(t *testing.T) {
	_, dir := testPack(t)
	page := withoutLibrary(t, readFile(t, filepath.Join(dir, "index.html")))
	if !bytes.Contains(page, []byte(`content="default-src &#39;none&#39;;`)) {
		t.Error("the page has no Content-Security-Policy with default-src 'none'")
	}
	// Scripts: the library is checked below; the rest are our init script and JSON data blocks,
	// in which no string asks ECharts for an image.
	if strings.Contains(initJS, "://") {
		t.Error("the init script has a URL")
	}
	for _, s := range scriptRE.FindAllSubmatch(page, -1) {
		if bytes.Contains(s[1], []byte("src")) {
			t.Errorf("a script element loads a file: %s", s[1])
		}
		switch {
		case bytes.Contains(s[1], []byte("application/json")):
			if bytes.Contains(s[2], []byte(`"image://`)) {
				t.Errorf("chart options ask for an image: %.200s", s[2])
			}
		case string(s[2]) != initJS && string(s[2]) != "/* echarts.min.js */":
			t.Errorf("an unknown script: %.200s", s[2])
		}
	}
	markup := scriptRE.ReplaceAll(page, nil)
	for _, tag := range tagRE.FindAll(markup, -1) {
		lower := bytes.ToLower(tag)
		for _, el := range []string{"<link", "<img", "<iframe", "<object", "<embed", "<base", "<video", "<audio", "<source", "<frame"} {
			if bytes.HasPrefix(lower, []byte(el)) {
				t.Errorf("the page has a %s element: %s", el[1:], tag)
			}
		}
		for _, a := range fetchAttrRE.FindAllSubmatch(tag, -1) {
			v := strings.ToLower(string(a[2]))
			if strings.Contains(v, "//") || strings.Contains(v, ":") && !strings.HasPrefix(v, "#") {
				t.Errorf("the page references %s in %s", a[2], tag)
			}
		}
	}
	if bytes.Contains(bytes.ToLower(markup), []byte("url(")) || bytes.Contains(bytes.ToLower(markup), []byte("@import")) {
		t.Error("the page's CSS loads something")
	}
	var urls []string
	for _, u := range regexp.MustCompile(`https?://[^"'\s)\\]*`).FindAllString(echartsJS, -1) {
		urls = append(urls, u)
	}
	slices.Sort(urls)
	urls = slices.Compact(urls)
	if !slices.Equal(urls, knownLibraryURLs) {
		t.Errorf("URLs in the chart library: %v, want only %v", urls, knownLibraryURLs)
	}
	md := string(readFile(t, filepath.Join(dir, "answers.md")))
	if strings.Contains(md, "](") || strings.Contains(md, "<http") || strings.Contains(md, "![") {
		t.Error("answers.md has a link or image")
	}
}

// TestPackXSS: attacker text (a region and a user agent that close the script element and add an
// element with an event handler) stays text on the page: escaped in HTML, \u-escaped in the
// charts' JSON, and never markup. TestBrowser checks the same in Chromium.
func TestPackXSS(t *testing.T) {
	_, dir := testPack(t)
	page := readFile(t, filepath.Join(dir, "index.html"))
	for _, raw := range []string{xssRegion, xssAgent} {
		if bytes.Contains(page, []byte(raw)) {
			t.Errorf("the page contains %q raw", raw)
		}
	}
	// As HTML text in the summary (regions used; the attacker's tools).
	for _, want := range []string{
		`&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;`,
		`&lt;/script&gt;&lt;svg onload=alert(2)&gt;`,
	} {
		if !bytes.Contains(page, []byte(want)) {
			t.Errorf("the page does not show %s as text", want)
		}
	}
	// In the tables: key-usage lists each key's user agents.
	sec := page[max(0, bytes.Index(page, []byte(`<section id="table-key-usage">`))):]
	sec = sec[:bytes.Index(sec, []byte("</section>"))]
	if !bytes.Contains(sec, []byte(`<section id="table-key-usage">`)) ||
		!bytes.Contains(sec, []byte(`&lt;/script&gt;&lt;svg onload=alert(2)&gt;`)) {
		t.Error("the key-usage table does not show the hostile user agent as text")
	}
	// As JSON strings in the chart options (legends, axes).
	if !bytes.Contains(page, []byte(`\u003c/script\u003e\u003cimg src=x onerror=alert(1)\u003e`)) {
		t.Error("the hostile region is not in the charts' options as an escaped JSON string")
	}
	markup := scriptRE.ReplaceAll(withoutLibrary(t, page), nil)
	for _, tag := range tagRE.FindAll(markup, -1) {
		if regexp.MustCompile(`(?i)\son[a-z]+\s*=`).Match(tag) {
			t.Errorf("an element with an event handler: %s", tag)
		}
	}
	charts := 0
	for _, s := range scriptRE.FindAllSubmatch(withoutLibrary(t, page), -1) {
		if bytes.Contains(s[1], []byte("application/json")) {
			charts++
			var v map[string]any
			if err := json.Unmarshal(s[2], &v); err != nil {
				t.Errorf("a chart's options are not JSON: %v", err)
			}
		}
	}
	if got := bytes.Count(page, []byte("<script")); got != charts+2 {
		t.Errorf("%d script elements, want %d chart data blocks + the library + ours", got, charts)
	}
}

// TestPackCSVFormulas: no CSV cell of the pack starts a formula; the JSONL keeps the exact text.
func TestPackCSVFormulas(t *testing.T) {
	_, dir := testPack(t)
	found := false
	for _, f := range packFiles(t, dir) {
		if !strings.HasSuffix(f, ".csv") {
			continue
		}
		recs, err := csv.NewReader(bytes.NewReader(readFile(t, filepath.Join(dir, f)))).ReadAll()
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, r := range recs {
			for _, c := range r {
				if c == "'"+formulaRgn {
					found = true
				}
				if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
					if _, err := strconv.ParseFloat(c, 64); err != nil {
						t.Errorf("%s: cell %q would run as a formula", f, c)
					}
				}
			}
		}
	}
	if !found {
		t.Error("the formula region is not in any CSV, neutralised")
	}
	agent := false
	for _, r := range readCSV(t, filepath.Join(dir, "data", "timeline.csv")) {
		agent = agent || r["user_agent"] == "'"+formulaAgent
	}
	if !agent {
		t.Error("timeline.csv does not show the formula user agent neutralised")
	}
	ok := false
	for _, r := range readJSONL(t, filepath.Join(dir, "data", "tasks-per-hour.jsonl")) {
		ok = ok || r["region"] == formulaRgn
	}
	if !ok {
		t.Error("tasks-per-hour.jsonl lost the exact region text")
	}
}

// TestPackRedaction: session tokens and other secrets in the store appear in no file of the
// pack; the store keeps them.
func TestPackRedaction(t *testing.T) {
	inc, dir := testPack(t)
	secrets := []string{fakeSecret, fakePassword}
	rows, err := inc.st.DB.QueryContext(t.Context(), `SELECT DISTINCT record->>'$.responseElements.credentials.sessionToken'
		FROM events WHERE record->>'$.responseElements.credentials.sessionToken' IS NOT NULL`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(secrets) < 3 {
		t.Fatal("the store holds no session token: the test would prove nothing")
	}
	var n int
	if err := inc.st.DB.QueryRow(`SELECT count(*) FROM events WHERE contains(record, ?)`, fakeSecret).Scan(&n); err != nil || n != 1 {
		t.Fatalf("the store should keep the secret: %d records (%v)", n, err)
	}
	for _, f := range packFiles(t, dir) {
		b := readFile(t, filepath.Join(dir, f))
		for _, s := range secrets {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s contains the secret %.24s…", f, s)
			}
		}
	}
	events := readJSONL(t, filepath.Join(dir, "data", "lineage-events.jsonl"))
	redacted := 0
	for _, e := range events {
		if e["eventName"] == "GetSessionToken" && e["responseElements"] != nil {
			c := e["responseElements"].(map[string]any)["credentials"].(map[string]any)
			if c["sessionToken"] != Redacted || !strings.HasPrefix(c["accessKeyId"].(string), "ASIA") {
				t.Errorf("GetSessionToken credentials in the pack: %v", c)
			}
			redacted++
		}
	}
	if redacted == 0 {
		t.Error("no GetSessionToken record in the lineage's events")
	}
}

// TestPackManifest: the manifest lists every other file with its SHA-256, and every source file
// of the store with the SHA-256 of its bytes on disk.
func TestPackManifest(t *testing.T) {
	inc, dir := testPack(t)
	var m Manifest
	if err := json.Unmarshal(readFile(t, filepath.Join(dir, "manifest.json")), &m); err != nil {
		t.Fatal(err)
	}
	o := packOptions(inc, dir)
	if m.Tool != "trailhound" || m.Version != o.Version || !slices.Equal(m.Command, o.Command) ||
		m.RunBy != o.RunBy || m.RunAt != "2026-12-02T10:00:00Z" || !slices.Equal(m.Scope.Keys, o.Params.Keys) {
		t.Errorf("manifest run metadata: %+v", m)
	}
	var listed []string
	for _, f := range m.Files {
		listed = append(listed, f.Path)
		b := readFile(t, filepath.Join(dir, f.Path))
		sum := sha256.Sum256(b)
		if hex.EncodeToString(sum[:]) != f.SHA256 || int64(len(b)) != f.Size {
			t.Errorf("%s: manifest says %s (%d bytes)", f.Path, f.SHA256, f.Size)
		}
	}
	all := packFiles(t, dir)
	all = slices.DeleteFunc(all, func(s string) bool { return s == "manifest.json" })
	if !slices.Equal(listed, all) {
		t.Errorf("manifest lists %v\nthe pack has %v", listed, all)
	}
	bySource := map[string]string{}
	for _, s := range m.Sources {
		bySource[s.URI] = s.SHA256
	}
	files := 0
	err := filepath.WalkDir(inc.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		if got := bySource[p]; got != hex.EncodeToString(sum[:]) {
			t.Errorf("source %s: manifest has %q", p, got)
		}
		files++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files != len(m.Sources) {
		t.Errorf("manifest lists %d sources, the tree has %d files", len(m.Sources), files)
	}
}

// TestPackDirectory: a directory that holds other files is refused, and so is an earlier pack to
// which a file was added; an earlier pack as it was is replaced.
func TestPackDirectory(t *testing.T) {
	inc := getIncident(t)
	foreign := t.TempDir()
	if err := os.WriteFile(filepath.Join(foreign, "thesis.docx"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := WritePack(t.Context(), inc.st.DB, packOptions(inc, foreign), nil); err == nil ||
		!strings.Contains(err.Error(), "not empty") {
		t.Errorf("writing into a directory with other files: %v", err)
	}
	if _, err := os.Stat(filepath.Join(foreign, "thesis.docx")); err != nil {
		t.Error("the foreign file is gone")
	}
	dir := writeTestPack(t, inc)
	stale := filepath.Join(dir, "data", "stale.csv")
	if err := os.WriteFile(stale, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := WritePack(t.Context(), inc.st.DB, packOptions(inc, dir), nil); err == nil ||
		!strings.Contains(err.Error(), "stale.csv") {
		t.Errorf("replacing a pack that holds a file of someone else's: %v", err)
	}
	if err := os.Remove(stale); err != nil {
		t.Fatal(err)
	}
	if _, err := WritePack(t.Context(), inc.st.DB, packOptions(inc, dir), nil); err != nil {
		t.Errorf("replacing an earlier pack: %v", err)
	}
	if _, err := WritePack(t.Context(), inc.st.DB, PackOptions{Dir: t.TempDir()}, nil); err == nil {
		t.Error("a pack without a key was written")
	}
}
