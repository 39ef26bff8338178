package synth

import "strconv"

// jw is a minimal append-only JSON writer. Separators are inserted
// automatically: a comma is written before a key or value unless the previous
// byte opened a container or ended a key.
type jw struct {
	b []byte
}

func (w *jw) sep() {
	if n := len(w.b); n > 0 {
		switch w.b[n-1] {
		case '{', '[', ':':
		default:
			w.b = append(w.b, ',')
		}
	}
}

func (w *jw) obj()  { w.sep(); w.b = append(w.b, '{') }
func (w *jw) end()  { w.b = append(w.b, '}') }
func (w *jw) earr() { w.b = append(w.b, ']') }

func (w *jw) key(k string) {
	w.sep()
	w.b = append(w.b, '"')
	w.b = append(w.b, k...)
	w.b = append(w.b, '"', ':')
}

// ko opens an object under key k.
func (w *jw) ko(k string) { w.key(k); w.b = append(w.b, '{') }

// ka opens an array under key k.
func (w *jw) ka(k string) { w.key(k); w.b = append(w.b, '[') }

// emptyObj writes "k":{}.
func (w *jw) emptyObj(k string) { w.key(k); w.b = append(w.b, '{', '}') }

// emptyArr writes "k":[].
func (w *jw) emptyArr(k string) { w.key(k); w.b = append(w.b, '[', ']') }

func (w *jw) str(s string) { w.sep(); w.b = appendQuoted(w.b, s) }

func (w *jw) ks(k, v string) { w.key(k); w.b = appendQuoted(w.b, v) }

func (w *jw) ki(k string, v int64) { w.key(k); w.b = strconv.AppendInt(w.b, v, 10) }

func (w *jw) kb(k string, v bool) { w.key(k); w.b = strconv.AppendBool(w.b, v) }

func (w *jw) knull(k string) { w.key(k); w.b = append(w.b, "null"...) }

// kt writes an RFC 3339 UTC second-resolution timestamp.
func (w *jw) kt(k string, unix int64) {
	w.key(k)
	w.b = append(w.b, '"')
	w.b = appendTime(w.b, unix)
	w.b = append(w.b, '"')
}

// raw appends an already encoded JSON value.
func (w *jw) raw(b []byte) { w.sep(); w.b = append(w.b, b...) }

// appendQuoted appends s as a JSON string. Non-ASCII UTF-8 passes through.
func appendQuoted(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"':
			b = append(b, '\\', '"')
		case '\\':
			b = append(b, '\\', '\\')
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hexd[c>>4], hexd[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendTime appends unix seconds as "2006-01-02T15:04:05Z" (UTC).
func appendTime(b []byte, unix int64) []byte {
	days := unix / 86400
	secs := unix % 86400
	if secs < 0 {
		secs += 86400
		days--
	}
	y, m, d := civil(days)
	b = append4(b, y)
	b = append(b, '-')
	b = append2(b, m)
	b = append(b, '-')
	b = append2(b, d)
	b = append(b, 'T')
	b = append2(b, int(secs/3600))
	b = append(b, ':')
	b = append2(b, int(secs/60%60))
	b = append(b, ':')
	b = append2(b, int(secs%60))
	return append(b, 'Z')
}

// civil converts days since 1970-01-01 to a proleptic Gregorian date
// (H. Hinnant's algorithm).
func civil(z int64) (y, m, d int) {
	z += 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era = (z - 146096) / 146097
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	yy := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	dd := doy - (153*mp+2)/5 + 1
	mm := mp + 3
	if mp >= 10 {
		mm = mp - 9
	}
	if mm <= 2 {
		yy++
	}
	return int(yy), int(mm), int(dd)
}

func append2(b []byte, v int) []byte {
	return append(b, byte('0'+v/10), byte('0'+v%10))
}

func append4(b []byte, v int) []byte {
	return append(b, byte('0'+v/1000%10), byte('0'+v/100%10), byte('0'+v/10%10), byte('0'+v%10))
}
