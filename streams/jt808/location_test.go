package jt808

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

// locationHex is the body of line 90 of the sample file: SOS, positioned,
// west, 2013-04-12 16:49:52 UTC+8, mileage 1.8 km and a vendor item.
const locationHex = "00000001 0000000a 03083db7 001329f3 0000 0014 0000 130412164952 0104 00000012 360a 0002341502cb0c20085c"

func TestDecodeLocationErrors(t *testing.T) {
	base := mustHex(locationHex)[:28]
	set := func(off int, b ...byte) []byte {
		c := bytes.Clone(base)
		copy(c[off:], b)
		return c
	}
	tests := []struct {
		name string
		body []byte
		want string // in the error
	}{
		{"empty", nil, "fixed part"},
		{"short", base[:27], "fixed part"},
		{"latitude", set(8, 0x05, 0x5d, 0x4a, 0x81), "latitude"},    // 90.000001°
		{"longitude", set(12, 0x0a, 0xba, 0x95, 0x01), "longitude"}, // 180.000001°
		{"BCD nibble", set(22, 0x1a), "not BCD"},
		{"BCD high nibble", set(27, 0xa0), "not BCD"},
		{"month 13", set(23, 0x13), "no such date"},
		{"month 0", set(23, 0x00), "no such date"},
		{"31 April", set(23, 0x04, 0x31), "no such date"},
		{"29 February 2013", set(23, 0x02, 0x29), "no such date"},
		{"hour 24", set(25, 0x24), "no such date"},
		{"minute 60", set(26, 0x60), "no such date"},
		{"second 60", set(27, 0x60), "no such date"},
	}
	for _, tt := range tests {
		_, err := DecodeLocation(tt.body)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "jt808: location: ") {
			t.Errorf("%s: err = %v, want one about %q", tt.name, err, tt.want)
		}
	}
}

func TestDecodeLocationEdges(t *testing.T) {
	base := mustHex(locationHex)[:28]
	tests := []struct {
		name     string
		mutate   func([]byte) []byte
		check    func(Location) bool
		describe string
	}{
		{"no clock", func(b []byte) []byte { copy(b[22:], make([]byte, 6)); return b },
			func(l Location) bool { return l.Time.IsZero() }, "zero time"},
		{"leap day", func(b []byte) []byte { copy(b[22:], []byte{0x24, 0x02, 0x29, 0x07, 0x00, 0x00}); return b },
			func(l Location) bool { return l.Time.Equal(utc("2024-02-28 23:00:00")) }, "2024-02-28 23:00 UTC"},
		{"south east", func(b []byte) []byte { b[7] = 0x06; return b },
			func(l Location) bool { return l.Lat == -50.871735 && l.Lng == 1.255923 }, "-lat +lng"},
		{"not positioned", func(b []byte) []byte { b[7] = 0x00; return b },
			func(l Location) bool { return !l.Positioned() }, "not positioned"},
		{"poles", func(b []byte) []byte { copy(b[8:], []byte{0x05, 0x5d, 0x4a, 0x80, 0x0a, 0xba, 0x95, 0x00}); return b },
			func(l Location) bool { return l.Lat == 90 && l.Lng == -180 }, "90,-180"},
		{"no items", func(b []byte) []byte { return b },
			func(l Location) bool { return l.Items == nil && l.Trailing == nil }, "no items"},
		{"empty item", func(b []byte) []byte { return append(b, 0x31, 0x00) },
			func(l Location) bool {
				_, ok := l.Satellites()
				v, ok2 := l.Item(0x31)
				return !ok && ok2 && len(v) == 0
			}, "present, not interpreted"},
		{"wrong-size mileage", func(b []byte) []byte { return append(b, 0x01, 0x02, 0x00, 0x10) },
			func(l Location) bool { _, ok := l.MileageKm(); return !ok && len(l.Items) == 1 }, "mileage absent"},
		{"one stray byte", func(b []byte) []byte { return append(b, 0x01) },
			func(l Location) bool { return len(l.Items) == 0 && bytes.Equal(l.Trailing, []byte{0x01}) }, "trailing 01"},
		{"item past the end", func(b []byte) []byte { return append(b, 0x30, 0x01, 0x10, 0x01, 0x04, 0x00) },
			func(l Location) bool { return len(l.Items) == 1 && len(l.Trailing) == 3 }, "one item, three trailing"},
	}
	for _, tt := range tests {
		l, err := DecodeLocation(tt.mutate(bytes.Clone(base)))
		if err != nil || !tt.check(l) {
			t.Errorf("%s: %+v, %v; want %s", tt.name, l, err, tt.describe)
		}
	}
}

func TestLocationItems(t *testing.T) {
	body := mustHex(locationHex[:len(locationHex)-len("360a 0002341502cb0c20085c")] +
		"0202 0123 0302 0258 3001 1f 3101 0c eb03 414243")
	l, err := DecodeLocation(body)
	if err != nil {
		t.Fatal(err)
	}
	km, ok1 := l.MileageKm()
	fuel, ok2 := l.FuelLitres()
	rec, ok3 := l.RecorderSpeedKmh()
	sig, ok4 := l.Signal()
	sat, ok5 := l.Satellites()
	if !(ok1 && ok2 && ok3 && ok4 && ok5) || km != 1.8 || fuel != 29.1 || rec != 60 || sig != 31 || sat != 12 {
		t.Errorf("mileage %v fuel %v recorder %v signal %d satellites %d", km, fuel, rec, sig, sat)
	}
	if v, ok := l.Item(0xeb); !ok || string(v) != "ABC" {
		t.Errorf("vendor item %q %v", v, ok)
	}
	if len(l.Items) != 6 {
		t.Errorf("%d items, want 6", len(l.Items))
	}
	// Items must not alias the input, which a scanner reuses.
	for i := range body {
		body[i] = 0
	}
	if v, _ := l.Item(0xeb); string(v) != "ABC" {
		t.Errorf("item changed with the input: %q", v)
	}
}

func TestLocationRoundTrip(t *testing.T) {
	tests := []Location{
		{Status: StatusPositioned | StatusACC, Lat: 39.908722, Lng: 116.397499, Altitude: 44, Speed: 523, Direction: 359,
			Time: utc("2026-12-01 23:59:59"), Items: []Item{{ItemMileage, []byte{0, 0, 0x30, 0x39}}, {ItemSatellites, []byte{9}}}},
		{Alarm: AlarmSOS | AlarmCollision, Status: StatusPositioned, Lat: -33.868820, Lng: -151.209296, Time: utc("2000-01-01 00:00:00")},
		{Lat: 0, Lng: 0},
		{Status: StatusPositioned, Lat: 1, Lng: 2, Time: utc("2099-12-31 15:59:59"), Trailing: []byte{0x00, 0x78}},
		{Items: []Item{{0xe1, make([]byte, 255)}}, Time: utc("2024-02-29 12:00:00")},
	}
	for i, want := range tests {
		body, err := LocationBody(&want)
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		got, err := DecodeLocation(body)
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		// The encoder owns the hemisphere bits.
		want.Status &^= StatusSouth | StatusWest
		got.Status &^= StatusSouth | StatusWest
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%d: got %+v, want %+v", i, got, want)
		}
	}
}

func TestLocationBodyErrors(t *testing.T) {
	tests := []Location{
		{Lat: 90.1},
		{Lng: -180.5},
		{Time: utc("1999-12-31 15:59:59")}, // 1999-12-31 23:59:59 UTC+8
		{Time: utc("2099-12-31 16:00:00")}, // 2100 in UTC+8
		{Items: []Item{{1, make([]byte, 256)}}},
	}
	for i, l := range tests {
		if _, err := LocationBody(&l); err == nil {
			t.Errorf("%d: %+v encoded", i, l)
		}
	}
}

func TestBatch(t *testing.T) {
	a := Location{Status: StatusPositioned, Lat: 22.5, Lng: 114.05, Time: utc("2025-01-02 03:04:05"), Items: []Item{{ItemSignal, []byte{20}}}}
	b := Location{Status: 0, Lat: 22.6, Lng: 114.1, Time: utc("2025-01-02 03:04:35")}
	for _, typ := range []uint8{BatchNormal, BatchBlindArea} {
		for _, locs := range [][]Location{{a}, {a, b}, {}} {
			want := Batch{Type: typ, Locations: locs}
			body, err := BatchBody(&want)
			if err != nil {
				t.Fatal(err)
			}
			got, err := DecodeBatch(body)
			if err != nil {
				t.Fatal(err)
			}
			if len(locs) == 0 {
				want.Locations = []Location{}
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %+v, want %+v", got, want)
			}
		}
	}

	good, err := BatchBody(&Batch{Type: BatchBlindArea, Locations: []Location{a, b}})
	if err != nil {
		t.Fatal(err)
	}
	errs := []struct {
		name string
		body []byte
	}{
		{"empty", nil},
		{"no type", good[:2]},
		{"count too high", append([]byte{0x00, 0x03}, good[2:]...)},
		{"count too low", append([]byte{0x00, 0x01}, good[2:]...)},
		{"huge count", append([]byte{0xff, 0xff}, good[2:]...)},
		{"cut", good[:len(good)-1]},
		{"item length past the end", append(bytes.Clone(good[:3]), 0x01, 0x00)},
		{"bad item", append(mustHex("0001 01 0002 0000"), make([]byte, 26)...)},
		{"bad time in item", append(mustHex("0001 01 001c"), mustHex("00000000 00000002 00000000 00000000 0000 0000 0000 250231000000")...)},
	}
	for _, tt := range errs {
		if _, err := DecodeBatch(tt.body); err == nil || !strings.HasPrefix(err.Error(), "jt808: batch: ") {
			t.Errorf("%s: err = %v", tt.name, err)
		}
	}
}

func BenchmarkDecodeLocation(b *testing.B) {
	// A typical report: the fixed part, mileage, signal, satellites, a vendor item.
	body := mustHex("00000000 000c0003 01d9f2d4 073ca28d 002b 01c2 0000 240110172605 0104 0000023c 3001 19 3101 16 e1 04 00735443")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeLocation(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkScanAndDecodeLocation(b *testing.B) {
	body := mustHex("00000000 000c0003 01d9f2d4 073ca28d 002b 01c2 0000 240110172605 0104 0000023c 3001 19 3101 16 e1 04 00735443")
	h, err := NewHeader(MsgLocation, Version2013, "17721028890", 1)
	if err != nil {
		b.Fatal(err)
	}
	frame, err := Encode(h, body)
	if err != nil {
		b.Fatal(err)
	}
	stream := bytes.Repeat(frame, 1000)
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	for b.Loop() {
		sc := NewScanner(bytes.NewReader(stream), 0)
		for range 1000 {
			p, err := sc.Next()
			if err != nil {
				b.Fatal(err)
			}
			m, err := Parse(p)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := DecodeLocation(m.Body); err != nil {
				b.Fatal(err)
			}
		}
	}
}
