package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
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
	s := start(t, t.TempDir(), "--district", exampleDistrict)
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
}
