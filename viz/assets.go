// Package viz turns query results into pictures and pages: chart builders (go-echarts options
// marshalled with encoding/json), the html/template pages with the chart library inlined, and
// the evidence pack writer.
//
// Every string in a chart or a table may come from CloudTrail, which an attacker writes. Pages
// are rendered with html/template only; chart options are marshalled with encoding/json (which
// writes <, > and & as \u003c, \u003e, \u0026) into a JSON data block that a fixed script of
// ours parses; no option is ever a JavaScript function, and go-echarts' own page renderer is
// never used. Each page also carries a Content-Security-Policy that allows only its own inline
// scripts (by hash) and no network at all.
package viz

import (
	_ "embed"
)

// EChartsVersion is the version of the inlined chart library, Apache ECharts, vendored from the
// npm package echarts (package/dist/echarts.min.js) with its LICENSE and NOTICE in assets/.
const EChartsVersion = "5.6.0"

// echartsJS is Apache ECharts, inlined into every page so that pages work with no network.
//
//go:embed assets/echarts.min.js
var echartsJS string
