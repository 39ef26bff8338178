package viz

import (
	"bytes"
	"encoding/json"

	"html"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/trailhound/trailhound/queries"
)

// longLabel is a 10 kB region or event name, hostile as well as long: it closes the script
// element and adds an image with an event handler, for a tooltip that would be HTML.
var longLabel = strings.Repeat("ap-southeast-2-", 680) + `</script><img src=x onerror="document.title='pwned'">`

// labelProbe is a script added to a copy of a chart's page (its hash added to the CSP): it reads
// what ECharts drew, asks for the tooltip of the data item that carries the long label, and
// writes what it found into the body's data-probe attribute as JSON for --dump-dom.
const labelProbe = `window.addEventListener('load', function () {
  var el = document.querySelector('div.th-chart');
  var inst = echarts.getInstanceByDom(el);
  var texts = function () {
    var out = [];
    var list = inst.getZr().storage.getDisplayList(true);
    for (var i = 0; i < list.length; i++) {
      var s = list[i].style;
      var hidden = false;
      for (var e = list[i]; e; e = e.parent) { hidden = hidden || e.invisible || e.ignore; }
      if (!hidden && s && typeof s.text === 'string' && s.text !== '') {
        out.push({ text: s.text, width: list[i].getBoundingRect().width });
      }
    }
    return out;
  };
  var before = texts();
  var rect = null;
  var grid = inst.getModel().getComponent('grid');
  if (grid && grid.coordinateSystem) {
    var r = grid.coordinateSystem.getRect();
    rect = { width: r.width, height: r.height };
  }
  var series = inst.getModel().getSeriesByIndex(0);
  if (!rect && series.layoutInfo) {
    rect = { width: series.layoutInfo.width, height: series.layoutInfo.height };
  }
  inst.dispatchAction(TIP);
  setTimeout(function () {
    var after = texts();
    var count = {};
    for (var i = 0; i < before.length; i++) { count[before[i].text] = (count[before[i].text] || 0) + 1; }
    var tip = [];   // what the tooltip added: texts that were not drawn before, or drawn once more
    for (var j = 0; j < after.length; j++) {
      if (count[after[j].text]) { count[after[j].text]--; } else { tip.push(after[j].text); }
    }
    document.body.setAttribute('data-probe', JSON.stringify({
      chartWidth: inst.getWidth(), chartHeight: inst.getHeight(), plot: rect, labels: before, tooltip: tip,
      elements: document.querySelectorAll('img, svg, iframe, object').length, title: document.title
    }));
  }, 300);
});`

type probeResult struct {
	ChartWidth, ChartHeight float64
	Plot                    *struct{ Width, Height float64 }
	Labels                  []struct {
		Text  string
		Width float64
	}
	Tooltip  []string
	Elements int
	Title    string
}

// probeChart draws c on a page of its own in Chromium (1200 px wide), asks for the tooltip
// that tip names (an ECharts showTip action) and returns what the browser drew.
func probeChart(t *testing.T, c Chart, tip string) probeResult {
	t.Helper()
	var b bytes.Buffer
	if err := WriteChartPage(&b, c, ChartOptions{Name: c.Name, Version: "test"}); err != nil {
		t.Fatal(err)
	}
	var r probeResult
	probePage(t, b.String(), "", strings.Replace(labelProbe, "TIP", tip, 1), "1200,900", &r)
	return r
}

// probePage loads a copy of page (with #fragment when not empty) in Chromium, in a window of
// size ("W,H"), with
// probe added as a script (its hash added to the CSP); probe writes JSON into the body's
// data-probe attribute, which is decoded into out. The page must log nothing to the console.
func probePage(t *testing.T, page, fragment, probe, size string, out any) {
	t.Helper()
	page = strings.Replace(page, "script-src ", "script-src "+scriptHash(probe)+" ", 1)
	i := strings.LastIndex(page, "</body>")
	page = page[:i] + "<script>" + probe + "</script>" + page[i:]
	path := filepath.Join(t.TempDir(), "page.html")
	if err := os.WriteFile(path, []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	url := "file://" + path
	if fragment != "" {
		url += "#" + fragment
	}
	dom, console := runChromium(t, url, "--window-size="+size, "--dump-dom")
	for _, l := range console {
		t.Errorf("console: %s", l)
	}
	m := regexp.MustCompile(`data-probe="([^"]*)"`).FindSubmatch(dom)
	if m == nil {
		t.Fatalf("the probe wrote nothing")
	}
	if err := json.Unmarshal([]byte(html.UnescapeString(string(m[1]))), out); err != nil {
		t.Fatal(err)
	}
}

// TestBrowserLongLabels: a 10 kB CloudTrail name in every role a chart gives a name (legend,
// x and y axis categories, a tree's nodes) leaves the plot its size, is drawn cut short, and is
// whole in the tooltip, which is canvas text: the markup in it makes no element.
func TestBrowserLongLabels(t *testing.T) {
	h := time.Date(2026, 11, 8, 1, 0, 0, 0, time.UTC)
	cases := []struct {
		name  string
		hint  string
		cols  []string
		rows  [][]any
		tip   string // the showTip action for the item carrying the long label
		plotW float64
		plotH float64
	}{
		{"legend (stacked bar series)", "stacked-bar x=hour series=region y=tasks", []string{"hour", "region", "tasks"},
			[][]any{{h, longLabel, big.NewInt(3)}, {h.Add(time.Hour), "us-east-1", int64(2)}},
			`{type: 'showTip', seriesIndex: 0, dataIndex: 0}`, 0.7, 0.5},
		{"x axis (bar categories)", "bar x=error_code y=calls", []string{"error_code", "calls"},
			[][]any{{longLabel, int64(3)}, {"AccessDenied", int64(5)}},
			`{type: 'showTip', seriesIndex: 0, dataIndex: 0}`, 0.7, 0.4},
		{"y axis (heatmap regions)", "heatmap x=hour y=region value=calls", []string{"hour", "region", "calls"},
			[][]any{{h, longLabel, int64(4)}, {h.Add(time.Hour), "eu-west-1", int64(2)}},
			`{type: 'showTip', seriesIndex: 0, dataIndex: 0}`, 0.6, 0.3},
		{"y axis (gantt keys)", "gantt start=first_seen end=last_seen label=access_key_id", []string{"first_seen", "last_seen", "access_key_id"},
			[][]any{{h, h.Add(2 * time.Hour), longLabel}, {h, h.Add(time.Hour), "AKIAEXAMPLE"}},
			`{type: 'showTip', seriesIndex: 0, dataIndex: 1}`, 0.6, 0.3},
		{"y axis (timeline event names)", "timeline x=event_time y=event_name", []string{"event_time", "event_name"},
			[][]any{{h, longLabel}, {h.Add(time.Minute), "CreateUser"}},
			`{type: 'showTip', seriesIndex: 0, dataIndex: 0}`, 0.6, 0.3},
		{"tree nodes (lineage)", "graph source=parent target=key label=via", []string{"key", "parent", "via"},
			[][]any{{"AKIA0", nil, "seed"}, {longLabel, "AKIA0", "CreateAccessKey"}},
			`{type: 'showTip', seriesIndex: 0, dataIndex: inst.getModel().getSeriesByIndex(0).getData().indexOfName(` +
				jsString(longLabel+" (CreateAccessKey)") + `)}`, 0.4, 0.5},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q := queries.Query{Name: "long-labels", Description: "d", Chart: tc.hint}
			c, err := BuildChart(q, &queries.Collected{Columns: tc.cols, Values: tc.rows, Total: len(tc.rows)})
			if err != nil {
				t.Fatal(err)
			}
			r := probeChart(t, c, tc.tip)
			if r.Plot == nil || r.Plot.Width < tc.plotW*r.ChartWidth || r.Plot.Height < tc.plotH*r.ChartHeight {
				t.Errorf("the plot area is %+v of a %.0f×%.0f chart: squashed by the long label", r.Plot, r.ChartWidth, r.ChartHeight)
			}
			cut := false
			for _, l := range r.Labels {
				if len(l.Text) > 200 || l.Width > 260 {
					t.Errorf("a label of %d characters, %.0f px wide, is drawn: %.60q", len(l.Text), l.Width, l.Text)
				}
				cut = cut || strings.HasPrefix(l.Text, "ap-southeast-2-ap") && strings.HasSuffix(l.Text, "…")
			}
			if !cut {
				t.Errorf("no label shows the long name cut short with an ellipsis: %.500v", r.Labels)
			}
			whole := false
			for _, s := range r.Tooltip {
				whole = whole || strings.Contains(s, longLabel)
			}
			if !whole {
				t.Errorf("the tooltip does not show the whole name: %.300q", r.Tooltip)
			}
			if r.Elements != 0 || r.Title == "pwned" {
				t.Errorf("the name's markup made %d elements (title %q)", r.Elements, r.Title)
			}
		})
	}
}

// jsString quotes s as a JavaScript string literal (JSON is one).
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
