package viz

// Checks in a real browser: Debian's chromium, headless. When it is missing the test installs it
// with .ci/install-chromium (CI machines start fresh); TRAILHOUND_CHROMIUM names another binary,
// and the tests fail (they never skip) when no browser can be found or installed.

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	chromiumOnce sync.Once
	chromiumPath string
	chromiumErr  error
	chromiumLog  []byte
)

func findChromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("TRAILHOUND_CHROMIUM"); p != "" {
		return p
	}
	chromiumOnce.Do(func() {
		if chromiumPath, chromiumErr = exec.LookPath("chromium"); chromiumErr == nil {
			return
		}
		cmd := exec.Command("bash", "../.ci/install-chromium")
		chromiumLog, chromiumErr = cmd.CombinedOutput()
		if chromiumErr == nil {
			chromiumPath, chromiumErr = exec.LookPath("chromium")
		}
	})
	if chromiumErr != nil {
		t.Fatalf("no chromium, and .ci/install-chromium failed (%v):\n%s\nInstall Debian's chromium or set TRAILHOUND_CHROMIUM",
			chromiumErr, chromiumLog)
	}
	return chromiumPath
}

// runChromium opens url headless with no network (every host name fails to resolve) and
// returns stdout and the browser's log, in which every console message of the page appears.
func runChromium(t *testing.T, url string, args ...string) (stdout []byte, consoleLines []string) {
	t.Helper()
	bin := findChromium(t)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute) // a hung browser, not a speed target
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-extensions",
		"--host-resolver-rules=MAP * ~NOTFOUND", "--user-data-dir=" + t.TempDir(),
		"--enable-logging=stderr", "--v=0", "--virtual-time-budget=15000"}
	cmd := exec.CommandContext(ctx, bin, append(append(base, args...), url)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %s: %v\n%s", url, err, errb.Bytes())
	}
	for _, l := range strings.Split(errb.String(), "\n") {
		if strings.Contains(l, ":CONSOLE") {
			consoleLines = append(consoleLines, l)
		}
	}
	return out.Bytes(), consoleLines
}

// TestBrowserRendersPack loads the pack's page in Chromium: every chart is drawn (ECharts made
// its canvas and our script marked it), nothing is logged to the console (no error, no CSP
// violation, no blocked request), and the hostile region and user agent are text, not elements.
func TestBrowserRendersPack(t *testing.T) {
	_, dir := testPack(t)
	dom, console := runChromium(t, "file://"+filepath.Join(dir, "index.html"), "--dump-dom")
	for _, l := range console {
		t.Errorf("console: %s", l)
	}
	page := readFile(t, filepath.Join(dir, "index.html"))
	charts := regexp.MustCompile(`<div class="th-chart" id="([a-z0-9-]+)"`).FindAllSubmatch(page, -1)
	if len(charts) != len(packCharts(t))+1 { // and the lineage's tree
		t.Fatalf("the page has %d charts, want %d", len(charts), len(packCharts(t))+1)
	}
	for i, c := range charts {
		id := string(c[1])
		start := bytes.Index(dom, []byte(`id="`+id+`"`))
		if start < 0 {
			t.Errorf("chart %s is not in the DOM", id)
			continue
		}
		end := len(dom)
		if i+1 < len(charts) {
			if j := bytes.Index(dom[start:], []byte(`id="`+string(charts[i+1][1])+`"`)); j > 0 {
				end = start + j
			}
		}
		tag := dom[start:min(end, start+bytes.IndexByte(dom[start:], '>'))]
		if !bytes.Contains(tag, []byte(`data-rendered="true"`)) || !bytes.Contains(dom[start:end], []byte("<canvas")) {
			t.Errorf("chart %s was not drawn: %s", id, tag)
		}
	}
	markup := scriptRE.ReplaceAll(dom, nil) // the library's own code mentions <img
	for _, el := range []string{"<img", "<svg", "<iframe"} {
		if bytes.Contains(markup, []byte(el)) {
			t.Errorf("the DOM has an %s element", el[1:])
		}
	}
	for _, text := range []string{"&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;", "&lt;/script&gt;&lt;svg onload=alert(2)&gt;"} {
		if !bytes.Contains(markup, []byte(text)) {
			t.Errorf("the DOM does not show %s as text", text)
		}
	}
}

// TestBrowserDrawsCharts renders each chart on a page of its own, once as it is and once with
// its series emptied, and checks that the data made the browser draw: bars, lines and heatmap
// cells add coloured pixels to what the legend, axes and text of the empty chart have.
func TestBrowserDrawsCharts(t *testing.T) {
	inc := getIncident(t)
	for _, name := range append([]string{"lineage"}, packCharts(t)...) {
		t.Run(name, func(t *testing.T) {
			o := ChartOptions{Name: name, Params: packOptions(inc, "").Params, Version: "test"}
			c, err := DrawChart(t.Context(), inc.st.DB, o)
			if err != nil {
				t.Fatal(err)
			}
			if c.Empty {
				t.Fatal("no data to draw")
			}
			drawn := screenshotColour(t, c, o)
			var opt map[string]any
			if err := json.Unmarshal(c.Options, &opt); err != nil {
				t.Fatal(err)
			}
			for _, s := range opt["series"].([]any) {
				s.(map[string]any)["data"] = []any{}
			}
			empty := c
			if empty.Options, err = json.Marshal(opt); err != nil {
				t.Fatal(err)
			}
			blank := screenshotColour(t, empty, o)
			t.Logf("coloured pixels: %d with data, %d without", drawn, blank)
			if drawn-blank < 500 {
				t.Errorf("the data added only %d coloured pixels (%d with data, %d without)", drawn-blank, drawn, blank)
			}
		})
	}
}

// screenshotColour renders chart c on its own page in Chromium and counts the coloured pixels of
// a screenshot; the page must log nothing to the console.
func screenshotColour(t *testing.T, c Chart, o ChartOptions) int {
	t.Helper()
	dir := t.TempDir()
	page := filepath.Join(dir, "chart.html")
	var b bytes.Buffer
	if err := WriteChartPage(&b, c, o); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(page, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(dir, "shot.png")
	_, console := runChromium(t, "file://"+page, "--window-size=1200,1000", "--screenshot="+shot)
	for _, l := range console {
		t.Errorf("console: %s", l)
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return colouredPixels(img)
}

// colouredPixels counts saturated pixels: page text and axes are grey, data is in colour.
func colouredPixels(img image.Image) int {
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			hi, lo := max(r, g, bl)>>8, min(r, g, bl)>>8
			if hi-lo > 60 {
				n++
			}
		}
	}
	return n
}

// pageProbe measures the page once it has loaded and its charts are drawn: its height, where
// "Do this now" and its steps are, which folded tables are open, and which element the address
// points at.
const pageProbe = `window.addEventListener('load', function () {
  setTimeout(function () {
    var box = function (el) {
      if (!el) { return null; }
      var r = el.getBoundingClientRect();
      return { top: r.top + window.scrollY, bottom: r.bottom + window.scrollY };
    };
    var steps = document.querySelectorAll('#do-now ol.steps > li');
    var open = [];
    var folded = document.querySelectorAll('details');
    for (var i = 0; i < folded.length; i++) {
      if (folded[i].open) { open.push(folded[i].parentElement.id); }
    }
    var target = location.hash ? document.getElementById(location.hash.slice(1)) : null;
    document.body.setAttribute('data-probe', JSON.stringify({
      height: document.documentElement.scrollHeight, width: document.documentElement.scrollWidth,
      heading: box(document.querySelector('#do-now h2')), first: box(steps[0]), last: box(steps[steps.length - 1]),
      steps: steps.length, folded: folded.length, open: open, scrollY: window.scrollY, target: box(target)
    }));
  }, 500);
});`

type pageMeasure struct {
	Height, Width float64
	Heading       *struct{ Top, Bottom float64 }
	First, Last   *struct{ Top, Bottom float64 }
	Steps, Folded int
	Open          []string
	ScrollY       float64
	Target        *struct{ Top, Bottom float64 }
}

// maxPageHeight bounds the evidence pack's page of the generated incident at 1280 px wide. The
// page was 41,012 px (46 screens of 900 px) before: its long tables were shown open, up to 300
// rows each. Now it is "Do this now" and "Still there" (about 1,300 px), the summary (about
// 850), the contents (about 350), six charts (about 3,800: each as tall as its data needs) and
// fifteen tables, those of more than ten rows folded to a title and a line (about 2,600): about
// 9,800 px, eleven screens, every section's title seen on the way down. With what it cost,
// the integrity of the files and the techniques observed it is 11,994 px (measured 2026-12-03;
// an empty conflicts table is left off the page). The bound leaves a screen of room; a page
// that needs more needs another look at what it shows open.
const maxPageHeight = 12900

// TestBrowserPageHeight: in Chromium at 1280×900, the first screen of the pack's page answers
// "what do I do now" (the heading and the first steps are in it), the page is short enough to
// scroll through, and a link to a row of a folded table opens that table at the row.
func TestBrowserPageHeight(t *testing.T) {
	_, dir := testPack(t)
	page := string(readFile(t, filepath.Join(dir, "index.html")))
	var m pageMeasure
	probePage(t, page, "", pageProbe, "1280,900", &m)
	t.Logf("page: %.0f px tall, %.0f px wide; Do this now at %+v, first step %+v, last step %+v; %d folded tables",
		m.Height, m.Width, m.Heading, m.First, m.Last, m.Folded)
	if m.Height > maxPageHeight {
		t.Errorf("the page is %.0f px tall, more than %d", m.Height, maxPageHeight)
	}
	if m.Width > 1280 {
		t.Errorf("the page is %.0f px wide: it scrolls sideways", m.Width)
	}
	if m.Heading == nil || m.First == nil || m.Heading.Top > 300 || m.First.Bottom > 900 {
		t.Errorf("the first screen (900 px) does not show \"Do this now\" and its first step: %+v %+v", m.Heading, m.First)
	}
	if m.Steps < 3 || m.Folded < 5 || len(m.Open) != 0 {
		t.Errorf("%d steps, %d folded tables, open %v", m.Steps, m.Folded, m.Open)
	}
	// A link of "Do this now" to a row of a folded table (the attacker's CreateUser in IAM
	// changes) opens the table and shows the row.
	d := readDoNow(t, page)
	var row string
	for _, h := range d.hrefs {
		if strings.HasPrefix(h, "iam-changes-") {
			row = h
		}
	}
	if row == "" {
		t.Fatalf("no link to a row of IAM changes: %q", d.hrefs)
	}
	m = pageMeasure{}
	probePage(t, page, row, pageProbe, "1280,900", &m)
	if !slices.Equal(m.Open, []string{"table-iam-changes"}) || m.Target == nil ||
		m.Target.Top < m.ScrollY-2 || m.Target.Bottom > m.ScrollY+902 { // (scrolling rounds to whole pixels)
		t.Errorf("#%s: open tables %v, the row at %+v, the window at %.0f", row, m.Open, m.Target, m.ScrollY)
	}
}
