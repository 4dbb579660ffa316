package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
