package viz

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/trailhound/trailhound/queries"
	"github.com/trailhound/trailhound/queries/sigma"
)

// PackCharts are the charts of an evidence pack, in page order: the canned queries whose
// header says "-- pack: chart N".
func PackCharts() ([]string, error) {
	qs, err := queries.InPack("chart")
	if err != nil {
		return nil, err
	}
	names := make([]string, len(qs))
	for i, q := range qs {
		names[i] = q.Name
	}
	return names, nil
}

// packTable is a canned query whose result goes into the pack: its header's title, whether
// the page shows it ("-- pack: table N"; a "file" is only written as CSV and JSONL), what no
// rows means, and whether the page then leaves it off (what it would say, such as "no two
// records share an eventID", is no news to a victim; its files are in the pack all the same).
type packTable struct {
	name  string
	title string
	page  bool
	empty string
	omit  bool
}

// packTables are the tables of an evidence pack, in page order, from the canned queries'
// headers.
func packTables() ([]packTable, error) {
	qs, err := queries.InPack("table", "file")
	if err != nil {
		return nil, err
	}
	out := make([]packTable, len(qs))
	for i, q := range qs {
		out[i] = packTable{name: q.Name, title: q.Title, page: q.Pack.Kind == "table", empty: q.Empty, omit: q.Pack.OmitEmpty}
	}
	return out, nil
}

// pageRows is how many rows of a table the page shows; the CSV and JSONL files have them all.
const pageRows = 300

// openRows is how many rows a table may have and still be shown open; a longer one is folded
// (a click shows it), so that the page stays short enough to read.
const openRows = 10

// PackOptions say what to put in an evidence pack and how the run is described in it.
type PackOptions struct {
	Dir       string         // the pack's directory; replaced if it holds an earlier pack
	Params    queries.Params // the seed keys and the window
	Version   string         // trailhound's version
	Command   []string       // the command line, as run
	RunBy     string         // who ran it (user@host)
	RunAt     time.Time      // when
	StorePath string
}

// PackFile is one file of a pack, as listed in its manifest.
type PackFile struct {
	Path   string `json:"path"` // relative, with /
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// PackResult says what WritePack wrote.
type PackResult struct {
	Dir     string
	Files   []PackFile // every file but manifest.json, sorted by path
	Missing []string   // canned queries this build does not have
	Events  int        // events of the lineage in the window
}

// Manifest is manifest.json: how the pack was made, from what, and the hash of every file.
type Manifest struct {
	Tool      string         `json:"tool"`
	Version   string         `json:"version"`
	Command   []string       `json:"command_line"`
	RunBy     string         `json:"run_by"`
	RunAt     string         `json:"run_at"`
	Scope     ManifestScope  `json:"scope"`
	Store     string         `json:"store"`
	Redaction string         `json:"redaction"`
	Charts    string         `json:"charts"`
	Missing   []string       `json:"queries_not_available"`
	Sources   []SourceFile   `json:"sources"`
	Files     []PackFile     `json:"files"`
	Counts    map[string]int `json:"rows"`
}

// ManifestScope is what the pack covers.
type ManifestScope struct {
	Keys []string `json:"keys"`
	From string   `json:"from,omitempty"`
	To   string   `json:"to,omitempty"`
}

// SourceFile is one object the store was loaded from (the store's source_files table).
type SourceFile struct {
	Kind         string `json:"kind"`
	URI          string `json:"uri"`
	Size         *int64 `json:"size"`
	SHA256       string `json:"sha256,omitempty"`
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"last_modified,omitempty"`
	Shape        string `json:"shape"`
	Records      int64  `json:"records"`
	ReadAt       string `json:"read_at"`
	// Verdict is the last trailhound verify's on the file (verified, modified, unlisted, ...);
	// null when verify never ran on the store or the file was read after its last run.
	Verdict       *string `json:"verdict"`
	VerdictDetail string  `json:"verdict_detail,omitempty"`
}

// WritePack writes the evidence pack for o.Params from the store db into o.Dir: index.html,
// answers.md, manifest.json, and under data/ every table as CSV and JSONL and the lineage's
// events as JSONL. It is written into a new directory beside o.Dir and moved into place at the
// end; an existing o.Dir is replaced only if it is empty or an earlier pack.
func WritePack(ctx context.Context, db *sql.DB, o PackOptions, log *slog.Logger) (PackResult, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if len(o.Params.Keys) == 0 {
		return PackResult{}, errors.New("evidence pack: no access key given")
	}
	if err := checkPackDir(o.Dir); err != nil {
		return PackResult{}, err
	}
	parent := filepath.Dir(filepath.Clean(o.Dir))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return PackResult{}, fmt.Errorf("evidence pack: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(o.Dir)+".tmp-")
	if err != nil {
		return PackResult{}, fmt.Errorf("evidence pack: %w", err)
	}
	done := false
	defer func() {
		if !done {
			os.RemoveAll(tmp)
		}
	}()
	start := time.Now()
	scope, err := queries.NewScoped(ctx, db, o.Params)
	if err != nil {
		return PackResult{}, fmt.Errorf("evidence pack: %w", err)
	}
	defer scope.Close()
	log.Debug("evidence pack: lineage and its events computed", "took", time.Since(start).Round(time.Millisecond))
	p := &packer{ctx: ctx, db: db, scope: scope, o: o, log: log, dir: tmp, counts: map[string]int{}, results: map[string]*queries.Collected{}}
	if err := p.write(); err != nil {
		return PackResult{}, err
	}
	if err := os.RemoveAll(o.Dir); err != nil {
		return PackResult{}, fmt.Errorf("evidence pack: replace %s: %w", o.Dir, err)
	}
	if err := os.Rename(tmp, o.Dir); err != nil {
		return PackResult{}, fmt.Errorf("evidence pack: %w", err)
	}
	if err := os.Chmod(o.Dir, 0o755); err != nil {
		return PackResult{}, fmt.Errorf("evidence pack: %w", err)
	}
	done = true
	return PackResult{Dir: o.Dir, Files: p.files, Missing: p.missing, Events: p.counts["lineage-events"]}, nil
}

// checkPackDir refuses to replace a directory that holds anything but an earlier pack: every
// file in it must be listed in its manifest.json (or be that manifest).
func checkPackDir(dir string) error {
	if dir == "" {
		return errors.New("evidence pack: no output directory")
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) || err == nil && len(entries) == 0 {
		return nil
	}
	if err != nil {
		return fmt.Errorf("evidence pack: %w", err)
	}
	m, ok := readManifest(dir)
	if !ok {
		return fmt.Errorf("evidence pack: %s is not empty and holds no earlier trailhound pack; choose another --out", dir)
	}
	listed := map[string]bool{"manifest.json": true}
	for _, f := range m.Files {
		listed[f.Path] = true
	}
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("evidence pack: %w", err)
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() || listed[filepath.ToSlash(rel)] {
			return nil
		}
		return fmt.Errorf("evidence pack: %s holds an earlier pack and %s, which is not part of it; "+
			"move that file or choose another --out", dir, rel)
	})
}

// readManifest reads dir/manifest.json if it is a trailhound pack's.
func readManifest(dir string) (Manifest, bool) {
	var m Manifest
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil || json.Unmarshal(b, &m) != nil || m.Tool != "trailhound" {
		return Manifest{}, false
	}
	return m, true
}

// generatorMark is in the head of every page trailhound writes (page.html.tmpl's meta tag).
const generatorMark = `<meta name="generator" content="trailhound `

// CheckReplace refuses to let a page replace path unless path does not exist, or is a page
// trailhound wrote (its generator meta tag) that no evidence pack lists: a file of a pack is
// never replaced, since its manifest would then give a wrong SHA-256, as report never
// replaces a directory that is not an earlier pack.
func CheckReplace(path string) error {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if fi.IsDir() {
		return fmt.Errorf("write %s: it is a directory; give a file name", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	for dir := filepath.Dir(abs); ; dir = filepath.Dir(dir) {
		if m, ok := readManifest(dir); ok {
			rel, _ := filepath.Rel(dir, abs)
			for _, f := range m.Files {
				if f.Path == filepath.ToSlash(rel) {
					return fmt.Errorf("write %s: it is part of the evidence pack in %s, whose manifest.json lists it with its "+
						"SHA-256; replacing it would make the manifest wrong: choose another --out", path, dir)
				}
			}
		}
		if filepath.Dir(dir) == dir {
			break
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer f.Close()
	head := make([]byte, 4096)
	n, _ := io.ReadFull(f, head)
	if !bytes.Contains(head[:n], []byte(generatorMark)) {
		return fmt.Errorf("write %s: the file exists and trailhound did not write it; choose another --out, or move it", path)
	}
	return nil
}

type packer struct {
	ctx     context.Context
	db      *sql.DB
	scope   *queries.Scoped // the lineage computed once for every query
	o       PackOptions
	log     *slog.Logger
	dir     string
	files   []PackFile
	missing []string
	counts  map[string]int
	results map[string]*queries.Collected

	techs    []sigma.Technique
	costText costText
	integ    integrityText
}

// hashedFile is a pack file being written: its bytes go through SHA-256 on their way to disk.
type hashedFile struct {
	f    *os.File
	w    *bufio.Writer
	h    hash.Hash
	n    int64
	rel  string
	pack *packer
}

func (p *packer) create(rel string) (*hashedFile, error) {
	full := filepath.Join(p.dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		return nil, fmt.Errorf("evidence pack: %w", err)
	}
	f, err := os.Create(full)
	if err != nil {
		return nil, fmt.Errorf("evidence pack: %w", err)
	}
	return &hashedFile{f: f, w: bufio.NewWriterSize(f, 256<<10), h: sha256.New(), rel: rel, pack: p}, nil
}

func (hf *hashedFile) Write(b []byte) (int, error) {
	hf.h.Write(b)
	hf.n += int64(len(b))
	return hf.w.Write(b)
}

// close flushes and closes the file and lists it in the manifest.
func (hf *hashedFile) close() error {
	err := hf.w.Flush()
	if cerr := hf.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("evidence pack: write %s: %w", hf.rel, err)
	}
	hf.pack.files = append(hf.pack.files, PackFile{Path: hf.rel, Size: hf.n, SHA256: hex.EncodeToString(hf.h.Sum(nil))})
	return nil
}

func (hf *hashedFile) abort() { hf.f.Close() }

// runTable runs canned query name and writes its result as data/NAME.csv and data/NAME.jsonl,
// redacted, keeping up to keep rows in memory (0 = all). ok is false when this build does not
// have the query.
func (p *packer) runTable(name string, keep int) (q queries.Query, res *queries.Collected, ok bool, err error) {
	return p.runCollect(name, &queries.Collected{Limit: keep})
}

// runCollect is runTable collecting into res (its Limit and Keep say what to keep).
func (p *packer) runCollect(name string, res *queries.Collected) (q queries.Query, _ *queries.Collected, ok bool, err error) {
	q, err = queries.Lookup(name)
	if err != nil {
		p.missing = append(p.missing, name)
		p.log.Debug("evidence pack: query not available", "query", name)
		return q, nil, false, nil
	}
	start := time.Now()
	rows, err := p.run(q)
	if err != nil {
		return q, nil, true, err
	}
	if err := p.writeRows(name, rows, res); err != nil {
		return q, nil, true, err
	}
	p.log.Debug("evidence pack: query", "query", name, "rows", res.Total, "took", time.Since(start).Round(time.Millisecond))
	return q, res, true, nil
}

// writeRows writes rows, redacted, as data/NAME.csv and data/NAME.jsonl, collecting them into
// res; it closes rows.
func (p *packer) writeRows(name string, rows *sql.Rows, res *queries.Collected) error {
	csvf, err := p.create("data/" + name + ".csv")
	if err != nil {
		rows.Close()
		return err
	}
	jsonf, err := p.create("data/" + name + ".jsonl")
	if err != nil {
		rows.Close()
		csvf.abort()
		return err
	}
	n, err := queries.WriteRowsMulti(rows, RedactValue,
		queries.Output{W: csvf, Format: queries.FormatCSV},
		queries.Output{W: jsonf, Format: queries.FormatJSONL},
		queries.Output{Collect: res})
	if err != nil {
		csvf.abort()
		jsonf.abort()
		return fmt.Errorf("evidence pack: %s: %w", name, err)
	}
	if err := csvf.close(); err != nil {
		return err
	}
	if err := jsonf.close(); err != nil {
		return err
	}
	p.counts[name] = n
	p.results[name] = res
	return nil
}

// run runs q in the pack's scope: on the scoped connection when q asks the lineage macros for
// its own scope (every canned query does), otherwise on its own.
func (p *packer) run(q queries.Query) (*sql.Rows, error) {
	if q.ScopeSafe() {
		return p.scope.Run(p.ctx, q)
	}
	return q.Run(p.ctx, p.db, p.o.Params)
}

// tablesKept are the tables the summary and answers.md read whole.
var tablesKept = map[string]bool{"summary": true, "lineage": true, "key-status": true, "iam-changes": true, "left-running": true,
	"aws-markers": true, "compute-launches": true, "credential-misuse": true, "data-access": true, "exposure": true,
	"brute-force": true, "cost": true, "cost-total": true, "evidence-files": true, "integrity": true}

func (p *packer) write() error {
	if _, _, ok, err := p.runTable("summary", 0); err != nil {
		return err
	} else if !ok {
		return errors.New("evidence pack: this build has no summary query")
	}
	start := time.Now()
	if err := p.shareCostSpans(); err != nil {
		return err
	}
	p.log.Debug("evidence pack: cost spans computed", "took", time.Since(start).Round(time.Millisecond))
	var chartList []Chart
	charts, err := PackCharts()
	if err != nil {
		return err
	}
	tableList, err := packTables()
	if err != nil {
		return err
	}
	for _, name := range charts {
		q, res, ok, err := p.runTable(name, 0)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("evidence pack: chart %s: no such query", name) // the list is the queries'
		}
		c, err := BuildChart(q, res)
		if err != nil {
			return err
		}
		c.Files = []string{"data/" + name + ".csv", "data/" + name + ".jsonl"}
		chartList = append(chartList, c)
		delete(p.results, name) // the chart has what it needs
	}
	techs, techErr := p.techniques()
	if techErr != nil {
		return techErr
	}
	flagged := flaggedEvents(techs)
	marked := 0
	var tables []Table
	var lineageChart *Chart
	var timelineQ queries.Query
	var timelineOK bool
	for _, t := range tableList {
		keep := 1
		if t.page {
			keep = pageRows
		}
		if tablesKept[t.name] {
			keep = 0
		}
		res := &queries.Collected{Limit: keep}
		if t.name == "timeline" { // the rows the techniques link to, and the marked events counted
			res.Limit = pageRows
			res.Keep = func(vals []any) bool {
				if j := res.Column("integrity"); j >= 0 && vals[j] != nil {
					marked++
				}
				j := res.Column("event_id")
				id, _ := vals[max(j, 0)].(string)
				return j >= 0 && flagged[id]
			}
		}
		q, res, ok, err := p.runCollect(t.name, res)
		if err != nil {
			return err
		}
		if t.name == "timeline" {
			timelineQ, timelineOK = q, ok
		}
		if t.name == "lineage" && ok { // the lineage is also drawn, as a tree of derivations
			if c, err := BuildChart(q, res); err == nil {
				c.Files = []string{"data/lineage.csv", "data/lineage.jsonl"}
				lineageChart = &c
			} else if !errors.Is(err, ErrNoChart) {
				return err
			}
		}
		if !t.page {
			continue
		}
		if t.name == "left-running" && !p.createdAnything() {
			t.empty = nothingCreated + "."
		}
		if t.omit && ok && res.Total == 0 {
			continue // its data files say so; the page stays short
		}
		tables = append(tables, pageTable(t, q, res, ok))
	}
	if lineageChart != nil {
		chartList = append([]Chart{*lineageChart}, chartList...)
	}
	// Techniques observed, and the timeline rows they link to, after how each key was used.
	tlRes := p.results["timeline"]
	techTables := []Table{techniquesTable(techs, timelineRows(tlRes), true), flaggedTable(timelineQ, tlRes, timelineOK)}
	at := len(tables)
	for i, t := range tables {
		if t.Name == "key-usage" {
			at = i + 1
		}
	}
	tables = slices.Insert(tables, at, techTables...)
	p.techs = techs
	ct := p.cost()
	integ, err := p.integrity(marked)
	if err != nil {
		return err
	}
	p.costText, p.integ = ct, integ
	for i, t := range tables {
		switch t.Name {
		case "cost":
			tables[i] = costTable(t, ct)
		case "evidence-files":
			tables[i].Lead = integ.text
		}
	}
	if err := p.writeEvents(); err != nil {
		return err
	}
	sources, err := p.sources()
	if err != nil {
		return err
	}
	sum := p.summary()
	sum.items = append(sum.items, p.sectionSummary()...)
	steps, done := p.doNow()
	if err := p.writePage(sum, chartList, tables, steps, done); err != nil {
		return err
	}
	if err := p.writeAnswers(sum, steps, done); err != nil {
		return err
	}
	return p.writeManifest(sources)
}

func pageTable(t packTable, q queries.Query, res *queries.Collected, ok bool) Table {
	pt := Table{Name: t.name, Query: t.name, Title: t.title, Description: q.Description, Empty: t.empty}
	if !ok {
		pt.Note = "this build of trailhound has no query " + t.name + "."
		return pt
	}
	pt.Available = true
	pt.Files = []string{"data/" + t.name + ".csv", "data/" + t.name + ".jsonl"}
	pt.Columns = res.Columns
	pt.Total = res.Total
	pt.Collapsed = res.Total > openRows
	for i, row := range res.Text {
		if i == pageRows {
			break
		}
		cells := make([]Cell, len(row))
		for j, s := range row {
			c := Cell{}
			switch {
			case res.Numeric[j]:
				c.Class = "num"
			case strings.HasPrefix(res.Types[j], "TIMESTAMP") || res.Types[j] == "DATE":
				c.Class = "time"
			}
			if l, ok := res.Values[i][j].([]any); ok && scalars(l) {
				s, c.Class = listText(l), "list" // one item a line reads better than JSON
			}
			c.Text = clip(s, 400)
			cells[j] = c
		}
		pt.Rows = append(pt.Rows, cells)
		pt.RowIDs = append(pt.RowIDs, rowID(t.name, i))
	}
	if res.Total > len(pt.Rows) {
		pt.Note = fmt.Sprintf("The first %d of %d rows; every row is in the CSV and JSONL files.", len(pt.Rows), res.Total)
	}
	return pt
}

// scalars reports whether a list holds only strings, numbers, booleans or NULLs.
func scalars(l []any) bool {
	for _, v := range l {
		switch v.(type) {
		case []any, map[string]any:
			return false
		}
	}
	return true
}

// listText shows a list one item a line, each as display text.
func listText(l []any) string {
	items := make([]string, 0, len(l))
	for _, v := range l {
		if v == nil {
			continue
		}
		items = append(items, queries.DisplayText(label(v)))
	}
	return strings.Join(items, "\n")
}

// clip shortens long cell text for the page (the files keep it whole).
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && s[cut]&0xc0 == 0x80 { // do not split a UTF-8 sequence
		cut--
	}
	return s[:cut] + " … (cut; whole in the files)"
}

// writeEvents writes the lineage's events, whole and redacted, one CloudTrail record a line.
func (p *packer) writeEvents() error {
	const name = "lineage-events"
	q, err := queries.Lookup(name)
	if err != nil {
		p.missing = append(p.missing, name)
		return nil
	}
	rows, err := p.run(q)
	if err != nil {
		return err
	}
	defer rows.Close()
	f, err := p.create("data/" + name + ".jsonl")
	if err != nil {
		return err
	}
	var (
		t      sql.NullTime
		id     string
		record string
		n      int
		buf    bytes.Buffer
	)
	for rows.Next() {
		if err := rows.Scan(&t, &id, &record); err != nil {
			f.abort()
			return fmt.Errorf("evidence pack: %s: %w", name, err)
		}
		rec := RedactJSON([]byte(record))
		if bytes.ContainsAny(rec, "\n\r") { // a pretty-printed source: one line per record
			buf.Reset()
			if err := json.Compact(&buf, rec); err == nil {
				rec = buf.Bytes()
			}
		}
		if _, err := f.Write(rec); err != nil {
			f.abort()
			return fmt.Errorf("evidence pack: %s: %w", name, err)
		}
		if _, err := f.Write([]byte{'\n'}); err != nil {
			f.abort()
			return fmt.Errorf("evidence pack: %s: %w", name, err)
		}
		n++
	}
	if err := rows.Err(); err != nil {
		f.abort()
		return fmt.Errorf("evidence pack: %s: %w", name, err)
	}
	p.counts[name] = n
	return f.close()
}

// sources reads the store's provenance for the manifest, and writes it as a table too.
func (p *packer) sources() ([]SourceFile, error) {
	_, res, ok, err := p.runTable("source-files", 0)
	if err != nil || !ok {
		return nil, err
	}
	var out []SourceFile
	for _, row := range res.Values {
		get := func(col string) any {
			if i := res.Column(col); i >= 0 {
				return row[i]
			}
			return nil
		}
		sf := SourceFile{Kind: str(get("kind")), URI: str(get("uri")), SHA256: str(get("sha256")),
			ETag: str(get("etag")), Shape: str(get("shape")), ReadAt: timeText(get("read_at")),
			LastModified: timeText(get("last_modified")), VerdictDetail: str(get("verdict_detail"))}
		if v := get("verdict"); v != nil {
			s := str(v)
			sf.Verdict = &s
		}
		if v, ok := number(get("size")); ok && get("size") != nil {
			n := int64(v)
			sf.Size = &n
		}
		if v, ok := number(get("records")); ok {
			sf.Records = int64(v)
		}
		out = append(out, sf)
	}
	delete(p.results, "source-files")
	return out, nil
}

func (p *packer) writePage(sum summary, chartList []Chart, tables []Table, steps, done []Action) error {
	f, err := p.create("index.html")
	if err != nil {
		return err
	}
	pg := Page{
		Title:    "Evidence pack: what access key " + strings.Join(p.o.Params.Keys, ", ") + " did",
		Subtitle: []string{scopeText(p.o.Params), p.madeBy()},
		DoNow:    steps,
		Done:     done,
		Summary:  sum.items,
		Notes:    sum.notes,
		TOC:      true,
		Charts:   chartList,
		Tables:   tables,
		Version:  p.o.Version,
		Footer: []string{
			"All times are UTC. This page works with no network: the chart library (Apache ECharts " + EChartsVersion +
				", Apache License 2.0) is inside it, and it loads nothing from anywhere.",
			"Every table is also in data/ as CSV and JSONL; data/lineage-events.jsonl holds the lineage's CloudTrail " +
				"records whole, one per line. manifest.json lists every file of this pack with its SHA-256, and the " +
				"CloudTrail files and objects the store was loaded from with theirs.",
			RedactionRule,
			"In CSV files, a text cell that begins with =, +, -, @, tab or carriage return starts with a ' so that " +
				"spreadsheets show it as text instead of running it.",
		},
	}
	if groups := stillThere(p.results["left-running"]); len(groups) > 0 {
		pg.Top = append(pg.Top, stillTable(groups, p.results["left-running"].Total))
	}
	if err := RenderPage(f, pg); err != nil {
		f.abort()
		return err
	}
	return f.close()
}

func (p *packer) madeBy() string {
	s := "Made by trailhound " + p.o.Version
	if !p.o.RunAt.IsZero() {
		s += " on " + fmtTime(p.o.RunAt)
	}
	if p.o.RunBy != "" {
		s += " by " + p.o.RunBy
	}
	return s + ". All times are UTC."
}

func scopeText(pr queries.Params) string {
	s := "Scope: access key " + strings.Join(pr.Keys, ", ") + " and every credential made from it (its lineage)"
	switch {
	case pr.From.IsZero() && pr.To.IsZero():
		return s + ", over every event in the store."
	case pr.To.IsZero():
		return s + ", from " + fmtTime(pr.From) + "."
	case pr.From.IsZero():
		return s + ", until " + fmtTime(pr.To) + "."
	}
	return s + ", from " + fmtTime(pr.From) + " until " + fmtTime(pr.To) + "."
}

func (p *packer) writeManifest(sources []SourceFile) error {
	slices.SortFunc(p.files, func(a, b PackFile) int { return strings.Compare(a.Path, b.Path) })
	m := Manifest{
		Tool:      "trailhound",
		Version:   p.o.Version,
		Command:   p.o.Command,
		RunBy:     p.o.RunBy,
		Scope:     ManifestScope{Keys: p.o.Params.Keys},
		Store:     p.o.StorePath,
		Redaction: RedactionRule,
		Charts:    "Apache ECharts " + EChartsVersion + " (npm package echarts), inlined in index.html",
		Missing:   p.missing,
		Sources:   sources,
		Files:     p.files,
		Counts:    p.counts,
	}
	if !p.o.RunAt.IsZero() {
		m.RunAt = p.o.RunAt.UTC().Format(time.RFC3339)
	}
	if !p.o.Params.From.IsZero() {
		m.Scope.From = p.o.Params.From.UTC().Format(time.RFC3339)
	}
	if !p.o.Params.To.IsZero() {
		m.Scope.To = p.o.Params.To.UTC().Format(time.RFC3339)
	}
	if m.Missing == nil {
		m.Missing = []string{}
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("evidence pack: manifest: %w", err)
	}
	full := filepath.Join(p.dir, "manifest.json")
	if err := os.WriteFile(full, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("evidence pack: %w", err)
	}
	return nil
}

func str(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

func timeText(v any) string {
	if t, ok := v.(time.Time); ok {
		return t.UTC().Format(time.RFC3339Nano)
	}
	return ""
}

// fmtTime is how the page and answers.md show a time.
func fmtTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") + " UTC" }

var _ io.Writer = (*hashedFile)(nil)
