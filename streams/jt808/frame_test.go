package jt808

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

func TestEscape(t *testing.T) {
	tests := []struct {
		name           string
		plain, escaped []byte
	}{
		{"empty", []byte{}, []byte{}},
		{"plain", []byte{0x01, 0x02, 0x30}, []byte{0x01, 0x02, 0x30}},
		{"flag", []byte{0x7e}, []byte{0x7d, 0x02}},
		{"escape", []byte{0x7d}, []byte{0x7d, 0x01}},
		{"both", []byte{0x30, 0x7e, 0x08, 0x7d, 0x55}, []byte{0x30, 0x7d, 0x02, 0x08, 0x7d, 0x01, 0x55}},
		{"runs", []byte{0x7e, 0x7e, 0x7d, 0x7d}, []byte{0x7d, 0x02, 0x7d, 0x02, 0x7d, 0x01, 0x7d, 0x01}},
		// 0x7d 0x02 as data must not be read back as an escaped 0x7e.
		{"escape then 02", []byte{0x7d, 0x02}, []byte{0x7d, 0x01, 0x02}},
		{"neighbours", []byte{0x7c, 0x7f, 0x01, 0x02}, []byte{0x7c, 0x7f, 0x01, 0x02}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := AppendEscaped(nil, tt.plain); !bytes.Equal(got, tt.escaped) {
				t.Errorf("AppendEscaped = %x, want %x", got, tt.escaped)
			}
			got, err := Unescape(nil, tt.escaped)
			if err != nil || !bytes.Equal(got, tt.plain) {
				t.Errorf("Unescape = %x, %v; want %x", got, err, tt.plain)
			}
		})
	}
}

func TestUnescapeErrors(t *testing.T) {
	for _, in := range [][]byte{{0x7d}, {0x01, 0x7d}, {0x7d, 0x00}, {0x7d, 0x03}, {0x7d, 0x7d}, {0x7d, 0x7e}, {0x01, 0x7e, 0x02}} {
		if _, err := Unescape(nil, in); !errors.Is(err, ErrEscape) || !errors.Is(err, ErrBadFrame) {
			t.Errorf("Unescape(%x) err = %v, want ErrEscape", in, err)
		}
	}
}

func TestChecksum(t *testing.T) {
	tests := []struct {
		in   []byte
		want byte
	}{
		{nil, 0},
		{[]byte{0x5a}, 0x5a},
		{[]byte{0x01, 0x02, 0x04}, 0x07},
		{[]byte{0xff, 0xff}, 0},
		// Heartbeat of line 92 of the sample file.
		{[]byte{0x00, 0x02, 0x00, 0x00, 0x04, 0x30, 0x48, 0x32, 0x54, 0x65, 0x00, 0xb7}, 0xca},
	}
	for _, tt := range tests {
		if got := Checksum(tt.in); got != tt.want {
			t.Errorf("Checksum(%x) = %#x, want %#x", tt.in, got, tt.want)
		}
	}
}

// heartbeat is a valid frame: 0x0002 from terminal 43048325465, serial 0xb7.
var heartbeat = []byte{0x7e, 0x00, 0x02, 0x00, 0x00, 0x04, 0x30, 0x48, 0x32, 0x54, 0x65, 0x00, 0xb7, 0xca, 0x7e}

// frameWith builds a valid frame around content, so that tests can make
// frames holding bytes that need escaping.
func frameWith(content []byte) []byte {
	c := append(append([]byte(nil), content...), Checksum(content))
	return reframe(c)
}

func TestScanner(t *testing.T) {
	escaping := frameWith([]byte{0x02, 0x00, 0x7e, 0x7d, 0x11})
	badCheck := bytes.Clone(heartbeat)
	badCheck[len(badCheck)-2] ^= 0xff
	badEscape := []byte{0x7e, 0x00, 0x02, 0x7d, 0x05, 0x00, 0x7e}
	big := frameWith(bytes.Repeat([]byte{0x42}, 40))
	hb := heartbeat[1 : len(heartbeat)-2]

	type step struct {
		payload []byte
		err     error
	}
	tests := []struct {
		name  string
		in    []byte
		max   int
		steps []step // then io.EOF
		end   error
	}{
		{"one", heartbeat, 0, []step{{hb, nil}}, io.EOF},
		{"escaped content", escaping, 0, []step{{[]byte{0x02, 0x00, 0x7e, 0x7d, 0x11}, nil}}, io.EOF},
		{"back to back", cat(heartbeat, heartbeat), 0, []step{{hb, nil}, {hb, nil}}, io.EOF},
		{"noise before, between, after", cat([]byte("AT+OK\r\n"), heartbeat, []byte{0, 1, 2}, heartbeat, []byte("xyz")), 0,
			[]step{{hb, nil}, {hb, nil}}, io.EOF},
		{"repeated flags", cat([]byte{0x7e, 0x7e, 0x7e}, heartbeat, []byte{0x7e, 0x7e}), 0, []step{{hb, nil}}, io.EOF},
		{"bad checksum then good", cat(badCheck, heartbeat), 0, []step{{nil, ErrChecksum}, {hb, nil}}, io.EOF},
		{"bad escape then good", cat(badEscape, heartbeat), 0, []step{{nil, ErrEscape}, {hb, nil}}, io.EOF},
		{"escape before closing flag", cat([]byte{0x7e, 0x01, 0x7d, 0x7e}, heartbeat), 0, []step{{nil, ErrEscape}, {hb, nil}}, io.EOF},
		{"too large then good", cat(big, heartbeat), 20, []step{{nil, ErrFrameTooLarge}, {hb, nil}}, io.EOF},
		{"exactly the limit", heartbeat, len(hb) + 1, []step{{hb, nil}}, io.EOF},
		{"one over the limit", cat(heartbeat, heartbeat), len(hb), []step{{nil, ErrFrameTooLarge}, {nil, ErrFrameTooLarge}}, io.EOF},
		// Out of step: the stream starts inside a frame, so its closing 0x7e
		// looks like an opening one. The scanner reports one bad frame and
		// finds the next good one.
		{"joined mid-frame", cat(heartbeat[5:], []byte{0x99, 0x98}, heartbeat), 0, []step{{nil, ErrChecksum}, {hb, nil}}, io.EOF},
		{"cut mid-frame", heartbeat[:8], 0, nil, io.ErrUnexpectedEOF},
		{"cut after escape", []byte{0x7e, 0x7d}, 0, nil, io.ErrUnexpectedEOF},
		{"only an opening flag", []byte{0x7e}, 0, nil, io.EOF},
		{"empty", nil, 0, nil, io.EOF},
		{"lone check code", []byte{0x7e, 0x00, 0x7e}, 0, []step{{[]byte{}, nil}}, io.EOF},
	}
	for _, tt := range tests {
		for _, oneByte := range []bool{false, true} {
			var r io.Reader = bytes.NewReader(tt.in)
			if oneByte {
				r = iotest.OneByteReader(r)
			}
			sc := NewScanner(r, tt.max)
			for i, st := range tt.steps {
				got, err := sc.Next()
				if st.err != nil {
					if !errors.Is(err, st.err) || !errors.Is(err, ErrBadFrame) {
						t.Errorf("%s (one byte %v): step %d: err = %v, want %v", tt.name, oneByte, i, err, st.err)
					}
					continue
				}
				if err != nil || !bytes.Equal(got, st.payload) {
					t.Errorf("%s (one byte %v): step %d: %x, %v; want %x", tt.name, oneByte, i, got, err, st.payload)
				}
			}
			if _, err := sc.Next(); err != tt.end {
				t.Errorf("%s (one byte %v): at the end err = %v, want %v", tt.name, oneByte, err, tt.end)
			}
		}
	}
}

// A reader error other than EOF ends the stream and is passed on unchanged.
func TestScannerReadError(t *testing.T) {
	boom := errors.New("connection reset")
	sc := NewScanner(io.MultiReader(bytes.NewReader(heartbeat), iotest.ErrReader(boom)), 0)
	if _, err := sc.Next(); err != nil {
		t.Fatal(err)
	}
	if _, err := sc.Next(); err != boom {
		t.Fatalf("err = %v, want %v", err, boom)
	}
}

func TestUnframe(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		err  error
	}{
		{"good", heartbeat, nil},
		{"no delimiters", heartbeat[1 : len(heartbeat)-1], ErrBadFrame},
		{"missing closing flag", heartbeat[:len(heartbeat)-1], ErrBadFrame},
		{"only flags", []byte{0x7e, 0x7e}, ErrBadFrame},
		{"two frames", cat(heartbeat, heartbeat), ErrEscape},
		{"bad check", cat(heartbeat[:len(heartbeat)-2], []byte{0x00, 0x7e}), ErrChecksum},
	}
	for _, tt := range tests {
		_, err := Unframe(tt.in)
		if !errors.Is(err, tt.err) || (tt.err == nil && err != nil) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.err)
		}
	}
}

func cat(parts ...[]byte) []byte {
	return bytes.Join(parts, nil)
}
