package viz

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"

	"github.com/trailhound/trailhound/queries"
)

// ErrNoChart means a canned query has no chart hint (or "-- chart: none").
var ErrNoChart = errors.New("no chart")

// Hint is a parsed "-- chart:" header line of a canned query: a kind and the result columns it
// draws, e.g. "stacked-bar x=hour series=region y=tasks".
//
//	stacked-bar x=COL series=COL y=COL         one bar per x, stacked by series
//	bar         x=COL y=COL                    one bar per x
//	heatmap     x=COL y=COL value=COL          a grid of x by y coloured by value
//	gantt       start=COL end=COL label=COL [detail=COL]   one bar per label from start to end
//	timeline    x=COL y=COL                    each row a point: its time (x) on the row of its y
//	graph       source=COL target=COL [label=COL]          a tree of targets under their sources
//
// "table" (or "none") means the query has no chart. An x column of timestamps that all fall on
// whole hours is drawn as hours (UTC) with the hours that have no row shown as zero.
type Hint struct {
	Kind   string
	Fields map[string]string
}

var hintRoles = map[string][]string{
	"stacked-bar": {"x", "series", "y"},
	"bar":         {"x", "y"},
	"heatmap":     {"x", "y", "value"},
	"gantt":       {"start", "end", "label"},
	"timeline":    {"x", "y"},
	"graph":       {"source", "target"},
}

// optionalRoles are the columns a kind may also name.
var optionalRoles = map[string][]string{"gantt": {"detail"}, "graph": {"label"}, "bar": {"series"},
	"timeline": {"series"}}

// ParseHint parses a chart hint. It returns ErrNoChart for "", "none" and "table".
func ParseHint(s string) (Hint, error) {
	f := strings.Fields(s)
	if len(f) == 0 || f[0] == "none" || f[0] == "table" {
		return Hint{}, ErrNoChart
	}
	h := Hint{Kind: f[0], Fields: map[string]string{}}
	roles, ok := hintRoles[h.Kind]
	if !ok {
		return Hint{}, fmt.Errorf("chart hint %q: unknown kind %q", s, h.Kind)
	}
	for _, kv := range f[1:] {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" || v == "" {
			return Hint{}, fmt.Errorf("chart hint %q: %q is not role=column", s, kv)
		}
		h.Fields[k] = v
	}
	for _, r := range roles {
		if h.Fields[r] == "" {
			return Hint{}, fmt.Errorf("chart hint %q: %s needs %s=COLUMN", s, h.Kind, r)
		}
	}
	return h, nil
}

// Chart is one chart ready for a page: a fixed element id and its ECharts option as JSON.
type Chart struct {
	ID          string // element id, fixed: "chart-" + the query name
	Name        string // the canned query it draws
	Title       string
	Description string
	Height      int    // pixels
	Options     []byte // the ECharts option, encoding/json output (HTML-safe)
	Rows        int    // rows of the query result
	Empty       bool   // nothing to draw: the page says so (Note says why, if not "no data")
	Note        string
	Files       []string // the chart's data as files of the pack (relative links)
}

// chartTitle is the title of q's chart: its header's chart-title, else, for a chart of
// the pack ("-- pack: chart N"), its title, else its name.
func chartTitle(q queries.Query) string {
	switch {
	case q.ChartTitle != "":
		return q.ChartTitle
	case q.Pack.Kind == "chart" && q.Title != "":
		return q.Title
	}
	return q.Name
}

// maxHours caps how many hours an hourly axis is filled out to (about 400 days); a longer span is
// drawn with only the hours that have data.
const maxHours = 24 * 400

// maxSeries caps the series of a stacked bar chart; the smallest ones are summed into "(other)".
const maxSeries = 40

// BuildChart draws the result of canned query q (already run and collected) as its hint says.
func BuildChart(q queries.Query, res *queries.Collected) (Chart, error) {
	h, err := ParseHint(q.Chart)
	if err != nil {
		return Chart{}, fmt.Errorf("chart %s: %w", q.Name, err)
	}
	title := chartTitle(q)
	c := Chart{ID: "chart-" + q.Name, Name: q.Name, Title: title, Description: q.Description,
		Height: 440, Rows: res.Total}
	if res.Limit > 0 && res.Total > len(res.Values) {
		return Chart{}, fmt.Errorf("chart %s: only %d of %d rows collected", q.Name, len(res.Values), res.Total)
	}
	col := func(role string) (int, error) {
		name := h.Fields[role]
		i := res.Column(name)
		if i < 0 {
			return 0, fmt.Errorf("chart %s: the hint's %s=%s is not a column of the result (%s)",
				q.Name, role, name, strings.Join(res.Columns, ", "))
		}
		return i, nil
	}
	idx := map[string]int{}
	for _, r := range hintRoles[h.Kind] {
		i, err := col(r)
		if err != nil {
			return Chart{}, err
		}
		idx[r] = i
	}
	for _, r := range optionalRoles[h.Kind] {
		if h.Fields[r] == "" {
			continue
		}
		i, err := col(r)
		if err != nil {
			return Chart{}, err
		}
		idx[r] = i
	}
	if len(res.Values) == 0 {
		c.Empty = true
		return c, nil
	}
	var m map[string]any
	switch h.Kind {
	case "stacked-bar", "bar":
		m, err = barOptions(c, h, idx, res)
	case "heatmap":
		m, err = heatmapOptions(&c, h, idx, res)
	case "gantt":
		m, err = ganttOptions(&c, idx, res)
	case "timeline":
		m, err = timelineOptions(&c, h, idx, res)
	case "graph":
		m, err = graphOptions(&c, idx, res)
	}
	if err != nil {
		return Chart{}, fmt.Errorf("chart %s: %w", q.Name, err)
	}
	if c.Empty {
		return c, nil
	}
	c.Options, err = finishOptions(m)
	if err != nil {
		return Chart{}, fmt.Errorf("chart %s: %w", q.Name, err)
	}
	return c, nil
}

// finishOptions marshals a go-echarts option map and adds what go-echarts cannot express: the
// root useUTC (ECharts formats time in the viewer's zone otherwise), tooltips drawn as canvas
// text rather than HTML, and no animation. encoding/json escapes <, > and & (so the JSON can sit
// in a <script> element) and sorts map keys (so two runs give the same bytes).
func finishOptions(m map[string]any) ([]byte, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("marshal options: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var g map[string]any
	if err := dec.Decode(&g); err != nil {
		return nil, fmt.Errorf("re-read options: %w", err)
	}
	g["useUTC"] = true
	g["animation"] = false
	if t, ok := g["tooltip"].(map[string]any); ok {
		t["renderMode"] = "richText"
		t["confine"] = true
	}
	// Time axes label days as "Nov 7" rather than "7" (ECharts' templates, not functions).
	for _, key := range []string{"xAxis", "yAxis"} {
		for _, ax := range optionMaps(g[key]) {
			switch {
			case ax["type"] == "time":
				ax["axisLabel"] = map[string]any{"formatter": map[string]any{
					"year": "{yyyy}", "month": "{MMM} {yyyy}", "day": "{MMM} {d}", "hour": "{HH}:{mm}",
					"minute": "{HH}:{mm}", "second": "{HH}:{mm}:{ss}"}}
			case ax["type"] == "category":
				w := labelWidth
				if key == "xAxis" {
					w = xLabelWidth
				}
				truncate(subMap(ax, "axisLabel"), w)
			}
		}
	}
	for _, l := range optionMaps(g["legend"]) {
		truncate(subMap(l, "textStyle"), legendWidth)
	}
	for _, s := range optionMaps(g["series"]) {
		if s["type"] == "tree" {
			truncate(subMap(s, "label"), treeLabelWidth)
			truncate(subMap(subMap(s, "leaves"), "label"), treeLabelWidth)
		}
	}
	return json.Marshal(g)
}

// Label widths in pixels. A category name is CloudTrail text (a region, an event name, a key):
// an attacker can make it 10 kB long, and ECharts would then give the labels the whole chart
// (grid.containLabel) and squash the plot to nothing. Axis and legend labels and the tree's
// node labels are cut to these widths with an ellipsis; the tooltip (canvas text, never HTML)
// shows the whole name.
const (
	labelWidth     = 200 // y axis categories: regions, event names, keys
	xLabelWidth    = 140 // x axis categories (an hour "2026-11-07 23:00" needs about 100)
	legendWidth    = 160
	treeLabelWidth = 240
)

// truncate makes a text style cut its text at width pixels, with an ellipsis.
func truncate(style map[string]any, width int) {
	style["width"] = width
	style["overflow"] = "truncate"
	style["ellipsis"] = "…"
}

// optionMaps returns an option that is an object or a list of objects as a list of objects.
func optionMaps(v any) []map[string]any {
	switch x := v.(type) {
	case map[string]any:
		return []map[string]any{x}
	case []any:
		var out []map[string]any
		for _, e := range x {
			if m, ok := e.(map[string]any); ok {
				out = append(out, m)
			}
		}
		return out
	}
	return nil
}

// subMap returns m[key] as an object, making it when it is not one.
func subMap(m map[string]any, key string) map[string]any {
	if s, ok := m[key].(map[string]any); ok {
		return s
	}
	s := map[string]any{}
	m[key] = s
	return s
}

// palette colours the series: 30 distinct colours (Tableau 10, then d3's category 20), so that the
// regions of a stacked chart do not share a colour.
var palette = []string{"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
	"#9c755f", "#bab0ac", "#1f77b4", "#aec7e8", "#ff7f0e", "#ffbb78", "#2ca02c", "#98df8a", "#d62728", "#ff9896",
	"#9467bd", "#c5b0d5", "#8c564b", "#c49c94", "#e377c2", "#f7b6d2", "#7f7f7f", "#bcbd22", "#dbdb8d", "#17becf",
	"#9edae5", "#393b79"}

// common sets what every chart shares and returns the go-echarts global options.
func common(c Chart, tooltipTrigger string) []charts.GlobalOpts {
	return []charts.GlobalOpts{
		charts.WithInitializationOpts(opts.Initialization{ChartID: c.ID, Width: "100%",
			Height: strconv.Itoa(c.Height) + "px"}),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: tooltipTrigger}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(true), Type: "scroll", Top: "8"}),
		charts.WithGridOpts(opts.Grid{Left: "12", Right: "24", Top: "56", Bottom: "70", ContainLabel: opts.Bool(true)}),
	}
}

// axis is an x axis: its labels and where each x value of the result falls on it.
type axis struct {
	labels []string
	index  map[string]int
	hourly bool
}

// xAxis builds the category axis of column i: hours (UTC, filled out) when every value is a
// timestamp on a whole hour, otherwise the distinct values in the order of the result.
func xAxis(res *queries.Collected, i int) axis {
	var hours []time.Time
	hourly := true
	for _, row := range res.Values {
		t, ok := row[i].(time.Time)
		if !ok || !t.Equal(t.Truncate(time.Hour)) {
			hourly = false
			break
		}
		hours = append(hours, t.UTC())
	}
	a := axis{index: map[string]int{}}
	if hourly && len(hours) > 0 {
		a.hourly = true
		lo := slices.MinFunc(hours, time.Time.Compare)
		hi := slices.MaxFunc(hours, time.Time.Compare)
		if n := int(hi.Sub(lo)/time.Hour) + 1; n <= maxHours {
			for t := lo; !t.After(hi); t = t.Add(time.Hour) {
				a.add(hourLabel(t))
			}
			return a
		}
		slices.SortFunc(hours, time.Time.Compare)
		for _, t := range hours {
			a.add(hourLabel(t))
		}
		return a
	}
	for _, row := range res.Values {
		a.add(label(row[i]))
	}
	return a
}

func (a *axis) add(l string) {
	if _, ok := a.index[l]; !ok {
		a.index[l] = len(a.labels)
		a.labels = append(a.labels, l)
	}
}

func (a *axis) name(col string) string {
	if a.hourly {
		return "hour (UTC)"
	}
	return col
}

func hourLabel(t time.Time) string { return t.UTC().Format("2006-01-02 15:00") }

// label renders a value as a category name.
func label(v any) string {
	switch x := v.(type) {
	case nil:
		return "(none)"
	case string:
		return x
	case time.Time:
		return x.UTC().Format(time.RFC3339)
	}
	return fmt.Sprint(v)
}

// number converts a numeric value from the driver to float64.
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case int8:
		return float64(x), true
	case int16:
		return float64(x), true
	case int32:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint8:
		return float64(x), true
	case uint16:
		return float64(x), true
	case uint32:
		return float64(x), true
	case uint64:
		return float64(x), true
	case float32:
		return float64(x), true
	case float64:
		return x, true
	case *big.Int:
		if x == nil {
			return 0, false
		}
		f, _ := new(big.Float).SetInt(x).Float64()
		return f, true
	case interface{ Float64() float64 }: // duckdb.Decimal
		return x.Float64(), true
	case nil:
		return 0, true
	}
	return 0, false
}

func barOptions(c Chart, h Hint, idx map[string]int, res *queries.Collected) (map[string]any, error) {
	xa := xAxis(res, idx["x"])
	type series struct {
		name  string
		total float64
		vals  []float64
	}
	byName := map[string]*series{}
	var all []*series
	for _, row := range res.Values {
		name := h.Fields["y"]
		if i, ok := idx["series"]; ok {
			name = label(row[i])
		}
		s := byName[name]
		if s == nil {
			s = &series{name: name, vals: make([]float64, len(xa.labels))}
			byName[name] = s
			all = append(all, s)
		}
		v, ok := number(row[idx["y"]])
		if !ok {
			return nil, fmt.Errorf("column %s: %T is not a number", h.Fields["y"], row[idx["y"]])
		}
		xl := label(row[idx["x"]])
		if xa.hourly {
			xl = hourLabel(row[idx["x"]].(time.Time))
		}
		s.vals[xa.index[xl]] += v
		s.total += v
	}
	// Largest series first (at the bottom of the stack and first in the legend).
	slices.SortStableFunc(all, func(a, b *series) int {
		if a.total != b.total {
			if a.total > b.total {
				return -1
			}
			return 1
		}
		return strings.Compare(a.name, b.name)
	})
	if len(all) > maxSeries {
		other := &series{name: "(other)", vals: make([]float64, len(xa.labels))}
		for _, s := range all[maxSeries-1:] {
			for i, v := range s.vals {
				other.vals[i] += v
			}
		}
		all = append(all[:maxSeries-1], other)
	}
	bar := charts.NewBar()
	g := common(c, "axis")
	g = append(g,
		charts.WithXAxisOpts(opts.XAxis{Type: "category", Name: xa.name(h.Fields["x"]), NameLocation: "middle", NameGap: 30}),
		charts.WithYAxisOpts(opts.YAxis{Type: "value", Name: h.Fields["y"], MinInterval: 1}),
		charts.WithDataZoomOpts(opts.DataZoom{Type: "slider", Start: 0, End: 100}, opts.DataZoom{Type: "inside"}),
	)
	bar.SetGlobalOptions(g...)
	bar.Colors = palette
	bar.SetXAxis(xa.labels)
	for _, s := range all {
		data := make([]opts.BarData, len(s.vals))
		for i, v := range s.vals {
			data[i] = opts.BarData{Value: v}
		}
		stack := "" // bar: side by side
		if h.Kind == "stacked-bar" {
			stack = "total"
		}
		bar.AddSeries(s.name, data, charts.WithBarChartOpts(opts.BarChart{Stack: stack}))
	}
	bar.Validate()
	return bar.JSON(), nil
}

func heatmapOptions(c *Chart, h Hint, idx map[string]int, res *queries.Collected) (map[string]any, error) {
	xa := xAxis(res, idx["x"])
	var ys []string
	yi := map[string]int{}
	for _, row := range res.Values {
		y := label(row[idx["y"]])
		if _, ok := yi[y]; !ok {
			yi[y] = 0
			ys = append(ys, y)
		}
	}
	slices.Sort(ys)
	for i, y := range ys {
		yi[y] = i
	}
	cells := map[[2]int]float64{}
	var hi float64
	for _, row := range res.Values {
		v, ok := number(row[idx["value"]])
		if !ok {
			return nil, fmt.Errorf("column %s: %T is not a number", h.Fields["value"], row[idx["value"]])
		}
		xl := label(row[idx["x"]])
		if xa.hourly {
			xl = hourLabel(row[idx["x"]].(time.Time))
		}
		k := [2]int{xa.index[xl], yi[label(row[idx["y"]])]}
		cells[k] += v
		hi = max(hi, cells[k])
	}
	keys := make([][2]int, 0, len(cells))
	for k := range cells {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b [2]int) int {
		if a[0] != b[0] {
			return a[0] - b[0]
		}
		return a[1] - b[1]
	})
	data := make([]opts.HeatMapData, len(keys))
	for i, k := range keys {
		// named after its row and column, so that its tooltip says which they are
		data[i] = opts.HeatMapData{Name: ys[k[1]] + ", " + xa.labels[k[0]], Value: [3]any{k[0], k[1], cells[k]}}
	}
	c.Height = max(300, 130+24*len(ys))
	hm := charts.NewHeatMap()
	g := common(*c, "item")
	g = append(g,
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(false)}),
		charts.WithXAxisOpts(opts.XAxis{Type: "category", Data: xa.labels, Name: xa.name(h.Fields["x"]),
			NameLocation: "middle", NameGap: 30}),
		charts.WithYAxisOpts(opts.YAxis{Type: "category", Data: ys, SplitArea: &opts.SplitArea{Show: opts.Bool(true)}}),
		charts.WithVisualMapOpts(opts.VisualMap{Calculable: opts.Bool(true), Min: 0, Max: float32(max(hi, 1)),
			Orient: "horizontal", Left: "center", Top: "4", Text: []string{h.Fields["value"], "0"},
			InRange: &opts.VisualMapInRange{Color: []string{"#f3f6fb", "#7aa6d6", "#1f4e8c", "#b3202b"}}}),
		charts.WithDataZoomOpts(opts.DataZoom{Type: "slider", Start: 0, End: 100}, opts.DataZoom{Type: "inside"}),
		charts.WithGridOpts(opts.Grid{Left: "12", Right: "24", Top: "56", Bottom: "70", ContainLabel: opts.Bool(true)}),
	)
	hm.SetGlobalOptions(g...)
	hm.AddSeries(h.Fields["value"], data)
	hm.Validate()
	return hm.JSON(), nil
}

func ganttOptions(c *Chart, idx map[string]int, res *queries.Collected) (map[string]any, error) {
	type span struct {
		y, detail  string
		start, end time.Time
	}
	var spans []span
	seen := map[string]bool{}
	for _, row := range res.Values {
		s, ok1 := row[idx["start"]].(time.Time)
		e, ok2 := row[idx["end"]].(time.Time)
		if !ok1 || !ok2 || row[idx["label"]] == nil {
			continue // a key with no use in scope has nothing to draw
		}
		sp := span{y: label(row[idx["label"]]), start: s, end: e}
		if i, ok := idx["detail"]; ok && row[i] != nil {
			sp.detail = label(row[i])
		}
		if seen[sp.y] {
			continue
		}
		seen[sp.y] = true
		spans = append(spans, sp)
	}
	if len(spans) == 0 {
		c.Empty = true
		return nil, nil
	}
	ys := make([]string, len(spans))
	for i, s := range spans {
		ys[i] = s.y
	}
	c.Height = max(260, 110+28*len(spans))
	line := charts.NewLine()
	g := common(*c, "item")
	g = append(g,
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(false)}),
		charts.WithXAxisOpts(opts.XAxis{Type: "time", Name: "time (UTC)", NameLocation: "middle", NameGap: 30}),
		// The first row at the top.
		charts.WithYAxisOpts(opts.YAxis{Type: "category", Data: ys, Inverse: opts.Bool(true)}),
		charts.WithDataZoomOpts(opts.DataZoom{Type: "slider", Start: 0, End: 100}, opts.DataZoom{Type: "inside"}),
		charts.WithGridOpts(opts.Grid{Left: "12", Right: "24", Top: "20", Bottom: "70", ContainLabel: opts.Bool(true)}),
	)
	line.SetGlobalOptions(g...)
	line.Colors = palette
	for _, s := range spans {
		name := s.y
		if s.detail != "" {
			name += " (" + s.detail + ")"
		}
		line.AddSeries(name, []opts.LineData{
			{Value: []any{s.start.UnixMilli(), s.y}},
			{Value: []any{s.end.UnixMilli(), s.y}},
		}, charts.WithLineChartOpts(opts.LineChart{Symbol: "circle", SymbolSize: 8, ShowSymbol: opts.Bool(true)}),
			charts.WithLineStyleOpts(opts.LineStyle{Width: 6}))
	}
	line.Validate()
	return line.JSON(), nil
}

// timelineOptions draws each row as a point at its time on the row of its category, coloured
// by its series when the hint names one.
func timelineOptions(c *Chart, h Hint, idx map[string]int, res *queries.Collected) (map[string]any, error) {
	var ys, names []string
	seen := map[string]bool{}
	data := map[string][]opts.ScatterData{}
	for _, row := range res.Values {
		t, ok := row[idx["x"]].(time.Time)
		if !ok {
			continue
		}
		y := label(row[idx["y"]])
		if !seen[y] {
			seen[y] = true
			ys = append(ys, y)
		}
		name := h.Fields["y"]
		if i, ok := idx["series"]; ok {
			name = label(row[i])
		}
		if _, ok := data[name]; !ok {
			names = append(names, name)
		}
		data[name] = append(data[name], opts.ScatterData{Value: []any{t.UnixMilli(), y}})
	}
	if len(names) == 0 {
		c.Empty = true
		return nil, nil
	}
	c.Height = max(260, 150+24*len(ys))
	sc := charts.NewScatter()
	g := common(*c, "item")
	g = append(g,
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(len(names) > 1), Type: "scroll", Top: "8"}),
		charts.WithXAxisOpts(opts.XAxis{Type: "time", Name: "time (UTC)", NameLocation: "middle", NameGap: 30}),
		charts.WithYAxisOpts(opts.YAxis{Type: "category", Data: ys, Inverse: opts.Bool(true)}),
		charts.WithDataZoomOpts(opts.DataZoom{Type: "slider", Start: 0, End: 100}, opts.DataZoom{Type: "inside"}),
		charts.WithGridOpts(opts.Grid{Left: "12", Right: "24", Top: "56", Bottom: "70", ContainLabel: opts.Bool(true)}),
	)
	sc.SetGlobalOptions(g...)
	sc.Colors = palette
	for _, n := range names {
		sc.AddSeries(n, data[n], charts.WithScatterChartOpts(opts.ScatterChart{SymbolSize: 8}))
	}
	sc.Validate()
	return sc.JSON(), nil
}

// graphOptions draws rows (source, target) as a tree: each target under its source; a source
// that is no row's target is a root.
func graphOptions(c *Chart, idx map[string]int, res *queries.Collected) (map[string]any, error) {
	nodes := map[string]*opts.TreeData{}
	var order []string
	parent := map[string]string{}
	for _, row := range res.Values {
		if row[idx["target"]] == nil {
			continue // e.g. a summed-up row with no key of its own
		}
		t := label(row[idx["target"]])
		if _, ok := nodes[t]; ok {
			continue
		}
		n := &opts.TreeData{Name: t, Symbol: "circle"}
		if i, ok := idx["label"]; ok && row[i] != nil {
			n.Name += " (" + label(row[i]) + ")"
		}
		nodes[t] = n
		order = append(order, t)
		if row[idx["source"]] != nil {
			parent[t] = label(row[idx["source"]])
		}
	}
	if len(order) == 0 {
		c.Empty = true
		return nil, nil
	}
	var roots []*opts.TreeData
	for _, t := range order {
		p, ok := parent[t]
		if pn := nodes[p]; ok && pn != nil && p != t && !descends(parent, p, t) {
			pn.Children = append(pn.Children, nodes[t])
			continue
		}
		if ok && nodes[p] == nil { // a source that is no row: a root of its own
			pn := &opts.TreeData{Name: p, Symbol: "circle"}
			nodes[p] = pn
			roots = append(roots, pn)
			pn.Children = append(pn.Children, nodes[t])
			continue
		}
		roots = append(roots, nodes[t])
	}
	root := roots[0]
	if len(roots) > 1 {
		root = &opts.TreeData{Name: "(roots)", Symbol: "circle", Children: roots}
	}
	c.Height = max(300, 80+22*leaves(root))
	tr := charts.NewTree()
	g := common(*c, "item")
	g = append(g, charts.WithLegendOpts(opts.Legend{Show: opts.Bool(false)}))
	tr.SetGlobalOptions(g...)
	tr.AddSeries("lineage", []opts.TreeData{*root}, charts.WithTreeOpts(opts.TreeChart{
		Layout: "orthogonal", Orient: "LR", InitialTreeDepth: -1, Left: "24%", Right: "26%", Top: "20", Bottom: "20",
		Label:  &opts.Label{Show: opts.Bool(true), Position: "left"},
		Leaves: &opts.TreeLeaves{Label: &opts.Label{Show: opts.Bool(true), Position: "right"}},
	}), charts.WithItemStyleOpts(opts.ItemStyle{Color: palette[0], BorderColor: palette[0]}),
		charts.WithLineStyleOpts(opts.LineStyle{Color: "#9aa8b9", Width: 1.5}))
	tr.Validate()
	return tr.JSON(), nil
}

// descends reports whether node t is an ancestor of p (which would make a cycle).
func descends(parent map[string]string, p, t string) bool {
	for i := 0; i < len(parent)+1; i++ {
		q, ok := parent[p]
		if !ok {
			return false
		}
		if q == t {
			return true
		}
		p = q
	}
	return true
}

func leaves(n *opts.TreeData) int {
	if len(n.Children) == 0 {
		return 1
	}
	k := 0
	for _, c := range n.Children {
		k += leaves(c)
	}
	return k
}
