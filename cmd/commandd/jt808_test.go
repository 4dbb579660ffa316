package main

// End-to-end test of the JT/T 808 port (--jt808-listen): the real binary, a TCP
// client playing a patrol car's terminal with the jt808 package's encoders.

import (
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"commandd/streams/jt808"
)

// jtAddr is the address of the JT/T 808 port, from the "jt808 serving" log line.
func (s *server) jtAddr() string {
	s.t.Helper()
	for _, line := range strings.Split(s.logs.String(), "\n") {
		var m struct {
			Message string `json:"message"`
			Listen  string `json:"listen"`
		}
		if json.Unmarshal([]byte(line), &m) == nil && m.Message == "jt808 serving" {
			return m.Listen
		}
	}
	s.t.Fatalf("no \"jt808 serving\" in the log:\n%s", s.logs)
	return ""
}

// jtTerminal is a JT/T 808 terminal on one connection.
type jtTerminal struct {
	t      *testing.T
	conn   net.Conn
	sc     *jt808.Scanner
	v      jt808.HeaderVersion
	number string
	serial uint16
}

func dialJT(t *testing.T, addr, number string, v jt808.HeaderVersion) *jtTerminal {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &jtTerminal{t: t, conn: conn, sc: jt808.NewScanner(conn, 0), v: v, number: number}
}

// send sends a message and returns the platform's answer to it: its id and body.
func (c *jtTerminal) send(msgID uint16, body []byte) (uint16, []byte) {
	c.t.Helper()
	c.serial++
	h, err := jt808.NewHeader(msgID, c.v, c.number, c.serial)
	if err != nil {
		c.t.Fatal(err)
	}
	frame, err := jt808.Encode(h, body)
	if err != nil {
		c.t.Fatal(err)
	}
	_ = c.conn.SetDeadline(time.Now().Add(15 * time.Second))
	if _, err := c.conn.Write(frame); err != nil {
		c.t.Fatalf("write %#04x: %v", msgID, err)
	}
	payload, err := c.sc.Next()
	if err != nil {
		c.t.Fatalf("no answer to %#04x: %v", msgID, err)
	}
	m, err := jt808.Parse(payload)
	if err != nil {
		c.t.Fatal(err)
	}
	return m.Header.MsgID, append([]byte(nil), m.Body...)
}

func (c *jtTerminal) call(msgID uint16, body []byte) jt808.Result {
	c.t.Helper()
	id, b := c.send(msgID, body)
	r, err := jt808.DecodeGeneralReply(b)
	if id != jt808.MsgPlatformReply || err != nil || r.MsgID != msgID || r.Serial != c.serial {
		c.t.Fatalf("answer to %#04x/%d: %#04x %+v %v", msgID, c.serial, id, r, err)
	}
	return r.Result
}

func (c *jtTerminal) register() (jt808.RegisterResult, string) {
	c.t.Helper()
	body, err := jt808.RegisterBody(&jt808.Register{Province: 35, City: 200, Manufacturer: "TEST", Model: "M1",
		TerminalID: "E2E", PlateColor: jt808.PlateBlue, Plate: []byte("D12345")}, c.v)
	if err != nil {
		c.t.Fatal(err)
	}
	id, b := c.send(jt808.MsgRegister, body)
	r, err := jt808.DecodeRegisterReply(b)
	if id != jt808.MsgRegisterReply || err != nil || r.Serial != c.serial {
		c.t.Fatalf("registration answer %#04x %+v %v", id, r, err)
	}
	return r.Result, r.AuthCode
}

func (c *jtTerminal) auth(code string) jt808.Result {
	c.t.Helper()
	body, err := jt808.AuthBody(&jt808.Auth{Code: code, IMEI: "860000000000017", SoftwareVersion: "e2e"}, c.v)
	if err != nil {
		c.t.Fatal(err)
	}
	return c.call(jt808.MsgAuth, body)
}

func (c *jtTerminal) report(lat, lng float64, alarm uint32, at time.Time) jt808.Result {
	c.t.Helper()
	body, err := jt808.LocationBody(&jt808.Location{Alarm: alarm, Status: jt808.StatusACC | jt808.StatusPositioned,
		Lat: lat, Lng: lng, Speed: 180, Direction: 45, Time: at.Truncate(time.Second)})
	if err != nil {
		c.t.Fatal(err)
	}
	return c.call(jt808.MsgLocation, body)
}

// TestJT808EndToEnd: a unit's terminal registers, authenticates, reports and raises
// the emergency alarm, which becomes a priority-1 help incident at the unit; after a
// restart the same code still authenticates.
func TestJT808EndToEnd(t *testing.T) {
	dir := t.TempDir()
	s := start(t, dir, "--jt808-listen", "127.0.0.1:0")
	s.must(200, "PUT", "/api/v1/units/P-17", tokOperator,
		`{"callsign":"湖里巡1","force":"police","mode":"car","terminal":"013800138000"}`)
	if u := s.must(200, "GET", "/api/v1/units/P-17", tokOperator, ""); u["terminal"] != "13800138000" {
		t.Fatalf("unit %v", u)
	}
	c := dialJT(t, s.jtAddr(), "13800138000", jt808.Version2013)
	if r, _ := dialJT(t, s.jtAddr(), "13900000000", jt808.Version2013).register(); r != jt808.RegisterNoTerminal {
		t.Fatalf("unknown terminal: registration result %d", r)
	}
	r, code := c.register()
	if r != jt808.RegisterOK || code == "" {
		t.Fatalf("registration: %d %q", r, code)
	}
	if strings.Contains(s.logs.String(), code) {
		t.Fatal("the authentication code is in the log")
	}
	if r := c.auth(code); r != jt808.ResultOK {
		t.Fatalf("auth: %d", r)
	}
	at := time.Now().Add(-5 * time.Second)
	if r := c.report(24.4798, 118.0894, 0, at); r != jt808.ResultOK {
		t.Fatalf("location: %d", r)
	}
	s.eventually("/api/v1/units/P-17", func(u map[string]any) bool { return u["lat"] == 24.4798 && u["lng"] == 118.0894 })
	if r := c.report(24.4798, 118.0894, jt808.AlarmSOS, at.Add(time.Second)); r != jt808.ResultOK {
		t.Fatalf("alarm: %d", r)
	}
	if r := c.report(24.4798, 118.0894, jt808.AlarmSOS, at.Add(2*time.Second)); r != jt808.ResultOK {
		t.Fatalf("alarm, still on: %d", r)
	}
	type incident struct {
		ID       string  `json:"id"`
		Priority int     `json:"priority"`
		Category string  `json:"category"`
		Lat      float64 `json:"lat"`
		Alerts   []struct {
			Caller string `json:"caller"`
			Text   string `json:"text"`
		} `json:"alerts"`
	}
	var incs []incident
	m := s.must(200, "GET", "/api/v1/incidents", tokOperator, "")
	if err := json.Unmarshal([]byte(m["_raw"].(string)), &incs); err != nil {
		t.Fatal(err)
	}
	if len(incs) != 1 || incs[0].Priority != 1 || incs[0].Category != "help" || incs[0].Lat != 24.4798 ||
		len(incs[0].Alerts) != 1 || incs[0].Alerts[0].Caller != "湖里巡1" || !strings.Contains(incs[0].Alerts[0].Text, "emergency alarm") {
		t.Fatalf("incidents after the alarm: %+v", incs)
	}

	s.stop()
	s = start(t, dir, "--jt808-listen", "127.0.0.1:0")
	c = dialJT(t, s.jtAddr(), "13800138000", jt808.Version2019)
	if r := c.auth(code); r != jt808.ResultOK {
		t.Fatalf("after a restart, the code: %d", r)
	}
	if r := c.report(24.4801, 118.0897, 0, time.Now()); r != jt808.ResultOK {
		t.Fatalf("location after the restart: %d", r)
	}
	s.eventually("/api/v1/units/P-17", func(u map[string]any) bool { return u["lat"] == 24.4801 })
	if v := s.metric("commandd_jt808_connections"); v != 1 {
		t.Errorf("commandd_jt808_connections %v, want 1", v)
	}
}
