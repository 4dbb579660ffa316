package streams

// Tests of the operators' and units' commands over HTTP and the unit's socket, on the
// in-process server of hub_test.go.

import (
	"fmt"
	"slices"
	"strings"
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

// errField is the field of an error answer.
func errField(m map[string]any) string {
	e, _ := m["error"].(map[string]any)
	f, _ := e["field"].(string)
	return f
}

// TestNotesHTTP: operators write notes on open and closed incidents; the note is the
// answer, on the incident and its timeline, and in the walls' incident frames; bad
// text is 400 naming "text", an unknown incident 404, other roles 403.
func TestNotesHTTP(t *testing.T) {
	s := newTestServer(t, 20*time.Millisecond)
	inc := s.must(201, "POST", "/api/v1/alerts", tokIngest, `{"id":"110-1","lat":24.5,"lng":118.12,"category":"dispute","priority":3}`)["incident"].(string)
	wall := s.subscribe(tokOperator, `{"type":"subscribe","view":"wall"}`)
	wall.expect("snapshot", nil)

	n := s.must(201, "POST", "/api/v1/incidents/"+inc+"/notes", tokOperator, `{"text":"  两人在门口争吵 "}`)
	if n["incident"] != inc || n["text"] != "两人在门口争吵" || !strings.HasPrefix(n["by"].(string), "operator:") || len(n["t"].(string)) != 24 || len(n) != 4 {
		t.Fatalf("note answer %v", n)
	}
	wall.expect("incident", func(m map[string]any) bool {
		notes, _ := m["notes"].([]any)
		return m["id"] == inc && len(notes) == 1
	})
	for _, tc := range []struct {
		token, path, body string
		code              int
		field             string
	}{
		{tokOperator, inc, `{"text":"   "}`, 400, "text"},
		{tokOperator, inc, `{}`, 400, "text"},
		{tokOperator, inc, `{"text":7}`, 400, "text"},
		{tokOperator, inc, `{"text":"` + strings.Repeat("争", 2001) + `"}`, 400, "text"},
		{tokOperator, "INC-999999", `{"text":"hello"}`, 404, ""},
		{tokSupervisor, inc, `{"text":"hello"}`, 403, ""},
		{tokP17, inc, `{"text":"hello"}`, 403, ""},
	} {
		if code, m := s.do("POST", "/api/v1/incidents/"+tc.path+"/notes", tc.token, tc.body); code != tc.code || errField(m) != tc.field {
			t.Errorf("%.40s on %s: %d %v, want %d field %q", tc.body, tc.path, code, m, tc.code, tc.field)
		}
	}
	s.must(200, "POST", "/api/v1/incidents/"+inc+"/close", tokOperator, `{"disposition":"mediated"}`)
	s.must(201, "POST", "/api/v1/incidents/"+inc+"/notes", tokAdmin, `{"text":"both parties went home"}`)
	v := s.must(200, "GET", "/api/v1/incidents/"+inc, tokSupervisor, "")
	notes := v["notes"].([]any)
	if len(notes) != 2 || notes[0].(map[string]any)["text"] != "两人在门口争吵" || notes[1].(map[string]any)["text"] != "both parties went home" {
		t.Fatalf("notes %v", v["notes"])
	}
	lines := v["timeline"].([]any)
	if l := lines[len(lines)-1].(map[string]any); l["what"] != "note: both parties went home" || !strings.HasPrefix(l["by"].(string), "admin:") {
		t.Errorf("last timeline line %v", l)
	}
}

// TestCandidatesHTTP: the candidates of a tier, soonest first by the engine's travel
// times, eligible then not, in the shape the pages read; bad tier or limit 400, an
// unknown incident 404, units and ingest 403.
func TestCandidatesHTTP(t *testing.T) {
	s := newTestServer(t, 0)
	for _, u := range []struct{ id, body, lng string }{
		{"P-17", `{"callsign":"湖里巡17","force":"police","mode":"car"}`, "118.125"},
		{"P-18", `{"force":"police","mode":"car"}`, "118.13"},
		{"V-1", `{"force":"volunteer","mode":"foot"}`, "118.1203"},
		{"P-20", `{"force":"patrol","mode":"bike"}`, "118.135"},
	} {
		s.must(200, "PUT", "/api/v1/units/"+u.id, tokOperator, u.body)
		s.must(202, "POST", "/api/v1/fixes", tokIngest, `[{"unit":"`+u.id+`","lat":24.5,"lng":`+u.lng+`}]`)
	}
	inc := s.must(201, "POST", "/api/v1/alerts", tokIngest, `{"id":"110-1","lat":24.5,"lng":118.12,"category":"criminal","priority":2}`)["incident"].(string)
	// The default plan sends all four (tier 1, 2 and the perimeter's two): none can go again.
	v := s.must(200, "GET", "/api/v1/incidents/"+inc+"/candidates?tier=2", tokSupervisor, "")
	if v["incident"] != inc || v["tier"] != 2.0 || v["deadline_s"] != 180.0 {
		t.Fatalf("candidates head %v", v)
	}
	var got []string
	for _, c := range v["candidates"].([]any) {
		c := c.(map[string]any)
		for _, k := range []string{"unit", "callsign", "force", "mode", "status", "eta_s", "eligible", "recommended", "why"} {
			if _, ok := c[k]; !ok {
				t.Fatalf("candidate without %q: %v", k, c)
			}
		}
		got = append(got, fmt.Sprintf("%v %v %v %v", c["unit"], c["eligible"], c["why"], c["on"]))
	}
	want := []string{"V-1 false on_this_incident <nil>", "P-17 false on_this_incident <nil>", "P-18 false on_this_incident <nil>",
		"P-20 false on_this_incident <nil>"}
	if !slices.Equal(got, want) {
		t.Fatalf("candidates\n got %q\nwant %q", got, want)
	}
	for _, tc := range []struct {
		token, query string
		code         int
		field        string
	}{
		{tokOperator, "", 400, "tier"},
		{tokOperator, "?tier=x", 400, "tier"},
		{tokOperator, "?tier=0", 400, "tier"},
		{tokOperator, "?tier=4", 400, "tier"},
		{tokOperator, "?tier=1&limit=51", 400, "limit"},
		{tokOperator, "?tier=1&limit=0", 400, "limit"},
		{tokOperator, "?tier=1&limit=50", 200, ""},
		{tokP17, "?tier=1", 403, ""},
		{tokIngest, "?tier=1", 403, ""},
	} {
		if code, m := s.do("GET", "/api/v1/incidents/"+inc+"/candidates"+tc.query, tc.token, ""); code != tc.code || errField(m) != tc.field {
			t.Errorf("%s: %d %v, want %d field %q", tc.query, code, m, tc.code, tc.field)
		}
	}
	// A unit on another incident (as urgent, so the planner leaves it there) may be
	// pulled by hand: eligible, saying where it is.
	s.must(200, "PUT", "/api/v1/units/P-19", tokOperator, `{"force":"police","mode":"motorbike"}`)
	s.must(202, "POST", "/api/v1/fixes", tokIngest, `[{"unit":"P-19","lat":24.53,"lng":118.12}]`)
	other := s.must(201, "POST", "/api/v1/alerts", tokIngest, `{"id":"110-2","lat":24.53,"lng":118.121,"category":"fire","priority":2}`)["incident"].(string)
	c := s.must(200, "GET", "/api/v1/incidents/"+inc+"/candidates?tier=2&limit=1", tokOperator, "")["candidates"].([]any)
	if first := c[0].(map[string]any); first["unit"] != "P-19" || first["eligible"] != true || first["why"] != "assigned" || first["on"] != other {
		t.Errorf("candidates with P-19 on %s: %v", other, c)
	}
	if code, m := s.do("GET", "/api/v1/incidents/INC-999999/candidates?tier=1", tokOperator, ""); code != 404 {
		t.Errorf("unknown incident: %d %v", code, m)
	}
}
