package viz

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/big"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/trailhound/trailhound/queries"
)

func TestParseHint(t *testing.T) {
	for _, tc := range []struct {
		in   string
		kind string
		err  string
	}{
		{"stacked-bar x=hour series=region y=tasks", "stacked-bar", ""},
		{"heatmap x=hour y=region value=calls", "heatmap", ""},
		{"gantt start=first_seen end=last_seen label=access_key_id detail=via", "gantt", ""},
		{"timeline x=event_time y=event_name", "timeline", ""},
		{"graph source=parent_access_key_id target=access_key_id label=via", "graph", ""},
		{"table", "", "no chart"},
		{"gantt start=a end=b", "", "needs label"},
		{"bar x=aws_region y=events", "bar", ""},
		{"none", "", "no chart"},
		{"", "", "no chart"},
		{"pie x=a y=b", "", "unknown kind"},
		{"stacked-bar x=hour y=tasks", "", "needs series"},
		{"heatmap x=hour y", "", "not role=column"},
	} {
		h, err := ParseHint(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseHint(%q) error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || h.Kind != tc.kind {
			t.Errorf("ParseHint(%q) = %+v, %v", tc.in, h, err)
		}
	}
	if _, err := ParseHint("none"); !errors.Is(err, ErrNoChart) {
		t.Errorf("none: %v, want ErrNoChart", err)
	}
}

// hostileResult is a stacked-bar result whose series names are attacker text.
func hostileResult() (queries.Query, *queries.Collected) {
	h := time.Date(2026, 11, 8, 1, 0, 0, 0, time.UTC)
	q := queries.Query{Name: "tasks-per-hour", Description: "d", Chart: "stacked-bar x=hour series=region y=tasks"}
	res := &queries.Collected{
		Columns: []string{"hour", "region", "tasks"},
		Values: [][]any{
			{h, xssRegion, big.NewInt(2)},
			{h.Add(3 * time.Hour), "__f__alert(1)__f__", int64(1)},
			{h.Add(3 * time.Hour), "eu-west-1\u2028x", int64(4)},
		},
		Total: 3,
	}
	return q, res
}

// TestChartOptionsAreData: series names from CloudTrail reach the options only as JSON strings
// that cannot end a script element, come back exactly, and are never made functions (go-echarts
// turns "__f__...__f__" strings into code; trailhound never strips those markers).
func TestChartOptionsAreData(t *testing.T) {
	q, res := hostileResult()
	c, err := BuildChart(q, res)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.ContainsAny(c.Options, "<>&\u2028") {
		t.Errorf("options carry raw <, >, & or U+2028: %s", c.Options)
	}
	var opt map[string]any
	if err := json.Unmarshal(c.Options, &opt); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range opt["series"].([]any) {
		names = append(names, s.(map[string]any)["name"].(string))
	}
	for _, want := range []string{xssRegion, "__f__alert(1)__f__", "eu-west-1\u2028x"} {
		if !strings.Contains(strings.Join(names, "\x00"), want) {
			t.Errorf("series names %q lack %q", names, want)
		}
	}
	if opt["useUTC"] != true || opt["animation"] != false {
		t.Errorf("useUTC %v, animation %v", opt["useUTC"], opt["animation"])
	}
	if tt := opt["tooltip"].(map[string]any); tt["renderMode"] != "richText" || tt["formatter"] != nil {
		t.Errorf("tooltip %v: want canvas text and no custom formatter", tt)
	}
	// Hours are filled out: 01:00, 02:00, 03:00, 04:00.
	x := opt["xAxis"].([]any)[0].(map[string]any)
	if got := x["data"].([]any); len(got) != 4 || got[0] != "2026-11-08 01:00" || got[3] != "2026-11-08 04:00" {
		t.Errorf("x axis %v", got)
	}
	var page bytes.Buffer
	if err := RenderPage(&page, Page{Title: "t", Charts: []Chart{c}}); err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile(`(?s)<script type="application/json" id="chart-tasks-per-hour-options">(.*?)</script>`).
		FindSubmatch(page.Bytes())
	if block == nil || !bytes.Equal(block[1], c.Options) {
		t.Fatalf("the page does not carry the options verbatim in their data block")
	}
}

// TestChartIDsFixed: the same result gives the same bytes (no random ids).
func TestChartIDsFixed(t *testing.T) {
	q, res := hostileResult()
	a, err := BuildChart(q, res)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := BuildChart(q, res)
	if a.ID != "chart-tasks-per-hour" || !bytes.Equal(a.Options, b.Options) {
		t.Errorf("ids %s/%s, options equal %v", a.ID, b.ID, bytes.Equal(a.Options, b.Options))
	}
}

func TestChartHintColumnsChecked(t *testing.T) {
	q, res := hostileResult()
	q.Chart = "stacked-bar x=hour series=nope y=tasks"
	if _, err := BuildChart(q, res); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("a hint naming a missing column: %v", err)
	}
}

// echartsSHA256 is the SHA-256 of viz/assets/echarts.min.js, package/dist/echarts.min.js of the
// npm package echarts@5.6.0.
const echartsSHA256 = "bf4a223524e40b77c304bec67e1222cf551f14880cf42c69dc046558e11c07b1"

// TestEChartsAsset: the inlined library is the vendored release, it cannot end its own script
// element, and the page's CSP allows exactly it and our init script.
func TestEChartsAsset(t *testing.T) {
	sum := sha256.Sum256([]byte(echartsJS))
	if hex.EncodeToString(sum[:]) != echartsSHA256 {
		t.Errorf("echarts.min.js has SHA-256 %x, want %s (the npm release %s)", sum, echartsSHA256, EChartsVersion)
	}
	for _, s := range []string{echartsJS, initJS} {
		l := strings.ToLower(s)
		if strings.Contains(l, "</script") || strings.Contains(l, "<!--") || strings.Contains(l, "<script") {
			t.Error("an inlined script contains </script, <script or <!--")
		}
	}
	for _, s := range []string{echartsJS, initJS} {
		if !strings.Contains(csp(), scriptHash(s)) {
			t.Error("the CSP lacks a script's hash")
		}
	}
}

// TestPackChartsUseUTC: every chart of the pack formats time in UTC, uses no function and labels
// its time axis in UTC.
func TestPackChartsUseUTC(t *testing.T) {
	_, dir := testPack(t)
	page := readFile(t, filepath.Join(dir, "index.html"))
	n := 0
	for _, s := range scriptRE.FindAllSubmatch(page, -1) {
		if !bytes.Contains(s[1], []byte("application/json")) {
			continue
		}
		n++
		var opt map[string]any
		if err := json.Unmarshal(s[2], &opt); err != nil {
			t.Fatal(err)
		}
		if opt["useUTC"] != true {
			t.Errorf("%s: useUTC is %v", s[1], opt["useUTC"])
		}
		if bytes.Contains(s[2], []byte("__f__")) {
			t.Errorf("%s: a go-echarts function marker", s[1])
		}
		axes, ok := opt["xAxis"].([]any)
		if !ok {
			continue // the lineage's tree has no axis
		}
		if name, _ := axes[0].(map[string]any)["name"].(string); !strings.Contains(name, "UTC") {
			t.Errorf("%s: x axis %q does not say UTC", s[1], name)
		}
	}
	if n != len(packCharts(t))+1 {
		t.Errorf("%d charts with data, want %d and the lineage's tree", n, len(packCharts(t)))
	}
}

// TestGraphAndTimelineKinds: a graph hint draws a tree with each target under its source (also
// when a child row comes before its parent's), and a timeline hint one point per row.
func TestGraphAndTimelineKinds(t *testing.T) {
	q := queries.Query{Name: "lineage", Chart: "graph source=parent target=key label=via"}
	res := &queries.Collected{
		Columns: []string{"key", "parent", "via"},
		Values: [][]any{
			{"ASIA2", "AKIA1", "AssumeRole"}, // before its parent's row
			{"AKIA1", "AKIA0", "CreateAccessKey"},
			{"AKIA0", nil, "seed"},
			{nil, "AKIA1", "AssumeRole"}, // summed-up sessions: no node
		},
		Total: 4,
	}
	c, err := BuildChart(q, res)
	if err != nil {
		t.Fatal(err)
	}
	var opt struct {
		Series []struct {
			Type string
			Data []struct {
				Name     string
				Children []struct {
					Name     string
					Children []struct{ Name string }
				}
			}
		}
	}
	if err := json.Unmarshal(c.Options, &opt); err != nil {
		t.Fatal(err)
	}
	root := opt.Series[0].Data[0]
	if opt.Series[0].Type != "tree" || root.Name != "AKIA0 (seed)" || len(root.Children) != 1 ||
		root.Children[0].Name != "AKIA1 (CreateAccessKey)" || len(root.Children[0].Children) != 1 ||
		root.Children[0].Children[0].Name != "ASIA2 (AssumeRole)" {
		t.Errorf("tree: %s", c.Options)
	}

	h := time.Date(2026, 11, 8, 1, 2, 3, 0, time.UTC)
	q = queries.Query{Name: "iam-changes", Chart: "timeline x=event_time y=event_name"}
	res = &queries.Collected{Columns: []string{"event_time", "event_name"},
		Values: [][]any{{h, "CreateUser"}, {h.Add(time.Minute), "CreateAccessKey"}, {h.Add(2 * time.Minute), "CreateUser"}}, Total: 3}
	if c, err = BuildChart(q, res); err != nil {
		t.Fatal(err)
	}
	var sc struct {
		Series []struct{ Data []struct{ Value []any } }
		YAxis  []struct{ Data []string } `json:"yAxis"`
	}
	if err := json.Unmarshal(c.Options, &sc); err != nil {
		t.Fatal(err)
	}
	if len(sc.Series[0].Data) != 3 || sc.Series[0].Data[0].Value[0] != float64(h.UnixMilli()) ||
		len(sc.YAxis[0].Data) != 2 || sc.YAxis[0].Data[0] != "CreateUser" {
		t.Errorf("timeline: %s", c.Options)
	}
}

// TestBarSeries: a bar hint with a series draws one (unstacked) series per value.
func TestBarSeries(t *testing.T) {
	q := queries.Query{Name: "errors", Chart: "bar x=error_code y=calls series=event_name"}
	res := &queries.Collected{Columns: []string{"error_code", "event_name", "calls"},
		Values: [][]any{{"AccessDenied", "RunInstances", int64(3)}, {"AccessDenied", "GetUser", int64(1)},
			{"OptInRequired", "RunInstances", int64(2)}}, Total: 3}
	c, err := BuildChart(q, res)
	if err != nil {
		t.Fatal(err)
	}
	var opt struct {
		Series []struct {
			Name, Stack string
			Data        []struct{ Value float64 }
		}
	}
	if err := json.Unmarshal(c.Options, &opt); err != nil {
		t.Fatal(err)
	}
	if len(opt.Series) != 2 || opt.Series[0].Name != "RunInstances" || opt.Series[0].Stack != "" ||
		opt.Series[0].Data[0].Value != 3 || opt.Series[0].Data[1].Value != 2 {
		t.Errorf("bar series: %s", c.Options)
	}
}

// packCharts is PackCharts for a test.
func packCharts(t *testing.T) []string {
	t.Helper()
	names, err := PackCharts()
	if err != nil {
		t.Fatal(err)
	}
	return names
}
