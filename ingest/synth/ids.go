package synth

import (
	"encoding/base32"
	"math/rand/v2"
	"time"
)

const (
	hexd    = "0123456789abcdef"
	upperAN = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	alnum   = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b64     = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	lowerAN = "abcdefghijklmnopqrstuvwxyz0123456789"
)

// mix is splitmix64 over a^b; it derives independent seeds.
func mix(a, b uint64) uint64 {
	z := a ^ (b+0x9e3779b97f4a7c15)*0xbf58476d1ce4e5b9
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// awsID returns an IAM unique identifier such as AKIA…, ASIA…, AIDA… or AROA….
// Its 16-character base32 body encodes the account id the way AWS does
// (bits 46..7 of the first six decoded bytes), so tools that derive the
// account from a key id get the right answer, and all ids of one account share
// their first eight characters, as real ones do.
func awsID(prefix string, acct uint64, r *rand.Rand) string {
	var raw [10]byte
	z := uint64(1)<<47 | (acct&(1<<40-1))<<7 | r.Uint64()&0x7f
	for i := 0; i < 6; i++ {
		raw[i] = byte(z >> (40 - 8*uint(i)))
	}
	x := r.Uint32()
	raw[6], raw[7], raw[8], raw[9] = byte(x>>24), byte(x>>16), byte(x>>8), byte(x)
	return prefix + base32.StdEncoding.EncodeToString(raw[:])
}

// appendUUID appends a version-4 style GUID.
func appendUUID(b []byte, r *rand.Rand) []byte {
	hi, lo := r.Uint64(), r.Uint64()
	hi = hi&^(0xf<<12) | 4<<12
	lo = lo&^(3<<62) | 2<<62
	var s [36]byte
	j := 0
	for i := 0; i < 16; i++ {
		if i == 8 || i == 12 {
			s[j] = '-'
			j++
		}
		s[j] = hexd[(hi>>(60-4*uint(i)))&0xf]
		j++
	}
	for i := 0; i < 16; i++ {
		if i == 0 || i == 4 {
			s[j] = '-'
			j++
		}
		s[j] = hexd[(lo>>(60-4*uint(i)))&0xf]
		j++
	}
	return append(b, s[:]...)
}

func uuid(r *rand.Rand) string {
	var b [36]byte
	return string(appendUUID(b[:0], r))
}

// pick returns n random characters from set.
func pick(r *rand.Rand, set string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = set[r.IntN(len(set))]
	}
	return string(b)
}

func hexN(r *rand.Rand, n int) string { return pick(r, hexd, n) }

// resID returns an EC2 style resource id such as i-0123456789abcdef0.
func resID(r *rand.Rand, prefix string) string { return prefix + "-0" + hexN(r, 16) }

// s3ReqID is the 16-character upper-case request id S3 uses.
func s3ReqID(r *rand.Rand) string { return pick(r, upperAN, 16) }

// amzID2 mimics the x-amz-id-2 host id (base64, 76 chars).
func amzID2(r *rand.Rand) string { return pick(r, b64, 75) + "=" }

// sessionToken mimics an STS session token.
func sessionToken(r *rand.Rand, n int) string {
	return "IQoJb3JpZ2luX2Vj" + pick(r, b64, n)
}

// iamDate formats like IAM createDate values: "Nov 7, 2026 11:26:40 PM".
func iamDate(unix int64) string {
	return time.Unix(unix, 0).UTC().Format("Jan 2, 2006 3:04:05 PM")
}

// stsDate formats like STS expirations: "Nov 7, 2026, 11:26:40 PM".
func stsDate(unix int64) string {
	return time.Unix(unix, 0).UTC().Format("Jan 2, 2006, 3:04:05 PM")
}
