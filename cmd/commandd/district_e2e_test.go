package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"commandd/fixtures"
	"commandd/fixtures/pgtest"
	"commandd/geo"
)

// exampleDistrict is the district file the docs show: two grids, an airport key site,
// the centre and the outskirts, a criminal plan read by phase, all in GCJ-02.
var exampleDistrict = filepath.Join("..", "..", "streams", "testdata", "district_example.json")

// TestDistrictFromFile: a command center brings commandd up for its own district with
// one file: coverage runs over its cells, a call at its key site gets the site's
// deadlines and the plan's own tier names (the file is GCJ-02: the site's point is
// converted before it is placed).
func TestDistrictFromFile(t *testing.T) {
	raw, err := os.ReadFile(exampleDistrict)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Zones []struct {
			ID    string
			Point *struct{ Lat, Lng float64 }
		}
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	s := start(t, dir, "--district", exampleDistrict)
	var coverage []any
	code, m := s.do("GET", "/api/v1/coverage", tokOperator, "")
	if err := json.Unmarshal([]byte(m["_raw"].(string)), &coverage); code != 200 || err != nil || len(coverage) == 0 {
		t.Fatalf("coverage of the district: %d %v", code, m)
	}
	site := geo.ToWGS84(geo.Point{Lat: doc.Zones[0].Point.Lat, Lng: doc.Zones[0].Point.Lng})
	s.must(200, "PUT", "/api/v1/units/P-17", tokOperator, `{"force":"police","mode":"car"}`)
	s.must(202, "POST", "/api/v1/fixes", tokIngest, fmt.Sprintf(`[{"unit":"P-17","lat":%f,"lng":%f}]`, site.Lat+0.003, site.Lng))
	ans := s.must(201, "POST", "/api/v1/alerts", tokIngest,
		fmt.Sprintf(`{"id":"110-D-1","lat":%f,"lng":%f,"category":"criminal","priority":2,"text":"行李被盗"}`, site.Lat, site.Lng))
	inc := s.must(200, "GET", "/api/v1/incidents/"+ans["incident"].(string), tokOperator, "")
	if inc["zone"] != "高崎机场" {
		t.Errorf("a call at the airport: zone %v", inc["zone"])
	}
	var got []string
	for _, tr := range inc["tiers"].([]any) {
		tier := tr.(map[string]any)
		got = append(got, fmt.Sprintf("%v %v", tier["name"], tier["deadline_s"]))
	}
	if want := "[响应 60 出动 120 到场 240]"; fmt.Sprint(got) != want {
		t.Errorf("the airport's tiers: %v, want %s (the criminal plan's names, the site's deadlines)", got, want)
	}

	// GET gives the district back in WGS-84 with its cell counts; only an admin PUTs.
	got1 := s.must(200, "GET", "/api/v1/district", tokSupervisor, "")
	if got1["crs"] != "wgs84" || got1["name"] == nil || len(got1["grids"].([]any)) != 2 ||
		got1["grids"].([]any)[0].(map[string]any)["cells"].(float64) <= 0 {
		t.Errorf("GET /api/v1/district: %v", got1)
	}
	s.must(403, "PUT", "/api/v1/district", tokOperator, string(raw))
	bad := s.must(400, "PUT", "/api/v1/district", tokAdmin, strings.Replace(string(raw), `"deadlines_s": [60, 120, 240]`, `"deadlines_s": [60, 240, 120]`, 1))
	if e := bad["error"].(map[string]any); e["field"] != "zones[0].deadlines_s" {
		t.Errorf("a bad district file: %v, want the path zones[0].deadlines_s", e)
	}
	// At run time, the airport's deadlines tightened: the next call there gets them.
	tighter := strings.Replace(string(raw), `"deadlines_s": [60, 120, 240]`, `"deadlines_s": [45, 90, 180]`, 1)
	if tighter == string(raw) {
		t.Fatal("the example file's airport deadlines are not where the test looks")
	}
	s.must(200, "PUT", "/api/v1/district", tokAdmin, tighter)
	// (Each call of its own category, so that none joins the one before.)
	deadlines := func(alert, category string) string {
		ans := s.must(201, "POST", "/api/v1/alerts", tokIngest,
			fmt.Sprintf(`{"id":%q,"lat":%f,"lng":%f,"category":%q,"priority":2}`, alert, site.Lat, site.Lng, category))
		inc := s.must(200, "GET", "/api/v1/incidents/"+ans["incident"].(string), tokOperator, "")
		var out []string
		for _, tr := range inc["tiers"].([]any) {
			out = append(out, fmt.Sprint(tr.(map[string]any)["deadline_s"]))
		}
		return strings.Join(out, ",")
	}
	if got := deadlines("110-D-2", "fire"); got != "45,90,180" {
		t.Errorf("after PUT, a call at the airport: deadlines %s, want 45,90,180", got)
	}
	// A restart whose flags say otherwise (the original file, recommend mode) keeps the
	// log's configuration, and says so.
	s.stop()
	s = start(t, dir, "--district", exampleDistrict, "--recommend")
	if got := deadlines("110-D-3", "traffic"); got != "45,90,180" {
		t.Errorf("after a restart with other flags: deadlines %s, want the log's 45,90,180", got)
	}
	if !strings.Contains(s.logs.String(), "the log's is kept") {
		t.Errorf("a restart with other flags did not say it keeps the log's configuration:\n%s", grep(s.logs.String(), "configuration"))
	}
}

// TestDistrictHuli: a district file made from Huli's real outline (the team's shared
// GCJ-02 export, with grids drawn on the same map) runs end to end: coverage over its
// cells, a call at the airport gets the key site's deadlines, a call in a grid is that
// grid's, the history reports per grid, and a restart with other flags keeps the log's
// district.
func TestDistrictHuli(t *testing.T) {
	src := filepath.Join("..", "..", "..", "shared", "data", "xiamen_geo", "xiamen_350200_districts_datav.geojson")
	f, err := os.Open(src)
	if err != nil {
		t.Skipf("the shared Xiamen outlines are not here: %v", err)
	}
	defer f.Close()
	file, _, err := fixtures.HuliDistrictFile(f)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "huli.json")
	if err := os.WriteFile(path, file, 0o600); err != nil {
		t.Fatal(err)
	}
	db := pgtest.Database(t)
	s := start(t, dir, "--district", path, "--pg", db)
	var coverage []any
	_, m := s.do("GET", "/api/v1/coverage", tokOperator, "")
	if err := json.Unmarshal([]byte(m["_raw"].(string)), &coverage); err != nil || len(coverage) < 500 {
		t.Fatalf("coverage over Huli: %d cells, %v", len(coverage), err)
	}
	district := s.must(200, "GET", "/api/v1/district", tokSupervisor, "")
	grid := district["grids"].([]any)[0].(map[string]any)
	ring := grid["area"].(map[string]any)["coordinates"].([]any)[0].([]any)
	var centre geo.Point
	for _, p := range ring[:len(ring)-1] {
		centre.Lng += p.([]any)[0].(float64) / float64(len(ring)-1)
		centre.Lat += p.([]any)[1].(float64) / float64(len(ring)-1)
	}
	s.must(200, "PUT", "/api/v1/units/P-17", tokOperator, `{"force":"police","mode":"car"}`)
	s.must(202, "POST", "/api/v1/fixes", tokIngest, fmt.Sprintf(`[{"unit":"P-17","lat":%f,"lng":%f}]`, fixtures.HuliAirport.Lat+0.004, fixtures.HuliAirport.Lng))
	call := func(id, category string, at geo.Point) map[string]any {
		ans := s.must(201, "POST", "/api/v1/alerts", tokIngest,
			fmt.Sprintf(`{"id":%q,"lat":%f,"lng":%f,"category":%q,"priority":2}`, id, at.Lat, at.Lng, category))
		return s.must(200, "GET", "/api/v1/incidents/"+ans["incident"].(string), tokOperator, "")
	}
	airport := call("110-HL-1", "criminal", fixtures.HuliAirport)
	if airport["zone"] != "高崎机场" || fmt.Sprint(airport["tiers"].([]any)[1].(map[string]any)["deadline_s"]) != "120" {
		t.Errorf("a call at Gaoqi airport: zone %v, tiers %v", airport["zone"], airport["tiers"])
	}
	inGrid := call("110-HL-2", "traffic", centre)
	if g, _ := inGrid["grid"].(map[string]any); g == nil || g["id"] != grid["id"] {
		t.Errorf("a call at the centre of %v: grid %v", grid["id"], inGrid["grid"])
	}
	// Mid-shift the airport's deadlines tighten: the next call there gets them, the one
	// open keeps its own.
	var doc map[string]any
	if err := json.Unmarshal(file, &doc); err != nil {
		t.Fatal(err)
	}
	doc["zones"].([]any)[0].(map[string]any)["deadlines_s"] = []int{45, 90, 180}
	tighter, _ := json.Marshal(doc)
	s.must(200, "PUT", "/api/v1/district", tokAdmin, string(tighter))
	after := call("110-HL-3", "fire", fixtures.HuliAirport)
	if got := fmt.Sprint(after["tiers"].([]any)[1].(map[string]any)["deadline_s"]); got != "90" {
		t.Errorf("a call at the airport after the change: tier 2 in %s s, want 90", got)
	}
	for _, inc := range []map[string]any{airport, inGrid, after} {
		s.must(200, "POST", "/api/v1/incidents/"+inc["id"].(string)+"/close", tokOperator, `{"disposition":"done"}`)
	}
	// A replay across the change shows both airport incidents as they were live.
	replay := s.subscribe(tokSupervisor, fmt.Sprintf(`{"type":"subscribe","view":"replay","incident":%q,"speed":60}`, airport["id"]))
	last := map[string]map[string]any{}
	for ended := false; !ended; {
		replay.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		_, b, err := replay.conn.ReadMessage()
		if err != nil {
			t.Fatalf("the replay: %v", err)
		}
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		switch m["type"] {
		case "incident":
			last[m["id"].(string)] = m
		case "clock":
			ended = m["ended"] == true
		}
	}
	for _, inc := range []map[string]any{airport, after} {
		id := inc["id"].(string)
		live := s.must(200, "GET", "/api/v1/incidents/"+id, tokSupervisor, "")
		var want, got []string
		for _, tr := range live["tiers"].([]any) {
			want = append(want, fmt.Sprint(tr.(map[string]any)["deadline_s"], tr.(map[string]any)["state"]))
		}
		r := last[id]
		if r == nil {
			t.Errorf("the replay never showed %s", id)
			continue
		}
		for _, tr := range r["tiers"].([]any) {
			got = append(got, fmt.Sprint(tr.(map[string]any)["deadline_s"], tr.(map[string]any)["state"]))
		}
		if fmt.Sprint(got) != fmt.Sprint(want) || r["status"] != live["status"] || r["zone"] != live["zone"] {
			t.Errorf("%s replayed: %v %v %v, live: %v %v %v", id, r["status"], r["zone"], got, live["status"], live["zone"], want)
		}
	}
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		m := s.must(200, "GET", "/api/v1/history/grids?by=grid", tokSupervisor, "")
		found := false
		for _, g := range m["grids"].([]any) {
			if g := g.(map[string]any); g["grid"] == grid["id"] && len(g["days"].([]any)) == 1 {
				found = g["days"].([]any)[0].(map[string]any)["incidents"] == 1.0
			}
		}
		if found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the history per grid never counted the call in %v: %v", grid["id"], m)
		}
	}
	s.stop()
	s = start(t, dir, "--district", exampleDistrict, "--pg", db)
	if again := s.must(200, "GET", "/api/v1/district", tokSupervisor, ""); again["name"] != district["name"] ||
		len(again["grids"].([]any)) != len(district["grids"].([]any)) {
		t.Errorf("a restart with another district file changed the log's district: %v grids, name %v", len(again["grids"].([]any)), again["name"])
	}
}
