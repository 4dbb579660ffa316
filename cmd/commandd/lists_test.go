package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"
)

// nullable are the fields the contract lets be null: none of them a list.
var nullable = map[string]bool{
	"incident":               true, // a camera event that raised or joined no incident
	"met_share":              true, // history grids: nothing decided that day
	"median_first_arrival_s": true,
	"eta_s":                  true, // a candidate with no position yet has no ETA
}

// nulls lists the paths of v holding a null where the contract wants a value (a list
// that should be [] above all).
func nulls(path string, v any) []string {
	var out []string
	switch x := v.(type) {
	case nil:
		out = append(out, path)
	case map[string]any:
		for k, val := range x {
			if val == nil && nullable[k] {
				continue
			}
			out = append(out, nulls(path+"."+k, val)...)
		}
	case []any:
		for i, val := range x {
			out = append(out, nulls(fmt.Sprintf("%s[%d]", path, i), val)...)
		}
	}
	slices.Sort(out)
	return out
}

// TestNoNullLists: a demo run with a camera-raised incident (no caller), walked answer
// by answer and frame by frame: no list anywhere is null (api.md, "Lists are never
// null"). The wall froze on exactly that: "alerts": null for an incident no one called in.
func TestNoNullLists(t *testing.T) {
	s := start(t, t.TempDir(), "--demo", "--demo-rate", "1000")
	wall := s.subscribe(tokOperator, `{"type":"subscribe","view":"wall"}`)
	unit := s.subscribe(tokUnitP17, `{"type":"subscribe","view":"unit"}`)
	volunteer := s.subscribe(tokVolunteer, `{"type":"subscribe","view":"volunteer","lat":24.5,"lng":118.12}`)

	get := func(path, token string) any {
		t.Helper()
		req, _ := http.NewRequest("GET", s.base+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, raw)
		}
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		return v
	}
	check := func(what string, v any) {
		t.Helper()
		if n := nulls("", v); len(n) > 0 {
			t.Errorf("%s: null at %v", what, n)
		}
	}

	// Wait for the city's roster and cameras, then a camera sees a fight where no
	// one calls.
	var cams []any
	for deadline := time.Now().Add(60 * time.Second); len(cams) < 1000; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the demo's cameras never came: %d", len(cams))
		}
		cams = get("/api/v1/cameras", tokOperator).([]any)
	}
	cam := cams[0].(map[string]any)
	ans := s.must(202, "POST", "/api/v1/camera-events", tokIngest,
		fmt.Sprintf(`{"id":"EV-NULLS-1","camera":%q,"type":"fight","confidence":0.97}`, cam["id"]))
	check("camera event answer", ans)
	inc, _ := ans["incident"].(string)
	if inc == "" {
		t.Fatalf("a fight seen at %.2f confidence raised no incident: %v", 0.97, ans)
	}
	raised := get("/api/v1/incidents/"+inc, tokOperator).(map[string]any)
	for _, list := range []string{"alerts", "notes"} {
		if l, ok := raised[list].([]any); !ok || len(l) != 0 {
			t.Errorf("a camera-raised incident's %s: %v, want []", list, raised[list])
		}
	}
	check("camera-raised incident", raised)
	check("alert answer", s.must(201, "POST", "/api/v1/alerts", tokIngest,
		`{"id":"110-NULLS-1","lat":24.5,"lng":118.12,"category":"dispute","priority":3}`))
	check("fixes answer", s.must(202, "POST", "/api/v1/fixes", tokIngest, `[]`))
	check("note answer", s.must(201, "POST", "/api/v1/incidents/"+inc+"/notes", tokOperator, `{"text":"两人扭打，一人倒地"}`))
	for tier := 1; tier <= len(raised["tiers"].([]any)); tier++ {
		check("candidates", get(fmt.Sprintf("/api/v1/incidents/%s/candidates?tier=%d&limit=50", inc, tier), tokOperator))
	}
	closed := s.must(200, "POST", "/api/v1/incidents/"+inc+"/close", tokOperator, `{"disposition":"seen to"}`)
	check("close answer", closed)

	for _, path := range []string{"/api/v1/units", "/api/v1/cameras", "/api/v1/incidents", "/api/v1/incidents?status=all",
		"/api/v1/incidents?status=closed", "/api/v1/coverage", "/api/v1/clock", "/api/v1/incidents/" + inc} {
		check("GET "+path, get(path, tokOperator))
	}
	units := get("/api/v1/units", tokOperator).([]any)
	check("GET a unit", get("/api/v1/units/"+units[0].(map[string]any)["id"].(string), tokOperator))

	// Every frame type, as the wall, a unit, a volunteer and a replay get them.
	replay := s.subscribe(tokSupervisor, fmt.Sprintf(`{"type":"subscribe","view":"replay","incident":%q,"speed":60}`, inc))
	seen := map[string]int{}
	for _, c := range []*socket{wall, unit, volunteer, replay} {
		c.conn.SetReadDeadline(time.Now().Add(8 * time.Second))
		for {
			_, b, err := c.conn.ReadMessage()
			if err != nil {
				break
			}
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatalf("frame %s: %v", b, err)
			}
			typ, _ := m["type"].(string)
			seen[typ]++
			check(typ+" frame", m)
		}
	}
	for _, typ := range []string{"snapshot", "units", "incident", "assignment", "camera", "coverage", "clock"} {
		if seen[typ] == 0 {
			t.Errorf("no %s frame in the run (saw %v)", typ, seen)
		}
	}
	if t.Failed() {
		t.Logf("frames seen: %v", seen)
	}
}
