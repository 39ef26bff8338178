package queries

import (
	"fmt"
	"testing"
)

// TestPackHeaders: the evidence pack is laid out by the queries' headers alone: each query
// in it has a title (a table on the page also says what no rows means, a chart has a chart
// hint), no two share a place, and a header the parser does not understand is refused.
func TestPackHeaders(t *testing.T) {
	qs, err := Canned()
	if err != nil {
		t.Fatal(err)
	}
	places := map[string]string{}
	n := map[string]int{}
	for _, q := range qs {
		if q.Pack.Kind == "" {
			continue
		}
		n[q.Pack.Kind]++
		place := fmt.Sprintf("%s %d", q.Pack.Kind, q.Pack.Order)
		if q.Pack.Kind == "file" {
			place = fmt.Sprintf("table %d", q.Pack.Order) // files and tables share one order
		}
		if other, ok := places[place]; ok {
			t.Errorf("%s and %s both have pack place %s", other, q.Name, place)
		}
		places[place] = q.Name
		if q.Title == "" {
			t.Errorf("%s is in the pack without a title", q.Name)
		}
		if q.Pack.Kind == "table" && q.Empty == "" {
			t.Errorf("%s is a table of the page without an empty text", q.Name)
		}
		if q.Pack.Kind == "chart" && (q.Chart == "" || q.Chart == "none") {
			t.Errorf("%s is a chart of the pack without a chart hint", q.Name)
		}
	}
	if n["chart"] == 0 || n["table"] == 0 || n["file"] == 0 {
		t.Errorf("pack places: %v; want charts, tables and files", n)
	}
	tables, err := InPack("table", "file")
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(tables); i++ {
		if tables[i-1].Pack.Order > tables[i].Pack.Order {
			t.Errorf("InPack: %s (%d) before %s (%d)", tables[i-1].Name, tables[i-1].Pack.Order, tables[i].Name, tables[i].Pack.Order)
		}
	}
	for _, bad := range []string{"chart", "table x", "page 3", "chart 2, omitted when empty", "table 3,omitted", "file -1"} {
		if _, err := parseHeader("-- name: x\n-- pack: " + bad + "\nSELECT 1"); err == nil {
			t.Errorf("pack %q accepted", bad)
		}
	}
	q, err := parseHeader("-- name: x\n-- title: T\n-- pack: table 7, omitted when empty\n-- empty: none.\nSELECT 1")
	if err != nil || q.Pack != (Pack{Kind: "table", Order: 7, OmitEmpty: true}) || q.Title != "T" || q.Empty != "none." {
		t.Errorf("parseHeader: %+v, %v", q, err)
	}
}
