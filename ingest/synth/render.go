package synth

import (
	"fmt"
	"math/rand/v2"
)

// Stub kinds.
const (
	kAttack uint8 = iota
	kOwner
	kNoise
	kReused // a sign-in that shares its eventID with others (Options.ReusedIDSignIns)
)

// stub is a planned record: enough to render it deterministically later.
type stub struct {
	t    int64  // eventTime, unix seconds
	seed uint64 // per-record RNG seed
	dwin int32  // delivery batch: 5-minute window index (unix/300)
	aux  uint32 // attack: index into gen.attack; owner: session index
	kind uint8
	sub  uint8 // owner: op; noise: burst theme
	reg  uint8
	acct uint8
}

// renderer renders stubs into JSON; one per worker.
type renderer struct {
	g    *gen
	pcg  *rand.PCG
	r    *rand.Rand
	pcg2 *rand.PCG // for values derived from a time slot rather than the record
	r2   *rand.Rand
	rc   rec
	sc   sessCtx // scratch sessionContext of rc (avoids an allocation per record)
}

func newRenderer(g *gen) *renderer {
	pcg, pcg2 := rand.NewPCG(0, 0), rand.NewPCG(0, 0)
	return &renderer{g: g, pcg: pcg, r: rand.New(pcg), pcg2: pcg2, r2: rand.New(pcg2)}
}

// slotRand returns the secondary RNG seeded with s.
func (rd *renderer) slotRand(s uint64) *rand.Rand {
	rd.pcg2.Seed(s, 0x736c6f74)
	return rd.r2
}

func (rd *renderer) reseed(s uint64) { rd.pcg.Seed(s, 0x74726c68) }

// render appends the record for s.
func (rd *renderer) render(w *jw, s *stub) {
	switch s.kind {
	case kAttack:
		w.raw(rd.g.attack[s.aux].data)
	case kOwner:
		rd.reseed(s.seed)
		rd.owner(s)
		rd.rc.emit(w)
	case kReused:
		rd.reseed(s.seed)
		rd.reused(s)
		rd.rc.emit(w)
	default:
		rd.reseed(s.seed)
		rd.noise(s)
		rd.rc.emit(w)
	}
}

// reused fills rd.rc for a sign-in that shares its eventID (planReusedIDs): sign-in i is
// by user contractor-NN, from 198.51.100.(10+i), with eventID ReusedIDs[i%2].
func (rd *renderer) reused(s *stub) {
	g := rd.g
	a := g.accts[s.acct]
	rc := &rd.rc
	i := int(s.aux)
	rc.begin(rd.r, a.id, s.t, "signin.amazonaws.com", "ConsoleLogin", g.region(s.reg))
	rc.evID = g.m.ReusedIDs[i%len(g.m.ReusedIDs)]
	rc.reqID = ""
	rc.evType = "AwsConsoleSignIn"
	user := reusedUser(i)
	rc.id = ident{typ: "IAMUser", pid: fmt.Sprintf("AIDAREUSEDID%08d", i+1), arn: "arn:aws:iam::" + a.id + ":user/" + user, acct: a.id, user: user}
	rc.ip = fmt.Sprintf("198.51.100.%d", 10+i)
	rc.ua = ownerBrowser
	rc.resp = func(w *jw) { w.ks("ConsoleLogin", "Success") }
	rc.tlsHost = "signin.aws.amazon.com"
}
