package geo

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/twpayne/go-geom"
	"github.com/twpayne/go-geom/encoding/geojson"
)

var testCenter = Point{Lat: 24.4906, Lng: 118.1101} // Xiamen island

func testCell(t *testing.T) Cell {
	t.Helper()
	c, err := CellOf(testCenter, DefaultRes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCellsFeatureCollectionRoundTrip(t *testing.T) {
	c := testCell(t)
	cells, err := Disk(c, 1)
	if err != nil {
		t.Fatal(err)
	}
	data, err := CellsFeatureCollection(cells, func(c Cell) map[string]any {
		return map[string]any{"units": 2}
	})
	if err != nil {
		t.Fatal(err)
	}
	var fc geojson.FeatureCollection
	if err := json.Unmarshal(data, &fc); err != nil {
		t.Fatalf("decode: %v\n%s", err, data)
	}
	if len(fc.Features) != len(cells) {
		t.Fatalf("%d features, want %d", len(fc.Features), len(cells))
	}
	for i, f := range fc.Features {
		if got := f.Properties["cell"]; got != cells[i].String() {
			t.Errorf("feature %d cell = %v, want %s", i, got, cells[i])
		}
		if got := f.Properties["units"]; got != 2.0 {
			t.Errorf("feature %d units = %v, want 2", i, got)
		}
		poly, ok := f.Geometry.(*geom.Polygon)
		if !ok {
			t.Fatalf("feature %d geometry %T, want *geom.Polygon", i, f.Geometry)
		}
		if poly.NumLinearRings() != 1 {
			t.Fatalf("feature %d has %d rings", i, poly.NumLinearRings())
		}
		ring := poly.LinearRing(0).Coords()
		if len(ring) != 7 {
			t.Errorf("feature %d ring has %d vertices, want 7 (6 + closing)", i, len(ring))
		}
		if !ring[0].Equal(geom.XY, ring[len(ring)-1]) {
			t.Errorf("feature %d ring not closed", i)
		}
		// [lng, lat] order: every vertex is within a cell's width of the centre.
		ctr := Center(cells[i])
		for _, v := range ring {
			if d := Distance(ctr, Point{Lat: v.Y(), Lng: v.X()}); d > 300 {
				t.Fatalf("feature %d vertex %v is %.0f m from the cell centre", i, v, d)
			}
		}
		if a := signedArea(ring); a <= 0 {
			t.Errorf("feature %d outer ring is clockwise", i)
		}
	}
}

func TestCellFeatureNilProps(t *testing.T) {
	f, err := CellFeature(testCell(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Properties) != 1 || f.Properties["cell"] == nil {
		t.Errorf("properties = %v, want only cell", f.Properties)
	}
}

func TestZoneFeatureDisk(t *testing.T) {
	cells, err := Disk(testCell(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	props := map[string]any{"district": "350206"}
	f, err := ZoneFeature("beat 7", cells, props)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := props["name"]; ok {
		t.Error("ZoneFeature modified the caller's props")
	}
	data, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	var back geojson.Feature
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatalf("decode: %v\n%s", err, data)
	}
	poly, ok := back.Geometry.(*geom.Polygon)
	if !ok {
		t.Fatalf("geometry %T, want *geom.Polygon", back.Geometry)
	}
	if poly.NumLinearRings() != 1 {
		t.Errorf("%d rings, want 1 (no holes)", poly.NumLinearRings())
	}
	// The outline of 7 hexagons has 18 corners; closing makes 19.
	if n := poly.LinearRing(0).NumCoords(); n != 19 {
		t.Errorf("outline has %d vertices, want 19", n)
	}
	if back.Properties["name"] != "beat 7" || back.Properties["district"] != "350206" {
		t.Errorf("properties = %v", back.Properties)
	}
	outline := Polygon{ringPoints(poly.LinearRing(0).Coords())}
	for _, c := range cells {
		if !outline.Contains(Center(c)) {
			t.Errorf("zone outline misses centre of %s", c)
		}
	}
}

func TestZoneFeatureDisjoint(t *testing.T) {
	c := testCell(t)
	ring, err := Ring(c, 3)
	if err != nil {
		t.Fatal(err)
	}
	f, err := ZoneFeature("split", []Cell{c, ring[0]}, nil)
	if err != nil {
		t.Fatal(err)
	}
	mp, ok := f.Geometry.(*geom.MultiPolygon)
	if !ok || mp.NumPolygons() != 2 {
		t.Fatalf("geometry %T, want MultiPolygon of 2", f.Geometry)
	}
	if _, err := ZoneFeature("empty", nil, nil); err == nil {
		t.Error("empty zone: no error")
	}
}

func TestZoneFeatureHole(t *testing.T) {
	ring, err := Ring(testCell(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	f, err := ZoneFeature("donut", ring, nil)
	if err != nil {
		t.Fatal(err)
	}
	poly, ok := f.Geometry.(*geom.Polygon)
	if !ok || poly.NumLinearRings() != 2 {
		t.Fatalf("geometry %T, want Polygon with a hole", f.Geometry)
	}
	if signedArea(poly.LinearRing(0).Coords()) <= 0 || signedArea(poly.LinearRing(1).Coords()) >= 0 {
		t.Error("want outer ring counter-clockwise and hole clockwise")
	}
	outline := Polygon{ringPoints(poly.LinearRing(0).Coords()), ringPoints(poly.LinearRing(1).Coords())}
	if outline.Contains(testCenter) {
		t.Error("donut contains its hole")
	}
	if !outline.Contains(Center(ring[0])) {
		t.Error("donut misses a ring cell")
	}
}

func TestPointFeature(t *testing.T) {
	data, err := json.Marshal(PointFeature(testCenter, map[string]any{"unit": "A12"}))
	if err != nil {
		t.Fatal(err)
	}
	var back geojson.Feature
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	pt, ok := back.Geometry.(*geom.Point)
	if !ok {
		t.Fatalf("geometry %T", back.Geometry)
	}
	if pt.X() != testCenter.Lng || pt.Y() != testCenter.Lat {
		t.Errorf("point %v, want [lng, lat] of %v", pt.Coords(), testCenter)
	}
	if back.Properties["unit"] != "A12" {
		t.Errorf("properties = %v", back.Properties)
	}
}

func ringPoints(coords []geom.Coord) []Point {
	ps := make([]Point, len(coords))
	for i, c := range coords {
		ps[i] = Point{Lat: c.Y(), Lng: c.X()}
	}
	return ps
}

const testDistricts = `{"type":"FeatureCollection","features":[
 {"type":"Feature","properties":{"adcode":350203,"name":"A"},
  "geometry":{"type":"Polygon","coordinates":[[[0,0],[10,0],[10,10],[0,10],[0,0]],[[4,4],[6,4],[6,6],[4,6],[4,4]]]}},
 {"type":"Feature","properties":{"adcode":"X1","name":"B"},
  "geometry":{"type":"MultiPolygon","coordinates":[[[[20,0],[30,0],[30,10],[20,0]]],[[[40,0],[50,0],[50,10],[40,10]]]]}}
]}`

func TestReadDistricts(t *testing.T) {
	ds, err := ReadDistricts(strings.NewReader(testDistricts))
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 2 || ds[0].Code != "350203" || ds[0].Name != "A" || ds[1].Code != "X1" || ds[1].Name != "B" {
		t.Fatalf("districts = %+v", ds)
	}
	if len(ds[0].Outline) != 1 || len(ds[0].Outline[0]) != 2 || len(ds[1].Outline) != 2 {
		t.Fatalf("outline shapes wrong: %d/%d polygons", len(ds[0].Outline), len(ds[1].Outline))
	}
	tests := []struct {
		d    int
		p    Point
		want bool
	}{
		{0, Point{Lat: 2, Lng: 2}, true},
		{0, Point{Lat: 5, Lng: 5}, false}, // in the hole
		{0, Point{Lat: 2, Lng: 12}, false},
		{0, Point{Lat: 2, Lng: -1}, false},
		{1, Point{Lat: 1, Lng: 29}, true}, // triangle below the diagonal
		{1, Point{Lat: 9, Lng: 21}, false},
		{1, Point{Lat: 5, Lng: 45}, true}, // second polygon, ring left open
		{1, Point{Lat: 5, Lng: 35}, false},
	}
	for _, tt := range tests {
		if got := ds[tt.d].Outline.Contains(tt.p); got != tt.want {
			t.Errorf("%s.Contains(%v) = %v, want %v", ds[tt.d].Name, tt.p, got, tt.want)
		}
	}

	shifted := ds[0].Outline.Map(func(p Point) Point { return Point{Lat: p.Lat, Lng: p.Lng + 100} })
	if !shifted.Contains(Point{Lat: 2, Lng: 102}) || shifted.Contains(Point{Lat: 2, Lng: 2}) {
		t.Error("Map did not move the outline")
	}
	if ds[0].Outline[0][0][1].Lng != 10 {
		t.Error("Map modified its receiver")
	}
}

func TestReadDistrictsArrayAndFeature(t *testing.T) {
	const feature = `{"type":"Feature","properties":{"adcode":1,"name":"one"},
	 "geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}}`
	for _, in := range []string{"  [" + feature + "," + feature + "]", feature} {
		ds, err := ReadDistricts(strings.NewReader(in))
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) == 0 || ds[0].Code != "1" || ds[0].Name != "one" {
			t.Errorf("ReadDistricts(%.20q...) = %+v", in, ds)
		}
	}
}

func TestReadDistrictsErrors(t *testing.T) {
	for _, in := range []string{
		``,
		`{"type":"Polygon","coordinates":[]}`,
		`[{"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[1,2]}}]`,
		`[{"type":"Feature","properties":{},"geometry":null}]`,
		`[null]`,
	} {
		if ds, err := ReadDistricts(strings.NewReader(in)); err == nil {
			t.Errorf("ReadDistricts(%q) = %+v, want error", in, ds)
		}
	}
}

func TestReadHuliArray(t *testing.T) {
	ds := readDistrictsFile(t, sharedData(t, "xiamen_geo", "huli_350206_datav.json"))
	if len(ds) != 1 || ds[0].Code != "350206" || ds[0].Name != "湖里区" {
		t.Fatalf("districts = %v", ds)
	}
	if len(ds[0].Outline) != 2 {
		t.Errorf("Huli has %d polygons, want 2", len(ds[0].Outline))
	}
	huli := ds[0].Outline.Map(ToWGS84)
	if !huli.Contains(Point{Lat: 24.5440, Lng: 118.1277}) {
		t.Error("Huli does not contain Gaoqi airport")
	}
	if huli.Contains(Point{Lat: 24.4490, Lng: 118.0680}) { // Gulangyu, Siming
		t.Error("Huli contains Gulangyu")
	}
	// Cross-check with the H3 fill of the same outline: the cell centres must be inside.
	cells, err := PolygonCells(huli[0][0], huli[0][1:], 8)
	if err != nil {
		t.Fatal(err)
	}
	if len(cells) < 50 {
		t.Fatalf("only %d res-8 cells in Huli", len(cells))
	}
	// H3 and ray casting may disagree only for centres right on the edge.
	var outside int
	for _, c := range cells {
		if !huli.Contains(Center(c)) {
			outside++
		}
	}
	if outside > len(cells)/100 {
		t.Errorf("%d of %d H3 cell centres outside Huli", outside, len(cells))
	}
}
