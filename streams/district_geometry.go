package streams

// The district file's shapes: positions, GeoJSON polygons and their cells, points with
// a radius.

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"

	"commandd/geo"
)

// point reads a zone's {"lat","lng"}, in the file's crs.
func (d *districtDecoder) point(path string, raw json.RawMessage) (geo.Point, *Error) {
	o, e := object(path, raw, "lat", "lng")
	if e != nil {
		return geo.Point{}, e
	}
	var p geo.Point
	for _, f := range []struct {
		key   string
		v     *float64
		limit float64
	}{{"lat", &p.Lat, 90}, {"lng", &p.Lng, 180}} {
		if absent(o[f.key]) {
			return p, Invalid(path+"."+f.key, "required")
		}
		if *f.v, e = number(path+"."+f.key, o[f.key]); e != nil {
			return p, e
		}
		if math.Abs(*f.v) > f.limit {
			return p, Invalid(path+"."+f.key, "%s out of range", f.key)
		}
	}
	return d.toWGS84(p), nil
}

// geometry reads a GeoJSON Polygon or MultiPolygon ([lng, lat] positions, closed
// rings) in the file's crs and returns it in WGS-84, with its re-encoding. A position
// error names the position (boundary.coordinates[0][0][12]); a ring error the geometry.
func (d *districtDecoder) geometry(path string, raw json.RawMessage, what string) (geo.MultiPolygon, json.RawMessage, *Error) {
	o, e := object(path, raw, "type", "coordinates", "bbox")
	if e != nil {
		return nil, nil, e
	}
	typ, e := str(path+".type", o["type"])
	if e != nil {
		return nil, nil, e
	}
	cpath := path + ".coordinates"
	var polys [][][][]float64
	switch typ {
	case "Polygon":
		var rings [][][]float64
		if err := json.Unmarshal(o["coordinates"], &rings); err != nil {
			return nil, nil, Invalid(cpath, "want an array of rings of [lng, lat] positions")
		}
		if len(rings) > 0 {
			polys = [][][][]float64{rings}
		}
	case "MultiPolygon":
		if err := json.Unmarshal(o["coordinates"], &polys); err != nil {
			return nil, nil, Invalid(cpath, "want an array of polygons of rings of [lng, lat] positions")
		}
	case "Feature", "FeatureCollection":
		return nil, nil, Invalid(path+".type", "a %s: give its Polygon or MultiPolygon geometry", typ)
	default:
		return nil, nil, Invalid(path+".type", "%q: want Polygon or MultiPolygon", typ)
	}
	var mp geo.MultiPolygon
	out := make([][][][2]float64, 0, len(polys))
	for pi, rings := range polys {
		if len(rings) == 0 {
			return nil, nil, Invalid(path, "empty %s", what)
		}
		var poly geo.Polygon
		var opoly [][][2]float64
		for ri, ring := range rings {
			if len(ring) < 4 {
				return nil, nil, Invalid(path, "polygon ring with %d positions: want at least 4", len(ring))
			}
			pts := make([]geo.Point, 0, len(ring))
			for k, pos := range ring {
				ppath := fmt.Sprintf("%s[%d][%d]", cpath, ri, k)
				if typ == "MultiPolygon" {
					ppath = fmt.Sprintf("%s[%d][%d][%d]", cpath, pi, ri, k)
				}
				if len(pos) < 2 || len(pos) > 3 {
					return nil, nil, Invalid(ppath, "want [lng, lat]")
				}
				if math.Abs(pos[0]) > 180 {
					return nil, nil, Invalid(ppath, "lng out of range")
				}
				if math.Abs(pos[1]) > 90 {
					return nil, nil, Invalid(ppath, "lat out of range")
				}
				pts = append(pts, geo.Point{Lat: pos[1], Lng: pos[0]})
			}
			if pts[0] != pts[len(pts)-1] {
				return nil, nil, Invalid(path, "polygon not closed")
			}
			wring := make([][2]float64, len(pts))
			for k, p := range pts {
				w := d.toWGS84(p)
				pts[k] = w
				wring[k] = [2]float64{w.Lng, w.Lat}
			}
			poly = append(poly, pts)
			opoly = append(opoly, wring)
		}
		mp = append(mp, poly)
		out = append(out, opoly)
	}
	if len(mp) == 0 {
		return nil, nil, Invalid(path, "empty %s", what)
	}
	var enc []byte
	var err error
	if typ == "Polygon" {
		enc, err = json.Marshal(struct {
			Type        string         `json:"type"`
			Coordinates [][][2]float64 `json:"coordinates"`
		}{typ, out[0]})
	} else {
		enc, err = json.Marshal(struct {
			Type        string           `json:"type"`
			Coordinates [][][][2]float64 `json:"coordinates"`
		}{typ, out})
	}
	if err != nil {
		return nil, nil, Errorf("internal", path, "encode: %v", err)
	}
	return mp, enc, nil
}

// areaCells is the cells of mp at geo.DefaultRes whose centres lie inside it, sorted
// and without duplicates, after bounding the size of each polygon.
func (d *districtDecoder) areaCells(path string, mp geo.MultiPolygon) ([]geo.Cell, *Error) {
	var cells []geo.Cell
	for _, poly := range mp {
		minLat, maxLat, minLng, maxLng := 90.0, -90.0, 180.0, -180.0
		for _, p := range poly[0] {
			minLat, maxLat = min(minLat, p.Lat), max(maxLat, p.Lat)
			minLng, maxLng = min(minLng, p.Lng), max(maxLng, p.Lng)
		}
		// A district spans a few tens of kilometres; an outline across half the globe
		// is a mistake, and H3 would read one across the antimeridian the other way.
		if maxLat-minLat > 45 || maxLng-minLng > 90 {
			return nil, Invalid(path, "too large: spans %.0f° of latitude and %.0f° of longitude", maxLat-minLat, maxLng-minLng)
		}
		// H3 allocates for the square of the bounding box's diagonal, whatever the
		// shape inside: a thin outline 3,000 km long would ask for gigabytes.
		km := geo.Distance(geo.Point{Lat: minLat, Lng: minLng}, geo.Point{Lat: maxLat, Lng: maxLng}) / 1000
		if km > maxSpanKm {
			return nil, Invalid(path, "too large: spans %.0f km, at most %d", km, maxSpanKm)
		}
		// And so does its time: the whole file gets the work of a few of the largest
		// districts, however many polygons it has.
		if d.spent += km * km; d.spent > fileSpanBudget {
			return nil, Invalid(path, "too large: the file's areas together span more than a district's")
		}
		if minLat == maxLat || minLng == maxLng {
			continue // no area, so no cells (and H3 refuses it)
		}
		holes := make([][]geo.Point, 0, len(poly)-1)
		for _, h := range poly[1:] {
			holes = append(holes, open(h))
		}
		cs, err := geo.PolygonCells(open(poly[0]), holes, geo.DefaultRes)
		if err != nil {
			return nil, Invalid(path, "not a polygon H3 can fill: %v", err)
		}
		cells = append(cells, cs...)
	}
	slices.Sort(cells)
	return slices.Compact(cells), nil
}

// open drops a ring's closing position, which H3 does not want.
func open(ring []geo.Point) []geo.Point {
	if n := len(ring); n > 1 && ring[0] == ring[n-1] {
		return ring[:n-1]
	}
	return ring
}

// radiusCells is the cells at geo.DefaultRes whose centres lie within r metres of p,
// and at least p's own cell, sorted.
func radiusCells(path string, p geo.Point, r float64) ([]geo.Cell, *Error) {
	c0, err := geo.CellOf(p, geo.DefaultRes)
	if err != nil {
		return nil, Invalid(path, "%v", err)
	}
	ring, err := geo.Ring(c0, 1)
	if err != nil || len(ring) == 0 {
		return nil, Invalid(path, "no neighbours: %v", err)
	}
	// Cell centres k steps away are at least ~0.87·k spacings from c0's, and p is
	// within one spacing of it: k below covers the circle with room for distortion.
	spacing := math.Inf(1)
	for _, n := range ring {
		spacing = min(spacing, geo.Distance(geo.Center(c0), geo.Center(n)))
	}
	k := int((r+spacing)/(0.8*spacing)) + 1
	disk, err := geo.Disk(c0, k)
	if err != nil {
		return nil, Invalid(path, "%v", err)
	}
	cells := []geo.Cell{c0}
	for _, c := range disk {
		if c != c0 && geo.Distance(p, geo.Center(c)) <= r {
			cells = append(cells, c)
		}
	}
	slices.Sort(cells)
	return cells, nil
}
