package jt808

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"math"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

// samplesPath is the shared copy of Traccar's JT/T 808 decoder test vectors;
// it is not part of this repository, so the tests skip without it.
const samplesPath = "../../../shared/data/traccar_protocol_samples/jt808_frames.hex.txt"

// sampleLines returns the frames of the file, index 0 being line 1.
func sampleLines(t testing.TB) [][]byte {
	t.Helper()
	f, err := os.Open(samplesPath)
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("sample frames not present at %s", samplesPath)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		b, err := hex.DecodeString(strings.TrimSpace(sc.Text()))
		if err != nil {
			t.Fatalf("line %d: %v", len(lines)+1, err)
		}
		lines = append(lines, b)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

// sampleContent returns a line's frame content (header, body, check code)
// unescaped. Traccar's tests feed its protocol decoder after the frame decoder
// has unescaped, so most lines hold 0x7e and 0x7d bytes as data; a few (line
// 58) were pasted still escaped. The check code tells the two apart.
func sampleContent(line []byte) ([]byte, bool) {
	if len(line) < 3 || line[0] != flagByte || line[len(line)-1] != flagByte {
		return nil, false
	}
	inner := line[1 : len(line)-1]
	if _, err := verify(inner); err == nil {
		return inner, true
	}
	if u, err := Unescape(nil, inner); err == nil {
		if _, err := verify(u); err == nil {
			return u, true
		}
	}
	return inner, false
}

// reframe is the frame a terminal would have sent for the content.
func reframe(content []byte) []byte {
	out := []byte{flagByte}
	out = AppendEscaped(out, content)
	return append(out, flagByte)
}

type sampleKind int

const (
	sampleOK sampleKind = iota
	sampleNotJT808
	sampleBadChecksum
	sampleBadBodyLen
)

// sampleOdd lists the lines that are not good frames, as checked by hand.
var sampleOdd = map[int]sampleKind{
	67:  sampleNotJT808,    // ASCII "(740190311185,1,001,ELOCK,3,529439)"
	34:  sampleBadChecksum, // 0x5501 vendor message
	87:  sampleBadChecksum, // 0x0200 cut short: declares 50 body bytes, has 40
	108: sampleBadChecksum, // 0x0200
	109: sampleBadChecksum, // 0x0200
	33:  sampleBadBodyLen,  // 0x55xx vendor messages all declare one byte more than they carry
	35:  sampleBadBodyLen,
	45:  sampleBadBodyLen,
	66:  sampleBadBodyLen,
	69:  sampleBadBodyLen,
	70:  sampleBadBodyLen,
	111: sampleBadBodyLen, // 0x0900 declares 122 body bytes, has 107
}

// bodyDecoded are the ids whose bodies must decode in every good sample.
var bodyDecoded = map[uint16]bool{MsgLocation: true, MsgBatch: true, MsgRegister: true, MsgAuth: true, MsgHeartbeat: true}

func TestSamples(t *testing.T) {
	lines := sampleLines(t)
	if len(lines) != 112 {
		t.Fatalf("%d lines, want 112", len(lines))
	}
	counts := map[uint16]int{}
	for i, line := range lines {
		n := i + 1
		kind := sampleOdd[n]
		content, csOK := sampleContent(line)
		if kind == sampleNotJT808 {
			if _, err := DecodeFrame(line); err == nil {
				t.Errorf("line %d: DecodeFrame of a non-JT808 line succeeded", n)
			}
			if _, err := Parse(line); err == nil {
				t.Errorf("line %d: Parse of a non-JT808 line succeeded", n)
			}
			continue
		}
		if csOK != (kind != sampleBadChecksum) {
			t.Errorf("line %d: check code valid = %v, want %v", n, csOK, kind != sampleBadChecksum)
			continue
		}
		_, err := DecodeFrame(reframe(content))
		if kind == sampleBadChecksum {
			if !errors.Is(err, ErrChecksum) {
				t.Errorf("line %d: err = %v, want ErrChecksum", n, err)
			}
			continue
		}
		if kind == sampleBadBodyLen {
			if !errors.Is(err, ErrBodyLength) {
				t.Errorf("line %d: err = %v, want ErrBodyLength", n, err)
			}
			if _, _, herr := DecodeHeader(content); herr != nil {
				t.Errorf("line %d: header: %v", n, herr)
			}
			continue
		}
		if err != nil {
			t.Errorf("line %d: %v", n, err)
			continue
		}
		m, err := Parse(content[:len(content)-1])
		if err != nil {
			t.Errorf("line %d: %v", n, err)
			continue
		}
		counts[m.Header.MsgID]++
		v, err := DecodeBody(m.Header, m.Body)
		switch {
		case bodyDecoded[m.Header.MsgID] && err != nil:
			t.Errorf("line %d: body: %v", n, err)
		case !bodyDecoded[m.Header.MsgID] && !errors.Is(err, ErrUnsupported):
			t.Errorf("line %d: message %#04x: err = %v, want ErrUnsupported", n, m.Header.MsgID, err)
		}
		if loc, ok := v.(Location); ok && loc.Time.IsZero() {
			t.Errorf("line %d: no time", n)
		}
	}
	t.Logf("good frames by message id: %v", counts)
}

// TestSamplesStream plays every line as one terminal's byte stream, with the
// non-JT808 line as noise between frames, and checks that the scanner yields
// the good frames, reports the bad ones and stays in step.
func TestSamplesStream(t *testing.T) {
	lines := sampleLines(t)
	var stream []byte
	var want []error // nil for a good frame
	for i, line := range lines {
		n := i + 1
		if sampleOdd[n] == sampleNotJT808 {
			stream = append(stream, line...)
			continue
		}
		content, _ := sampleContent(line)
		stream = append(stream, reframe(content)...)
		if sampleOdd[n] == sampleBadChecksum {
			want = append(want, ErrChecksum)
		} else {
			want = append(want, nil)
		}
	}
	sc := NewScanner(bytes.NewReader(stream), 0)
	for i, w := range want {
		payload, err := sc.Next()
		if !errors.Is(err, w) || (w == nil && err != nil) {
			t.Fatalf("frame %d: err = %v, want %v", i, err, w)
		}
		if w == nil && len(payload) < 12 {
			t.Fatalf("frame %d: %d bytes", i, len(payload))
		}
	}
	if _, err := sc.Next(); err != io.EOF {
		t.Fatalf("after the last frame: err = %v, want io.EOF", err)
	}
}

func sampleMessage(t *testing.T, n int) Message {
	t.Helper()
	lines := sampleLines(t)
	content, ok := sampleContent(lines[n-1])
	if !ok {
		t.Fatalf("line %d: bad check code", n)
	}
	m, err := Parse(content[:len(content)-1])
	if err != nil {
		t.Fatalf("line %d: %v", n, err)
	}
	return m
}

func utc(s string) time.Time {
	t, err := time.Parse(time.DateTime, s)
	if err != nil {
		panic(err)
	}
	return t
}

// The values below were read off the hex by hand, not from this decoder.
func TestSamplesLocationValues(t *testing.T) {
	tests := []struct {
		line       int
		version    HeaderVersion
		terminal   string
		serial     uint16
		batchIndex int // -1 for a 0x0200
		alarm      uint32
		positioned bool
		lat, lng   float64
		altitude   uint16
		speedKmh   float64
		direction  uint16
		time       string // UTC
		mileageKm  float64
		signal     int // -1 absent
		satellites int
	}{
		{line: 90, terminal: "94027587492", serial: 0x0a, batchIndex: -1, alarm: AlarmSOS, positioned: true,
			lat: 50.871735, lng: -1.255923, speedKmh: 2.0, time: "2013-04-12 08:49:52", mileageKm: 1.8, signal: -1, satellites: -1},
		{line: 7, terminal: "794308010679", serial: 0x0138, batchIndex: -1, positioned: true,
			lat: -25.269608, lng: -57.602956, altitude: 92, speedKmh: 1.8, time: "2025-11-18 03:26:11", mileageKm: -1, signal: 29, satellites: 12},
		{line: 14, terminal: "17721028890", serial: 0x061b, batchIndex: -1, positioned: true,
			lat: 31.060692, lng: 121.414285, altitude: 43, speedKmh: 45.0, time: "2024-01-10 09:26:05", mileageKm: 57.2, signal: 25, satellites: 22},
		{line: 82, terminal: "1601285614", serial: 3, batchIndex: -1, positioned: true,
			lat: -6.152508, lng: 106.720475, altitude: 22, time: "2017-01-17 02:05:42", mileageKm: 4326.4, signal: 27, satellites: 4},
		{line: 76, terminal: "13833501744", serial: 0x19, batchIndex: -1, positioned: true,
			lat: 22.6426, lng: 114.032984, altitude: 128, direction: 8, time: "2015-08-17 23:21:21", mileageKm: 75.7, signal: -1, satellites: -1},
		{line: 6, version: Version2019, terminal: "866496077582164", serial: 0x881d, batchIndex: 0, positioned: true,
			lat: -27.263378, lng: 153.037383, altitude: 22, direction: 2, time: "2026-05-09 08:42:27", mileageKm: 960.2, signal: 0, satellites: 14},
		// A report without a fix: the caller must refuse it.
		{line: 2, terminal: "0", serial: 0x08f5, batchIndex: -1, altitude: 199, direction: 204,
			time: "2026-06-15 02:01:15", mileageKm: 0.1, signal: 20, satellites: 8},
	}
	for _, tt := range tests {
		m := sampleMessage(t, tt.line)
		h := m.Header
		if h.Version != tt.version || h.Terminal != tt.terminal || h.Serial != tt.serial {
			t.Errorf("line %d: header %s %q serial %#x, want %s %q %#x", tt.line, h.Version, h.Terminal, h.Serial, tt.version, tt.terminal, tt.serial)
		}
		var l Location
		var err error
		if tt.batchIndex < 0 {
			l, err = DecodeLocation(m.Body)
		} else {
			var b Batch
			b, err = DecodeBatch(m.Body)
			if err == nil {
				l = b.Locations[tt.batchIndex]
			}
		}
		if err != nil {
			t.Errorf("line %d: %v", tt.line, err)
			continue
		}
		if l.Alarm != tt.alarm || l.Positioned() != tt.positioned {
			t.Errorf("line %d: alarm %#x positioned %v, want %#x %v", tt.line, l.Alarm, l.Positioned(), tt.alarm, tt.positioned)
		}
		if l.Lat != tt.lat || l.Lng != tt.lng {
			t.Errorf("line %d: position %v,%v, want %v,%v", tt.line, l.Lat, l.Lng, tt.lat, tt.lng)
		}
		if l.Altitude != tt.altitude || l.SpeedKmh() != tt.speedKmh || l.Direction != tt.direction {
			t.Errorf("line %d: altitude %d speed %v direction %d, want %d %v %d", tt.line, l.Altitude, l.SpeedKmh(), l.Direction, tt.altitude, tt.speedKmh, tt.direction)
		}
		if want := utc(tt.time); !l.Time.Equal(want) || l.Time.Location() != time.UTC {
			t.Errorf("line %d: time %v, want %v", tt.line, l.Time, want)
		}
		km, ok := l.MileageKm()
		if ok != (tt.mileageKm >= 0) || (ok && math.Abs(km-tt.mileageKm) > 1e-9) {
			t.Errorf("line %d: mileage %v %v, want %v", tt.line, km, ok, tt.mileageKm)
		}
		sig, ok := l.Signal()
		if ok != (tt.signal >= 0) || (ok && int(sig) != tt.signal) {
			t.Errorf("line %d: signal %d %v, want %d", tt.line, sig, ok, tt.signal)
		}
		sat, ok := l.Satellites()
		if ok != (tt.satellites >= 0) || (ok && int(sat) != tt.satellites) {
			t.Errorf("line %d: satellites %d %v, want %d", tt.line, sat, ok, tt.satellites)
		}
	}
}

func TestSamplesOtherBodies(t *testing.T) {
	tests := []struct {
		line int
		want any
		// plate text, for registrations
		plate string
	}{
		{line: 84, want: Register{Manufacturer: "70107", Model: "HB-R03GBD", TerminalID: "2366104", PlateColor: PlateYellow,
			Plate: []byte{0xcb, 0xd5, 'B', 'A', '6', '8', '6', '0'}}, plate: "苏BA6860"},
		{line: 83, want: Register{Province: 44, City: 303, Manufacturer: "70111", Model: "BSJ-A6-BD", TerminalID: "0567872", PlateColor: PlateBlue,
			Plate: []byte{0xd4, 0xc1, 'B', '8', '8', '8', '8', '8'}}, plate: "粤B88888"},
		// 33 bytes under a 2013 header: the 2011 layout with an 8-byte model.
		{line: 55, want: Register{Province: 44, City: 303, Manufacturer: "70111", Model: "BSJ-M7B", TerminalID: "0000000", PlateColor: PlateBlue,
			Plate: []byte{0xd4, 0xc1, 'B', '8', '8', '8', '8', '8'}}, plate: "粤B88888"},
		{line: 5, want: Register{Model: "MD300", TerminalID: "866496077582164", PlateColor: PlateWhite, Plate: make([]byte, 16)}, plate: ""},
		{line: 86, want: Auth{Code: "authentication"}},
		{line: 88, want: Auth{Code: "2011110811332196"}},
		{line: 38, want: Auth{Code: "ODY4OTM1MDYwMDA1MDIwbmV3U25SdWxl"}},
		{line: 92, want: Heartbeat{}},
	}
	for _, tt := range tests {
		m := sampleMessage(t, tt.line)
		got, err := DecodeBody(m.Header, m.Body)
		if err != nil {
			t.Errorf("line %d: %v", tt.line, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("line %d: got %+v, want %+v", tt.line, got, tt.want)
		}
		if r, ok := got.(Register); ok {
			plate, err := r.PlateText()
			if err != nil || plate != tt.plate {
				t.Errorf("line %d: plate %q %v, want %q", tt.line, plate, err, tt.plate)
			}
		}
	}
}

// Line 64's terminal appends bytes after its items that do not parse as
// items; the fix before them is good and must not be lost.
func TestSamplesTrailing(t *testing.T) {
	m := sampleMessage(t, 64)
	l, err := DecodeLocation(m.Body)
	if err != nil {
		t.Fatal(err)
	}
	if !l.Positioned() || l.Lat != -27.455656 || l.Lng != 153.029616 {
		t.Errorf("fix %v %v,%v", l.Positioned(), l.Lat, l.Lng)
	}
	if len(l.Items) != 4 || len(l.Trailing) != 10 {
		t.Errorf("%d items, %d trailing bytes; want 4, 10", len(l.Items), len(l.Trailing))
	}
}
