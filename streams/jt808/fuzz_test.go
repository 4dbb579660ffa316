package jt808

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"testing"
)

// Seeds: a few frames of the shared sample file (line numbers in comments),
// plus hand-made ones that exercise escaping and sub-packaging.
var fuzzFrameSeeds = []string{
	"7e0002000004304832546500b7ca7e", // line 92, heartbeat
	"7e0200002e094027587492000a000000010000000a03083db7001329f3000000140000130412164952010400000012360a0002341502cb0c20085c107e",         // line 90
	"7e0704402d0100000866496077582164881d0001000028000000000000000701a00192091f2a4700160000000226050916422701040000258230010031010e507e", // line 6, 2019
	"7e0102000e013511221122000661757468656e7469636174696f6e3f7e",                                                                         // line 86
	"7e0100002d013511221122000500000000373031303748422d52303347424400000000000000000000003233363631303402cbd5424136383630387e",           // line 84
	"7e0200002e202000129707001c0000000000001c0601a2f0a8091f0bf00000000000ed201103031733000000000000000000780000000018000000267e",         // line 64
	"7e80010005043048325465" + "7d027d01" + "00b70002004d7e",                                                                             // escaped serial
	"7e0801201001391234567801000003000200000000000000000000000000000000097e",
	"283734303139303331313138352c312c3030312c454c4f434b2c332c35323934333929", // line 67, not JT808
	"7e7e7e7d7e",
}

func FuzzFrame(f *testing.F) {
	for _, s := range fuzzFrameSeeds {
		f.Add(mustHex(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		_, _ = Unframe(in)
		sc := NewScanner(bytes.NewReader(in), 64)
		for range len(in) + 1 {
			payload, err := sc.Next()
			if errors.Is(err, ErrBadFrame) {
				continue
			}
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return
			}
			if err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if len(payload) > 63 {
				t.Fatalf("%d-byte payload past a 64-byte limit", len(payload))
			}
			checkMessage(t, payload)
		}
		if _, err := sc.Next(); err != io.EOF && err != io.ErrUnexpectedEOF {
			t.Fatalf("scanner did not reach the end: %v", err)
		}
	})
}

// checkMessage holds a scanned payload to the encoder: whatever parses must
// encode back to a frame that decodes to the same message.
func checkMessage(t *testing.T, payload []byte) {
	m, err := Parse(payload)
	if err != nil {
		return
	}
	frame, err := Encode(m.Header, m.Body)
	if err != nil {
		t.Fatalf("re-encoding %+v: %v", m.Header, err)
	}
	if bytes.IndexByte(frame[1:len(frame)-1], flagByte) >= 0 {
		t.Fatalf("0x7e inside encoded frame %x", frame)
	}
	back, err := DecodeFrame(frame)
	if err != nil {
		t.Fatalf("decoding re-encoded %x: %v", frame, err)
	}
	if back.Header != m.Header || !bytes.Equal(back.Body, m.Body) {
		t.Fatalf("round trip: %+v %x, want %+v %x", back.Header, back.Body, m.Header, m.Body)
	}
	_, _ = DecodeBody(m.Header, m.Body)
}

func FuzzBody(f *testing.F) {
	seeds := []struct {
		id   uint16
		v19  bool
		body string
	}{
		{MsgLocation, false, locationHex},
		{MsgLocation, false, "000000000000001c0601a2f0a8091f0bf00000000000ed201103031733000000000000000000780000000018000000"}, // line 64
		{MsgBatch, true, "0001000028000000000000000701a00192091f2a4700160000000226050916422701040000258230010031010e"},         // line 6
		{MsgRegister, false, "00000000373031303748422d52303347424400000000000000000000003233363631303402cbd542413638363038"},   // line 84
		{MsgRegister, false, "002c012f373031313142534a2d4d3742203030303030303001d4c1423838383838"},                             // line 55, 2011
		{MsgAuth, false, "61757468656e7469636174696f6e"},
		{MsgAuth, true, "0361626338363634393630373735383231363476322e302e310000000000000000000000000000"},
		{MsgPlatformReply, false, "00b7000200"},
		{MsgRegisterReply, false, "001100617574"},
		{MsgHeartbeat, false, ""},
	}
	for _, s := range seeds {
		f.Add(s.id, s.v19, mustHex(s.body))
	}
	f.Fuzz(func(t *testing.T, id uint16, v19 bool, body []byte) {
		v := Version2013
		if v19 {
			v = Version2019
		}
		h := Header{MsgID: id, Version: v, Terminal: "1", BodyLen: len(body)}
		got, err := DecodeBody(h, body)
		if err != nil {
			return
		}
		// Decoders must copy: changing the input must not change the result.
		before := got
		snapshot := deepCopy(t, got, v)
		for i := range body {
			body[i] ^= 0xff
		}
		if !reflect.DeepEqual(before, snapshot) {
			t.Fatalf("decoded %T aliases its input", got)
		}
		switch x := got.(type) {
		case Location:
			b, err := LocationBody(&x)
			if err != nil {
				t.Fatalf("re-encoding %+v: %v", x, err)
			}
			back, err := DecodeLocation(b)
			if err != nil || !reflect.DeepEqual(back, x) {
				t.Fatalf("location round trip: %+v %v, want %+v", back, err, x)
			}
		case Batch:
			b, err := BatchBody(&x)
			if err != nil {
				t.Fatalf("re-encoding batch: %v", err)
			}
			back, err := DecodeBatch(b)
			if err != nil || !reflect.DeepEqual(back, x) {
				t.Fatalf("batch round trip: %+v %v, want %+v", back, err, x)
			}
		case Auth:
			if _, err := AuthBody(&x, v); err != nil && v == Version2013 {
				t.Fatalf("re-encoding %+v: %v", x, err)
			}
		case Register:
			_, _ = x.PlateText()
		}
	})
}

// deepCopy re-encodes and re-decodes a body so that it shares nothing with
// the fuzz input; bodies without an encoder come back as they are, which is
// enough for those holding only strings and numbers.
func deepCopy(t *testing.T, v any, ver HeaderVersion) any {
	switch x := v.(type) {
	case Location:
		b, err := LocationBody(&x)
		if err != nil {
			t.Fatal(err)
		}
		l, err := DecodeLocation(b)
		if err != nil {
			t.Fatal(err)
		}
		return l
	case Batch:
		b, err := BatchBody(&x)
		if err != nil {
			t.Fatal(err)
		}
		l, err := DecodeBatch(b)
		if err != nil {
			t.Fatal(err)
		}
		return l
	case Register:
		x.Plate = bytes.Clone(x.Plate)
		return x
	}
	return v
}
