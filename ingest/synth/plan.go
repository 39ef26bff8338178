package synth

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"time"
)

const (
	spanDays = 9   // owner use from Start, incident on days 5..8
	window   = 300 // CloudTrail batches events per region in 5-minute windows
)

// fileDesc is one planned log file: stubs[lo:hi].
type fileDesc struct {
	acct, reg      uint8
	ts             int64 // delivery time in the file name
	lo, hi         int32
	key            string // S3 key relative to the bucket root
	oldest, newest int64
}

// plan decides every record and every file; nothing is written yet.
func (g *gen) plan(ctx context.Context) error {
	g.ops = ownerOps()
	for k := 0; k < 3; k++ {
		c := 0
		g.opCum[k] = make([]int, numOwnerOps)
		for op := range g.ops {
			c += g.ops[op].w[k]
			g.opCum[k][op] = c
		}
	}
	g.noiseTabs = make([][]noiseTable, len(g.accts))
	for i, a := range g.accts {
		g.noiseTabs[i] = g.buildNoiseTables(a)
		a.root = g.acctRoot(a)
	}
	g.planAttack()
	if err := ctx.Err(); err != nil {
		return err
	}

	epf := g.o.EventsPerFile
	distinct := int(math.Round(float64(g.o.Events) / (1 + g.o.DuplicateRate)))
	rest := max(0, distinct-len(g.attack))
	ownerTotal := rest * 8 / 100
	if ownerTotal < 200 {
		ownerTotal = min(rest, 200)
	}
	g.stubs = make([]stub, 0, int(float64(max(distinct, len(g.attack)))*(1+g.o.DuplicateRate)*1.01)+64)
	for i, e := range g.attack {
		g.stubs = append(g.stubs, stub{t: e.t, dwin: int32(e.t / window), aux: uint32(i), kind: kAttack, reg: e.reg})
	}
	n := len(g.accts)
	for i, a := range g.accts {
		share := ownerTotal / n
		if i == 0 {
			share += ownerTotal % n
		}
		g.planOwner(a, share)
	}
	noiseTotal := max(0, distinct-len(g.stubs))
	for i, a := range g.accts {
		share := noiseTotal / n
		if i == 0 {
			share += noiseTotal % n
		}
		g.planNoise(a, share, epf)
	}
	g.planReusedIDs()
	if err := ctx.Err(); err != nil {
		return err
	}

	// Statistics over distinct records.
	g.distinct = len(g.stubs)
	m := &g.m
	m.DistinctEvents = g.distinct
	m.EventsByRegion = map[string]int{}
	m.EventsByAccount = map[string]int{}
	byReg := make([]int, len(g.regions))
	byAcct := make([]int, len(g.accts))
	lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
	for i := range g.stubs {
		s := &g.stubs[i]
		byReg[s.reg]++
		byAcct[s.acct]++
		lo = min(lo, s.t)
		hi = max(hi, s.t)
	}
	for i, c := range byReg {
		if c > 0 {
			m.EventsByRegion[g.regions[i]] = c
		}
	}
	for i, c := range byAcct {
		if c > 0 {
			m.EventsByAccount[g.accts[i].id] = c
		}
	}
	m.From, m.To = time.Unix(lo, 0).UTC(), time.Unix(hi, 0).UTC()

	// Duplicate deliveries: the same record again in a later batch.
	if g.o.DuplicateRate > 0 {
		r := g.rng
		for i := 0; i < g.distinct; i++ {
			if r.Float64() < g.o.DuplicateRate {
				d := g.stubs[i]
				d.dwin += int32(3 + r.IntN(6))
				g.stubs = append(g.stubs, d)
			}
		}
	}
	m.Records = len(g.stubs)
	m.DuplicateRecords = m.Records - m.DistinctEvents

	slices.SortFunc(g.stubs, func(x, y stub) int {
		if c := cmp.Compare(x.acct, y.acct); c != 0 {
			return c
		}
		if c := cmp.Compare(x.reg, y.reg); c != 0 {
			return c
		}
		if c := cmp.Compare(x.dwin, y.dwin); c != 0 {
			return c
		}
		if c := cmp.Compare(x.t, y.t); c != 0 {
			return c
		}
		if c := cmp.Compare(x.kind, y.kind); c != 0 {
			return c
		}
		if c := cmp.Compare(x.aux, y.aux); c != 0 {
			return c
		}
		return cmp.Compare(x.seed, y.seed)
	})
	if err := ctx.Err(); err != nil {
		return err
	}
	g.planFiles(epf)
	return nil
}

// planOwner plans the owner's sessions (console, aws-cli, boto3 scripts).
func (g *gen) planOwner(a *account, total int) {
	if total <= 0 {
		return
	}
	r := g.rng
	days := int((g.end - g.day0) / 86400)
	mean := min(max(total/(days*3), 12), 80)
	dayW := make([]float64, days)
	sum := 0.0
	for d := range dayW {
		wd := time.Unix(g.day0+int64(d)*86400, 0).UTC().Weekday()
		dayW[d] = 1
		if wd == time.Saturday || wd == time.Sunday {
			dayW[d] = 0.25
		}
		sum += dayW[d]
	}
	east := g.regIdx["us-east-1"]
	produced := 0
	for tries := 0; produced < total && tries < 10*total+1000; tries++ {
		x := r.Float64() * sum
		d := 0
		for d < days-1 && x >= dayW[d] {
			x -= dayW[d]
			d++
		}
		h := min(max(12+3*r.NormFloat64(), 6), 21.5)
		start := g.day0 + int64(d)*86400 + int64(h*3600)
		if start < g.start || start >= g.end-3600 {
			continue
		}
		if start >= a.containFrom && start < a.containTo {
			continue
		}
		var kind uint8
		switch u := r.IntN(10); {
		case u < 2:
			kind = sessConsole
		case u < 6:
			kind = sessCLI
		default:
			kind = sessBoto3
		}
		region := a.home[0]
		if r.IntN(10) >= 7 {
			region = a.home[1]
		}
		size := max(2, int(float64(mean)*(0.3+1.4*r.Float64())))
		size = min(size, total-produced)
		ss := ownerSession{start: start, kind: kind, region: region}
		if kind == sessConsole {
			ss.key = awsID("ASIA", a.num, r)
		}
		idx := uint32(len(a.sessions))
		a.sessions = append(a.sessions, ss)
		t := start
		for j := 0; j < size && t < g.end; j++ {
			if t >= a.containFrom && t < a.containTo {
				break // the owner is busy containing the incident
			}
			var op uint8
			if kind == sessConsole && j == 0 {
				op = opConsoleLogin
			} else {
				op = g.pickOp(kind)
			}
			reg := region
			if g.ops[op].global {
				reg = east
			}
			g.stubs = append(g.stubs, stub{t: t, seed: r.Uint64(), dwin: int32(t / window), aux: idx, kind: kOwner, sub: op, reg: reg, acct: uint8(a.idx)})
			produced++
			switch kind {
			case sessConsole:
				t += int64(3 + r.IntN(38))
			case sessCLI:
				t += int64(2 + r.IntN(89))
			default:
				t += int64(r.IntN(4))
			}
		}
	}
}

func (g *gen) pickOp(kind uint8) uint8 {
	c := g.opCum[kind]
	x := g.rng.IntN(c[len(c)-1])
	for op, v := range c {
		if x < v {
			return uint8(op)
		}
	}
	return opGetCallerIdentity
}

// planNoise tops up the batches that already hold owner or incident events
// with service noise (services are busy when people are) and spends the rest
// of the budget on bursts of about EventsPerFile in random regions and
// windows, so files hold about EventsPerFile records.
func (g *gen) planNoise(a *account, total, epf int) {
	if total <= 0 {
		return
	}
	r := g.rng
	type wk struct {
		win int32
		reg uint8
	}
	cnt := map[wk]int{}
	for i := range g.stubs {
		if s := &g.stubs[i]; int(s.acct) == a.idx {
			cnt[wk{s.dwin, s.reg}]++
		}
	}
	keys := make([]wk, 0, len(cnt))
	for k := range cnt {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y wk) int {
		if c := cmp.Compare(x.win, y.win); c != 0 {
			return c
		}
		return cmp.Compare(x.reg, y.reg)
	})
	r.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
	budget := total
	size := func() int { return max(1, int(float64(epf)*(0.7+0.4*r.Float64())+0.5)) }
	for _, k := range keys {
		if budget == 0 {
			break
		}
		add := min(size()-cnt[k], budget)
		if add <= 0 {
			continue
		}
		g.burst(a, k.reg, k.win, add)
		budget -= add
	}
	// Region weights: the trail/global region and the home regions are busier.
	cum := make([]int, len(g.regions))
	c := 0
	for i := range g.regions {
		w := 1
		if g.regions[i] == trailHome {
			w += 2
		}
		if uint8(i) == a.home[0] {
			w += 2
		}
		if uint8(i) == a.home[1] {
			w++
		}
		c += w
		cum[i] = c
	}
	winLo, winHi := int32(g.start/window), int32((g.end-1)/window)
	for budget > 0 {
		n := min(size(), budget)
		x := r.IntN(c)
		reg := 0
		for x >= cum[reg] {
			reg++
		}
		g.burst(a, uint8(reg), winLo+r.Int32N(winHi-winLo+1), n)
		budget -= n
	}
}

// burst adds n noise events in one region and window, mostly of one kind.
func (g *gen) burst(a *account, reg uint8, win int32, n int) {
	r := g.rng
	theme := g.noiseTabs[a.idx][reg].pick(r)
	lo := int64(win) * window
	for j := 0; j < n; j++ {
		t := min(max(lo+r.Int64N(window), g.start), g.end-1)
		g.stubs = append(g.stubs, stub{t: t, seed: r.Uint64(), dwin: int32(t / window), kind: kNoise, sub: theme, reg: reg, acct: uint8(a.idx)})
	}
}

// planFiles cuts the sorted stubs into delivery files. Each (account,
// region, window) batch becomes one or more files named 5-15 minutes after
// the window opened; records inside a file are shuffled.
func (g *gen) planFiles(epf int) {
	r := g.rng
	st := g.stubs
	for i := 0; i < len(st); {
		j := i + 1
		for j < len(st) && st[j].acct == st[i].acct && st[j].reg == st[i].reg && st[j].dwin == st[i].dwin {
			j++
		}
		n := j - i
		grp := st[i:j]
		r.Shuffle(n, func(x, y int) { grp[x], grp[y] = grp[y], grp[x] })
		nf := max(1, (n+epf/2)/epf)
		a := g.accts[st[i].acct]
		region := g.regions[st[i].reg]
		for f := 0; f < nf; f++ {
			lo, hi := i+n*f/nf, i+n*(f+1)/nf
			k := int64(0)
			switch u := r.IntN(20); {
			case u >= 19:
				k = 2
			case u >= 14:
				k = 1
			}
			ts := (int64(st[i].dwin) + 1 + k) * window
			suffix := pick(r, alnum, 16)
			fd := fileDesc{acct: st[i].acct, reg: st[i].reg, ts: ts, lo: int32(lo), hi: int32(hi),
				oldest: math.MaxInt64, newest: math.MinInt64}
			for x := lo; x < hi; x++ {
				fd.oldest = min(fd.oldest, st[x].t)
				fd.newest = max(fd.newest, st[x].t)
			}
			tb := appendTime(nil, ts)
			day := string(tb[0:4]) + "/" + string(tb[5:7]) + "/" + string(tb[8:10])
			stamp := string(tb[0:4]) + string(tb[5:7]) + string(tb[8:10]) + "T" + string(tb[11:13]) + string(tb[14:16]) + "Z"
			fd.key = a.root + "CloudTrail/" + region + "/" + day + "/" + a.id + "_CloudTrail_" + region + "_" + stamp + "_" + suffix + ".json.gz"
			if ts/86400 > fd.oldest/86400 {
				g.m.CrossMidnightFiles++
			}
			g.files = append(g.files, fd)
		}
		i = j
	}
	g.m.Files = len(g.files)
}

// planReusedIDs plans the ReusedIDSignIns sign-ins: in the owner's first days, an hour
// and a few minutes apart, in us-east-1 (where CloudTrail records console sign-ins).
func (g *gen) planReusedIDs() {
	n := g.o.ReusedIDSignIns
	if n == 0 {
		return
	}
	r := g.rng
	ids := []string{uuid(r), uuid(r)}
	slices.Sort(ids)
	g.m.ReusedIDs = ids
	east := g.regIdx["us-east-1"]
	for i := range n {
		t := g.start + int64(i)*3780 + 600
		g.stubs = append(g.stubs, stub{t: t, seed: r.Uint64(), dwin: int32(t / window), aux: uint32(i), kind: kReused, reg: east})
		g.m.ReusedIDUsers = append(g.m.ReusedIDUsers, reusedUser(i))
	}
	slices.Sort(g.m.ReusedIDUsers)
}

func reusedUser(i int) string { return fmt.Sprintf("contractor-%02d", i+1) }
