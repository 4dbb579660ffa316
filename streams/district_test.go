package streams

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"commandd/dispatch"
	"commandd/fixtures"
	"commandd/geo"
)

// square is a closed GeoJSON ring of the box [lat0, lat1] × [lng0, lng1].
func square(lat0, lng0, lat1, lng1 float64) [][]float64 {
	return [][]float64{{lng0, lat0}, {lng1, lat0}, {lng1, lat1}, {lng0, lat1}, {lng0, lat0}}
}

func polygon(rings ...[][]float64) map[string]any {
	return map[string]any{"type": "Polygon", "coordinates": rings}
}

// goodDistrict is a small WGS-84 district of about 2 × 2 km in Huli with two grids,
// a key site by point and radius, a centre by area, a plan for criminal alerts of
// priority 1 and 2 and the default plan. Each case of the error table breaks one thing.
func goodDistrict() map[string]any {
	doc := map[string]any{
		"name": "测试区", "crs": "wgs84", "tz": "Asia/Shanghai",
		"boundary": polygon(square(24.49, 118.10, 24.51, 118.12)),
		"grids": []any{
			map[string]any{"id": "G-1", "name": "西网格", "area": polygon(square(24.49, 118.10, 24.51, 118.11))},
			map[string]any{"id": "G-2", "name": "东网格", "area": polygon(square(24.49, 118.11, 24.51, 118.12))},
		},
		"zones": []any{
			map[string]any{"id": "KS-1", "name": "车站", "kind": "key_site",
				"point": map[string]any{"lat": 24.50, "lng": 118.11}, "radius_m": 300, "deadlines_s": []any{45, 120, 240}},
			map[string]any{"id": "C-1", "name": "中心", "kind": "center",
				"area": polygon(square(24.495, 118.105, 24.505, 118.115)), "deadlines_s": []any{60, 180}},
		},
		"plans": []any{
			map[string]any{"categories": []any{"criminal"}, "priorities": []any{1, 2}, "name": "刑事", "tiers": []any{
				map[string]any{"name": "先期到场", "deadline_s": 60, "units": 1, "to": "scene", "met_by": "accepted"},
				map[string]any{"deadline_s": 180, "forces": []any{"police"}, "modes": []any{"car", "motorbike"}, "units": 2, "met_by": "enroute"},
			}},
			map[string]any{"tiers": []any{
				map[string]any{"deadline_s": 60},
				map[string]any{"deadline_s": 180, "forces": []any{"police", "patrol"}},
				map[string]any{"deadline_s": 300, "units": 2, "to": "perimeter"},
			}},
		},
	}
	return doc
}

func encode(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// at walks a goodDistrict document: at(doc, "grids", 1) is the second grid's object.
func at(doc map[string]any, path ...any) map[string]any {
	var cur any = doc
	for _, p := range path {
		switch p := p.(type) {
		case string:
			cur = cur.(map[string]any)[p]
		case int:
			cur = cur.([]any)[p]
		}
	}
	return cur.(map[string]any)
}

func TestDecodeDistrictGood(t *testing.T) {
	b := encode(t, goodDistrict())
	cfg, e := DecodeDistrict(b)
	if e != nil {
		t.Fatalf("DecodeDistrict: %v", e)
	}
	if cfg.Name != "测试区" || cfg.TZ != "Asia/Shanghai" {
		t.Errorf("name %q tz %q", cfg.Name, cfg.TZ)
	}
	if n := len(cfg.District); n < 30 || n > 60 {
		t.Errorf("%d district cells, want about 40 (2 × 2 km at res 9)", n)
	}
	if !slices.IsSorted(cfg.District) {
		t.Error("district cells not sorted")
	}
	district := geo.NewCellSet(cfg.District)
	if len(cfg.Grids) != 2 || cfg.Grids[0].ID != "G-1" || cfg.Grids[1].Name != "东网格" {
		t.Fatalf("grids %+v", cfg.Grids)
	}
	seen := map[geo.Cell]bool{}
	for _, g := range cfg.Grids {
		if len(g.Cells) == 0 || !slices.IsSorted(g.Cells) {
			t.Errorf("grid %s: %d cells, sorted %v", g.ID, len(g.Cells), slices.IsSorted(g.Cells))
		}
		for _, c := range g.Cells {
			if !district.Has(c) || seen[c] {
				t.Errorf("grid %s: cell %s outside the district or in two grids", g.ID, c)
			}
			seen[c] = true
		}
	}
	if len(cfg.Zones) != 2 {
		t.Fatalf("zones %+v", cfg.Zones)
	}
	ks := cfg.Zones[0]
	if ks.ID != "KS-1" || ks.Name != "车站" || ks.Kind != "key_site" ||
		!slices.Equal(ks.Deadlines, []time.Duration{45 * time.Second, 120 * time.Second, 240 * time.Second}) {
		t.Errorf("key site %+v", ks)
	}
	site := geo.Point{Lat: 24.50, Lng: 118.11}
	c0, _ := geo.CellOf(site, geo.DefaultRes)
	if !slices.Contains(ks.Cells, c0) || len(ks.Cells) < 3 || len(ks.Cells) > 7 {
		t.Errorf("key site cells %v: want its own cell and those within 300 m", ks.Cells)
	}
	for _, c := range ks.Cells {
		if d := geo.Distance(site, geo.Center(c)); c != c0 && d > 300 {
			t.Errorf("key site cell %s at %.0f m", c, d)
		}
	}
	if len(cfg.Plans) != 2 || cfg.Plans[0].Default() || !cfg.Plans[1].Default() {
		t.Fatalf("plans %+v", cfg.Plans)
	}
	crim := cfg.Plans[0]
	if !crim.Matches(dispatch.Criminal, 2) || crim.Matches(dispatch.Criminal, 3) || crim.Matches(dispatch.Fire, 1) {
		t.Error("criminal rule matches the wrong incidents")
	}
	want := []dispatch.Tier{
		{Name: "先期到场", Deadline: 60 * time.Second, Units: 1, MetBy: dispatch.OnAccept},
		{Deadline: 180 * time.Second, Forces: []dispatch.Force{dispatch.Police}, Modes: []geo.Mode{geo.Car, geo.Motorbike}, Units: 2, MetBy: dispatch.OnSetOff},
	}
	if got := crim.Plan.Tiers; !tiersEqual(got, want) || crim.Plan.Name != "刑事" {
		t.Errorf("criminal plan %+v, want tiers %+v", crim.Plan, want)
	}
	if def := cfg.Plans[1].Plan.Tiers; len(def) != 3 || !def[2].Perimeter || def[2].Units != 2 || def[0].MetBy != dispatch.OnArrival {
		t.Errorf("default plan tiers %+v", def)
	}

	// Source decodes to the same configuration, and again to the same bytes.
	again, e := DecodeDistrict(cfg.Source)
	if e != nil {
		t.Fatalf("DecodeDistrict(Source): %v\n%s", e, cfg.Source)
	}
	if string(again.Source) != string(cfg.Source) || !slices.Equal(again.District, cfg.District) ||
		!slices.EqualFunc(again.Zones, cfg.Zones, func(a, b dispatch.Zone) bool { return slices.Equal(a.Cells, b.Cells) }) {
		t.Errorf("Source does not decode to the same district:\n%s\n%s", cfg.Source, again.Source)
	}
	// Deterministic: the same file, the same bytes.
	for range 3 {
		if c, _ := DecodeDistrict(b); string(c.Source) != string(cfg.Source) {
			t.Fatal("DecodeDistrict is not deterministic")
		}
	}
}

func tiersEqual(a, b []dispatch.Tier) bool {
	return slices.EqualFunc(a, b, func(x, y dispatch.Tier) bool {
		return x.Name == y.Name && x.Deadline == y.Deadline && slices.Equal(x.Forces, y.Forces) &&
			slices.Equal(x.Modes, y.Modes) && x.Units == y.Units && x.Perimeter == y.Perimeter && x.MetBy == y.MetBy
	})
}

func TestDecodeDistrictErrors(t *testing.T) {
	tests := []struct {
		name, field, msg string
		edit             func(doc map[string]any)
	}{
		{"unknown top-level field", "colour", "unknown field", func(d map[string]any) { d["colour"] = "red" }},
		{"unknown grid field", "grids[1].colour", "unknown field", func(d map[string]any) { at(d, "grids", 1)["colour"] = 1 }},
		{"unknown tier field", "plans[1].tiers[0].eta", "unknown field", func(d map[string]any) { at(d, "plans", 1, "tiers", 0)["eta"] = 1 }},
		{"bad crs", "crs", `unknown crs "bd09": want gcj02 or wgs84`, func(d map[string]any) { d["crs"] = "bd09" }},
		{"bad tz", "tz", `unknown time zone "Asia/Xiamen"`, func(d map[string]any) { d["tz"] = "Asia/Xiamen" }},
		{"name not a string", "name", "want a string", func(d map[string]any) { d["name"] = 7 }},
		{"no boundary", "boundary", "required", func(d map[string]any) { delete(d, "boundary") }},
		{"empty boundary", "boundary", "empty boundary", func(d map[string]any) {
			d["boundary"] = map[string]any{"type": "MultiPolygon", "coordinates": []any{}}
		}},
		{"boundary a feature", "boundary.type", "a Feature: give its Polygon or MultiPolygon geometry", func(d map[string]any) {
			d["boundary"] = map[string]any{"type": "Feature"}
		}},
		{"boundary without cells", "boundary", "no cells at resolution 9: smaller than a cell", func(d map[string]any) {
			d["boundary"] = polygon(square(24.5, 118.1, 24.5001, 118.1001))
		}},
		{"boundary across the globe", "boundary", "too large: spans 1° of latitude and 359° of longitude", func(d map[string]any) {
			d["boundary"] = polygon([][]float64{{-179.5, 0}, {179.5, 0}, {179.5, 1}, {-179.5, 1}, {-179.5, 0}})
		}},
		{"boundary long and thin", "boundary", "too large: spans 3336 km, at most 300", func(d map[string]any) {
			d["boundary"] = polygon(square(20, 100, 50, 100.0001))
		}},
		{"areas too large together", "grids[0].area", "too large: the file's areas together span more than a district's", func(d map[string]any) {
			// Flat outlines 250 km long: each within the limit, no work for H3, too many together.
			var polys [][][][]float64
			for range 7 {
				polys = append(polys, [][][]float64{{{118.1, 23}, {118.1, 25.2}, {118.1, 24}, {118.1, 23}}})
			}
			at(d, "grids", 0)["area"] = map[string]any{"type": "MultiPolygon", "coordinates": polys}
		}},
		{"boundary without area", "boundary", "no cells at resolution 9", func(d map[string]any) {
			d["boundary"] = polygon([][]float64{{118.1, 24.5}, {118.1, 24.6}, {118.1, 24.7}, {118.1, 24.5}})
		}},
		{"lat out of range", "boundary.coordinates[0][2]", "lat out of range", func(d map[string]any) {
			at(d, "boundary")["coordinates"].([][][]float64)[0][2][1] = 91
		}},
		{"lng out of range", "grids[0].area.coordinates[0][1]", "lng out of range", func(d map[string]any) {
			at(d, "grids", 0, "area")["coordinates"].([][][]float64)[0][1][0] = 181
		}},
		{"position too short", "grids[0].area.coordinates[0][1]", "want [lng, lat]", func(d map[string]any) {
			at(d, "grids", 0, "area")["coordinates"].([][][]float64)[0][1] = []float64{118.1}
		}},
		{"polygon not closed", "grids[1].area", "polygon not closed", func(d map[string]any) {
			r := at(d, "grids", 1, "area")["coordinates"].([][][]float64)
			r[0] = r[0][:4]
		}},
		{"ring too short", "grids[1].area", "polygon ring with 3 positions: want at least 4", func(d map[string]any) {
			at(d, "grids", 1, "area")["coordinates"] = [][][]float64{{{118.11, 24.49}, {118.12, 24.49}, {118.11, 24.49}}}
		}},
		{"grid without area", "grids[0].area", "required", func(d map[string]any) { delete(at(d, "grids", 0), "area") }},
		{"grid without id", "grids[0].id", "required", func(d map[string]any) { delete(at(d, "grids", 0), "id") }},
		{"duplicate grid id", "grids[1].id", `duplicate id "G-1", as grids[0]`, func(d map[string]any) { at(d, "grids", 1)["id"] = "G-1" }},
		{"overlapping grids", "grids[1].area", "overlaps grids[0]", func(d map[string]any) {
			at(d, "grids", 1)["area"] = polygon(square(24.49, 118.105, 24.51, 118.12))
		}},
		{"grid outside", "grids[1].area", "outside the boundary", func(d map[string]any) {
			at(d, "grids", 1)["area"] = polygon(square(24.59, 118.11, 24.61, 118.12))
		}},
		{"grid partly outside", "grids[1].area", "partly outside the boundary", func(d map[string]any) {
			at(d, "grids", 1)["area"] = polygon(square(24.49, 118.11, 24.52, 118.12))
		}},
		{"grid type", "grids[0].area.type", `"Point": want Polygon or MultiPolygon`, func(d map[string]any) {
			at(d, "grids", 0)["area"] = map[string]any{"type": "Point", "coordinates": []float64{118.1, 24.5}}
		}},
		{"grids not a list", "grids", "want an array", func(d map[string]any) { d["grids"] = map[string]any{} }},
		{"too many zones", "zones", "10001 zones: at most 10000", func(d map[string]any) {
			zs := make([]any, 10001)
			for i := range zs {
				zs[i] = map[string]any{}
			}
			d["zones"] = zs
		}},
		{"duplicate zone id", "zones[1].id", `duplicate id "KS-1", as zones[0]`, func(d map[string]any) { at(d, "zones", 1)["id"] = "KS-1" }},
		{"zone kind", "zones[0].kind", `unknown kind "school": want key_site, center, outskirts`, func(d map[string]any) { at(d, "zones", 0)["kind"] = "school" }},
		{"zone deadlines not increasing", "zones[1].deadlines_s", "not increasing", func(d map[string]any) {
			at(d, "zones", 1)["deadlines_s"] = []any{60, 60}
		}},
		{"zone deadline zero", "zones[1].deadlines_s[0]", "out of range: want 1 to 86400", func(d map[string]any) {
			at(d, "zones", 1)["deadlines_s"] = []any{0, 60}
		}},
		{"zone deadlines too many", "zones[0].deadlines_s", "4 deadlines: the default plan has 3 tiers", func(d map[string]any) {
			at(d, "zones", 0)["deadlines_s"] = []any{30, 60, 120, 240}
		}},
		{"zone deadlines fractional", "zones[0].deadlines_s", "want an array of whole numbers", func(d map[string]any) {
			at(d, "zones", 0)["deadlines_s"] = []any{30.5}
		}},
		{"zone area and point", "zones[1]", "both area and point: give one", func(d map[string]any) {
			at(d, "zones", 1)["point"] = map[string]any{"lat": 24.5, "lng": 118.11}
		}},
		{"zone neither", "zones[0]", "area or point required", func(d map[string]any) {
			z := at(d, "zones", 0)
			delete(z, "point")
			delete(z, "radius_m")
		}},
		{"zone point without radius", "zones[0].radius_m", "required with a point", func(d map[string]any) { delete(at(d, "zones", 0), "radius_m") }},
		{"zone radius with area", "zones[1].radius_m", "only with a point", func(d map[string]any) { at(d, "zones", 1)["radius_m"] = 100 }},
		{"zone radius zero", "zones[0].radius_m", "out of range: want more than 0 and at most 10000", func(d map[string]any) { at(d, "zones", 0)["radius_m"] = 0 }},
		{"zone point lat", "zones[0].point.lat", "lat out of range", func(d map[string]any) { at(d, "zones", 0, "point")["lat"] = -95 }},
		{"zone point lng missing", "zones[0].point.lng", "required", func(d map[string]any) { delete(at(d, "zones", 0, "point"), "lng") }},
		{"zone outside", "zones[0].point", "outside the boundary", func(d map[string]any) {
			at(d, "zones", 0)["point"] = map[string]any{"lat": 24.6, "lng": 118.11}
		}},
		{"zone kind missing", "zones[0].kind", "required: key_site, center, outskirts", func(d map[string]any) { delete(at(d, "zones", 0), "kind") }},
		{"zone area too small", "zones[1].area", "no cells at resolution 9: smaller than a cell", func(d map[string]any) {
			at(d, "zones", 1)["area"] = polygon(square(24.5, 118.11, 24.5001, 118.1101))
		}},
		{"zone area outside", "zones[1].area", "outside the boundary", func(d map[string]any) {
			at(d, "zones", 1)["area"] = polygon(square(24.59, 118.11, 24.61, 118.12))
		}},
		{"no plans", "plans", "no default plan: one without categories and priorities is required", func(d map[string]any) { delete(d, "plans") }},
		{"no default plan", "plans", "no default plan: one without categories and priorities is required", func(d map[string]any) {
			d["plans"] = d["plans"].([]any)[:1]
		}},
		{"plan after the default", "plans[2]", "never matches: plans[1] before it is the default plan", func(d map[string]any) {
			d["plans"] = append(d["plans"].([]any), d["plans"].([]any)[0])
		}},
		{"unknown category", "plans[0].categories[0]", `unknown category "theft"`, func(d map[string]any) { at(d, "plans", 0)["categories"] = []any{"theft"} }},
		{"priority out of range", "plans[0].priorities[1]", "out of range: want 1 to 4", func(d map[string]any) { at(d, "plans", 0)["priorities"] = []any{1, 5} }},
		{"no tiers", "plans[1].tiers", "no tiers", func(d map[string]any) { at(d, "plans", 1)["tiers"] = []any{} }},
		{"tier deadline missing", "plans[1].tiers[1].deadline_s", "required", func(d map[string]any) { delete(at(d, "plans", 1, "tiers", 1), "deadline_s") }},
		{"tier deadline negative", "plans[1].tiers[0].deadline_s", "out of range: want 1 to 86400", func(d map[string]any) { at(d, "plans", 1, "tiers", 0)["deadline_s"] = -1 }},
		{"tier deadlines not increasing", "plans[1].tiers[2].deadline_s", "not increasing", func(d map[string]any) { at(d, "plans", 1, "tiers", 2)["deadline_s"] = 180 }},
		{"tier units", "plans[0].tiers[1].units", "out of range: want 1 to 100", func(d map[string]any) { at(d, "plans", 0, "tiers", 1)["units"] = 0 }},
		{"tier force", "plans[0].tiers[1].forces[0]", `unknown force "swat"`, func(d map[string]any) { at(d, "plans", 0, "tiers", 1)["forces"] = []any{"swat"} }},
		{"tier mode", "plans[0].tiers[1].modes[1]", `unknown mode "boat"`, func(d map[string]any) { at(d, "plans", 0, "tiers", 1)["modes"] = []any{"car", "boat"} }},
		{"tier to", "plans[0].tiers[0].to", `unknown "exits": want scene or perimeter`, func(d map[string]any) { at(d, "plans", 0, "tiers", 0)["to"] = "exits" }},
		{"tier met_by", "plans[0].tiers[0].met_by", `unknown "seen": want accepted, enroute or arrived`, func(d map[string]any) { at(d, "plans", 0, "tiers", 0)["met_by"] = "seen" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := goodDistrict()
			tt.edit(doc)
			cfg, e := DecodeDistrict(encode(t, doc))
			if e == nil {
				t.Fatalf("no error; config has %d cells", len(cfg.District))
			}
			if e.Field != tt.field || !strings.HasPrefix(e.Message, tt.msg) || e.Code != "invalid_argument" || e.Status != 400 {
				t.Errorf("got %s %q: %q, want %q: %q", e.Code, e.Field, e.Message, tt.field, tt.msg)
			}
			if cfg.District != nil || cfg.Source != nil {
				t.Error("a rejected file still gave a configuration")
			}
		})
	}
}

// TestDecodeDistrictExample reads the example file of the docs (testdata), written as
// a command center would: GCJ-02, all three readings of the 1-3-5 rule.
func TestDecodeDistrictExample(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "district_example.json"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, e := DecodeDistrict(b)
	if e != nil {
		t.Fatalf("DecodeDistrict: %v", e)
	}
	if len(cfg.Grids) != 2 || len(cfg.Zones) != 3 || len(cfg.Plans) != 2 || len(cfg.District) < 150 {
		t.Fatalf("%d cells, %d grids, %d zones, %d plans", len(cfg.District), len(cfg.Grids), len(cfg.Zones), len(cfg.Plans))
	}
	// The airport is given in GCJ-02; its zone holds the airport's WGS-84 cell.
	airport, _ := geo.CellOf(geo.Point{Lat: 24.5440, Lng: 118.1277}, geo.DefaultRes)
	if !slices.Contains(cfg.Zones[0].Cells, airport) {
		t.Errorf("airport zone %v lacks the airport's cell %s", cfg.Zones[0].Cells, airport)
	}
	byPhase := cfg.Plans[0].Plan.Tiers
	if byPhase[0].MetBy != dispatch.OnAccept || byPhase[1].MetBy != dispatch.OnSetOff || byPhase[2].MetBy != dispatch.OnArrival {
		t.Errorf("plan by phase: %+v", byPhase)
	}
	if !cfg.Plans[1].Default() || !cfg.Plans[1].Plan.Tiers[2].Perimeter {
		t.Errorf("default plan: %+v", cfg.Plans[1])
	}
	if !strings.Contains(string(cfg.Source), `"crs":"wgs84"`) {
		t.Errorf("source not in WGS-84: %.200s", cfg.Source)
	}
}

func TestDecodeDistrictMalformed(t *testing.T) {
	for _, tt := range []struct{ in, field, msg string }{
		{`{"name":`, "", "malformed JSON"},
		{`[1]`, "", "want an object"},
		{`null`, "", "want an object"},
		{`{"name":"x"} {}`, "", "malformed JSON"},
	} {
		_, e := DecodeDistrict([]byte(tt.in))
		if e == nil || e.Field != tt.field || !strings.HasPrefix(e.Message, tt.msg) {
			t.Errorf("%s: got %v, want %q: %q", tt.in, e, tt.field, tt.msg)
		}
	}
}

func TestDistrictView(t *testing.T) {
	cfg, e := DecodeDistrict(encode(t, goodDistrict()))
	if e != nil {
		t.Fatal(e)
	}
	b, err := DistrictView(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		CRS   string
		Cells int
		Grids []struct {
			ID    string
			Cells int
		}
		Zones []struct {
			ID    string
			Cells int
		}
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if v.CRS != "wgs84" || v.Cells != len(cfg.District) || len(v.Grids) != 2 || v.Grids[1].Cells != len(cfg.Grids[1].Cells) ||
		len(v.Zones) != 2 || v.Zones[0].ID != "KS-1" || v.Zones[0].Cells != len(cfg.Zones[0].Cells) {
		t.Errorf("view %s", b)
	}
	if _, err := DistrictView(dispatch.Config{}); !errors.Is(err, ErrNoDistrict) {
		t.Errorf("view of no district: %v", err)
	}
}

// sharedData is the path of a file in the team's shared data next to the repo; the
// test skips where it is absent.
func sharedData(t *testing.T, parts ...string) string {
	t.Helper()
	path := filepath.Join(append([]string{"..", "..", "shared", "data"}, parts...)...)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		t.Skipf("%s not present", path)
	}
	return path
}

// TestDecodeDistrictHuliGCJ02 builds a district file the way a command center would
// from a map portal's export: Huli's GCJ-02 outline as the boundary (crs gcj02), and
// grids drawn in the same coordinates inside it. The cells must land where the
// district really is in WGS-84: Gaoqi airport's cell is in, and the ~500 m offset is
// undone (the converted outline is what geo's own Xiamen test checks against GPS).
func TestDecodeDistrictHuliGCJ02(t *testing.T) {
	f, err := os.Open(sharedData(t, "xiamen_geo", "xiamen_350200_districts_datav.geojson"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	file, ngrids, err := fixtures.HuliDistrictFile(f)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Seek(0, 0); err != nil {
		t.Fatal(err)
	}
	ds, err := geo.ReadDistricts(f)
	if err != nil {
		t.Fatal(err)
	}
	var huli *geo.District
	for i := range ds {
		if ds[i].Code == "350206" {
			huli = &ds[i]
		}
	}
	cfg, e := DecodeDistrict(file)
	if e != nil {
		t.Fatalf("DecodeDistrict: %v", e)
	}
	// Huli is ~66 km² of land (the outline includes some water): 600–800 cells.
	if n := len(cfg.District); n < 550 || n > 900 {
		t.Errorf("%d district cells, want about 700", n)
	}
	wgs := huli.Outline.Map(geo.ToWGS84)
	var inWGS, inGCJ int
	for _, c := range cfg.District {
		p := geo.Center(c)
		if wgs.Contains(p) {
			inWGS++
		}
		if huli.Outline.Contains(p) {
			inGCJ++
		}
	}
	t.Logf("%d cells; centres inside the WGS-84 outline %d, inside the raw GCJ-02 one %d; airport zone %d cells",
		len(cfg.District), inWGS, inGCJ, len(cfg.Zones[0].Cells))
	if inWGS != len(cfg.District) {
		t.Errorf("%d of %d cell centres inside the WGS-84 outline, want all", inWGS, len(cfg.District))
	}
	if inGCJ > len(cfg.District)*97/100 {
		t.Errorf("%d of %d cell centres inside the unconverted GCJ-02 outline: the offset was not undone", inGCJ, len(cfg.District))
	}
	airport, _ := geo.CellOf(fixtures.HuliAirport, geo.DefaultRes)
	if !slices.Contains(cfg.Zones[0].Cells, airport) || !slices.Contains(cfg.District, airport) {
		t.Errorf("the airport zone (given in GCJ-02) misses the airport's WGS-84 cell %s: %v", airport, cfg.Zones[0].Cells)
	}
	if len(cfg.Grids) != ngrids || ngrids < 20 {
		t.Fatalf("%d grids of %d", len(cfg.Grids), ngrids)
	}
	covered := 0
	for _, g := range cfg.Grids {
		// A 0.01° square is ~1.1 km²: about ten cells.
		if len(g.Cells) < 6 || len(g.Cells) > 15 {
			t.Errorf("grid %s: %d cells", g.ID, len(g.Cells))
		}
		covered += len(g.Cells)
	}
	t.Logf("%d grids cover %d of the district's %d cells", len(cfg.Grids), covered, len(cfg.District))
	// Source is WGS-84: the first boundary position is the converted one.
	var src struct {
		CRS      string
		Boundary struct{ Coordinates [][][][2]float64 }
	}
	if err := json.Unmarshal(cfg.Source, &src); err != nil {
		t.Fatal(err)
	}
	first := src.Boundary.Coordinates[0][0][0]
	want := geo.ToWGS84(huli.Outline[0][0][0])
	if src.CRS != "wgs84" || first != [2]float64{want.Lng, want.Lat} {
		t.Errorf("source crs %q first position %v, want wgs84 %v", src.CRS, first, want)
	}
	again, e := DecodeDistrict(cfg.Source)
	if e != nil || !slices.Equal(again.District, cfg.District) || !slices.Equal(again.Grids[5].Cells, cfg.Grids[5].Cells) {
		t.Errorf("the WGS-84 source decodes to another district: %v", e)
	}
}

// FuzzDecodeDistrict: no file makes the decoder panic, and every file it takes gives a
// Source that decodes to the same district and the same bytes.
func FuzzDecodeDistrict(f *testing.F) {
	f.Add(encodeFuzz(goodDistrict()))
	if b, err := os.ReadFile(filepath.Join("testdata", "district_example.json")); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`{"boundary":{"type":"Polygon","coordinates":[[[118.1,24.5],[118.2,24.5],[118.2,24.6],[118.1,24.5]]]},"plans":[{"tiers":[{"deadline_s":1}]}]}`))
	f.Add([]byte(`{"zones":[{"point":{"lat":1e400}}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 1<<16 {
			return
		}
		cfg, e := DecodeDistrict(b)
		if e != nil {
			if e.Status != 400 || e.Message == "" {
				t.Fatalf("error %+v", e)
			}
			return
		}
		again, e := DecodeDistrict(cfg.Source)
		if e != nil {
			t.Fatalf("Source rejected: %v\n%s", e, cfg.Source)
		}
		if string(again.Source) != string(cfg.Source) || !slices.Equal(again.District, cfg.District) {
			t.Fatalf("Source decodes to another district")
		}
	})
}

func encodeFuzz(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
