package dispatch

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"commandd/geo"
)

type incident struct {
	id          string
	closed      bool
	priority    int
	category    Category
	scene       geo.Place
	address     string
	zone        string // the name of the zone holding the scene when the plan was chosen
	zoneID      string
	gridID      string // the management grid holding the scene when it opened
	gridName    string
	received    time.Time // the first alert's receipt: every deadline runs from it
	lastSeen    time.Time // the latest alert or camera event
	closedAt    time.Time
	disposition string
	alerts      []AlertView
	camEvents   []CameraEventView
	tiers       []*tier
	excluded    []int32 // units an operator released: never sent here again
	notes       []NoteView
	timeline    []TimelineEntry
	touched     bool
	onShortList bool
}

type tier struct {
	Tier
	kinds       uint16 // Tier.kinds(), worked out once
	state       TierState
	units       []*tierUnit
	recommended []*tierUnit
	posts       []geo.Place // perimeter posts, one per unit, spread around the scene
}

type tierUnit struct {
	unit     int32
	eta      float64 // seconds, when assigned (or recommended)
	assigned time.Time
	accepted time.Time // when the unit first acknowledged the order (zero: not yet)
	enroute  time.Time // when the unit first reported en route with the order (zero: not yet)
	arrived  time.Time
	cleared  time.Time
	target   geo.Place
	from     geo.Cell // where the unit was when sent: its arrival teaches the travel model
}

// filled counts the units that count for the tier: arrived, or assigned and on their way.
func (t *tier) filled() int {
	n := 0
	for _, tu := range t.units {
		if !tu.arrived.IsZero() || tu.cleared.IsZero() {
			n++
		}
	}
	return n
}

// missing counts the units an incident still lacks over all its tiers.
func (inc *incident) missing() int {
	n := 0
	for _, t := range inc.tiers {
		n += max(0, t.Units-t.filled())
	}
	return n
}

// short reports whether an open incident still lacks units on some tier. A tier that
// missed its deadline still wants its units: the scene needs them all the same.
func (inc *incident) short() bool { return !inc.closed && inc.missing() > 0 }

// AlertView is an alert as it is kept on its incident.
type AlertView struct {
	ID       string   `json:"id"`
	T        Millis   `json:"t"`
	Lat      float64  `json:"lat"`
	Lng      float64  `json:"lng"`
	Address  string   `json:"address,omitempty"`
	Category Category `json:"category"`
	Priority int      `json:"priority"`
	Caller   string   `json:"caller,omitempty"`
	Text     string   `json:"text,omitempty"`
}

// CameraEventView is a camera event kept as evidence on an incident.
type CameraEventView struct {
	ID         string          `json:"id"`
	Camera     string          `json:"camera"`
	T          Millis          `json:"t"`
	Type       CameraEventType `json:"type"`
	Confidence float64         `json:"confidence"`
	Snapshot   string          `json:"snapshot,omitempty"`
	Lat        float64         `json:"lat"`
	Lng        float64         `json:"lng"`
}

// TimelineEntry is one line of an incident's history, with who caused it ("engine"
// for the planner's own decisions).
type TimelineEntry struct {
	T    Millis `json:"t"`
	What string `json:"what"`
	By   string `json:"by"`
}

// TierUnitView is a unit on a tier, with its ETA when it was sent.
type TierUnitView struct {
	Unit     string  `json:"unit"`
	ETA      float64 `json:"eta_s"`
	Assigned Millis  `json:"assigned,omitzero"`
	Accepted Millis  `json:"accepted,omitzero"` // the unit's first acknowledgement of the order
	Enroute  Millis  `json:"enroute,omitzero"`  // its first en route report with the order
	Arrived  Millis  `json:"arrived,omitzero"`
	Cleared  Millis  `json:"cleared,omitzero"`
	Lat      float64 `json:"lat"`
	Lng      float64 `json:"lng"`
}

// TierView is a tier clock as readers see it.
type TierView struct {
	Tier        int            `json:"tier"`
	Name        string         `json:"name,omitempty"` // the plan's name for it
	Deadline    float64        `json:"deadline_s"`
	Due         Millis         `json:"due"`
	Needed      int            `json:"needed"`
	Perimeter   bool           `json:"perimeter,omitempty"`
	State       TierState      `json:"state"`
	Units       []TierUnitView `json:"units"`
	Recommended []TierUnitView `json:"recommended,omitempty"`
}

// IncidentView is an incident in the shape of the wire contract.
type IncidentView struct {
	ID           string            `json:"id"`
	Status       string            `json:"status"`
	Priority     int               `json:"priority"`
	Category     Category          `json:"category"`
	Lat          float64           `json:"lat"`
	Lng          float64           `json:"lng"`
	Cell         geo.Cell          `json:"cell"`
	Address      string            `json:"address,omitempty"`
	Zone         string            `json:"zone,omitempty"`    // the zone's name
	ZoneID       string            `json:"zone_id,omitempty"` // the district file's id of the zone
	Grid         *GridRef          `json:"grid,omitempty"`    // the management grid holding the scene
	Received     Millis            `json:"received"`
	Closed       Millis            `json:"closed,omitzero"`
	Disposition  string            `json:"disposition,omitempty"`
	Alerts       []AlertView       `json:"alerts"`
	CameraEvents []CameraEventView `json:"camera_events"`
	Tiers        []TierView        `json:"tiers"`
	Notes        []NoteView        `json:"notes"`
	Timeline     []TimelineEntry   `json:"timeline"`
}

// GridRef names a management grid.
type GridRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// MarshalJSON writes every list as [] when it is empty (api.md: "Lists are never
// null"), whatever made the view: the engine, or an incident read back from the history.
func (v IncidentView) MarshalJSON() ([]byte, error) {
	type plain IncidentView
	v.Alerts, v.CameraEvents, v.Timeline = nonNil(v.Alerts), nonNil(v.CameraEvents), nonNil(v.Timeline)
	v.Notes = nonNil(v.Notes)
	tiers := make([]TierView, len(v.Tiers))
	for n, t := range v.Tiers {
		t.Units = nonNil(t.Units)
		tiers[n] = t
	}
	v.Tiers = tiers
	return json.Marshal(plain(v))
}

// nonNil is s, or an empty slice where s is nil.
func nonNil[S ~[]E, E any](s S) S {
	if s == nil {
		return S{}
	}
	return s
}

func (e *Engine) tierUnitViews(tus []*tierUnit) []TierUnitView {
	out := make([]TierUnitView, 0, len(tus))
	for _, tu := range tus {
		out = append(out, TierUnitView{Unit: e.units[tu.unit].id, ETA: roundETA(tu.eta), Assigned: Millis{tu.assigned},
			Accepted: Millis{tu.accepted}, Enroute: Millis{tu.enroute}, Arrived: Millis{tu.arrived}, Cleared: Millis{tu.cleared}, Lat: tu.target.Lat, Lng: tu.target.Lng})
	}
	return out
}

func (e *Engine) incidentView(inc *incident) IncidentView {
	v := IncidentView{ID: inc.id, Status: "open", Priority: inc.priority, Category: inc.category,
		Lat: inc.scene.Lat, Lng: inc.scene.Lng, Cell: inc.scene.Cell, Address: inc.address, Zone: inc.zone, ZoneID: inc.zoneID,
		Received: Millis{inc.received}, Closed: Millis{inc.closedAt}, Disposition: inc.disposition,
		Alerts: slices.Clone(inc.alerts), CameraEvents: slices.Clone(inc.camEvents),
		Notes: slices.Clone(inc.notes), Timeline: slices.Clone(inc.timeline)}
	if inc.closed {
		v.Status = "closed"
	}
	if inc.gridID != "" {
		v.Grid = &GridRef{ID: inc.gridID, Name: inc.gridName}
	}
	for n, t := range inc.tiers {
		v.Tiers = append(v.Tiers, TierView{Tier: n + 1, Name: t.Name, Deadline: t.Deadline.Seconds(),
			Due: Millis{inc.received.Add(t.Deadline)}, Needed: t.Units, Perimeter: t.Perimeter, State: t.state,
			Units: e.tierUnitViews(t.units), Recommended: e.tierUnitViews(t.recommended)})
	}
	return v
}

// Incident returns the incident with id.
func (e *Engine) Incident(id string) (IncidentView, bool) {
	i, ok := e.incIDs[id]
	if !ok {
		return IncidentView{}, false
	}
	return e.incidentView(e.incs[i]), true
}

// Incidents returns the open incidents (or all, with closed), oldest first.
func (e *Engine) Incidents(closed bool) []IncidentView {
	var out []IncidentView
	for _, inc := range e.incs[e.live:] {
		if inc != nil && (closed || !inc.closed) {
			out = append(out, e.incidentView(inc))
		}
	}
	return out
}

func (e *Engine) logTimeline(i int32, what, by string) {
	if by == "" {
		by = "engine"
	}
	inc := e.incs[i]
	inc.timeline = append(inc.timeline, TimelineEntry{T: Millis{e.now}, What: what, By: by})
	e.touch(i)
}

// openIncident creates an incident at a scene with the plan for its category and
// priority, and plans its response.
func (e *Engine) openIncident(scene geo.Place, cat Category, prio int, received time.Time, address string) int32 {
	i := int32(len(e.incs))
	inc := &incident{id: fmt.Sprintf("INC-%06d", i+1), priority: prio, category: cat, scene: scene,
		address: address, received: received, lastSeen: received}
	e.incs = append(e.incs, inc)
	e.incIDs[inc.id] = i
	e.open = append(e.open, i)
	e.openIdx.Move(i, scene)
	if g, ok := e.gridAt[scene.Cell]; ok {
		inc.gridID, inc.gridName = e.cfg.Grids[g].ID, e.cfg.Grids[g].Name
	}
	e.resolvePlan(i)
	e.countCall(scene.Cell, received)
	e.emit(Change{Kind: IncidentOpened, Incident: inc.id, Lat: scene.Lat, Lng: scene.Lng, Cell: scene.Cell})
	e.touch(i)
	return i
}

// resolvePlan sets an incident's tiers from its plan, keeping the units already on
// them (the plan changes when a later alert raises the priority).
func (e *Engine) resolvePlan(i int32) {
	inc := e.incs[i]
	tiers, zone := e.planFor(inc.category, inc.priority, inc.scene.Cell)
	inc.zone, inc.zoneID = "", ""
	if zone != nil {
		inc.zone, inc.zoneID = zone.Name, zone.ID
	}
	old := inc.tiers
	// A plan with fewer tiers (another rule, or a district changed since the incident
	// opened) keeps the incident's further tiers: units are on them.
	inc.tiers = make([]*tier, max(len(tiers), len(old)))
	for n := len(tiers); n < len(old); n++ {
		inc.tiers[n] = old[n]
	}
	for n, t := range tiers {
		nt := &tier{Tier: t, kinds: t.kinds()}
		if n < len(old) {
			nt.state, nt.units = old[n].state, old[n].units
		}
		if t.Perimeter {
			nt.posts = e.perimeterPosts(inc.scene.Cell, t.Units)
		}
		inc.tiers[n] = nt
	}
}

// perimeterPosts spreads n posts evenly over the ring of cells around the scene (ring 1,
// or ring 2 for more than six units), so containment units close different exits.
func (e *Engine) perimeterPosts(c geo.Cell, n int) []geo.Place {
	if n <= 0 {
		return nil
	}
	k := 1
	if n > 6 {
		k = 2
	}
	ring := e.placed.Ring(c, k)
	if len(ring) == 0 {
		return []geo.Place{{Point: e.placed.Centre(c), Cell: c}}
	}
	posts := make([]geo.Place, n)
	for j := range posts {
		cell := ring[(j*len(ring)/n)%len(ring)]
		posts[j] = geo.Place{Point: e.placed.Centre(cell), Cell: cell}
	}
	return posts
}

// assign puts unit ui on tier t of incident i, heading for target (zero: the scene, or
// a free perimeter post). eta 0 means compute it now.
func (e *Engine) assign(i, ui int32, t int, target geo.Place, eta float64, by string) {
	u := e.units[ui]
	if u.inc >= 0 {
		if u.inc == i && u.tier == t {
			return
		}
		e.unassign(ui, "reassigned to "+e.incs[i].id, by)
	}
	inc := e.incs[i]
	tr := inc.tiers[t]
	if target.Cell == 0 {
		target = inc.scene
		if posts := e.freePosts(tr, 1); posts != nil {
			target = posts[0]
		}
	}
	if eta == 0 {
		eta = e.travel(u.mode, u.pos, target)
	}
	tu := &tierUnit{unit: ui, eta: eta, assigned: e.now, target: target, from: u.pos.Cell}
	tr.units = append(tr.units, tu)
	tr.recommended = slices.DeleteFunc(tr.recommended, func(r *tierUnit) bool { return r.unit == ui })
	if tr.filled() >= tr.Units {
		tr.recommended = nil
	}
	u.inc, u.tier, u.target = i, t, target
	u.status = Dispatched
	e.updateCoverage(ui)
	e.emit(Change{Kind: Assigned, Incident: inc.id, Unit: u.id, Tier: t + 1, ETA: roundETA(eta)})
	e.unitChanged(u)
	e.logTimeline(i, fmt.Sprintf("assigned %s to tier %d, eta %.0f s", u.id, t+1, eta), by)
}

// unassign ends unit ui's current assignment: a unit that had not arrived leaves the
// tier, one that had arrived is marked cleared.
func (e *Engine) unassign(ui int32, reason, by string) {
	u := e.units[ui]
	if u.inc < 0 {
		return
	}
	i := u.inc
	inc := e.incs[i]
	tr := inc.tiers[u.tier]
	for n, tu := range tr.units {
		if tu.unit != ui || !tu.cleared.IsZero() {
			continue
		}
		if tu.arrived.IsZero() {
			tr.units = slices.Delete(tr.units, n, n+1)
		} else {
			tu.cleared = e.now
		}
		break
	}
	u.inc, u.tier, u.target = -1, 0, geo.Place{}
	if u.status == Dispatched || u.status == Accepted || u.status == Enroute || u.status == OnScene {
		u.status = Available
	}
	e.updateCoverage(ui)
	e.emit(Change{Kind: Released, Incident: inc.id, Unit: u.id, Reason: reason})
	e.unitChanged(u)
	e.logTimeline(i, "released "+u.id+": "+reason, by)
	e.replan = true
}

// arrive records unit ui on scene at time t.
func (e *Engine) arrive(ui int32, t time.Time, by string) {
	u := e.units[ui]
	inc := e.incs[u.inc]
	tr := inc.tiers[u.tier]
	for _, tu := range tr.units {
		if tu.unit == ui && tu.cleared.IsZero() && tu.arrived.IsZero() {
			tu.arrived = t
			e.learnArrival(u.mode, tu.from, tu.assigned, tu.eta, t)
		}
	}
	u.status = OnScene
	e.updateCoverage(ui)
	e.emit(Change{Kind: Arrived, Incident: inc.id, Unit: u.id, Tier: u.tier + 1, T: t})
	e.logTimeline(u.inc, fmt.Sprintf("%s arrived (tier %d) after %.0f s", u.id, u.tier+1, t.Sub(inc.received).Seconds()), by)
}

// firstTierFor is the first tier of incident i that unit ui may fill and that still
// lacks units, or the last tier it may fill.
func (e *Engine) firstTierFor(i, ui int32) int {
	u := e.units[ui]
	last := len(e.incs[i].tiers) - 1
	for n, t := range e.incs[i].tiers {
		if t.kinds&kindBit(u.force, u.mode) != 0 {
			if t.filled() < t.Units {
				return n
			}
			last = n
		}
	}
	return last
}

func (e *Engine) lookupCommand(incident, unitID string) (int32, int32, bool) {
	i, ok := e.incIDs[incident]
	if !ok {
		e.reject(NotFound, "unknown incident "+incident)
		return 0, 0, false
	}
	if e.incs[i].closed {
		e.reject(Conflict, "incident "+incident+" is closed")
		return 0, 0, false
	}
	ui, ok := e.unitIDs[unitID]
	if !ok {
		e.reject(NotFound, "unknown unit "+unitID)
		return 0, 0, false
	}
	return i, ui, true
}

func (e *Engine) assignCommand(ev *Assign) {
	i, ui, ok := e.lookupCommand(ev.Incident, ev.Unit)
	if !ok {
		return
	}
	inc := e.incs[i]
	t := ev.Tier - 1
	if ev.Tier == 0 {
		t = e.firstTierFor(i, ui)
	}
	if t < 0 || t >= len(inc.tiers) {
		e.reject(Invalid, fmt.Sprintf("incident %s has no tier %d", inc.id, ev.Tier))
		return
	}
	if !e.units[ui].placed() {
		e.reject(Conflict, "unit "+ev.Unit+" has no position yet")
		return
	}
	inc.excluded = slices.DeleteFunc(inc.excluded, func(x int32) bool { return x == ui })
	e.assign(i, ui, t, geo.Place{}, 0, ev.By)
}

func (e *Engine) releaseCommand(ev *Release) {
	i, ui, ok := e.lookupCommand(ev.Incident, ev.Unit)
	if !ok {
		return
	}
	if e.units[ui].inc != i {
		e.reject(Conflict, "unit "+ev.Unit+" is not on "+ev.Incident)
		return
	}
	inc := e.incs[i]
	if !slices.Contains(inc.excluded, ui) {
		inc.excluded = append(inc.excluded, ui)
	}
	e.unassign(ui, "released by operator", ev.By)
}

func (e *Engine) closeCommand(ev *Close) {
	i, ok := e.incIDs[ev.Incident]
	if !ok {
		e.reject(NotFound, "unknown incident "+ev.Incident)
		return
	}
	inc := e.incs[i]
	if inc.closed {
		return // closing twice changes nothing: senders retry
	}
	for _, t := range inc.tiers {
		for _, tu := range slices.Clone(t.units) {
			if e.units[tu.unit].inc == i {
				e.unassign(tu.unit, "incident closed", ev.By)
			}
		}
	}
	inc.closed, inc.closedAt, inc.disposition = true, e.now, ev.Disposition
	for _, t := range inc.tiers {
		t.recommended = nil
	}
	e.open = slices.DeleteFunc(e.open, func(x int32) bool { return x == i })
	e.openIdx.Remove(i)
	e.logTimeline(i, "closed: "+ev.Disposition, ev.By)
	e.emit(Change{Kind: IncidentClosed, Incident: inc.id})
}
