package main

// End-to-end tests: the real commandd binary as a subprocess, driven over real HTTP
// and WebSocket on loopback, with its embedded JetStream log on disk, the way an
// outside system or an acceptance test would drive it.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"commandd/fixtures"
	"commandd/fixtures/city"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "commandd-e2e")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "commandd")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build commandd: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// Tokens used by the tests, one per role.
const (
	tokAdmin      = "admin-token-0123456789abcdef"
	tokOperator   = "operator-token-0123456789abcdef"
	tokSupervisor = "supervisor-token-0123456789abcdef"
	tokIngest     = "ingest-token-0123456789abcdef"
	tokUnitP17    = "unit-p17-token-0123456789abcdef"
	tokVolunteer  = "volunteer-token-0123456789abcdef"
)

// server is one running commandd.
type server struct {
	t    testing.TB
	cmd  *exec.Cmd
	base string
	data string
	logs *logBuffer
	// client talks to it: over TLS, trusting its certificate, when it serves TLS.
	client *http.Client
	scheme string
	addr   chan string // its address, once it serves
}

// logBuffer keeps what commandd writes to stderr; its reader goroutine writes while a
// test reads.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) WriteString(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.WriteString(s)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// start runs commandd on a free loopback port with data in dir and waits for /readyz.
func start(t testing.TB, dir string, extra ...string) *server {
	t.Helper()
	s := spawn(t, dir, extra...)
	s.awaitReady()
	return s
}

// spawn runs commandd on a free loopback port with data in dir; awaitReady waits for
// it (the nodes of a new cluster are all spawned before any is ready).
func spawn(t testing.TB, dir string, extra ...string) *server {
	t.Helper()
	tokens := filepath.Join(dir, "test-tokens")
	if _, err := os.Stat(tokens); err != nil {
		body := fmt.Sprintf("# roles\n%s admin\n%s operator\n%s supervisor\n%s ingest\n%s unit P-17\n%s volunteer\n",
			tokAdmin, tokOperator, tokSupervisor, tokIngest, tokUnitP17, tokVolunteer)
		if err := os.WriteFile(tokens, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	args := append([]string{"--listen", "127.0.0.1:0", "--data", dir, "--tokens", tokens, "--tick", "200ms", "--log-level", "debug"}, extra...)
	cmd := exec.Command(binary, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{t: t, cmd: cmd, data: dir, logs: &logBuffer{}, client: http.DefaultClient}
	scheme := "http"
	if i := slices.Index(extra, "--tls-cert"); i >= 0 {
		pem, err := os.ReadFile(extra[i+1])
		if err != nil {
			t.Fatal(err)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		s.client = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
		scheme = "https"
	}
	s.addr = make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			s.logs.WriteString(line + "\n")
			var m struct {
				Message string `json:"message"`
				Listen  string `json:"listen"`
			}
			if json.Unmarshal([]byte(line), &m) == nil && m.Message == "commandd serving" {
				s.addr <- m.Listen
			}
		}
	}()
	s.scheme = scheme
	t.Cleanup(func() { s.kill() })
	return s
}

// awaitReady waits for the spawned commandd to serve and to answer /readyz.
func (s *server) awaitReady() {
	t := s.t
	t.Helper()
	select {
	case a := <-s.addr:
		s.base = s.scheme + "://" + a
	case <-time.After(40 * time.Second):
		s.kill()
		t.Fatalf("commandd did not start:\n%s", s.logs)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := s.client.Get(s.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("commandd not ready:\n%s", s.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// osmandPort is the address of the OsmAnd port (--osmand-listen), from the log.
func (s *server) osmandPort() string {
	s.t.Helper()
	for _, line := range strings.Split(s.logs.String(), "\n") {
		var m struct {
			Message string `json:"message"`
			Listen  string `json:"listen"`
		}
		if json.Unmarshal([]byte(line), &m) == nil && m.Message == "osmand serving" {
			return m.Listen
		}
	}
	s.t.Fatal("no OsmAnd port in the log")
	return ""
}

// stop asks commandd to shut down cleanly and waits.
func (s *server) stop() {
	if s.cmd.ProcessState != nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		s.kill()
	}
}

// kill ends commandd at once, as a crash would.
func (s *server) kill() {
	if s.cmd.ProcessState == nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
	}
}

// do sends a request with a token and returns the status and decoded body.
func (s *server) do(method, path, token, body string) (int, map[string]any) {
	s.t.Helper()
	req, _ := http.NewRequest(method, s.base+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if len(raw) > 0 && raw[0] == '{' {
		_ = json.Unmarshal(raw, &m)
	}
	if m == nil {
		m = map[string]any{"_raw": string(raw)}
	}
	return resp.StatusCode, m
}

// must is do that fails the test on an unexpected status.
func (s *server) must(want int, method, path, token, body string) map[string]any {
	s.t.Helper()
	got, m := s.do(method, path, token, body)
	if got != want {
		s.t.Fatalf("%s %s: status %d, want %d: %v", method, path, got, want, m)
	}
	return m
}

// eventually polls a GET as an operator until ok holds (state that follows a 202).
func (s *server) eventually(path string, ok func(map[string]any) bool) map[string]any {
	s.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		m := s.must(200, "GET", path, tokOperator, "")
		if ok(m) {
			return m
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("GET %s never became as expected: %v", path, m)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// socket is a WebSocket client of commandd.
type socket struct {
	t    testing.TB
	conn *websocket.Conn
}

func (s *server) subscribe(token, sub string) *socket {
	s.t.Helper()
	u := "ws" + strings.TrimPrefix(s.base, "http") + "/ws?access_token=" + url.QueryEscape(token)
	d := *websocket.DefaultDialer
	if tr, ok := s.client.Transport.(*http.Transport); ok {
		d.TLSClientConfig = tr.TLSClientConfig
	}
	conn, _, err := d.Dial(u, nil)
	if err != nil {
		s.t.Fatalf("dial: %v", err)
	}
	if err := conn.WriteMessage(websocket.TextMessage, []byte(sub)); err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { conn.Close() })
	return &socket{t: s.t, conn: conn}
}

// expect reads frames until one of type typ for which ok is true arrives.
func (w *socket) expect(typ string, ok func(map[string]any) bool) map[string]any {
	w.t.Helper()
	w.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, b, err := w.conn.ReadMessage()
		if err != nil {
			w.t.Fatalf("waiting for a %s frame: %v", typ, err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			w.t.Fatalf("bad frame %s: %v", b, err)
		}
		if m["type"] == typ && (ok == nil || ok(m)) {
			return m
		}
	}
}

func TestAlertToAssignment(t *testing.T) {
	s := start(t, t.TempDir())
	s.must(200, "PUT", "/api/v1/units/P-17", tokOperator, `{"callsign":"湖里巡17","force":"police","mode":"car","status":"available"}`)
	s.must(200, "PUT", "/api/v1/units/P-18", tokOperator, `{"callsign":"湖里巡18","force":"police","mode":"car"}`)
	s.must(200, "PUT", "/api/v1/units/V-1", tokOperator, `{"force":"volunteer","mode":"foot"}`)
	fixes := s.must(202, "POST", "/api/v1/fixes", tokIngest,
		`[{"unit":"P-17","lat":24.5000,"lng":118.1225},{"unit":"P-18","lat":24.5000,"lng":118.1111},{"unit":"V-1","lat":24.5050,"lng":118.1200},{"unit":"NOPE","lat":24.5,"lng":118.1}]`)
	if fixes["accepted"].(float64) != 3 || len(fixes["rejected"].([]any)) != 1 {
		t.Fatalf("fixes answer %v", fixes)
	}
	unit := s.subscribe(tokUnitP17, `{"type":"subscribe","view":"unit","unit":"P-17"}`)
	unit.expect("snapshot", nil)
	wall := s.subscribe(tokOperator, `{"type":"subscribe","view":"wall","bbox":[118.0,24.4,118.3,24.6]}`)
	snap := wall.expect("snapshot", nil)
	if n := len(snap["units"].([]any)); n != 3 {
		t.Fatalf("wall snapshot has %d units, want 3", n)
	}

	alert := `{"id":"110-20261122-0001","lat":24.5000,"lng":118.1200,"address":"湖里区 金山路","category":"criminal","priority":2,"caller":"138****0000","text":"robbery"}`
	ans := s.must(201, "POST", "/api/v1/alerts", tokIngest, alert)
	inc, _ := ans["incident"].(string)
	if !strings.HasPrefix(inc, "INC-") || ans["duplicate"] != false || ans["alert"] != "110-20261122-0001" {
		t.Fatalf("alert answer %v", ans)
	}
	a := unit.expect("assignment", func(m map[string]any) bool { return m["unit"] == "P-17" })
	if a["incident"] != inc || a["tier"].(float64) != 1 || a["eta_s"].(float64) > 60 {
		t.Fatalf("assignment %v", a)
	}
	got := wall.expect("incident", func(m map[string]any) bool { return m["id"] == inc })
	if tiers := got["tiers"].([]any); len(tiers) != 3 {
		t.Fatalf("incident frame has %d tier clocks, want 3: %v", len(tiers), got)
	}
	// The sender retries: same answer, 200.
	again := s.must(200, "POST", "/api/v1/alerts", tokIngest, alert)
	if again["incident"] != inc {
		t.Fatalf("retry answered %v, first %v", again, ans)
	}
	// The unit reports on scene over its socket; the wall sees the tier met.
	unit.conn.WriteMessage(websocket.TextMessage, []byte(`{"type":"status","status":"onscene","incident":"`+inc+`"}`))
	wall.expect("incident", func(m map[string]any) bool {
		t1 := m["tiers"].([]any)[0].(map[string]any)
		return m["id"] == inc && t1["state"] == "met"
	})
	v := s.must(200, "GET", "/api/v1/incidents/"+inc, tokSupervisor, "")
	if v["status"] != "open" || len(v["alerts"].([]any)) != 1 {
		t.Fatalf("incident %v", v)
	}
}

func TestRolesAndBadInput(t *testing.T) {
	s := start(t, t.TempDir())
	s.must(200, "PUT", "/api/v1/units/P-17", tokOperator, `{"force":"police","mode":"car"}`)
	for _, tc := range []struct {
		method, path, token, body string
		want                      int
		code                      string
	}{
		{"POST", "/api/v1/alerts", "", `{}`, 401, "unauthenticated"},
		{"POST", "/api/v1/alerts", "not-a-token-at-all", `{}`, 401, "unauthenticated"},
		{"POST", "/api/v1/alerts", tokSupervisor, `{"id":"x","lat":24.5,"lng":118.1,"category":"fire","priority":1}`, 403, "permission_denied"},
		{"POST", "/api/v1/alerts", tokVolunteer, `{"id":"x","lat":24.5,"lng":118.1,"category":"fire","priority":1}`, 403, "permission_denied"},
		{"PUT", "/api/v1/units/P-99", tokIngest, `{"force":"police","mode":"car"}`, 403, "permission_denied"},
		{"POST", "/api/v1/units/P-18/status", tokUnitP17, `{"status":"busy"}`, 403, "permission_denied"},
		{"POST", "/api/v1/incidents/INC-000001/assign", tokIngest, `{"unit":"P-17"}`, 403, "permission_denied"},
		{"GET", "/api/v1/incidents", tokIngest, ``, 403, "permission_denied"},
		{"POST", "/api/v1/alerts", tokIngest, `{"id":"x",`, 400, "invalid_argument"},
		{"POST", "/api/v1/alerts", tokIngest, `{"id":"x","lat":"north","lng":118.1,"category":"fire","priority":1}`, 400, "invalid_argument"},
		{"POST", "/api/v1/alerts", tokIngest, `{"id":"x","lat":124.5,"lng":118.1,"category":"fire","priority":1}`, 400, "invalid_argument"},
		{"POST", "/api/v1/alerts", tokIngest, `{"id":"x","lat":24.5,"lng":118.1,"category":"alien","priority":1}`, 400, "invalid_argument"},
		{"POST", "/api/v1/alerts", tokIngest, `{"id":"x","t":"1999-01-01T00:00:00Z","lat":24.5,"lng":118.1,"category":"fire","priority":1}`, 400, "invalid_argument"},
		{"POST", "/api/v1/alerts", tokIngest, `{"id":"x","text":"` + strings.Repeat("a", 70000) + `"}`, 413, "too_large"},
		{"POST", "/api/v1/incidents/INC-999999/close", tokOperator, `{}`, 404, "not_found"},
		{"GET", "/api/v1/units/NOPE", tokOperator, ``, 404, "not_found"},
	} {
		got, m := s.do(tc.method, tc.path, tc.token, tc.body)
		e, _ := m["error"].(map[string]any)
		if got != tc.want || e == nil || e["code"] != tc.code {
			t.Errorf("%s %s as %.12s: %d %v, want %d %s", tc.method, tc.path, tc.token, got, m, tc.want, tc.code)
		}
	}
	// Nothing rejected changed anything.
	code, m := s.do("GET", "/api/v1/incidents?status=all", tokOperator, "")
	if code != 200 || m["_raw"] != "[]\n" {
		t.Fatalf("incidents after rejected requests: %d %v", code, m)
	}
}

func TestRestartKeepsEverything(t *testing.T) {
	dir := t.TempDir()
	s := start(t, dir)
	s.must(200, "PUT", "/api/v1/units/P-17", tokOperator, `{"force":"police","mode":"car"}`)
	s.must(202, "POST", "/api/v1/fixes", tokIngest, `{"unit":"P-17","lat":24.5,"lng":118.121}`+"\n")
	s.eventually("/api/v1/units/P-17", func(m map[string]any) bool { return m["lat"] == 24.5 })
	first := s.must(201, "POST", "/api/v1/alerts", tokIngest, `{"id":"A-1","lat":24.5,"lng":118.12,"category":"traffic","priority":3}`)
	s.stop()

	s = start(t, dir)
	again := s.must(200, "POST", "/api/v1/alerts", tokIngest, `{"id":"A-1","lat":24.5,"lng":118.12,"category":"traffic","priority":3}`)
	if again["incident"] != first["incident"] {
		t.Fatalf("after a restart the alert answers %v, first %v", again, first)
	}
	u := s.must(200, "GET", "/api/v1/units/P-17", tokOperator, "")
	if u["incident"] != first["incident"] {
		t.Fatalf("unit after restart: %v", u)
	}
	s.kill() // a crash: no final snapshot; the log's tail must bring everything back
	s = start(t, dir)
	u = s.must(200, "GET", "/api/v1/units/P-17", tokOperator, "")
	if u["incident"] != first["incident"] || u["lat"].(float64) != 24.5 {
		t.Fatalf("unit after a crash: %v", u)
	}
}

// TestOsmAnd: OsmAnd and Traccar Client reports, on /osmand and on the OsmAnd port,
// with the unit's device secret or a token; by the device id alone only when the
// server was told to trust device ids.
func TestOsmAnd(t *testing.T) {
	s := start(t, t.TempDir(), "--osmand-listen", "127.0.0.1:0")
	const secret = "traccar-867730-secret"
	s.must(200, "PUT", "/api/v1/units/867730", tokOperator, `{"force":"patrol","mode":"bike","secret":"`+secret+`"}`)
	now := time.Now().Unix()
	// The query form, as Traccar Client sends it: speed in knots.
	s.must(200, "GET", fmt.Sprintf("/osmand?id=867730&lat=24.5012&lon=118.1234&timestamp=%d&speed=10&bearing=90&accuracy=8&secret=%s", now, secret), "", "")
	// A fix is acknowledged once logged; the engine applies it a moment later.
	u := s.eventually("/api/v1/units/867730", func(m map[string]any) bool { return m["lat"] == 24.5012 })
	if u["lat"].(float64) != 24.5012 || u["lng"].(float64) != 118.1234 || u["heading"].(float64) != 90 {
		t.Fatalf("unit after an OsmAnd fix: %v", u)
	}
	if sp := u["speed"].(float64); sp < 5.1 || sp > 5.2 {
		t.Fatalf("10 knots became %v m/s, want 5.14", sp)
	}
	// The JSON form of background-geolocation clients, on the OsmAnd port, with a token.
	js := fmt.Sprintf(`{"device_id":"867730","location":{"timestamp":"%s","coords":{"latitude":24.5020,"longitude":118.1240,"speed":3,"heading":180,"accuracy":5}}}`,
		time.Unix(now+1, 0).UTC().Format(time.RFC3339))
	port := s.osmandPort()
	resp, err := http.Post("http://"+port+"/?access_token="+tokIngest, "application/json", strings.NewReader(js))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("the OsmAnd port: %d", resp.StatusCode)
	}
	u = s.eventually("/api/v1/units/867730", func(m map[string]any) bool { return m["lat"] == 24.502 })
	if u["heading"].(float64) != 180 {
		t.Fatalf("unit after a JSON fix: %v", u)
	}
	for _, tc := range []struct {
		path string
		want int
	}{
		{"/osmand?id=867730&lat=24.5&lon=118.1", 401},
		{"/osmand?id=867730&lat=24.5&lon=118.1&secret=a-wrong-secret-for-it", 401},
		{"/osmand?id=999&lat=24.5&lon=118.1&secret=" + secret, 404},
		{"/osmand?id=867730", 400},
		{"/osmand?lat=24.5&lon=118.1", 400},
		{"/osmand?id=867730&lat=95&lon=118.1", 400},
	} {
		if got, m := s.do("GET", tc.path, "", ""); got != tc.want {
			t.Errorf("GET %s: %d %v, want %d", tc.path, got, m, tc.want)
		}
	}
	// Trusting device ids, as Traccar does, is the operator's explicit choice.
	s.stop()
	s = start(t, s.data, "--osmand-trust-device-id")
	s.must(200, "GET", fmt.Sprintf("/osmand?id=867730&lat=24.5030&lon=118.1250&timestamp=%d", now+2), "", "")
	s.must(401, "GET", fmt.Sprintf("/osmand?id=867730&lat=24.5030&lon=118.1250&timestamp=%d&secret=a-wrong-secret-for-it", now+3), "", "")
}

// TestDemo: with --demo the server comes up with the sample district's roster, and the
// city inside it raises incidents that its units answer, moving as they go.
func TestDemo(t *testing.T) {
	s := start(t, t.TempDir(), "--demo", "--demo-rate", "1000")
	d, err := fixtures.GenerateDistrict(fixtures.DefaultDistrict)
	if err != nil {
		t.Fatal(err)
	}
	// list GETs a JSON array as the operator.
	list := func(path string) []map[string]any {
		_, m := s.do("GET", path, tokOperator, "")
		var out []map[string]any
		if err := json.Unmarshal([]byte(m["_raw"].(string)), &out); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		return out
	}
	positions := func() map[string][2]float64 {
		out := map[string][2]float64{}
		for _, u := range list("/api/v1/units") {
			lat, _ := u["lat"].(float64)
			lng, _ := u["lng"].(float64)
			out[u["id"].(string)] = [2]float64{lat, lng}
		}
		return out
	}
	eventually := func(what string, ok func() bool) {
		for deadline := time.Now().Add(60 * time.Second); !ok(); time.Sleep(500 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("demo: never %s", what)
			}
		}
	}
	var first map[string][2]float64
	eventually("placed the district's units", func() bool {
		first = positions()
		placed := 0
		for _, p := range first {
			if p != [2]float64{} {
				placed++
			}
		}
		return len(first) == len(d.Units) && placed == len(d.Units)
	})
	eventually("met a tier", func() bool {
		for _, inc := range list("/api/v1/incidents?status=all") {
			for _, tr := range inc["tiers"].([]any) {
				if tr.(map[string]any)["state"] == "met" {
					return true
				}
			}
		}
		return false
	})
	if code, m := s.do("GET", "/", "", ""); code != 200 || !strings.Contains(m["_raw"].(string), "dist/wall.js") {
		t.Errorf("GET / (the wall screen the demo points to): %d", code)
	}
	eventually("moved a tenth of its units", func() bool {
		moved := 0
		for id, p := range positions() {
			if p != first[id] {
				moved++
			}
		}
		return moved >= len(d.Units)/10
	})
}

// TestCityReport: a simulated half hour of the sample district, at 60x on both sides,
// against the real server: the city raises incidents through the API, its units answer
// them, and the report reads back tiers decided, arrival times and merged calls.
func TestCityReport(t *testing.T) {
	s := start(t, t.TempDir(), "--time-scale", "60", "--tick", "1s")
	d, err := fixtures.GenerateDistrict(fixtures.DefaultDistrict)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := city.Connect(s.base, map[string]string{"operator": tokOperator, "ingest": tokIngest})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := city.Run(context.Background(), srv, city.Options{District: d, Seed: 1, Busier: 20, Speed: 60, Duration: 30 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(rep)
	t.Logf("report: %s", b)
	if rep.Incidents == 0 || rep.Alerts == 0 || len(rep.Tiers) != 3 {
		t.Fatalf("report %s: want incidents, alerts and three tiers", b)
	}
	if rep.Tiers[0].Decided == 0 || rep.Tiers[0].Met == 0 || rep.Tiers[0].P50 <= 0 {
		t.Errorf("report %s: tier 1 never decided or never met", b)
	}
	if rep.FailedRequests > rep.Alerts/10 {
		t.Errorf("report %s: %d requests failed", b, rep.FailedRequests)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil || m["incidents"] == nil || m["tiers"].([]any)[0].(map[string]any)["p90_s"] == nil {
		t.Errorf("report JSON %s lacks the fields of the issue's example", b)
	}
}

// TestDemoRefusesTokensItCannotUse: --demo with a tokens file that has no ingest (and
// no admin) token says so and stops, instead of announcing a city that never comes.
func TestDemoRefusesTokensItCannotUse(t *testing.T) {
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens")
	if err := os.WriteFile(tokens, []byte(tokOperator+" operator\n"+tokSupervisor+" supervisor\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(binary, "--demo", "--listen", "127.0.0.1:0", "--data", dir, "--tokens", tokens).CombinedOutput()
	if err == nil {
		t.Fatalf("commandd --demo started with tokens it cannot use:\n%s", out)
	}
	if !strings.Contains(string(out), "ingest") || !strings.Contains(string(out), tokens) {
		t.Errorf("commandd --demo did not say which token is missing where:\n%s", out)
	}
}
