package viz

import (
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"sync"
)

//go:embed page/page.html.tmpl
var pageTemplate string

//go:embed page/style.css
var pageCSS string

//go:embed page/init.js
var initJS string

var pageTmpl = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("page").Parse(pageTemplate)) // a broken embed is a build bug
})

// Page is one self-contained HTML page: a summary, charts and tables. Every string in it is
// text: html/template escapes it for where it lands.
type Page struct {
	Title    string
	Subtitle []string
	DoNow    []Action // "Do this now", first on the page
	Done     []Action // what the logs show already done, under it
	Top      []Table  // tables right after "Do this now" ("Still there", grouped)
	Summary  []SummaryItem
	Notes    []string
	TOC      bool // a table of contents
	Charts   []Chart
	Tables   []Table
	Footer   []string
	Version  string // trailhound's version, in a meta tag
}

// SummaryItem is one line of the summary: a label and a sentence, or a list.
type SummaryItem struct {
	Label, Text string
	List        []string
}

// Table is a query result shown on a page.
type Table struct {
	Name        string // the section's id is "table-" + Name
	Query       string // the canned query it shows
	Title       string
	Description string
	Lead        []string // paragraphs between the description and the rows
	Files       []string // the same table as files of the pack (relative links)
	Available   bool     // false: the query does not exist in this build; Note says so
	Note        string
	Empty       string // what no rows means
	Columns     []string
	Rows        [][]Cell
	RowIDs      []string // each row's element id (the links of "Do this now" point at rows)
	Total       int
	Collapsed   bool // folded: a click shows the rows
}

// Cell is one table cell as text, with how to lay it out: "num" (right-aligned), "time" (not
// wrapped) or "list" (one item a line).
type Cell struct {
	Text  string
	Class string
	Links []Link // links within the page, after the text
}

type chartView struct {
	Chart
	JS template.JS
}

// tableView is a table with each row beside its id.
type tableView struct {
	Table
	Lines []lineView
}

type lineView struct {
	ID    string
	Cells []Cell
}

func viewTables(ts []Table) []tableView {
	out := make([]tableView, len(ts))
	for i, t := range ts {
		out[i].Table = t
		for j, cells := range t.Rows {
			l := lineView{Cells: cells}
			if j < len(t.RowIDs) {
				l.ID = t.RowIDs[j]
			}
			out[i].Lines = append(out[i].Lines, l)
		}
	}
	return out
}

type pageView struct {
	Page
	Top       []tableView
	Tables    []tableView
	Charts    []chartView
	CSP       string
	CSS       template.CSS
	EChartsJS template.JS
	InitJS    template.JS
}

func scriptHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

// csp is the page's Content-Security-Policy: nothing from the network, no script but the two of
// ours (by hash), no plugins, forms or base URL.
var csp = sync.OnceValue(func() string {
	return "default-src 'none'; script-src " + scriptHash(echartsJS) + " " + scriptHash(initJS) +
		"; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
})

// RenderPage writes p as one HTML page with the chart library inlined.
func RenderPage(w io.Writer, p Page) error {
	v := pageView{Page: p, CSP: csp(), CSS: template.CSS(pageCSS), Top: viewTables(p.Top), Tables: viewTables(p.Tables),
		InitJS: template.JS(initJS)}
	for _, c := range p.Charts {
		// c.Options is encoding/json output: <, > and & are \u escapes, so it cannot end the
		// script element it sits in, and the page's script only ever JSON.parses it.
		v.Charts = append(v.Charts, chartView{Chart: c, JS: template.JS(c.Options)})
		if !c.Empty {
			v.EChartsJS = template.JS(echartsJS)
		}
	}
	if err := pageTmpl().Execute(w, v); err != nil {
		return fmt.Errorf("render page %q: %w", p.Title, err)
	}
	return nil
}
