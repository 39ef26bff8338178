package synth

import "math/rand/v2"

// Stub kinds.
const (
	kAttack uint8 = iota
	kOwner
	kNoise
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
	default:
		rd.reseed(s.seed)
		rd.noise(s)
		rd.rc.emit(w)
	}
}
