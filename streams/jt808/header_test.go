package jt808

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

func TestDecodeHeader(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Header
		n    int
	}{
		{"2013", "0200 002e 094027587492 000a", Header{MsgID: 0x0200, BodyLen: 0x2e,
			Phone: [10]byte{0x09, 0x40, 0x27, 0x58, 0x74, 0x92}, Terminal: "94027587492", Serial: 0x0a}, 12},
		{"2019", "0704 402d 01 00000866496077582164 881d", Header{MsgID: 0x0704, Version: Version2019, ProtocolVersion: 1, BodyLen: 0x2d,
			Phone: [10]byte{0, 0, 0x08, 0x66, 0x49, 0x60, 0x77, 0x58, 0x21, 0x64}, Terminal: "866496077582164", Serial: 0x881d}, 17},
		{"2013 sub-packaged", "0801 2010 013912345678 0100 0003 0002", Header{MsgID: 0x0801, BodyLen: 0x10, Subpackage: true, Total: 3, Index: 2,
			Phone: [10]byte{0x01, 0x39, 0x12, 0x34, 0x56, 0x78}, Terminal: "13912345678", Serial: 0x0100}, 16},
		{"2019 sub-packaged, RSA", "0801 6410 01 00000000013912345678 0100 0003 0003", Header{MsgID: 0x0801, Version: Version2019, ProtocolVersion: 1,
			BodyLen: 0x10, Encryption: EncryptionRSA, Subpackage: true, Total: 3, Index: 3,
			Phone: [10]byte{0, 0, 0, 0, 0x01, 0x39, 0x12, 0x34, 0x56, 0x78}, Terminal: "13912345678", Serial: 0x0100}, 21},
		{"all-zero phone", "0200 0000 000000000000 0001", Header{MsgID: 0x0200, Terminal: "0", Serial: 1}, 12},
		{"hex digits in phone", "0102 0020 4f07788ef676 0182", Header{MsgID: 0x0102, BodyLen: 0x20,
			Phone: [10]byte{0x4f, 0x07, 0x78, 0x8e, 0xf6, 0x76}, Terminal: "4f07788ef676", Serial: 0x0182}, 12},
		{"body follows", "0002 0000 013912345678 0007 ffff", Header{MsgID: 0x0002,
			Phone: [10]byte{0x01, 0x39, 0x12, 0x34, 0x56, 0x78}, Terminal: "13912345678", Serial: 7}, 12},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := mustHex(tt.in)
			got, n, err := DecodeHeader(in)
			if err != nil || n != tt.n || got != tt.want {
				t.Fatalf("DecodeHeader = %+v, %d, %v; want %+v, %d", got, n, err, tt.want, tt.n)
			}
			if got.Len() != n {
				t.Errorf("Len() = %d, want %d", got.Len(), n)
			}
			enc, err := AppendHeader(nil, got, got.BodyLen)
			if err != nil || !bytes.Equal(enc, in[:n]) {
				t.Errorf("AppendHeader = %x, %v; want %x", enc, err, in[:n])
			}
		})
	}
}

func TestDecodeHeaderShort(t *testing.T) {
	for _, in := range []string{"", "02", "0200 00", "0200 002e 0940275874", "0200 002e 094027587492 00",
		"0200 402e 01 00000940275874920000", "0200 202e 094027587492 000a 0001 00"} {
		if _, _, err := DecodeHeader(mustHex(in)); err == nil {
			t.Errorf("DecodeHeader(%s) succeeded", in)
		}
	}
}

// A terminal keeps its name across editions, so the roster finds it after a
// firmware upgrade to 2019.
func TestTerminalAcrossVersions(t *testing.T) {
	a, _, err := DecodeHeader(mustHex("0200 0000 013912345678 0001"))
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := DecodeHeader(mustHex("0200 4000 01 00000000013912345678 0001"))
	if err != nil {
		t.Fatal(err)
	}
	if a.Terminal != b.Terminal || a.Terminal != "13912345678" {
		t.Fatalf("terminals %q and %q", a.Terminal, b.Terminal)
	}
	if bytes.Equal(a.PhoneBCD(), b.PhoneBCD()) {
		t.Fatal("raw phone fields should keep their edition's size")
	}
}

func TestEncodePhone(t *testing.T) {
	tests := []struct {
		terminal string
		v        HeaderVersion
		want     string // hex of the used bytes; "" for an error
	}{
		{"13912345678", Version2013, "013912345678"},
		{"013912345678", Version2013, "013912345678"},
		{"13912345678", Version2019, "00000000013912345678"},
		{"1", Version2013, "000000000001"},
		{"4f07788ef676", Version2013, "4f07788ef676"},
		{"4F07788EF676", Version2013, "4f07788ef676"},
		{"12345678901234567890", Version2019, "12345678901234567890"},
		{"1234567890123", Version2013, ""},
		{"123456789012345678901", Version2019, ""},
		{"", Version2013, ""},
		{"139-1234", Version2013, ""},
		{"1", HeaderVersion(7), ""},
	}
	for _, tt := range tests {
		p, err := EncodePhone(tt.terminal, tt.v)
		if tt.want == "" {
			if err == nil {
				t.Errorf("EncodePhone(%q, %v) succeeded", tt.terminal, tt.v)
			}
			continue
		}
		if got := hex.EncodeToString(p[:tt.v.phoneLen()]); err != nil || got != tt.want {
			t.Errorf("EncodePhone(%q, %v) = %s, %v; want %s", tt.terminal, tt.v, got, err, tt.want)
		}
	}
}

func TestAppendHeaderErrors(t *testing.T) {
	h, err := NewHeader(MsgLocation, Version2013, "1", 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := AppendHeader(nil, h, MaxBodyLen+1); err == nil {
		t.Error("body over 1023 bytes accepted")
	}
	h.Encryption = 8
	if _, err := AppendHeader(nil, h, 0); err == nil {
		t.Error("encryption over 3 bits accepted")
	}
	h.Encryption, h.Version = 0, 3
	if _, err := AppendHeader(nil, h, 0); err == nil {
		t.Error("unknown version accepted")
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"exact", "0002 0000 013912345678 0007", true},
		{"body", "0003 0002 013912345678 0007 abcd", true},
		{"body too short", "0003 0003 013912345678 0007 abcd", false},
		{"body too long", "0003 0001 013912345678 0007 abcd", false},
		{"no header", "0003", false},
	}
	for _, tt := range tests {
		m, err := Parse(mustHex(tt.in))
		if (err == nil) != tt.ok {
			t.Errorf("%s: err = %v", tt.name, err)
		}
		if err != nil && len(tt.in) > 8 && !errors.Is(err, ErrBodyLength) {
			t.Errorf("%s: err = %v, want ErrBodyLength", tt.name, err)
		}
		if err == nil && len(m.Body) != m.Header.BodyLen {
			t.Errorf("%s: body %d bytes, header says %d", tt.name, len(m.Body), m.Header.BodyLen)
		}
	}
}
