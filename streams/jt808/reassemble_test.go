package jt808

import (
	"bytes"
	"testing"
)

// pkg is one package of a sub-packaged message.
func pkg(id, serial, total, index uint16, body string) (Header, []byte) {
	return Header{MsgID: id, Terminal: "1", Serial: serial, Subpackage: true, Total: total, Index: index, BodyLen: len(body)}, []byte(body)
}

func TestReassembler(t *testing.T) {
	type add struct {
		id, serial, total, index uint16
		body                     string
		plain                    bool   // not sub-packaged
		want                     string // body of the completed message, "" for none
		wantSerial               uint16
		err                      bool
	}
	tests := []struct {
		name    string
		lim     ReassemblyLimits
		adds    []add
		pending int
		dropped int
	}{
		{name: "in order", adds: []add{
			{id: 0x0801, serial: 10, total: 3, index: 1, body: "ab"},
			{id: 0x0801, serial: 11, total: 3, index: 2, body: "cd"},
			{id: 0x0801, serial: 12, total: 3, index: 3, body: "e", want: "abcde", wantSerial: 10},
		}},
		{name: "out of order", adds: []add{
			{id: 0x0801, serial: 12, total: 3, index: 3, body: "e"},
			{id: 0x0801, serial: 10, total: 3, index: 1, body: "ab"},
			{id: 0x0801, serial: 11, total: 3, index: 2, body: "cd", want: "abcde", wantSerial: 10},
		}},
		{name: "serial wraps", adds: []add{
			{id: 0x0704, serial: 0xffff, total: 2, index: 1, body: "x"},
			{id: 0x0704, serial: 0x0000, total: 2, index: 2, body: "y", want: "xy", wantSerial: 0xffff},
		}},
		{name: "single package", adds: []add{
			{id: 0x0704, serial: 5, total: 1, index: 1, body: "only", want: "only", wantSerial: 5},
		}},
		{name: "plain messages pass through", adds: []add{
			{id: 0x0200, serial: 1, plain: true, body: "loc", want: "loc", wantSerial: 1},
		}},
		{name: "interleaved messages", adds: []add{
			{id: 0x0801, serial: 10, total: 2, index: 1, body: "A1"},
			{id: 0x0704, serial: 20, total: 2, index: 1, body: "B1"},
			{id: 0x0200, serial: 30, plain: true, body: "L", want: "L", wantSerial: 30},
			{id: 0x0704, serial: 21, total: 2, index: 2, body: "B2", want: "B1B2", wantSerial: 20},
			{id: 0x0801, serial: 11, total: 2, index: 2, body: "A2", want: "A1A2", wantSerial: 10},
		}},
		{name: "same id, two messages", adds: []add{
			{id: 0x0801, serial: 10, total: 2, index: 1, body: "a"},
			{id: 0x0801, serial: 12, total: 2, index: 1, body: "c"},
			{id: 0x0801, serial: 13, total: 2, index: 2, body: "d", want: "cd", wantSerial: 12},
			{id: 0x0801, serial: 11, total: 2, index: 2, body: "b", want: "ab", wantSerial: 10},
		}},
		{name: "duplicate package kept once", adds: []add{
			{id: 0x0801, serial: 10, total: 2, index: 1, body: "a"},
			{id: 0x0801, serial: 10, total: 2, index: 1, body: "z"},
			{id: 0x0801, serial: 11, total: 2, index: 2, body: "b", want: "ab", wantSerial: 10},
		}},
		{name: "index out of range", adds: []add{
			{id: 0x0801, serial: 10, total: 2, index: 3, body: "a", err: true},
			{id: 0x0801, serial: 10, total: 2, index: 0, body: "a", err: true},
			{id: 0x0801, serial: 10, total: 0, index: 0, body: "a", err: true},
		}},
		{name: "too many packages", lim: ReassemblyLimits{MaxPackages: 4}, adds: []add{
			{id: 0x0801, serial: 10, total: 5, index: 1, body: "a", err: true},
		}},
		{name: "total changes", adds: []add{
			{id: 0x0801, serial: 10, total: 3, index: 1, body: "a"},
			{id: 0x0801, serial: 11, total: 4, index: 2, body: "b", err: true},
		}, dropped: 1},
		{name: "byte limit", lim: ReassemblyLimits{MaxBytes: 5}, adds: []add{
			{id: 0x0801, serial: 10, total: 3, index: 1, body: "abc"},
			{id: 0x0704, serial: 20, total: 2, index: 1, body: "x"},
			{id: 0x0801, serial: 11, total: 3, index: 2, body: "def", err: true},
			// The dropped message freed its bytes.
			{id: 0x0704, serial: 21, total: 2, index: 2, body: "yyyy", want: "xyyyy", wantSerial: 20},
		}, dropped: 1},
		{name: "stale message dropped", lim: ReassemblyLimits{MaxAge: 2}, adds: []add{
			{id: 0x0801, serial: 10, total: 2, index: 1, body: "a"},
			{id: 0x0200, serial: 11, plain: true, body: "1", want: "1", wantSerial: 11},
			{id: 0x0200, serial: 12, plain: true, body: "2", want: "2", wantSerial: 12},
			{id: 0x0200, serial: 13, plain: true, body: "3", want: "3", wantSerial: 13},
			// Too late: package 1 is gone, so this starts a new message.
			{id: 0x0801, serial: 11, total: 2, index: 2, body: "b"},
		}, pending: 1, dropped: 1},
		// A long message outlives MaxAge as long as its packages keep coming.
		{name: "long message survives", lim: ReassemblyLimits{MaxAge: 1}, adds: []add{
			{id: 0x0801, serial: 1, total: 4, index: 1, body: "a"},
			{id: 0x0801, serial: 2, total: 4, index: 2, body: "b"},
			{id: 0x0801, serial: 3, total: 4, index: 3, body: "c"},
			{id: 0x0801, serial: 4, total: 4, index: 4, body: "d", want: "abcd", wantSerial: 1},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReassembler(tt.lim)
			for i, a := range tt.adds {
				h, body := pkg(a.id, a.serial, a.total, a.index, a.body)
				if a.plain {
					h.Subpackage, h.Total, h.Index = false, 0, 0
				}
				m, done, err := r.Add(h, body)
				if (err != nil) != a.err {
					t.Fatalf("add %d: err = %v", i, err)
				}
				if done != (a.want != "") {
					t.Fatalf("add %d: complete = %v", i, done)
				}
				if !done {
					continue
				}
				if string(m.Body) != a.want || m.Header.Serial != a.wantSerial || m.Header.MsgID != a.id ||
					m.Header.Subpackage || m.Header.BodyLen != len(a.want) {
					t.Fatalf("add %d: got %+v %q, want %q from serial %d", i, m.Header, m.Body, a.want, a.wantSerial)
				}
			}
			if r.Pending() != tt.pending || r.Dropped() != tt.dropped {
				t.Errorf("pending %d dropped %d, want %d %d", r.Pending(), r.Dropped(), tt.pending, tt.dropped)
			}
		})
	}
}

// Stored packages must not alias the caller's buffer, which the scanner
// overwrites with the next frame.
func TestReassemblerCopies(t *testing.T) {
	r := NewReassembler(ReassemblyLimits{})
	buf := []byte("ab")
	h, _ := pkg(0x0801, 1, 2, 1, "ab")
	if _, _, err := r.Add(h, buf); err != nil {
		t.Fatal(err)
	}
	copy(buf, "XX")
	h, _ = pkg(0x0801, 2, 2, 2, "cd")
	m, done, err := r.Add(h, []byte("cd"))
	if err != nil || !done || !bytes.Equal(m.Body, []byte("abcd")) {
		t.Fatalf("%q %v %v", m.Body, done, err)
	}
}

// Memory stays bounded whatever a terminal sends: never more than MaxBytes
// held, never more than MaxAge incomplete messages.
func TestReassemblerBounded(t *testing.T) {
	lim := ReassemblyLimits{MaxPackages: 1000, MaxBytes: 4096, MaxAge: 8}
	r := NewReassembler(lim)
	body := make([]byte, 100)
	for i := range 10000 {
		// Every message starts and none finishes.
		h, _ := pkg(uint16(i%7), uint16(i*3), 1000, uint16(1+i%999), "")
		_, _, _ = r.Add(h, body)
		if r.bytes > lim.MaxBytes || r.Pending() > lim.MaxAge+1 {
			t.Fatalf("after %d: %d bytes, %d pending", i, r.bytes, r.Pending())
		}
	}
}
