package streams

// Tests of the JT/T 808 port: the in-process server (newTestServer) with ServeJT808 on
// a loopback listener, and real TCP clients playing terminals with the jt808 package's
// encoders.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"commandd/dispatch"
	"commandd/streams/jt808"
)

// serveJT808 starts the test server's JT/T 808 port with lim and returns its address.
func (s *testServer) serveJT808(lim JT808Limits) string {
	s.t.Helper()
	s.srv.JT808 = lim
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		s.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.srv.ServeJT808(ctx, ln) }()
	s.t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			s.t.Errorf("ServeJT808: %v", err)
		}
	})
	return ln.Addr().String()
}

// rejects is commandd_jt808_rejects_total{reason}.
func (s *testServer) rejects(reason string) float64 {
	return metricValue(s.srv.Metrics.jt808.rejects.WithLabelValues(reason))
}

// metricValue reads a counter or gauge.
func metricValue(m prometheus.Metric) float64 {
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		panic(err)
	}
	if d.Counter != nil {
		return d.Counter.GetValue()
	}
	return d.Gauge.GetValue()
}

// getJSON decodes an API answer of any shape into v.
func (s *testServer) getJSON(path, token string, v any) {
	s.t.Helper()
	req, _ := http.NewRequest("GET", s.http.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		s.t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		s.t.Fatalf("GET %s: %v", path, err)
	}
}

// terminal is a test client playing a JT/T 808 terminal.
type terminal struct {
	t      testing.TB
	conn   net.Conn
	sc     *jt808.Scanner
	v      jt808.HeaderVersion
	number string
	serial uint16
}

func dialTerminal(t testing.TB, addr, number string, v jt808.HeaderVersion) *terminal {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &terminal{t: t, conn: conn, sc: jt808.NewScanner(conn, 0), v: v, number: number}
}

// frame encodes a message of the terminal with its next serial.
func (c *terminal) frame(msgID uint16, body []byte) ([]byte, uint16) {
	c.t.Helper()
	c.serial++
	h, err := jt808.NewHeader(msgID, c.v, c.number, c.serial)
	if err != nil {
		c.t.Fatal(err)
	}
	b, err := jt808.Encode(h, body)
	if err != nil {
		c.t.Fatal(err)
	}
	return b, c.serial
}

func (c *terminal) send(msgID uint16, body []byte) uint16 {
	c.t.Helper()
	b, serial := c.frame(msgID, body)
	c.write(b)
	return serial
}

func (c *terminal) write(b []byte) {
	c.t.Helper()
	_ = c.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.conn.Write(b); err != nil {
		c.t.Fatalf("terminal %s: write: %v", c.number, err)
	}
}

// read returns the next message from the platform.
func (c *terminal) read() (jt808.Message, error) {
	_ = c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	payload, err := c.sc.Next()
	if err != nil {
		return jt808.Message{}, err
	}
	m, err := jt808.Parse(payload)
	if err == nil {
		m.Body = bytes.Clone(m.Body)
	}
	return m, err
}

// answer reads the platform's general answer to the message with serial and msgID.
func (c *terminal) answer(serial, msgID uint16) jt808.Result {
	c.t.Helper()
	m, err := c.read()
	if err != nil {
		c.t.Fatalf("terminal %s: no answer to %#04x/%d: %v", c.number, msgID, serial, err)
	}
	if m.Header.MsgID != jt808.MsgPlatformReply || m.Header.Terminal != c.number || m.Header.Version != c.v {
		c.t.Fatalf("terminal %s: got message %#04x for %s (%s), want 0x8001", c.number, m.Header.MsgID, m.Header.Terminal, m.Header.Version)
	}
	r, err := jt808.DecodeGeneralReply(m.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	if r.Serial != serial || r.MsgID != msgID {
		c.t.Fatalf("terminal %s: answer to %#04x/%d, want %#04x/%d", c.number, r.MsgID, r.Serial, msgID, serial)
	}
	return r.Result
}

func (c *terminal) call(msgID uint16, body []byte) jt808.Result {
	c.t.Helper()
	return c.answer(c.send(msgID, body), msgID)
}

// register registers and returns the result and the code.
func (c *terminal) register() (jt808.RegisterResult, string) {
	c.t.Helper()
	plate, _ := jt808.EncodePlate("闽D12345")
	body, err := jt808.RegisterBody(&jt808.Register{Province: 35, City: 200, Manufacturer: "TEST", Model: "M1",
		TerminalID: "T1", PlateColor: jt808.PlateBlue, Plate: plate}, c.v)
	if err != nil {
		c.t.Fatal(err)
	}
	serial := c.send(jt808.MsgRegister, body)
	m, err := c.read()
	if err != nil {
		c.t.Fatalf("terminal %s: no registration answer: %v", c.number, err)
	}
	if m.Header.MsgID == jt808.MsgPlatformReply {
		r, _ := jt808.DecodeGeneralReply(m.Body)
		c.t.Fatalf("terminal %s: registration answered 0x8001 result %d", c.number, r.Result)
	}
	r, err := jt808.DecodeRegisterReply(m.Body)
	if err != nil || m.Header.MsgID != jt808.MsgRegisterReply || r.Serial != serial {
		c.t.Fatalf("terminal %s: registration answer %#04x %+v %v", c.number, m.Header.MsgID, r, err)
	}
	return r.Result, r.AuthCode
}

func (c *terminal) auth(code string) jt808.Result {
	c.t.Helper()
	body, err := jt808.AuthBody(&jt808.Auth{Code: code, IMEI: "860000000000017", SoftwareVersion: "1.0"}, c.v)
	if err != nil {
		c.t.Fatal(err)
	}
	return c.call(jt808.MsgAuth, body)
}

// location is a positioned report at lat, lng now (whole seconds, as terminals send).
func location(lat, lng float64, alarm uint32, at time.Time) jt808.Location {
	return jt808.Location{Alarm: alarm, Status: jt808.StatusACC | jt808.StatusPositioned, Lat: lat, Lng: lng,
		Speed: 360, Direction: 90, Time: at.Truncate(time.Second),
		Items: []jt808.Item{{ID: jt808.ItemMileage, Value: []byte{0, 0, 0x30, 0x39}}}}
}

func (c *terminal) report(l jt808.Location) jt808.Result {
	c.t.Helper()
	body, err := jt808.LocationBody(&l)
	if err != nil {
		c.t.Fatal(err)
	}
	return c.call(jt808.MsgLocation, body)
}

// closed reports whether the platform closed the connection (after any answers).
func (c *terminal) closed() bool {
	for {
		_, err := c.read()
		if err != nil {
			var ne net.Error
			return !(errors.As(err, &ne) && ne.Timeout())
		}
	}
}

// unitAt reads the unit over the API.
func (s *testServer) unitAt(id string) dispatch.UnitView {
	var v dispatch.UnitView
	s.getJSON("/api/v1/units/"+id, tokOperator, &v)
	return v
}

type incidentSummary struct {
	ID       string  `json:"id"`
	Status   string  `json:"status"`
	Priority int     `json:"priority"`
	Category string  `json:"category"`
	Lat      float64 `json:"lat"`
	Lng      float64 `json:"lng"`
	Alerts   []struct {
		ID, Caller, Text string
	} `json:"alerts"`
}

func (s *testServer) helpIncidents() []incidentSummary {
	var all, out []incidentSummary
	s.getJSON("/api/v1/incidents?status=all", tokOperator, &all)
	for _, inc := range all {
		if inc.Category == "help" {
			out = append(out, inc)
		}
	}
	return out
}

// TestJT808Terminal plays a terminal through the contract: registration, the code,
// authentication in both header editions, reports, batches, bad frames, the emergency
// alarm and revocation.
func TestJT808Terminal(t *testing.T) {
	s := newTestServer(t, 0)
	addr := s.serveJT808(JT808Limits{RegisterEvery: time.Millisecond})
	const number = "13800138000"

	t.Run("roster", func(t *testing.T) {
		for _, tc := range []struct{ terminal, status string }{
			{`""`, "400"}, {`"12a4"`, "400"}, {`"123456789012345678901"`, "400"}, {`"-1"`, "400"}, {`12`, "400"},
			{`"0` + number + `"`, "200"},
		} {
			got, m := s.do("PUT", "/api/v1/units/P-17", tokOperator,
				`{"callsign":"湖里巡1","force":"police","mode":"car","terminal":`+tc.terminal+`}`)
			e, _ := m["error"].(map[string]any)
			if tc.status == "400" && (got != 400 || e["field"] != "terminal") {
				t.Errorf("terminal %s: %d %v, want 400 naming terminal", tc.terminal, got, m)
			} else if tc.status == "200" && got != 200 {
				t.Errorf("terminal %s: %d %v", tc.terminal, got, m)
			}
		}
		if v := s.unitAt("P-17"); v.Terminal != number {
			t.Fatalf("unit shows terminal %q, want %q", v.Terminal, number)
		}
		// A roster change without the field keeps the terminal.
		s.must(200, "PUT", "/api/v1/units/P-17", tokOperator, `{"callsign":"湖里巡1","force":"police","mode":"car"}`)
		if v := s.unitAt("P-17"); v.Terminal != number {
			t.Fatalf("terminal %q after a change without one", v.Terminal)
		}
		s.must(200, "PUT", "/api/v1/units/P-18", tokOperator, `{"force":"police","mode":"car","terminal":"2019"}`)
	})

	t.Run("unknown terminal", func(t *testing.T) {
		c := dialTerminal(t, addr, "13900000000", jt808.Version2013)
		if r, _ := c.register(); r != jt808.RegisterNoTerminal {
			t.Fatalf("registration of an unknown terminal: result %d, want 4", r)
		}
	})

	var code string
	t.Run("register", func(t *testing.T) {
		c := dialTerminal(t, addr, number, jt808.Version2013)
		r, got := c.register()
		if r != jt808.RegisterOK || len(got) != 16 {
			t.Fatalf("registration: result %d, code %q", r, got)
		}
		code = got
		var tokens []tokenEntry
		s.getJSON("/api/v1/tokens", tokAdmin, &tokens)
		n := 0
		for _, tk := range tokens {
			if strings.HasPrefix(tk.ID, "jt-"+number+"-") && tk.Active {
				n++
				if tk.Role != "unit" || tk.Unit != "P-17" || tk.By != "jt808:"+number {
					t.Errorf("token %+v", tk)
				}
			}
		}
		if n != 1 {
			t.Fatalf("%d active tokens of the terminal, want 1: %+v", n, tokens)
		}
	})

	t.Run("wrong code", func(t *testing.T) {
		c := dialTerminal(t, addr, number, jt808.Version2013)
		if r := c.auth("0123456789abcdef"); r != jt808.ResultFail {
			t.Fatalf("wrong code: result %d, want 1", r)
		}
		if !c.closed() {
			t.Fatal("connection open after a wrong code")
		}
	})

	t.Run("code of another terminal", func(t *testing.T) {
		c := dialTerminal(t, addr, "2019", jt808.Version2019)
		if r := c.auth(code); r != jt808.ResultFail {
			t.Fatalf("P-17's code for P-18's terminal: result %d, want 1", r)
		}
	})

	t.Run("unauthenticated", func(t *testing.T) {
		before := s.unitAt("P-17")
		c := dialTerminal(t, addr, number, jt808.Version2013)
		if r := c.report(location(24.5, 118.1, 0, time.Now())); r != jt808.ResultFail {
			t.Fatalf("location before authentication: result %d, want 1", r)
		}
		if r := c.call(jt808.MsgHeartbeat, nil); r != jt808.ResultFail {
			t.Fatalf("heartbeat before authentication: result %d, want 1", r)
		}
		s.settle()
		if after := s.unitAt("P-17"); after.Lat != before.Lat || after.T != before.T {
			t.Fatalf("a report before authentication moved the unit: %+v", after)
		}
	})

	c := dialTerminal(t, addr, number, jt808.Version2013)
	t.Run("authenticate", func(t *testing.T) {
		if r := c.auth(code); r != jt808.ResultOK {
			t.Fatalf("right code: result %d", r)
		}
		if r := c.call(jt808.MsgHeartbeat, nil); r != jt808.ResultOK {
			t.Fatalf("heartbeat: result %d", r)
		}
		if r := c.call(0x0900, []byte{0xf1, 1, 2}); r != jt808.ResultUnsupported {
			t.Fatalf("unsupported message: result %d, want 3", r)
		}
	})

	t.Run("2019 header", func(t *testing.T) {
		c19 := dialTerminal(t, addr, "00000000013800138000", jt808.Version2019)
		c19.number = number // the header's name for it, as answers carry it
		if r := c19.auth(code); r != jt808.ResultOK {
			t.Fatalf("2019 header, same number: result %d", r)
		}
		if r := c19.call(jt808.MsgLogout, nil); r != jt808.ResultOK || !c19.closed() {
			t.Fatalf("logout: result %d, or the connection stayed open", r)
		}
	})

	t.Run("location", func(t *testing.T) {
		at := time.Now().Add(-2 * time.Second)
		if r := c.report(location(24.4798, 118.0894, 0, at)); r != jt808.ResultOK {
			t.Fatalf("location: result %d", r)
		}
		// Answered once stored: everything in the log now includes it.
		s.settle()
		v := s.unitAt("P-17")
		if v.Lat != 24.4798 || v.Lng != 118.0894 || !v.T.Equal(at.Truncate(time.Second)) || v.Speed != 10 || v.Heading != 90 || v.Cell == 0 {
			t.Fatalf("unit after the report: %+v", v)
		}
		for _, tc := range []struct {
			name   string
			l      jt808.Location
			reason string
		}{
			{"not positioned", func() jt808.Location { l := location(24.5, 118.1, 0, time.Now()); l.Status = 0; return l }(), "unpositioned"},
			{"a week old", location(24.5, 118.1, 0, time.Now().Add(-8*24*time.Hour)), "time"},
			{"in the future", location(24.5, 118.1, 0, time.Now().Add(time.Hour)), "time"},
			{"no clock", location(24.5, 118.1, 0, time.Time{}), "time"},
		} {
			before := s.rejects(tc.reason)
			if r := c.report(tc.l); r != jt808.ResultBadMessage {
				t.Errorf("%s: result %d, want 2", tc.name, r)
			}
			if s.rejects(tc.reason) != before+1 {
				t.Errorf("%s: not counted as %s", tc.name, tc.reason)
			}
		}
		s.settle()
		if v2 := s.unitAt("P-17"); v2.Lat != v.Lat || v2.T != v.T {
			t.Fatalf("a refused report moved the unit: %+v", v2)
		}
	})

	t.Run("bad frames", func(t *testing.T) {
		before := s.rejects("checksum")
		b, _ := c.frame(jt808.MsgHeartbeat, nil)
		b[len(b)-2] ^= 0x55 // the check code (never 0x7d or 0x7e here: the frame is plain)
		c.write(b)
		if r := c.call(jt808.MsgHeartbeat, nil); r != jt808.ResultOK {
			t.Fatalf("heartbeat after a bad frame: result %d", r)
		}
		if s.rejects("checksum") != before+1 {
			t.Fatal("bad check code not counted")
		}
		before = s.rejects("frame_too_large")
		huge := append([]byte{0x7e}, bytes.Repeat([]byte{0x30}, 4*jt808.DefaultMaxFrame)...)
		c.write(append(huge, 0x7e))
		if r := c.call(jt808.MsgHeartbeat, nil); r != jt808.ResultOK {
			t.Fatalf("heartbeat after an oversized frame: result %d", r)
		}
		if s.rejects("frame_too_large") != before+1 {
			t.Fatal("oversized frame not counted")
		}
	})

	t.Run("batch", func(t *testing.T) {
		now := time.Now()
		unpositioned := location(24.49, 118.09, 0, now)
		unpositioned.Status = 0
		body, err := jt808.BatchBody(&jt808.Batch{Type: jt808.BatchBlindArea, Locations: []jt808.Location{
			location(24.481, 118.081, 0, now.Add(-3*time.Second)), unpositioned, location(24.482, 118.082, 0, now.Add(-time.Second)),
		}})
		if err != nil {
			t.Fatal(err)
		}
		if r := c.call(jt808.MsgBatch, body); r != jt808.ResultOK {
			t.Fatalf("batch: result %d", r)
		}
		s.settle()
		if v := s.unitAt("P-17"); v.Lat != 24.482 || v.Lng != 118.082 {
			t.Fatalf("unit after the batch: %+v", v)
		}
	})

	t.Run("emergency alarm", func(t *testing.T) {
		t0 := time.Now().Add(-10 * time.Second).Truncate(time.Second)
		first := location(24.4798, 118.0894, jt808.AlarmSOS, t0)
		for i, l := range []jt808.Location{first, location(24.4798, 118.0894, jt808.AlarmSOS|jt808.AlarmOverspeed, t0.Add(time.Second))} {
			if r := c.report(l); r != jt808.ResultOK {
				t.Fatalf("alarm report %d: result %d", i, r)
			}
		}
		help := s.helpIncidents()
		if len(help) != 1 || help[0].Priority != 1 || help[0].Lat != 24.4798 || len(help[0].Alerts) != 1 {
			t.Fatalf("help incidents after two reports with the bit: %+v", help)
		}
		a := help[0].Alerts[0]
		if a.Caller != "湖里巡1" || !strings.Contains(a.Text, "一键报警") || !strings.Contains(a.Text, "emergency alarm") {
			t.Fatalf("alert %+v", a)
		}
		// The same report once more after a restart (the edge forgotten): the same alert.
		st := s.srv.jt808.terminal(number)
		st.mu.Lock()
		st.sos = false
		st.mu.Unlock()
		if r := c.report(first); r != jt808.ResultOK {
			t.Fatalf("repeated alarm report: result %d", r)
		}
		if help := s.helpIncidents(); len(help) != 1 || len(help[0].Alerts) != 1 {
			t.Fatalf("a repeated report opened another incident: %+v", help)
		}
		// The bit clears, the incident is closed, and the bit rises again: a second one.
		if r := c.report(location(24.4798, 118.0894, 0, t0.Add(2*time.Second))); r != jt808.ResultOK {
			t.Fatalf("report without the bit: result %d", r)
		}
		s.must(200, "POST", "/api/v1/incidents/"+help[0].ID+"/close", tokOperator, `{"disposition":"resolved"}`)
		if r := c.report(location(24.4799, 118.0895, jt808.AlarmSOS, t0.Add(3*time.Second))); r != jt808.ResultOK {
			t.Fatalf("second alarm: result %d", r)
		}
		if help := s.helpIncidents(); len(help) != 2 || help[1].Priority != 1 || help[1].Status == "closed" {
			t.Fatalf("help incidents after the second rising edge: %+v", help)
		}
		if n := metricValue(s.srv.Metrics.jt808.alarms); n != 2 {
			t.Fatalf("%v alarms counted, want 2", n)
		}
	})

	t.Run("registering again", func(t *testing.T) {
		c2 := dialTerminal(t, addr, number, jt808.Version2013)
		r, code2 := c2.register()
		if r != jt808.RegisterOK || code2 == code {
			t.Fatalf("second registration: %d %q", r, code2)
		}
		if r := c2.auth(code2); r != jt808.ResultOK {
			t.Fatalf("new code: result %d", r)
		}
		old := dialTerminal(t, addr, number, jt808.Version2013)
		if r := old.auth(code); r != jt808.ResultFail {
			t.Fatalf("the code replaced: result %d, want 1", r)
		}
		code = code2
		// The first connection authenticated with the old code: it is closed at its
		// next message once the code is looked at again.
		time.Sleep(jt808CredentialCheck + 100*time.Millisecond)
		if r := c.call(jt808.MsgHeartbeat, nil); r != jt808.ResultFail || !c.closed() {
			t.Fatalf("connection of a revoked code: result %d, or still open", r)
		}
	})

	t.Run("revoked", func(t *testing.T) {
		var tokens []tokenEntry
		s.getJSON("/api/v1/tokens", tokAdmin, &tokens)
		id := ""
		for _, tk := range tokens {
			if strings.HasPrefix(tk.ID, "jt-"+number+"-") && tk.Active {
				id = tk.ID
			}
		}
		if id == "" {
			t.Fatal("no active token of the terminal")
		}
		s.must(200, "DELETE", "/api/v1/tokens/"+id, tokAdmin, "")
		c3 := dialTerminal(t, addr, number, jt808.Version2013)
		if r := c3.auth(code); r != jt808.ResultFail || !c3.closed() {
			t.Fatalf("revoked code: result %d, or still open", r)
		}
	})
}

// TestJT808Limits: a flood closes its connection, too many connections are refused, an
// idle one is closed; each counted.
func TestJT808Limits(t *testing.T) {
	s := newTestServer(t, 0)
	addr := s.serveJT808(JT808Limits{Rate: 20, Burst: 10, MaxConns: 3, Idle: 300 * time.Millisecond, RegisterEvery: time.Millisecond})
	s.must(200, "PUT", "/api/v1/units/P-17", tokOperator, `{"force":"police","mode":"car","terminal":"13800138000"}`)
	c := dialTerminal(t, addr, "13800138000", jt808.Version2013)
	_, code := c.register()
	if r := c.auth(code); r != jt808.ResultOK {
		t.Fatalf("auth: %d", r)
	}

	t.Run("flood", func(t *testing.T) {
		var flood []byte
		for range 200 {
			b, _ := c.frame(jt808.MsgHeartbeat, nil)
			flood = append(flood, b...)
		}
		c.write(flood)
		answered := 0
		for {
			if _, err := c.read(); err != nil {
				break
			}
			answered++
		}
		if answered > 30 || answered < 8 {
			t.Errorf("%d of 200 flooded frames answered, want about the burst (10)", answered)
		}
		if s.rejects("rate") < 10 || s.rejects("flood") != 1 {
			t.Errorf("rate %v, flood %v", s.rejects("rate"), s.rejects("flood"))
		}
	})

	// waitConns waits until the server has let go of the connections closed so far.
	waitConns := func() {
		for deadline := time.Now().Add(5 * time.Second); metricValue(s.srv.Metrics.jt808.conns) != 0 && time.Now().Before(deadline); {
			time.Sleep(5 * time.Millisecond)
		}
	}

	t.Run("connections", func(t *testing.T) {
		waitConns()
		var open []*terminal
		for range 3 {
			open = append(open, dialTerminal(t, addr, "13800138000", jt808.Version2013))
		}
		for _, o := range open { // each is served: the server has counted it
			if r := o.call(jt808.MsgHeartbeat, nil); r != jt808.ResultFail {
				t.Fatalf("heartbeat before authentication: %d", r)
			}
		}
		if g := metricValue(s.srv.Metrics.jt808.conns); g != 3 {
			t.Errorf("connections gauge %v, want 3", g)
		}
		extra := dialTerminal(t, addr, "13800138000", jt808.Version2013)
		if !extra.closed() {
			t.Fatal("a fourth connection was kept")
		}
		if s.rejects("connections") != 1 {
			t.Errorf("refused connections counted %v", s.rejects("connections"))
		}
		for _, o := range open {
			o.conn.Close()
		}
	})

	t.Run("idle", func(t *testing.T) {
		waitConns()
		before := s.rejects("idle")
		idle := dialTerminal(t, addr, "13800138000", jt808.Version2013)
		if !idle.closed() {
			t.Fatal("idle connection kept")
		}
		if s.rejects("idle") != before+1 {
			t.Error("idle close not counted")
		}
	})
}

// TestFixBatchAlarm: the log keeps a JT/T 808 fix's alarm word and mileage, and still
// reads batches of the first form.
func TestFixBatchAlarm(t *testing.T) {
	t0 := time.UnixMilli(1795341600000).UTC()
	fixes := []dispatch.Event{
		&dispatch.Fix{Unit: "P-17", T: t0, Lat: 24.5, Lng: 118.1, Alarm: jt808.AlarmSOS | jt808.AlarmRollover, Mileage: 12345},
		&dispatch.Fix{Unit: "P-18", T: t0, Lat: 24.5, Lng: 118.1},
		&dispatch.Fix{Unit: "P-19", T: t0, Lat: 24.5, Lng: 118.1, Mileage: 1},
	}
	b, err := EncodeEvents(fixes)
	if err != nil || b[0] != fixBatchMagic {
		t.Fatalf("not the batch form: %v", err)
	}
	got, err := DecodeEvents(b)
	if err != nil || len(got) != 3 {
		t.Fatal(err)
	}
	for i := range got {
		if *got[i].(*dispatch.Fix) != *fixes[i].(*dispatch.Fix) {
			t.Errorf("fix %d: wrote %+v, read %+v", i, fixes[i], got[i])
		}
	}
	// The first form: the same fixes without alarm and mileage, lengths not doubled.
	v1 := appendBatchHeader(nil, 1)
	v1[0] = fixBatchMagicV1
	v1 = append(v1, 4)
	v1 = append(v1, "P-17"...)
	rest, _ := EncodeEvents(fixes[1:2])
	v1 = append(v1, rest[3+len("P-18"):]...) // after magic, count and length: the time and words of P-18's fix
	old, err := DecodeEvents(v1)
	if err != nil || len(old) != 1 || old[0].(*dispatch.Fix).Unit != "P-17" || old[0].(*dispatch.Fix).Lat != 24.5 {
		t.Fatalf("first form: %v %+v", err, old)
	}
}

// BenchmarkJT808Location: location reports decoded, stored and answered per second over
// loopback, each connection in lockstep as a terminal is (one report in flight); and
// OsmAnd fixes over HTTP on the same server for comparison.
func BenchmarkJT808Location(b *testing.B) {
	s := newTestServer(b, 0)
	s.srv.Limits.Rate, s.srv.Limits.Burst = 1e9, 1e9
	addr := s.serveJT808(JT808Limits{Rate: 1e9, Burst: 1 << 30, MaxConns: 5000})
	const units = 1000
	now := time.Now()
	var roster []dispatch.Event
	for i := range units {
		id, number := fmt.Sprintf("B-%d", i), fmt.Sprintf("1390000%04d", i)
		roster = append(roster, &dispatch.UnitUpserted{T: now, ID: id, Force: dispatch.Police, Terminal: number},
			&dispatch.TokenIssued{T: now, ID: "jt-" + number, Hash: tokenHash("code-" + number), Role: "unit", Unit: id, By: "bench"})
	}
	if _, err := s.srv.Log.Append(context.Background(), "", roster...); err != nil {
		b.Fatal(err)
	}
	s.settle()
	dial := func(i int) (*terminal, []byte) {
		number := fmt.Sprintf("1390000%04d", i)
		c := dialTerminal(b, addr, number, jt808.Version2013)
		if r := c.auth("code-" + number); r != jt808.ResultOK {
			b.Fatalf("auth %s: %d", number, r)
		}
		l := location(24.48+float64(i)*1e-4, 118.09, 0, time.Now())
		body, _ := jt808.LocationBody(&l)
		frame, _ := c.frame(jt808.MsgLocation, body)
		return c, frame
	}
	for _, conns := range []int{1, units} {
		b.Run(fmt.Sprintf("jt808/conns=%d", conns), func(b *testing.B) {
			cs, frames := make([]*terminal, conns), make([][]byte, conns)
			for i := range conns {
				cs[i], frames[i] = dial(i)
			}
			b.ResetTimer()
			start := time.Now()
			parallelFrames(b, conns, func(i int) error {
				c := cs[i]
				if _, err := c.conn.Write(frames[i]); err != nil {
					return err
				}
				payload, err := c.sc.Next()
				if err != nil {
					return err
				}
				if payload[len(payload)-1] != byte(jt808.ResultOK) {
					return fmt.Errorf("result %d", payload[len(payload)-1])
				}
				return nil
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "frames/s")
			for _, c := range cs {
				c.conn.Close()
			}
		})
	}
	for _, conns := range []int{1, units} {
		b.Run(fmt.Sprintf("osmand/conns=%d", conns), func(b *testing.B) {
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}}
			defer client.CloseIdleConnections()
			urls := make([]string, conns)
			for i := range conns {
				urls[i] = fmt.Sprintf("%s/osmand?id=B-%d&lat=%f&lon=118.09&timestamp=%d", s.http.URL, i, 24.48+float64(i)*1e-4, time.Now().Unix())
			}
			b.ResetTimer()
			start := time.Now()
			parallelFrames(b, conns, func(i int) error {
				req, _ := http.NewRequest("GET", urls[i], nil)
				req.Header.Set("Authorization", "Bearer "+tokIngest)
				resp, err := client.Do(req)
				if err != nil {
					return err
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					return fmt.Errorf("status %d", resp.StatusCode)
				}
				return nil
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "frames/s")
		})
	}
}

// parallelFrames runs b.N calls of send spread over conns goroutines, goroutine i
// always with i.
func parallelFrames(b *testing.B, conns int, send func(i int) error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for i := range conns {
		wg.Go(func() {
			for next.Add(1) <= int64(b.N) {
				if err := send(i); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}

// TestJT808Fix: what of a location report becomes the fix, and which reports are refused.
func TestJT808Fix(t *testing.T) {
	now := time.Date(2026, 12, 2, 1, 0, 0, 0, time.UTC)
	c := &jt808Conn{unit: "P-17"}
	ok := location(24.4798, -118.0894, jt808.AlarmSOS|jt808.AlarmCollision, now.Add(-time.Minute))
	ok.Direction = 450
	for _, tc := range []struct {
		name string
		l    func(l *jt808.Location)
		why  string
	}{
		{"kept", func(*jt808.Location) {}, ""},
		{"not positioned", func(l *jt808.Location) { l.Status &^= jt808.StatusPositioned }, "unpositioned"},
		{"no clock", func(l *jt808.Location) { l.Time = time.Time{} }, "time"},
		{"too old", func(l *jt808.Location) { l.Time = now.Add(-MaxPast - time.Second) }, "time"},
		{"ahead", func(l *jt808.Location) { l.Time = now.Add(MaxFuture + time.Second) }, "time"},
		{"null island", func(l *jt808.Location) { l.Lat, l.Lng = 0, 0 }, "position"},
		{"off the globe", func(l *jt808.Location) { l.Lat = 91 }, "position"},
		{"too fast", func(l *jt808.Location) { l.Speed = 4320 }, "speed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := ok
			tc.l(&l)
			f, why := c.fix(&l, now)
			if why != tc.why {
				t.Fatalf("refused for %q, want %q", why, tc.why)
			}
			if why != "" {
				return
			}
			want := dispatch.Fix{Unit: "P-17", T: now.Add(-time.Minute), Lat: 24.4798, Lng: -118.0894, Cell: f.Cell, Speed: 10,
				Heading: 90, Alarm: jt808.AlarmSOS | jt808.AlarmCollision, Mileage: 12345}
			if f != want || f.Cell == 0 {
				t.Fatalf("fix %+v, want %+v", f, want)
			}
		})
	}
}

// FuzzJT808Conn: whatever a terminal sends, the connection handler neither panics nor
// hangs, and ends when the terminal hangs up.
func FuzzJT808Conn(f *testing.F) {
	s := newTestServer(f, 0)
	const number, code = "13800138000", "fuzz-code-0123456789"
	now := time.Now()
	if _, err := s.srv.Log.Append(context.Background(), "",
		&dispatch.UnitUpserted{T: now, ID: "P-17", Force: dispatch.Police, Terminal: number},
		&dispatch.TokenIssued{T: now, ID: "jt-fuzz", Hash: tokenHash(code), Role: "unit", Unit: "P-17", By: "fuzz"}); err != nil {
		f.Fatal(err)
	}
	s.settle()
	lim := JT808Limits{Idle: 5 * time.Second}.withDefaults()
	frame := func(v jt808.HeaderVersion, id uint16, body []byte) []byte {
		h, _ := jt808.NewHeader(id, v, number, 7)
		b, _ := jt808.Encode(h, body)
		return b
	}
	auth13, _ := jt808.AuthBody(&jt808.Auth{Code: code}, jt808.Version2013)
	auth19, _ := jt808.AuthBody(&jt808.Auth{Code: code, IMEI: "860000000000017"}, jt808.Version2019)
	l := location(24.48, 118.09, jt808.AlarmSOS, now)
	loc, _ := jt808.LocationBody(&l)
	batch, _ := jt808.BatchBody(&jt808.Batch{Locations: []jt808.Location{l, l}})
	reg, _ := jt808.RegisterBody(&jt808.Register{Manufacturer: "F", Model: "M", TerminalID: "T", Plate: []byte("X")}, jt808.Version2013)
	var session []byte
	for _, b := range [][]byte{frame(jt808.Version2013, jt808.MsgAuth, auth13), frame(jt808.Version2013, jt808.MsgLocation, loc),
		frame(jt808.Version2013, jt808.MsgBatch, batch), frame(jt808.Version2013, jt808.MsgHeartbeat, nil),
		frame(jt808.Version2013, 0x0900, []byte{1}), frame(jt808.Version2013, jt808.MsgLogout, nil)} {
		session = append(session, b...)
	}
	f.Add(session)
	f.Add(append(frame(jt808.Version2019, jt808.MsgAuth, auth19), frame(jt808.Version2019, jt808.MsgLocation, loc)...))
	f.Add(frame(jt808.Version2013, jt808.MsgRegister, reg))
	f.Add([]byte{0x7e, 0x7d, 0x03, 0x7e, 0x7e, 0x00, 0x7e})
	f.Fuzz(func(t *testing.T, in []byte) {
		client, server := net.Pipe()
		done := make(chan struct{})
		go func() {
			defer close(done)
			s.srv.serveJT808Conn(context.Background(), server, lim)
		}()
		go func() { _, _ = io.Copy(io.Discard, client) }()
		_ = client.SetWriteDeadline(time.Now().Add(5 * time.Second))
		_, _ = client.Write(in)
		client.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("the handler did not end after the terminal hung up")
		}
	})
}

// TestJT808RegisterAgain: a terminal that registers again at once (it lost the answer)
// is given the code it already has, result 0, and no second token.
func TestJT808RegisterAgain(t *testing.T) {
	s := newTestServer(t, 0)
	addr := s.serveJT808(JT808Limits{})
	s.must(200, "PUT", "/api/v1/units/P-17", tokOperator, `{"force":"police","mode":"car","terminal":"13800138000"}`)
	var codes []string
	for range 2 {
		c := dialTerminal(t, addr, "13800138000", jt808.Version2013)
		r, code := c.register()
		if r != jt808.RegisterOK || code == "" {
			t.Fatalf("registration: result %d, code %q", r, code)
		}
		codes = append(codes, code)
	}
	if codes[0] != codes[1] {
		t.Errorf("registered twice at once: codes %q and %q, want the same", codes[0], codes[1])
	}
	var tokens []tokenEntry
	s.getJSON("/api/v1/tokens", tokAdmin, &tokens)
	n := 0
	for _, tk := range tokens {
		if strings.HasPrefix(tk.ID, "jt-13800138000-") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d tokens of the terminal, want 1", n)
	}
}
