package streams

// Tests of the operators' and units' commands over HTTP and the unit's socket, on the
// in-process server of hub_test.go.

import (
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// errCode is the code of an error answer.
func errCode(m map[string]any) string {
	e, _ := m["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

// TestUnitAccepts: a unit accepts its order over HTTP or its socket; one without an
// order, or naming another incident, is refused with 409 and nothing changes; the
// acceptance is on the incident (its tier unit's accepted time, the timeline).
func TestUnitAccepts(t *testing.T) {
	s := newTestServer(t, 20*time.Millisecond)
	s.must(200, "PUT", "/api/v1/units/P-17", tokOperator, `{"force":"police","mode":"car"}`)
	s.must(202, "POST", "/api/v1/fixes", tokIngest, `[{"unit":"P-17","lat":24.5,"lng":118.121}]`)
	unit := s.subscribe(tokP17, `{"type":"subscribe","view":"unit"}`)
	unit.expect("snapshot", nil)

	// Nothing to accept yet: refused on the socket and over HTTP.
	unit.conn.WriteMessage(websocket.TextMessage, []byte(`{"type":"status","status":"accepted"}`))
	unit.expect("error", func(m map[string]any) bool { return errCode(m) == "conflict" })
	if code, m := s.do("POST", "/api/v1/units/P-17/status", tokP17, `{"status":"accepted"}`); code != 409 || errCode(m) != "conflict" {
		t.Fatalf("accept without an order: %d %v, want 409 conflict", code, m)
	}

	inc := s.must(201, "POST", "/api/v1/alerts", tokIngest, `{"id":"110-1","lat":24.5,"lng":118.12,"category":"criminal","priority":2}`)["incident"].(string)
	unit.expect("assignment", func(m map[string]any) bool { return m["incident"] == inc })
	if code, m := s.do("POST", "/api/v1/units/P-17/status", tokP17, `{"status":"accepted","incident":"INC-999999"}`); code != 409 {
		t.Fatalf("accept of another incident: %d %v, want 409", code, m)
	}
	if v := s.must(200, "GET", "/api/v1/units/P-17", tokOperator, ""); v["status"] != "dispatched" {
		t.Fatalf("a refused accept changed the unit: %v", v)
	}

	unit.conn.WriteMessage(websocket.TextMessage, []byte(`{"type":"status","status":"accepted"}`))
	unit.expect("units", func(m map[string]any) bool { u, ok := unitIn(m, "P-17"); return ok && u["status"] == "accepted" })
	s.settle()
	// A retry over HTTP, naming the incident: fine, and the first time stays.
	if v := s.must(200, "POST", "/api/v1/units/P-17/status", tokP17, `{"status":"accepted","incident":"`+inc+`"}`); v["status"] != "accepted" {
		t.Fatalf("accept over HTTP: %v", v)
	}
	v := s.must(200, "GET", "/api/v1/incidents/"+inc, tokOperator, "")
	var accepted any
	for _, tr := range v["tiers"].([]any) {
		for _, u := range tr.(map[string]any)["units"].([]any) {
			if u := u.(map[string]any); u["unit"] == "P-17" {
				accepted = u["accepted"]
			}
		}
	}
	if ts, _ := accepted.(string); len(ts) != len("2026-11-22T08:00:00.000Z") {
		t.Fatalf("P-17's tier unit has accepted %v", accepted)
	}
	lines := 0
	for _, l := range v["timeline"].([]any) {
		if l := l.(map[string]any); l["what"] == "P-17 accepted" && l["by"] == "unit:P-17" {
			lines++
		}
	}
	if lines != 1 {
		t.Fatalf("%d timeline lines say P-17 accepted, want 1: %v", lines, v["timeline"])
	}
}
