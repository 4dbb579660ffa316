package jt808

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

var versions = []HeaderVersion{Version2013, Version2019}

// Golden frames written out by hand from the standard's layout (check codes
// computed separately), to catch an encoder and decoder that agree on a
// mistake.
func TestRepliesGolden(t *testing.T) {
	// Serial 0x7e7d forces both escapes.
	req := Header{MsgID: MsgHeartbeat, Phone: [10]byte{0x04, 0x30, 0x48, 0x32, 0x54, 0x65}, Terminal: "43048325465", Serial: 0x00b7}
	got, err := EncodeGeneralReply(req, 0x7e7d, ResultOK)
	if err != nil {
		t.Fatal(err)
	}
	want := mustHex("7e 8001 0005 043048325465 7d027d01 00b7 0002 00 4d 7e")
	if !bytes.Equal(got, want) {
		t.Errorf("general reply\n got %x\nwant %x", got, want)
	}

	req2019, err := NewHeader(MsgRegister, Version2019, "13912345678", 0x0011)
	if err != nil {
		t.Fatal(err)
	}
	got, err = EncodeRegisterReply(req2019, 2, RegisterOK, "authentication")
	if err != nil {
		t.Fatal(err)
	}
	want = mustHex("7e 8100 4011 01 00000000013912345678 0002 0011 00 61757468656e7469636174696f6e f2 7e")
	if !bytes.Equal(got, want) {
		t.Errorf("registration reply\n got %x\nwant %x", got, want)
	}
}

func TestGeneralReplyRoundTrip(t *testing.T) {
	for _, v := range versions {
		for _, res := range []Result{ResultOK, ResultFail, ResultBadMessage, ResultUnsupported, ResultAlarmConfirm} {
			req, err := NewHeader(MsgLocation, v, "013912345678", 0xfffe)
			if err != nil {
				t.Fatal(err)
			}
			frame, err := EncodeGeneralReply(req, 0x1234, res)
			if err != nil {
				t.Fatal(err)
			}
			m, err := DecodeFrame(frame)
			if err != nil {
				t.Fatal(err)
			}
			h := m.Header
			if h.MsgID != MsgPlatformReply || h.Version != v || h.Serial != 0x1234 || h.Terminal != "13912345678" ||
				!bytes.Equal(h.PhoneBCD(), req.PhoneBCD()) || h.ProtocolVersion != req.ProtocolVersion {
				t.Errorf("%v: reply header %+v for request %+v", v, h, req)
			}
			body, err := DecodeBody(h, m.Body)
			if want := (GeneralReply{Serial: 0xfffe, MsgID: MsgLocation, Result: res}); err != nil || body != want {
				t.Errorf("%v: body %+v %v, want %+v", v, body, err, want)
			}
		}
	}
}

func TestRegisterReplyRoundTrip(t *testing.T) {
	tests := []struct {
		result RegisterResult
		code   string
		want   RegisterReply
	}{
		{RegisterOK, "A1b2C3", RegisterReply{Serial: 9, Result: RegisterOK, AuthCode: "A1b2C3"}},
		{RegisterOK, "code with \x7e and \x7d", RegisterReply{Serial: 9, Result: RegisterOK, AuthCode: "code with \x7e and \x7d"}},
		// A code on a refusal is not sent.
		{RegisterVehicleTaken, "ignored", RegisterReply{Serial: 9, Result: RegisterVehicleTaken}},
		{RegisterNoVehicle, "", RegisterReply{Serial: 9, Result: RegisterNoVehicle}},
		{RegisterTerminalTaken, "", RegisterReply{Serial: 9, Result: RegisterTerminalTaken}},
		{RegisterNoTerminal, "", RegisterReply{Serial: 9, Result: RegisterNoTerminal}},
	}
	for _, v := range versions {
		for _, tt := range tests {
			req, err := NewHeader(MsgRegister, v, "13912345678", 9)
			if err != nil {
				t.Fatal(err)
			}
			frame, err := EncodeRegisterReply(req, 1, tt.result, tt.code)
			if err != nil {
				t.Fatal(err)
			}
			m, err := DecodeFrame(frame)
			if err != nil {
				t.Fatal(err)
			}
			if m.Header.Version != v || m.Header.MsgID != MsgRegisterReply || m.Header.Serial != 1 {
				t.Errorf("%v: header %+v", v, m.Header)
			}
			got, err := DecodeBody(m.Header, m.Body)
			if err != nil || got != tt.want {
				t.Errorf("%v %d: %+v %v, want %+v", v, tt.result, got, err, tt.want)
			}
		}
	}
}

func TestReplyErrors(t *testing.T) {
	req, err := NewHeader(MsgRegister, Version2013, "1", 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := EncodeRegisterReply(req, 1, RegisterOK, ""); err == nil {
		t.Error("success without a code accepted")
	}
	if _, err := EncodeRegisterReply(req, 1, 5, ""); err == nil {
		t.Error("undefined result accepted")
	}
	if _, err := EncodeRegisterReply(req, 1, RegisterOK, string(make([]byte, MaxBodyLen))); err == nil {
		t.Error("oversized code accepted")
	}
	if _, err := Encode(req, make([]byte, MaxBodyLen+1)); err == nil {
		t.Error("oversized body accepted")
	}
	for _, body := range [][]byte{nil, {1, 2, 3, 4}, {1, 2, 3, 4, 5, 6}} {
		if _, err := DecodeGeneralReply(body); err == nil {
			t.Errorf("general reply %x decoded", body)
		}
	}
	if _, err := DecodeRegisterReply([]byte{0, 1}); err == nil {
		t.Error("short registration reply decoded")
	}
}

// TestTerminalRoundTrip plays a terminal: every message it sends, in both
// editions, through Encode, the Scanner, Parse and DecodeBody.
func TestTerminalRoundTrip(t *testing.T) {
	gbkPlate, err := EncodePlate("京A12345")
	if err != nil {
		t.Fatal(err)
	}
	loc := Location{Alarm: AlarmSOS, Status: StatusPositioned | StatusACC, Lat: 39.9, Lng: 116.4, Altitude: 50, Speed: 600, Direction: 90,
		Time: utc("2026-03-04 05:06:07"), Items: []Item{{ItemMileage, []byte{0, 0, 0x7e, 0x7d}}, {ItemSignal, []byte{25}}, {ItemSatellites, []byte{11}}}}
	reg := func(v HeaderVersion) Register {
		r := Register{Province: 11, City: 100, Manufacturer: "70111", Model: "PATROL-1", TerminalID: "T7E7D01", PlateColor: PlateBlue, Plate: gbkPlate}
		if v == Version2019 {
			r.Manufacturer, r.TerminalID = "ACME0000001", "866496077582164-with-30-bytes!"
		}
		return r
	}
	auth := func(v HeaderVersion) Auth {
		if v == Version2019 {
			return Auth{Code: "secret~}", IMEI: "866496077582164", SoftwareVersion: "v2.0.1"}
		}
		return Auth{Code: "secret~}"}
	}
	for _, v := range versions {
		r, a := reg(v), auth(v)
		regBody, err := RegisterBody(&r, v)
		if err != nil {
			t.Fatal(err)
		}
		authBody, err := AuthBody(&a, v)
		if err != nil {
			t.Fatal(err)
		}
		locBody, err := LocationBody(&loc)
		if err != nil {
			t.Fatal(err)
		}
		batch := Batch{Type: BatchBlindArea, Locations: []Location{loc, loc}}
		batchBody, err := BatchBody(&batch)
		if err != nil {
			t.Fatal(err)
		}
		msgs := []struct {
			id   uint16
			body []byte
			want any
		}{
			{MsgRegister, regBody, r},
			{MsgAuth, authBody, a},
			{MsgHeartbeat, nil, Heartbeat{}},
			{MsgLocation, locBody, loc},
			{MsgBatch, batchBody, batch},
			{MsgLogout, nil, Logout{}},
		}
		var stream []byte
		for i, m := range msgs {
			h, err := NewHeader(m.id, v, "13912345678", uint16(0x7e7d+i))
			if err != nil {
				t.Fatal(err)
			}
			f, err := Encode(h, m.body)
			if err != nil {
				t.Fatal(err)
			}
			stream = append(stream, f...)
		}
		sc := NewScanner(bytes.NewReader(stream), 0)
		for i, m := range msgs {
			p, err := sc.Next()
			if err != nil {
				t.Fatalf("%v %#04x: %v", v, m.id, err)
			}
			msg, err := Parse(p)
			if err != nil {
				t.Fatalf("%v %#04x: %v", v, m.id, err)
			}
			if h := msg.Header; h.MsgID != m.id || h.Version != v || h.Serial != uint16(0x7e7d+i) || h.Terminal != "13912345678" {
				t.Errorf("%v %#04x: header %+v", v, m.id, h)
			}
			got, err := DecodeBody(msg.Header, msg.Body)
			if err != nil || !reflect.DeepEqual(got, m.want) {
				t.Errorf("%v %#04x:\n got %+v %v\nwant %+v", v, m.id, got, err, m.want)
			}
		}
		if r, _ := DecodeRegister(regBody, v); func() string { s, _ := r.PlateText(); return s }() != "京A12345" {
			t.Errorf("%v: plate did not survive", v)
		}
	}
}

func TestRegisterErrors(t *testing.T) {
	for _, v := range versions {
		long := Register{Model: string(make([]byte, 31))}
		if _, err := RegisterBody(&long, v); err == nil {
			t.Errorf("%v: 31-byte model accepted", v)
		}
	}
	if _, err := DecodeRegister(make([]byte, 24), Version2013); err == nil {
		t.Error("24-byte body decoded as 2011")
	}
	if _, err := DecodeRegister(make([]byte, 75), Version2019); err == nil {
		t.Error("75-byte body decoded as 2019")
	}
	r, err := DecodeRegister(make([]byte, 76), Version2019)
	if err != nil || r.Plate != nil {
		t.Errorf("minimal 2019 body: %+v %v", r, err)
	}
	if _, err := EncodePlate("\U0001F600"); err == nil {
		t.Error("emoji encoded to GBK")
	}
}

func TestAuthErrors(t *testing.T) {
	tests := []struct {
		name string
		body []byte
		v    HeaderVersion
	}{
		{"2013 empty", nil, Version2013},
		{"2019 empty", nil, Version2019},
		{"2019 zero-length code", append([]byte{0}, make([]byte, 35)...), Version2019},
		{"2019 short", append([]byte{3, 'a', 'b', 'c'}, make([]byte, 34)...), Version2019},
		{"2019 long", append([]byte{3, 'a', 'b', 'c'}, make([]byte, 36)...), Version2019},
		{"2019 length past the end", []byte{200, 'a'}, Version2019},
	}
	for _, tt := range tests {
		if _, err := DecodeAuth(tt.body, tt.v); err == nil {
			t.Errorf("%s: decoded", tt.name)
		}
	}
	if _, err := AuthBody(&Auth{}, Version2013); err == nil {
		t.Error("empty code encoded")
	}
	if _, err := AuthBody(&Auth{Code: "x", IMEI: "1234567890123456"}, Version2019); err == nil {
		t.Error("16-digit IMEI encoded")
	}
	if _, err := AuthBody(&Auth{Code: string(make([]byte, 256))}, Version2019); err == nil {
		t.Error("256-byte code encoded")
	}
}

func TestDecodeBodyRefusals(t *testing.T) {
	h, _ := NewHeader(MsgLocation, Version2013, "1", 1)
	enc := h
	enc.Encryption = EncryptionRSA
	if _, err := DecodeBody(enc, nil); !errors.Is(err, ErrEncrypted) {
		t.Errorf("encrypted: %v", err)
	}
	sub := h
	sub.Subpackage, sub.Total, sub.Index = true, 2, 1
	if _, err := DecodeBody(sub, nil); err == nil {
		t.Error("package decoded")
	}
	other := h
	other.MsgID = 0x0900
	if _, err := DecodeBody(other, nil); !errors.Is(err, ErrUnsupported) {
		t.Errorf("0x0900: %v", err)
	}
}
