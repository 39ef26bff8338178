package cmd

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/trailhound/trailhound/queries"
	"github.com/trailhound/trailhound/viz"
)

// readmeTable returns the names in backquotes in the first column of the first table after the
// README heading that starts with heading.
func readmeTable(t *testing.T, readme, heading string) []string {
	t.Helper()
	i := strings.Index(readme, "\n"+heading)
	if i < 0 {
		t.Fatalf("README has no heading %q", heading)
	}
	var names []string
	inTable := false
	for _, line := range strings.Split(readme[i+1:], "\n")[1:] {
		if strings.HasPrefix(line, "#") {
			break
		}
		if !strings.HasPrefix(line, "|") {
			if inTable {
				break
			}
			continue
		}
		inTable = true
		first := strings.Split(line, "|")[1]
		for _, m := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(first, -1) {
			names = append(names, m[1])
		}
	}
	slices.Sort(names)
	return names
}

// TestREADMEListsEveryQueryAndChart: the README's query table lists every canned query and its
// chart table every chart, and neither lists one that does not exist. A query added without
// its line in the README fails here.
func TestREADMEListsEveryQueryAndChart(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	qs, err := queries.Canned()
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, q := range qs {
		want = append(want, q.Name)
	}
	charts, err := viz.ListCharts()
	if err != nil {
		t.Fatal(err)
	}
	var wantCharts []string
	for _, c := range charts {
		wantCharts = append(wantCharts, c.Name)
	}
	for _, tc := range []struct {
		heading string
		want    []string
	}{
		{"### `trailhound query NAME", want},
		{"### `trailhound chart NAME", wantCharts},
	} {
		got := readmeTable(t, readme, tc.heading)
		for _, n := range tc.want {
			if !slices.Contains(got, n) {
				t.Errorf("the README's table under %s does not list %s", tc.heading, n)
			}
		}
		for _, n := range got {
			if !slices.Contains(tc.want, n) {
				t.Errorf("the README's table under %s lists %s, which is not one", tc.heading, n)
			}
		}
		if len(got) != len(slices.Compact(slices.Clone(got))) {
			t.Errorf("the README's table under %s lists a name twice: %v", tc.heading, got)
		}
	}
}
