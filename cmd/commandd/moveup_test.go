package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestMoveUps drives the move-up contract over HTTP and sockets: calls keep coming
// from a hotspot 1.2 km east of the only police car, each closed in turn; on the next
// decision the engine recommends a post for the car (GET /api/v1/moveups, and the
// wall's snapshot); an operator confirms it, the car's socket gets a moveup frame and
// the wall a moveups frame; a second confirm is a conflict, an unknown unit not found,
// a supervisor forbidden.
func TestMoveUps(t *testing.T) {
	s, rec := moveUpWorld(t)
	unit := s.subscribe(tokUnitP17, `{"type":"subscribe","view":"unit","unit":"P-17"}`)
	unit.expect("snapshot", nil)
	wall := s.subscribe(tokOperator, `{"type":"subscribe","view":"wall"}`)
	snap := wall.expect("snapshot", nil)
	if list, _ := snap["moveups"].([]any); len(list) != 1 {
		t.Errorf("the wall's snapshot has move-ups %v, want the recommendation", snap["moveups"])
	}
	if code, _ := s.do("POST", "/api/v1/moveups/P-17/confirm", tokSupervisor, ""); code != 403 {
		t.Errorf("a supervisor confirming: %d, want 403", code)
	}
	sent := s.must(200, "POST", "/api/v1/moveups/P-17/confirm", tokOperator, "")
	if sent["sent"] != true || sent["cell"] != rec["cell"] {
		t.Errorf("confirmed %v, want the recommendation sent", sent)
	}
	mv := unit.expect("moveup", nil)
	if mv["unit"] != "P-17" || mv["cell"] != rec["cell"] || mv["lat"] != rec["lat"] || mv["eta_s"] != rec["eta_s"] {
		t.Errorf("the unit's moveup frame %v, want the post %v", mv, rec)
	}
	wall.expect("moveups", func(m map[string]any) bool {
		list, _ := m["moveups"].([]any)
		return len(list) == 1 && list[0].(map[string]any)["sent"] == true
	})
	_, metrics := s.do("GET", "/metrics", "", "")
	for _, want := range []string{`commandd_moveups{state="sent"} 1`, `commandd_eta_factor{mode="car"} 1`, `commandd_eta_arrivals_total{mode="foot"} 0`} {
		if !strings.Contains(metrics["_raw"].(string), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if code, m := s.do("POST", "/api/v1/moveups/P-17/confirm", tokOperator, ""); code != 409 {
		t.Errorf("confirming twice: %d %v, want 409", code, m)
	}
	if code, m := s.do("POST", "/api/v1/moveups/NOPE/confirm", tokOperator, ""); code != 404 {
		t.Errorf("confirming for an unknown unit: %d %v, want 404", code, m)
	}
	// At its post the move is done.
	s.must(202, "POST", "/api/v1/fixes", tokIngest, fmt.Sprintf(`[{"unit":"P-17","lat":%v,"lng":%v}]`, rec["lat"], rec["lng"]))
	wall.expect("moveups", func(m map[string]any) bool { list, _ := m["moveups"].([]any); return len(list) == 0 })
}

// moveUpWorld starts a server on an external clock with one police car, P-17, 1.2 km
// west of a hotspot whose six calls it answered, and waits for the engine to recommend
// moving it: the server and the recommendation.
func moveUpWorld(t *testing.T) (*server, map[string]any) {
	t.Helper()
	s := start(t, t.TempDir(), "--clock", "external")
	t0 := time.Now().UTC().Add(time.Hour).Truncate(time.Second)
	clock := func(d time.Duration) {
		s.must(200, "POST", "/api/v1/clock", tokAdmin, fmt.Sprintf(`{"t":%q}`, t0.Add(d).Format(time.RFC3339)))
	}
	clock(0)
	s.must(200, "PUT", "/api/v1/units/P-17", tokOperator, `{"callsign":"湖里巡17","force":"police","mode":"car"}`)
	west := `[{"unit":"P-17","lat":24.5000,"lng":118.1100}]`
	s.must(202, "POST", "/api/v1/fixes", tokIngest, west)
	for n := range 6 {
		clock(time.Duration(n) * time.Minute)
		a := s.must(201, "POST", "/api/v1/alerts", tokIngest,
			fmt.Sprintf(`{"id":"MU-%d","lat":24.5000,"lng":%.4f,"category":"traffic","priority":3}`, n, 118.1220+0.0003*float64(n)))
		s.must(200, "POST", fmt.Sprintf("/api/v1/incidents/%s/close", a["incident"]), tokOperator, `{}`)
		s.must(200, "POST", "/api/v1/units/P-17/status", tokOperator, `{"status":"available"}`)
		s.must(202, "POST", "/api/v1/fixes", tokIngest, west)
	}
	clock(7 * time.Minute)
	var rec map[string]any
	s.eventually("/api/v1/moveups", func(m map[string]any) bool {
		var list []any
		_ = json.Unmarshal([]byte(m["_raw"].(string)), &list)
		if len(list) == 1 {
			rec = list[0].(map[string]any)
		}
		return rec != nil
	})
	if rec["unit"] != "P-17" || rec["sent"] != false || rec["gain"].(float64) <= 0 || rec["eta_s"].(float64) <= 0 ||
		rec["lng"].(float64) <= 118.1100 || rec["cell"] == "" {
		t.Fatalf("recommended %v: want P-17 sent east, not yet sent, with a gain and an ETA", rec)
	}
	return s, rec
}
