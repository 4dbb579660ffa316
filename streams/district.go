package streams

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
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
	items, e := boundedList("grids", raw, maxGrids, "grids")
	if e != nil {
		return e
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
	items, e := boundedList("zones", raw, maxZones, "zones")
	if e != nil {
		return e
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
	items, e := boundedList("plans", raw, maxPlans, "plans")
	if e != nil {
		return e
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
