package streams

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"
	_ "time/tzdata" // a district's tz is checked the same on every host

	"commandd/dispatch"
	"commandd/geo"
)

// The district file (../shared/docs/api.md, "A district as data"): a district's
// boundary, management grids, zones and response plans as one JSON document. A command
// center writes it once for its own district; DecodeDistrict turns it into the engine's
// configuration. Every check is made before anything is returned, so a bad file is one
// error naming its JSON path and changes nothing. The document is read by hand, object
// by object, rather than with json.Decoder's DisallowUnknownFields, because that names
// neither the path of an unknown field nor of a wrongly typed one.

// District file limits. A boundary is turned into H3 cells, so its size is bounded
// before the cells are made: a mistyped coordinate must not ask for a continent.
const (
	maxRadiusM     = 10_000
	maxSpanKm      = 300                       // an outline's bounding box's diagonal: ~45,000 km², 430,000 cells at most
	fileSpanBudget = 4 * maxSpanKm * maxSpanKm // the squared diagonals of all of a file's outlines
	maxDeadlineS   = 24 * 3600
	maxTierUnits   = 100
	maxGrids       = 100_000
	maxZones       = 10_000
	maxPlans       = 1_000
)

// DistrictFileLimit is the largest district file the server reads (PUT
// /api/v1/district, --district, commandd district check): Huli's sample is ~200 KB,
// and a real district with a thousand finely drawn grids a few MB.
const DistrictFileLimit = 32 << 20

// ErrNoDistrict is DistrictView's answer for a configuration that came from no
// district file.
var ErrNoDistrict = errors.New("no district file")

// The document as the server gives it back: in WGS-84, with its lists never null, the
// defaults it was read with written out, and nothing the server added.
type districtDoc struct {
	Name     string          `json:"name,omitempty"`
	CRS      string          `json:"crs"`
	TZ       string          `json:"tz,omitempty"`
	Boundary json.RawMessage `json:"boundary"`
	Grids    []docGrid       `json:"grids"`
	Zones    []docZone       `json:"zones"`
	Plans    []docPlan       `json:"plans"`
}

type docGrid struct {
	ID   string          `json:"id"`
	Name string          `json:"name,omitempty"`
	Area json.RawMessage `json:"area"`
}

type docZone struct {
	ID        string          `json:"id"`
	Name      string          `json:"name,omitempty"`
	Kind      string          `json:"kind"`
	Area      json.RawMessage `json:"area,omitempty"`
	Point     *geo.Point      `json:"point,omitempty"`
	RadiusM   float64         `json:"radius_m,omitempty"`
	Deadlines []int           `json:"deadlines_s"`
}

type docPlan struct {
	Categories []string  `json:"categories"`
	Priorities []int     `json:"priorities"`
	Name       string    `json:"name,omitempty"`
	Tiers      []docTier `json:"tiers"`
}

type docTier struct {
	Name      string   `json:"name,omitempty"`
	DeadlineS int      `json:"deadline_s"`
	Forces    []string `json:"forces"`
	Modes     []string `json:"modes"`
	Units     int      `json:"units"`
	To        string   `json:"to"`
	MetBy     string   `json:"met_by"`
}

// zoneKinds are the kinds of zone the rule by place knows.
var zoneKinds = []string{"key_site", "center", "outskirts"}

// DecodeDistrict reads a district file into an engine configuration: the district's
// cells, grids, zones and plans at geo.DefaultRes, with Source the document re-encoded
// in WGS-84 (crs "wgs84"), so that decoding Source again gives the same configuration.
// A gcj02 file is converted point by point with geo.ToWGS84 before any cell is made.
// The result is deterministic: cells sorted, lists in the file's order. The caller
// bounds the size of b.
func DecodeDistrict(b []byte) (dispatch.Config, *Error) {
	var d districtDecoder
	cfg, e := d.decode(b)
	if e != nil {
		return dispatch.Config{}, e // nothing of a rejected file is kept
	}
	return cfg, nil
}

type districtDecoder struct {
	spent    float64 // km² of bounding-box diagonals squared given to H3 so far
	toWGS84  func(geo.Point) geo.Point
	district geo.CellSet
	doc      districtDoc
}

func (d *districtDecoder) decode(b []byte) (dispatch.Config, *Error) {
	var cfg dispatch.Config
	if !json.Valid(b) {
		var v any
		err := json.Unmarshal(b, &v)
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return cfg, Invalid("", "malformed JSON at byte %d: %v", syn.Offset, err)
		}
		return cfg, Invalid("", "malformed JSON: %v", err)
	}
	top, e := object("", b, "name", "crs", "tz", "boundary", "grids", "zones", "plans")
	if e != nil {
		return cfg, e
	}
	if cfg.Name, e = str("name", top["name"]); e != nil {
		return cfg, e
	}
	crs, e := str("crs", top["crs"])
	if e != nil {
		return cfg, e
	}
	switch crs {
	case "", "wgs84": // the contract's coordinates are WGS-84 unless a file says otherwise
		d.toWGS84 = func(p geo.Point) geo.Point { return p }
	case "gcj02":
		d.toWGS84 = geo.ToWGS84
	default:
		return cfg, Invalid("crs", "unknown crs %q: want gcj02 or wgs84", crs)
	}
	if cfg.TZ, e = str("tz", top["tz"]); e != nil {
		return cfg, e
	}
	if cfg.TZ != "" {
		// "Local" would be whatever the host says: not a district's zone.
		if _, err := time.LoadLocation(cfg.TZ); err != nil || cfg.TZ == "Local" {
			return cfg, Invalid("tz", "unknown time zone %q", cfg.TZ)
		}
	}
	d.doc = districtDoc{Name: cfg.Name, CRS: "wgs84", TZ: cfg.TZ}

	if e = d.boundary(&cfg, top["boundary"]); e != nil {
		return cfg, e
	}
	if e = d.grids(&cfg, top["grids"]); e != nil {
		return cfg, e
	}
	// Plans before zones: a zone's deadlines are counted against the default plan.
	if e = d.plans(&cfg, top["plans"]); e != nil {
		return cfg, e
	}
	if e = d.zones(&cfg, top["zones"]); e != nil {
		return cfg, e
	}
	src, err := json.Marshal(d.doc)
	if err != nil {
		return dispatch.Config{}, Errorf("internal", "", "encode district: %v", err)
	}
	cfg.Source = src
	return cfg, nil
}

func (d *districtDecoder) boundary(cfg *dispatch.Config, raw json.RawMessage) *Error {
	if absent(raw) {
		return Invalid("boundary", "required")
	}
	mp, enc, e := d.geometry("boundary", raw, "boundary")
	if e != nil {
		return e
	}
	cells, e := d.areaCells("boundary", mp)
	if e != nil {
		return e
	}
	if len(cells) == 0 {
		return Invalid("boundary", "no cells at resolution %d: smaller than a cell", geo.DefaultRes)
	}
	cfg.District = cells
	d.district = geo.NewCellSet(cells)
	d.doc.Boundary = enc
	return nil
}

func (d *districtDecoder) grids(cfg *dispatch.Config, raw json.RawMessage) *Error {
	items, e := list("grids", raw)
	if e != nil {
		return e
	}
	if len(items) > maxGrids {
		return Invalid("grids", "%d grids: at most %d", len(items), maxGrids)
	}
	d.doc.Grids = make([]docGrid, 0, len(items))
	ids := map[string]int{}
	owner := map[geo.Cell]int{}
	for i, it := range items {
		path := fmt.Sprintf("grids[%d]", i)
		o, e := object(path, it, "id", "name", "area")
		if e != nil {
			return e
		}
		id, e := d.id(path+".id", o["id"], ids, "grids", i)
		if e != nil {
			return e
		}
		name, e := str(path+".name", o["name"])
		if e != nil {
			return e
		}
		apath := path + ".area"
		if absent(o["area"]) {
			return Invalid(apath, "required")
		}
		mp, enc, e := d.geometry(apath, o["area"], "area")
		if e != nil {
			return e
		}
		cells, e := d.areaCells(apath, mp)
		if e != nil {
			return e
		}
		if len(cells) == 0 {
			return Invalid(apath, "no cells at resolution %d: smaller than a cell", geo.DefaultRes)
		}
		// An incident carries one grid, and statistics are kept per grid: grids must
		// not share cells, and a grid the district does not hold would count nothing.
		out := 0
		for _, c := range cells {
			if !d.district.Has(c) {
				out++
			}
		}
		switch {
		case out == len(cells):
			return Invalid(apath, "outside the boundary")
		case out > 0:
			return Invalid(apath, "partly outside the boundary (%d of %d cells)", out, len(cells))
		}
		for _, c := range cells {
			if j, taken := owner[c]; taken {
				return Invalid(apath, "overlaps grids[%d]", j)
			}
		}
		for _, c := range cells {
			owner[c] = i
		}
		cfg.Grids = append(cfg.Grids, dispatch.Grid{ID: id, Name: name, Cells: cells})
		d.doc.Grids = append(d.doc.Grids, docGrid{ID: id, Name: name, Area: enc})
	}
	return nil
}

func (d *districtDecoder) zones(cfg *dispatch.Config, raw json.RawMessage) *Error {
	items, e := list("zones", raw)
	if e != nil {
		return e
	}
	if len(items) > maxZones {
		return Invalid("zones", "%d zones: at most %d", len(items), maxZones)
	}
	maxDeadlines := len(cfg.CoverageTiers())
	d.doc.Zones = make([]docZone, 0, len(items))
	ids := map[string]int{}
	for i, it := range items {
		path := fmt.Sprintf("zones[%d]", i)
		o, e := object(path, it, "id", "name", "kind", "area", "point", "radius_m", "deadlines_s")
		if e != nil {
			return e
		}
		var z docZone
		if z.ID, e = d.id(path+".id", o["id"], ids, "zones", i); e != nil {
			return e
		}
		if z.Name, e = str(path+".name", o["name"]); e != nil {
			return e
		}
		if z.Kind, e = str(path+".kind", o["kind"]); e != nil {
			return e
		}
		if z.Kind == "" {
			return Invalid(path+".kind", "required: %s", strings.Join(zoneKinds, ", "))
		}
		if !slices.Contains(zoneKinds, z.Kind) {
			return Invalid(path+".kind", "unknown kind %q: want %s", z.Kind, strings.Join(zoneKinds, ", "))
		}
		var cells []geo.Cell
		hasArea, hasPoint := !absent(o["area"]), !absent(o["point"])
		switch {
		case hasArea && hasPoint:
			return Invalid(path, "both area and point: give one")
		case hasArea:
			if !absent(o["radius_m"]) {
				return Invalid(path+".radius_m", "only with a point")
			}
			mp, enc, e := d.geometry(path+".area", o["area"], "area")
			if e != nil {
				return e
			}
			if cells, e = d.areaCells(path+".area", mp); e != nil {
				return e
			}
			if len(cells) == 0 {
				return Invalid(path+".area", "no cells at resolution %d: smaller than a cell (give a point and radius_m)", geo.DefaultRes)
			}
			z.Area = enc
		case hasPoint:
			p, e := d.point(path+".point", o["point"])
			if e != nil {
				return e
			}
			if absent(o["radius_m"]) {
				return Invalid(path+".radius_m", "required with a point")
			}
			r, e := number(path+".radius_m", o["radius_m"])
			if e != nil {
				return e
			}
			if r <= 0 || r > maxRadiusM {
				return Invalid(path+".radius_m", "out of range: want more than 0 and at most %d", maxRadiusM)
			}
			if cells, e = radiusCells(path+".point", p, r); e != nil {
				return e
			}
			z.Point, z.RadiusM = &p, r
		default:
			return Invalid(path, "area or point required")
		}
		// The engine keeps the district's cells; a key site on its edge keeps the part
		// the district answers for, and a zone with none of it is a mistake.
		in := cells[:0]
		for _, c := range cells {
			if d.district.Has(c) {
				in = append(in, c)
			}
		}
		if len(in) == 0 {
			where := path + ".area"
			if z.Point != nil {
				where = path + ".point"
			}
			return Invalid(where, "outside the boundary")
		}
		secs, e := deadlines(path+".deadlines_s", o["deadlines_s"])
		if e != nil {
			return e
		}
		if len(secs) > maxDeadlines {
			return Invalid(path+".deadlines_s", "%d deadlines: the default plan has %d tiers", len(secs), maxDeadlines)
		}
		z.Deadlines = append([]int{}, secs...) // [] rather than null in Source
		dz := dispatch.Zone{ID: z.ID, Name: z.Name, Kind: z.Kind, Cells: slices.Clone(in)}
		if dz.Name == "" {
			dz.Name = z.ID // incidents carry the zone's name
		}
		for _, s := range secs {
			dz.Deadlines = append(dz.Deadlines, time.Duration(s)*time.Second)
		}
		cfg.Zones = append(cfg.Zones, dz)
		d.doc.Zones = append(d.doc.Zones, z)
	}
	return nil
}

func (d *districtDecoder) plans(cfg *dispatch.Config, raw json.RawMessage) *Error {
	items, e := list("plans", raw)
	if e != nil {
		return e
	}
	if len(items) > maxPlans {
		return Invalid("plans", "%d plans: at most %d", len(items), maxPlans)
	}
	d.doc.Plans = make([]docPlan, 0, len(items))
	def := -1
	for i, it := range items {
		path := fmt.Sprintf("plans[%d]", i)
		if def >= 0 {
			return Invalid(path, "never matches: plans[%d] before it is the default plan", def)
		}
		o, e := object(path, it, "categories", "priorities", "name", "tiers")
		if e != nil {
			return e
		}
		p := docPlan{Categories: []string{}, Priorities: []int{}}
		var rule dispatch.PlanRule
		cats, e := strs(path+".categories", o["categories"])
		if e != nil {
			return e
		}
		for j, s := range cats {
			c, err := dispatch.ParseCategory(s)
			if err != nil {
				return Invalid(fmt.Sprintf("%s.categories[%d]", path, j), "unknown category %q", s)
			}
			rule.Categories = append(rule.Categories, c)
			p.Categories = append(p.Categories, s)
		}
		prios, e := ints(path+".priorities", o["priorities"])
		if e != nil {
			return e
		}
		for j, v := range prios {
			if v < 1 || v > 4 {
				return Invalid(fmt.Sprintf("%s.priorities[%d]", path, j), "out of range: want 1 to 4")
			}
			rule.Priorities = append(rule.Priorities, v)
			p.Priorities = append(p.Priorities, v)
		}
		if p.Name, e = str(path+".name", o["name"]); e != nil {
			return e
		}
		rule.Plan.Name = p.Name
		tiers, e := list(path+".tiers", o["tiers"])
		if e != nil {
			return e
		}
		if len(tiers) == 0 {
			return Invalid(path+".tiers", "no tiers")
		}
		for j, traw := range tiers {
			tier, doc, e := tierOf(fmt.Sprintf("%s.tiers[%d]", path, j), traw)
			if e != nil {
				return e
			}
			if j > 0 && doc.DeadlineS <= p.Tiers[j-1].DeadlineS {
				return Invalid(fmt.Sprintf("%s.tiers[%d].deadline_s", path, j), "not increasing")
			}
			rule.Plan.Tiers = append(rule.Plan.Tiers, tier)
			p.Tiers = append(p.Tiers, doc)
		}
		if rule.Default() {
			def = i
		}
		cfg.Plans = append(cfg.Plans, rule)
		d.doc.Plans = append(d.doc.Plans, p)
	}
	if def < 0 {
		return Invalid("plans", "no default plan: one without categories and priorities is required")
	}
	return nil
}

// tierOf reads one tier of a plan, with its defaults: one unit, to the scene, met on
// arrival.
func tierOf(path string, raw json.RawMessage) (dispatch.Tier, docTier, *Error) {
	var t dispatch.Tier
	doc := docTier{Forces: []string{}, Modes: []string{}, Units: 1, To: "scene", MetBy: "arrived"}
	o, e := object(path, raw, "name", "deadline_s", "forces", "modes", "units", "to", "met_by")
	if e != nil {
		return t, doc, e
	}
	if doc.Name, e = str(path+".name", o["name"]); e != nil {
		return t, doc, e
	}
	t.Name = doc.Name
	if absent(o["deadline_s"]) {
		return t, doc, Invalid(path+".deadline_s", "required")
	}
	if doc.DeadlineS, e = integer(path+".deadline_s", o["deadline_s"]); e != nil {
		return t, doc, e
	}
	if doc.DeadlineS <= 0 || doc.DeadlineS > maxDeadlineS {
		return t, doc, Invalid(path+".deadline_s", "out of range: want 1 to %d", maxDeadlineS)
	}
	t.Deadline = time.Duration(doc.DeadlineS) * time.Second
	forces, e := strs(path+".forces", o["forces"])
	if e != nil {
		return t, doc, e
	}
	for k, s := range forces {
		f, err := dispatch.ParseForce(s)
		if err != nil {
			return t, doc, Invalid(fmt.Sprintf("%s.forces[%d]", path, k), "unknown force %q", s)
		}
		t.Forces = append(t.Forces, f)
		doc.Forces = append(doc.Forces, s)
	}
	modes, e := strs(path+".modes", o["modes"])
	if e != nil {
		return t, doc, e
	}
	for k, s := range modes {
		m, err := geo.ParseMode(s)
		if err != nil {
			return t, doc, Invalid(fmt.Sprintf("%s.modes[%d]", path, k), "unknown mode %q", s)
		}
		t.Modes = append(t.Modes, m)
		doc.Modes = append(doc.Modes, s)
	}
	if !absent(o["units"]) {
		if doc.Units, e = integer(path+".units", o["units"]); e != nil {
			return t, doc, e
		}
		if doc.Units < 1 || doc.Units > maxTierUnits {
			return t, doc, Invalid(path+".units", "out of range: want 1 to %d", maxTierUnits)
		}
	}
	t.Units = doc.Units
	if !absent(o["to"]) {
		if doc.To, e = str(path+".to", o["to"]); e != nil {
			return t, doc, e
		}
	}
	switch doc.To {
	case "scene":
	case "perimeter":
		t.Perimeter = true
	default:
		return t, doc, Invalid(path+".to", "unknown %q: want scene or perimeter", doc.To)
	}
	if !absent(o["met_by"]) {
		if doc.MetBy, e = str(path+".met_by", o["met_by"]); e != nil {
			return t, doc, e
		}
	}
	if t.MetBy, e = phaseOf(path+".met_by", doc.MetBy); e != nil {
		return t, doc, e
	}
	return t, doc, nil
}

func phaseOf(path, s string) (dispatch.Phase, *Error) {
	p, err := dispatch.ParsePhase(s)
	if err != nil {
		return 0, Invalid(path, "unknown %q: want accepted, enroute or arrived", s)
	}
	return p, nil
}

// id reads a grid's or zone's id: required, and unique among its kind.
func (d *districtDecoder) id(path string, raw json.RawMessage, seen map[string]int, kind string, i int) (string, *Error) {
	id, e := str(path, raw)
	if e != nil {
		return "", e
	}
	if id == "" {
		return "", Invalid(path, "required")
	}
	if j, dup := seen[id]; dup {
		return "", Invalid(path, "duplicate id %q, as %s[%d]", id, kind, j)
	}
	seen[id] = i
	return id, nil
}

// deadlines reads a zone's deadlines: whole seconds, positive and increasing like the
// tiers they replace.
func deadlines(path string, raw json.RawMessage) ([]int, *Error) {
	secs, e := ints(path, raw)
	if e != nil {
		return nil, e
	}
	for k, s := range secs {
		if s <= 0 || s > maxDeadlineS {
			return nil, Invalid(fmt.Sprintf("%s[%d]", path, k), "out of range: want 1 to %d", maxDeadlineS)
		}
		if k > 0 && s <= secs[k-1] {
			return nil, Invalid(path, "not increasing")
		}
	}
	return secs, nil
}

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

// DistrictView is the district in force as GET /api/v1/district gives it: the file of
// cfg.Source (in WGS-84) with the H3 cell count of the district ("cells") and of each
// grid and zone. ErrNoDistrict when the configuration came from no file.
func DistrictView(cfg dispatch.Config) (json.RawMessage, error) {
	if len(cfg.Source) == 0 {
		return nil, ErrNoDistrict
	}
	var doc districtDoc
	if err := json.Unmarshal(cfg.Source, &doc); err != nil {
		return nil, fmt.Errorf("district view: %w", err)
	}
	if len(doc.Grids) != len(cfg.Grids) || len(doc.Zones) != len(cfg.Zones) {
		return nil, fmt.Errorf("district view: source has %d grids and %d zones, configuration %d and %d",
			len(doc.Grids), len(doc.Zones), len(cfg.Grids), len(cfg.Zones))
	}
	type viewGrid struct {
		docGrid
		Cells int `json:"cells"`
	}
	type viewZone struct {
		docZone
		Cells int `json:"cells"`
	}
	view := struct {
		Name     string          `json:"name,omitempty"`
		CRS      string          `json:"crs"`
		TZ       string          `json:"tz,omitempty"`
		Cells    int             `json:"cells"`
		Boundary json.RawMessage `json:"boundary"`
		Grids    []viewGrid      `json:"grids"`
		Zones    []viewZone      `json:"zones"`
		Plans    []docPlan       `json:"plans"`
	}{Name: doc.Name, CRS: doc.CRS, TZ: doc.TZ, Cells: len(cfg.District), Boundary: doc.Boundary,
		Grids: make([]viewGrid, len(doc.Grids)), Zones: make([]viewZone, len(doc.Zones)), Plans: doc.Plans}
	if view.Plans == nil {
		view.Plans = []docPlan{}
	}
	for i, g := range doc.Grids {
		view.Grids[i] = viewGrid{g, len(cfg.Grids[i].Cells)}
	}
	for i, z := range doc.Zones {
		if z.Deadlines == nil {
			z.Deadlines = []int{}
		}
		view.Zones[i] = viewZone{z, len(cfg.Zones[i].Cells)}
	}
	b, err := json.Marshal(view)
	if err != nil {
		return nil, fmt.Errorf("district view: %w", err)
	}
	return b, nil
}

// The readers below take one JSON value each, already checked to be valid JSON, and
// name the path of what is wrong. A missing value (nil) or null reads as the zero value.

func absent(raw json.RawMessage) bool {
	return len(raw) == 0 || string(bytes.TrimSpace(raw)) == "null"
}

// object reads a JSON object whose keys must be among keys; the first unknown key in
// sorted order is the error, so the answer does not depend on map order.
func object(path string, raw json.RawMessage, keys ...string) (map[string]json.RawMessage, *Error) {
	var o map[string]json.RawMessage
	if absent(raw) || json.Unmarshal(raw, &o) != nil {
		return nil, Invalid(path, "want an object")
	}
	var unknown []string
	for k := range o {
		if !slices.Contains(keys, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		field := unknown[0]
		if path != "" {
			field = path + "." + field
		}
		return nil, Invalid(field, "unknown field")
	}
	return o, nil
}

func list(path string, raw json.RawMessage) ([]json.RawMessage, *Error) {
	var l []json.RawMessage
	if absent(raw) {
		return nil, nil
	}
	if json.Unmarshal(raw, &l) != nil {
		return nil, Invalid(path, "want an array")
	}
	return l, nil
}

func str(path string, raw json.RawMessage) (string, *Error) {
	var s string
	if absent(raw) {
		return "", nil
	}
	if json.Unmarshal(raw, &s) != nil {
		return "", Invalid(path, "want a string")
	}
	return s, nil
}

func number(path string, raw json.RawMessage) (float64, *Error) {
	var f float64
	if absent(raw) {
		return 0, nil
	}
	if json.Unmarshal(raw, &f) != nil {
		return 0, Invalid(path, "want a number")
	}
	return f, nil
}

func integer(path string, raw json.RawMessage) (int, *Error) {
	var n int
	if absent(raw) {
		return 0, nil
	}
	if json.Unmarshal(raw, &n) != nil {
		return 0, Invalid(path, "want a whole number")
	}
	return n, nil
}

func strs(path string, raw json.RawMessage) ([]string, *Error) {
	var l []string
	if absent(raw) {
		return nil, nil
	}
	if json.Unmarshal(raw, &l) != nil {
		return nil, Invalid(path, "want an array of strings")
	}
	return l, nil
}

func ints(path string, raw json.RawMessage) ([]int, *Error) {
	var l []int
	if absent(raw) {
		return nil, nil
	}
	if json.Unmarshal(raw, &l) != nil {
		return nil, Invalid(path, "want an array of whole numbers")
	}
	return l, nil
}
