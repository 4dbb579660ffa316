package streams

import (
	"strconv"
	"unsafe"
)

// scanFix reads a fix in the shape GPS senders actually send — one flat object of the
// known lower-case keys with plain strings and numbers — without reflection, about
// five times faster than encoding/json. It fills in exactly what json.Unmarshal would
// and reports false, leaving the work to json.Unmarshal, at anything else: escapes,
// non-ASCII, null, other keys or key case, malformed input. raw is trimmed of space.
// FuzzScanFix holds it to json.Unmarshal.
func scanFix(raw []byte, in *fixBody) bool {
	p := fixScanner{b: raw}
	if !p.byte('{') {
		return false
	}
	if p.space(); p.peek() == '}' {
		p.i++
		return p.i == len(p.b)
	}
	for {
		key, ok := p.str()
		if !ok || !p.colon() {
			return false
		}
		p.space()
		switch string(key) {
		case "unit":
			s, ok := p.str()
			if !ok {
				return false
			}
			in.Unit = string(s)
		case "t":
			start := p.i
			if p.peek() == '"' {
				if _, ok := p.str(); !ok {
					return false
				}
			} else if _, ok := p.num(); !ok {
				return false
			}
			// A time in a form WireTime refuses goes the slow way for the same error.
			if in.T.UnmarshalJSON(p.b[start:p.i]) != nil {
				return false
			}
		case "type": // of a fix sent over a WebSocket; no field of the fix
			if _, ok := p.str(); !ok {
				return false
			}
		case "lat", "lng", "speed", "heading", "accuracy":
			f, ok := p.num()
			if !ok {
				return false
			}
			switch key[0] {
			case 'l':
				if key[1] == 'a' {
					in.Lat = f
				} else {
					in.Lng = f
				}
			case 's':
				in.Speed = f
			case 'h':
				in.Heading = f
			default:
				in.Accuracy = f
			}
		default:
			return false
		}
		p.space()
		switch p.next() {
		case ',':
			p.space()
			continue
		case '}':
			return p.i == len(p.b)
		}
		return false
	}
}

type fixScanner struct {
	b []byte
	i int
}

func (p *fixScanner) peek() byte {
	if p.i < len(p.b) {
		return p.b[p.i]
	}
	return 0
}

func (p *fixScanner) next() byte {
	c := p.peek()
	p.i++
	return c
}

func (p *fixScanner) byte(c byte) bool { return p.next() == c }

func (p *fixScanner) space() {
	for p.i < len(p.b) && isJSONSpace(p.b[p.i]) {
		p.i++
	}
}

func (p *fixScanner) colon() bool {
	p.space()
	return p.byte(':')
}

// str reads a string of printable ASCII without escapes and returns its contents.
func (p *fixScanner) str() ([]byte, bool) {
	if !p.byte('"') {
		return nil, false
	}
	start := p.i
	for ; p.i < len(p.b); p.i++ {
		switch c := p.b[p.i]; {
		case c == '"':
			p.i++
			return p.b[start : p.i-1], true
		case c < 0x20 || c >= 0x80 || c == '\\':
			return nil, false
		}
	}
	return nil, false
}

// num reads a number in JSON's grammar (which is stricter than strconv's: no '+',
// no leading zeros, no hex, no bare '.').
func (p *fixScanner) num() (float64, bool) {
	start := p.i
	p.skip('-')
	switch {
	case p.skip('0'):
	case p.digits() == 0:
		return 0, false
	}
	if p.skip('.') && p.digits() == 0 {
		return 0, false
	}
	if p.skip('e') || p.skip('E') {
		if !p.skip('+') {
			p.skip('-')
		}
		if p.digits() == 0 {
			return 0, false
		}
	}
	b := p.b[start:p.i]
	f, err := strconv.ParseFloat(unsafe.String(unsafe.SliceData(b), len(b)), 64)
	return f, err == nil
}

func (p *fixScanner) skip(c byte) bool {
	if p.peek() == c {
		p.i++
		return true
	}
	return false
}

func (p *fixScanner) digits() int {
	n := 0
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		p.i++
		n++
	}
	return n
}
