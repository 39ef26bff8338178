package viz

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/trailhound/trailhound/queries"
)

// ChartInfo describes a chart that `trailhound chart` can draw.
type ChartInfo struct {
	Name, Kind, Title, Description, Parameters string
}

// ListCharts lists the canned queries that have a chart hint, sorted by name.
func ListCharts() ([]ChartInfo, error) {
	qs, err := queries.Canned()
	if err != nil {
		return nil, err
	}
	var out []ChartInfo
	for _, q := range qs {
		h, err := ParseHint(q.Chart)
		if err != nil {
			continue // no chart, or a hint this build cannot draw
		}
		title := chartTitle(q)
		out = append(out, ChartInfo{Name: q.Name, Kind: h.Kind, Title: title, Description: q.Description,
			Parameters: q.Parameters})
	}
	return out, nil
}

// ListColumns are the columns of 'trailhound query list' and 'trailhound chart list'.
var ListColumns = []string{"name", "description", "parameters", "chart"}

// WriteList writes the canned queries (with chartsOnly, those that are charts), one row each:
// name, description, parameters, and the kind of chart (empty for a query with none), to w in
// format f. Nothing is cut: the text is trailhound's own.
func WriteList(w io.Writer, f queries.Format, chartsOnly bool) error {
	qs, err := queries.Canned()
	if err != nil {
		return err
	}
	charts, err := ListCharts()
	if err != nil {
		return err
	}
	kind := map[string]string{}
	for _, c := range charts {
		kind[c.Name] = c.Kind
	}
	var rows [][]string
	for _, q := range qs {
		if chartsOnly && kind[q.Name] == "" {
			continue
		}
		rows = append(rows, []string{q.Name, q.Description, q.Parameters, kind[q.Name]})
	}
	_, err = queries.WriteStrings(w, f, queries.WriteOptions{MaxWidth: -1}, ListColumns, rows)
	return err
}

// ErrUnknownChart means there is no canned query of that name with a chart.
var ErrUnknownChart = errors.New("unknown chart")

// ChartOptions say which chart to draw and how the page describes the run.
type ChartOptions struct {
	Name    string
	Params  queries.Params
	Version string
	RunBy   string
	RunAt   time.Time
}

// DrawChart runs the canned query o.Name with o.Params and returns its chart; the chart's data
// is redacted like the evidence pack's.
func DrawChart(ctx context.Context, db *sql.DB, o ChartOptions) (Chart, error) {
	q, err := queries.Lookup(o.Name)
	if err != nil {
		return Chart{}, fmt.Errorf("%w %q: see 'trailhound chart list'", ErrUnknownChart, o.Name)
	}
	if _, err := ParseHint(q.Chart); errors.Is(err, ErrNoChart) {
		return Chart{}, fmt.Errorf("%w %q: the query %s has no chart; see 'trailhound chart list'", ErrUnknownChart, o.Name, o.Name)
	}
	rows, err := q.Run(ctx, db, o.Params)
	if err != nil {
		return Chart{}, err
	}
	res := &queries.Collected{}
	if _, err := queries.WriteRowsMulti(rows, RedactValue, queries.Output{Collect: res}); err != nil {
		return Chart{}, fmt.Errorf("chart %s: %w", o.Name, err)
	}
	return BuildChart(q, res)
}

// WriteChartPage writes chart c as a page of its own, described by o.
func WriteChartPage(w io.Writer, c Chart, o ChartOptions) error {
	scope := "Scope: every event in the store"
	if len(o.Params.Keys) > 0 {
		scope = scopeText(o.Params)
	} else {
		switch {
		case !o.Params.From.IsZero() && !o.Params.To.IsZero():
			scope += ", from " + fmtTime(o.Params.From) + " until " + fmtTime(o.Params.To) + "."
		case !o.Params.From.IsZero():
			scope += ", from " + fmtTime(o.Params.From) + "."
		case !o.Params.To.IsZero():
			scope += ", until " + fmtTime(o.Params.To) + "."
		default:
			scope += "."
		}
	}
	made := "Made by trailhound " + o.Version
	if !o.RunAt.IsZero() {
		made += " on " + fmtTime(o.RunAt)
	}
	if o.RunBy != "" {
		made += " by " + o.RunBy
	}
	return RenderPage(w, Page{
		Title:    c.Title,
		Subtitle: []string{scope, made + ". All times are UTC."},
		Charts:   []Chart{c},
		Version:  o.Version,
		Footer: []string{"This page works with no network: the chart library (Apache ECharts " + EChartsVersion +
			", Apache License 2.0) is inside it, and it loads nothing from anywhere."},
	})
}
