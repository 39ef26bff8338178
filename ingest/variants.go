package ingest

import (
	"encoding/hex"

	"github.com/zeebo/xxh3"
)

// What "the same event" means. Two records are one event delivered twice (merged: one
// row, a source for each delivery) when they have the same eventID and the same canonical
// JSON (internal/canonjson: key order, whitespace, string escapes and number spelling
// removed). With the same eventID and other content (another time, user, address...) they
// are variants of that eventID, and each is kept: a forensic store never drops a record
// because an id repeats. Variants are numbered per eventID in the order the store first
// saw them (0, 1, 2...; a number is never reused, so a variant lost with an object that
// could not be stored leaves a gap).
//
// Nothing else is ignored. The known differences between an S3 trail record and the same
// event in event history (LookupEvents' CloudTrailEvent string) are of spelling only: the
// history string is the record serialised again, compactly, with other key order and
// escapes. No real pair showed more (../shared/realdata has no event in both sources; its
// re-deliveries, e.g. the SANS lab's, are identical records), so no field is left out of
// the comparison.

// hashKey is the first half of a record's hash: what the writer keeps in memory.
type hashKey [16]byte

func hashKeyOf(h [32]byte) (k hashKey) {
	copy(k[:], h[:16])
	return k
}

// variantOf is one variant of an eventID: its hash and number.
type variantOf struct {
	h hashKey
	v int32
}

// eventVariants is what the writer knows of one eventID: its first variant (v < 0 once
// removed) and the number the next new variant gets. Other variants are in variantBook.more.
type eventVariants struct {
	first variantOf
	next  int32
}

// variantBook holds every (eventID, content) stored or staged, with its variant number.
type variantBook struct {
	ids  map[[16]byte]eventVariants // by idKey(eventID)
	more map[[16]byte][]variantOf   // variants after an eventID's first
}

func newVariantBook() variantBook {
	return variantBook{ids: map[[16]byte]eventVariants{}, more: map[[16]byte][]variantOf{}}
}

func idKey(id string) [16]byte { return xxh3.HashString128(id).Bytes() }

// find returns the number of the variant of eventID k with hash h.
func (b *variantBook) find(k [16]byte, h hashKey) (int32, bool) {
	e, ok := b.ids[k]
	if !ok {
		return 0, false
	}
	if e.first.v >= 0 && e.first.h == h {
		return e.first.v, true
	}
	if e.next > 1 || e.first.v < 0 {
		for _, o := range b.more[k] {
			if o.h == h {
				return o.v, true
			}
		}
	}
	return 0, false
}

// add numbers a new variant of eventID k.
func (b *variantBook) add(k [16]byte, h hashKey) int32 {
	e, ok := b.ids[k]
	if !ok {
		b.ids[k] = eventVariants{first: variantOf{h, 0}, next: 1}
		return 0
	}
	v := e.next
	b.put(k, h, v)
	return v
}

// put records variant v of eventID k (as stored).
func (b *variantBook) put(k [16]byte, h hashKey, v int32) {
	e, ok := b.ids[k]
	switch {
	case !ok:
		e = eventVariants{first: variantOf{h, v}}
	case e.first.v < 0:
		e.first = variantOf{h, v}
	default:
		b.more[k] = append(b.more[k], variantOf{h, v})
	}
	e.next = max(e.next, v+1)
	b.ids[k] = e
}

// remove forgets the variant of eventID k with hash h (its object could not be stored);
// its number is not given again.
func (b *variantBook) remove(k [16]byte, h hashKey) {
	e, ok := b.ids[k]
	if !ok {
		return
	}
	if e.first.v >= 0 && e.first.h == h {
		e.first.v = -1
		b.ids[k] = e
		return
	}
	m := b.more[k]
	for i, o := range m {
		if o.h == h {
			b.more[k] = append(m[:i:i], m[i+1:]...)
			return
		}
	}
}

// hashHex is a record hash as the store keeps it (event_rows.record_hash).
func hashHex(h [32]byte) string { return hex.EncodeToString(h[:]) }

// hashKeyHex reads the hash key from a stored record_hash.
func hashKeyHex(s string) (k hashKey, ok bool) {
	if len(s) < 32 {
		return k, false
	}
	_, err := hex.Decode(k[:], []byte(s[:32]))
	return k, err == nil
}
