package geo

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"strconv"

	"github.com/twpayne/go-geom"
	"github.com/twpayne/go-geom/encoding/geojson"
	"github.com/uber/h3-go/v4"
)

// Polygon is a list of rings, the first the outer boundary and the rest holes. A ring
// may or may not repeat its first point at the end.
type Polygon [][]Point

// MultiPolygon is a set of polygons, e.g. a district made of a mainland part and islets.
type MultiPolygon []Polygon

// District is an administrative area read from GeoJSON.
type District struct {
	Code    string // administrative code, e.g. "350206"
	Name    string
	Outline MultiPolygon
}

// Contains reports whether p lies inside m. Points exactly on an edge may go either way.
func (m MultiPolygon) Contains(p Point) bool {
	for _, poly := range m {
		if poly.Contains(p) {
			return true
		}
	}
	return false
}

// Contains reports whether p lies inside the outer ring of poly and outside its holes.
// Points exactly on an edge may go either way.
func (poly Polygon) Contains(p Point) bool {
	// Even-odd over all rings treats holes correctly without telling them apart, and
	// planar lat/lng geometry is exact enough at district scale away from the poles
	// and the antimeridian.
	in := false
	for _, ring := range poly {
		n := len(ring)
		for i, j := 0, n-1; i < n; j, i = i, i+1 {
			a, b := ring[i], ring[j]
			if (a.Lat > p.Lat) != (b.Lat > p.Lat) &&
				p.Lng < a.Lng+(p.Lat-a.Lat)*(b.Lng-a.Lng)/(b.Lat-a.Lat) {
				in = !in
			}
		}
	}
	return in
}

// Map returns a copy of m with f applied to every point, e.g. m.Map(ToWGS84).
func (m MultiPolygon) Map(f func(Point) Point) MultiPolygon {
	out := make(MultiPolygon, len(m))
	for i, poly := range m {
		out[i] = make(Polygon, len(poly))
		for j, ring := range poly {
			r := make([]Point, len(ring))
			for k, p := range ring {
				r[k] = f(p)
			}
			out[i][j] = r
		}
	}
	return out
}

// ReadDistricts parses Polygon and MultiPolygon features from a GeoJSON
// FeatureCollection, a single Feature, or a bare JSON array of Features (as some map
// portals export). Coordinates are taken as they are; Chinese sources are usually
// GCJ-02 and need Outline.Map(ToWGS84).
func ReadDistricts(r io.Reader) ([]District, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read districts: %w", err)
	}
	var features []*geojson.Feature
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	switch {
	case len(trimmed) > 0 && trimmed[0] == '[':
		err = json.Unmarshal(trimmed, &features)
	default:
		var head struct{ Type string }
		if err = json.Unmarshal(trimmed, &head); err != nil {
			break
		}
		if head.Type == "Feature" {
			var f geojson.Feature
			err = json.Unmarshal(trimmed, &f)
			features = []*geojson.Feature{&f}
			break
		}
		var fc geojson.FeatureCollection
		err = json.Unmarshal(trimmed, &fc)
		features = fc.Features
	}
	if err != nil {
		return nil, fmt.Errorf("read districts: %w", err)
	}

	out := make([]District, 0, len(features))
	for i, f := range features {
		if f == nil {
			return nil, fmt.Errorf("read districts: feature %d is null", i)
		}
		d := District{Code: propString(f.Properties["adcode"]), Name: propString(f.Properties["name"])}
		switch g := f.Geometry.(type) {
		case *geom.Polygon:
			d.Outline = MultiPolygon{polygonFromGeom(g)}
		case *geom.MultiPolygon:
			for k := range g.NumPolygons() {
				d.Outline = append(d.Outline, polygonFromGeom(g.Polygon(k)))
			}
		default:
			// A district without an area would silently never contain anything.
			return nil, fmt.Errorf("read districts: feature %d (%q): geometry %T is not a polygon", i, d.Name, f.Geometry)
		}
		out = append(out, d)
	}
	return out, nil
}

// propString renders a property as text, because codes arrive as numbers or strings
// depending on the exporter.
func propString(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	default:
		return fmt.Sprint(v)
	}
}

func polygonFromGeom(g *geom.Polygon) Polygon {
	poly := make(Polygon, g.NumLinearRings())
	for i := range poly {
		coords := g.LinearRing(i).Coords()
		ring := make([]Point, len(coords))
		for k, c := range coords {
			ring[k] = Point{Lat: c.Y(), Lng: c.X()}
		}
		poly[i] = ring
	}
	return poly
}

// PointFeature returns a GeoJSON Point feature at p with a copy of props.
func PointFeature(p Point, props map[string]any) *geojson.Feature {
	return &geojson.Feature{
		Geometry:   geom.NewPointFlat(geom.XY, []float64{p.Lng, p.Lat}),
		Properties: withProps(props),
	}
}

// CellFeature returns the hexagon (or pentagon) of c as a GeoJSON Polygon feature with
// property "cell" set to the cell's string form, plus a copy of props.
func CellFeature(c Cell, props map[string]any) (*geojson.Feature, error) {
	b, err := h3.CellToBoundary(c)
	if err != nil {
		return nil, fmt.Errorf("boundary of %s: %w", c, err)
	}
	poly, err := geomPolygon([]h3.GeoLoop{h3.GeoLoop(b)})
	if err != nil {
		return nil, fmt.Errorf("boundary of %s: %w", c, err)
	}
	f := &geojson.Feature{Geometry: poly, Properties: withProps(props)}
	f.Properties["cell"] = c.String()
	return f, nil
}

// CellsFeatureCollection encodes cells as a GeoJSON FeatureCollection of cell polygons
// (see CellFeature). props, if not nil, supplies extra properties per cell.
func CellsFeatureCollection(cells []Cell, props func(Cell) map[string]any) ([]byte, error) {
	fc := &geojson.FeatureCollection{Features: make([]*geojson.Feature, 0, len(cells))}
	for _, c := range cells {
		var p map[string]any
		if props != nil {
			p = props(c)
		}
		f, err := CellFeature(c, p)
		if err != nil {
			return nil, err
		}
		fc.Features = append(fc.Features, f)
	}
	return json.Marshal(fc)
}

// ZoneFeature returns the outline of the union of cells as a GeoJSON feature: a Polygon
// when the cells are contiguous, otherwise a MultiPolygon. Property "name" is set to
// name, plus a copy of props.
func ZoneFeature(name string, cells []Cell, props map[string]any) (*geojson.Feature, error) {
	if len(cells) == 0 {
		return nil, fmt.Errorf("zone %q: no cells", name)
	}
	polys, err := h3.CellsToMultiPolygon(cells)
	if err != nil {
		return nil, fmt.Errorf("zone %q: %w", name, err)
	}
	if len(polys) == 0 {
		return nil, fmt.Errorf("zone %q: empty outline", name)
	}
	mp := geom.NewMultiPolygon(geom.XY)
	for _, gp := range polys {
		p, err := geomPolygon(append([]h3.GeoLoop{gp.GeoLoop}, gp.Holes...))
		if err != nil {
			return nil, fmt.Errorf("zone %q: %w", name, err)
		}
		if err := mp.Push(p); err != nil {
			return nil, fmt.Errorf("zone %q: %w", name, err)
		}
	}
	var g geom.T = mp
	if mp.NumPolygons() == 1 {
		// Consumers (and humans reading the JSON) handle a plain Polygon more easily.
		g = mp.Polygon(0)
	}
	f := &geojson.Feature{Geometry: g, Properties: withProps(props)}
	f.Properties["name"] = name
	return f, nil
}

func withProps(props map[string]any) map[string]any {
	out := make(map[string]any, len(props)+1)
	maps.Copy(out, props)
	return out
}

// geomPolygon builds a go-geom polygon from an outer loop and holes. GeoJSON (RFC 7946)
// wants closed rings in [lng, lat] order, counter-clockwise outside and clockwise for
// holes; H3 gives open loops in lat/lng, so both are fixed up here.
func geomPolygon(loops []h3.GeoLoop) (*geom.Polygon, error) {
	rings := make([][]geom.Coord, 0, len(loops))
	for i, loop := range loops {
		if len(loop) < 3 {
			return nil, errors.New("degenerate ring")
		}
		ring := make([]geom.Coord, 0, len(loop)+1)
		for _, ll := range loop {
			ring = append(ring, geom.Coord{ll.Lng, ll.Lat})
		}
		if first, last := ring[0], ring[len(ring)-1]; first[0] != last[0] || first[1] != last[1] {
			ring = append(ring, geom.Coord{first[0], first[1]})
		}
		if ccw := signedArea(ring) > 0; ccw != (i == 0) {
			for a, b := 0, len(ring)-1; a < b; a, b = a+1, b-1 {
				ring[a], ring[b] = ring[b], ring[a]
			}
		}
		rings = append(rings, ring)
	}
	return geom.NewPolygon(geom.XY).SetCoords(rings)
}

// signedArea is the shoelace sum of a closed ring: positive when counter-clockwise.
func signedArea(ring []geom.Coord) float64 {
	var s float64
	for i := 0; i+1 < len(ring); i++ {
		s += ring[i][0]*ring[i+1][1] - ring[i+1][0]*ring[i][1]
	}
	return s / 2
}
