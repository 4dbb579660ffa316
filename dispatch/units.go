package dispatch

import (
	"time"

	"commandd/geo"
)

type unit struct {
	id       string
	callsign string
	force    Force
	mode     geo.Mode
	status   Status
	pos      geo.Place // zero Cell: no fix yet
	fixT     time.Time
	heading  float64
	speed    float64
	secret   string    // hex SHA-256 of the device secret; "": none
	terminal string    // JT/T 808 terminal phone number, no leading zeros; "": none
	moveTo   geo.Point // the post a sent move-up has it on its way to (zero: none)

	// The current assignment: incident index (-1: none), tier index, where to go.
	inc    int32
	tier   int
	target geo.Place
}

func (u *unit) placed() bool { return u.pos.Cell != 0 }

// free reports whether the planner may send the unit anywhere.
func (u *unit) free() bool { return u.status == Available && u.inc < 0 && u.placed() }

// committed reports whether the unit is on its way to an incident (sent, acknowledged
// or en route), so that only a higher-priority incident may pull it.
func (u *unit) committed() bool {
	return u.inc >= 0 && (u.status == Dispatched || u.status == Accepted || u.status == Enroute) && u.placed()
}

// UnitView is a unit as readers see it.
type UnitView struct {
	ID       string   `json:"id"`
	Callsign string   `json:"callsign,omitempty"`
	Force    Force    `json:"force"`
	Mode     geo.Mode `json:"mode"`
	Status   Status   `json:"status"`
	Lat      float64  `json:"lat"`
	Lng      float64  `json:"lng"`
	Cell     geo.Cell `json:"cell,omitempty"`
	Heading  float64  `json:"heading"`
	Speed    float64  `json:"speed"`
	T        Millis   `json:"t,omitzero"`
	Incident string   `json:"incident,omitempty"`
	Tier     int      `json:"tier,omitempty"`
	// Secret says the unit has a device secret (never the secret or its hash).
	Secret bool `json:"secret,omitempty"`
	// Terminal is the unit's JT/T 808 terminal phone number.
	Terminal string `json:"terminal,omitempty"`
}

func (e *Engine) unitView(u *unit) UnitView {
	v := UnitView{ID: u.id, Callsign: u.callsign, Force: u.force, Mode: u.mode, Status: u.status,
		Lat: u.pos.Lat, Lng: u.pos.Lng, Cell: u.pos.Cell, Heading: u.heading, Speed: u.speed, T: Millis{u.fixT},
		Secret: u.secret != "", Terminal: u.terminal}
	if u.inc >= 0 {
		v.Incident = e.incs[u.inc].id
		v.Tier = u.tier + 1
	}
	return v
}

// Unit returns the unit with id.
func (e *Engine) Unit(id string) (UnitView, bool) {
	i, ok := e.unitIDs[id]
	if !ok {
		return UnitView{}, false
	}
	return e.unitView(e.units[i]), true
}

// Known reports whether a unit is on the roster.
func (e *Engine) Known(id string) bool { _, ok := e.unitIDs[id]; return ok }

// Units returns every unit, in the order they joined the roster.
func (e *Engine) Units() []UnitView {
	out := make([]UnitView, len(e.units))
	for i, u := range e.units {
		out[i] = e.unitView(u)
	}
	return out
}

func (e *Engine) unitChanged(u *unit) {
	e.emit(Change{Kind: UnitChanged, Unit: u.id, Status: u.status, Lat: u.pos.Lat, Lng: u.pos.Lng,
		Cell: u.pos.Cell, Heading: u.heading, Speed: u.speed, T: u.fixT})
}

func (e *Engine) upsertUnit(ev *UnitUpserted) {
	if ev.ID == "" || ev.Force > Guard || ev.Mode > geo.Car || !ev.Status.valid() {
		e.reject(Invalid, "unit "+ev.ID+": invalid id, force, mode or status")
		return
	}
	i, ok := e.unitIDs[ev.ID]
	if ev.Status == Accepted && (!ok || e.units[i].status != Accepted) {
		// Accepting is a report on an assignment: a roster entry cannot make one up.
		if why := e.cannotAccept(i, ok, ""); why != "" {
			e.reject(Conflict, why)
			return
		}
	}
	if !ok {
		i = int32(len(e.units))
		e.units = append(e.units, &unit{id: ev.ID, inc: -1, status: ev.Status})
		e.unitIDs[ev.ID] = i
	}
	u := e.units[i]
	u.callsign, u.force, u.mode = ev.Callsign, ev.Force, ev.Mode
	if ev.Secret != "" {
		u.secret = ev.Secret
	}
	if ev.Terminal != "" {
		e.setTerminal(i, ev.Terminal)
	}
	if ok && ev.Status != u.status {
		e.setStatus(i, ev.Status, "", ev.By)
	}
	e.updateCoverage(i)
	e.unitChanged(u)
	if u.free() {
		e.replan = true
	}
}

// applyFix is the hot path: thousands of fixes a second, nothing allocated, the unit
// re-indexed only when it leaves its cell.
func (e *Engine) applyFix(f *Fix) {
	i, ok := e.unitIDs[f.Unit]
	if !ok {
		e.reject(NotFound, "unknown unit "+f.Unit)
		return
	}
	u := e.units[i]
	if !(geo.Point{Lat: f.Lat, Lng: f.Lng}).Valid() {
		e.reject(Invalid, "fix of "+f.Unit+": position out of range")
		return
	}
	cell := f.Cell
	if cell == 0 {
		c, err := geo.CellOf(geo.Point{Lat: f.Lat, Lng: f.Lng}, geo.DefaultRes)
		if err != nil {
			e.reject(Invalid, err.Error())
			return
		}
		cell = c
	}
	if !f.T.After(u.fixT) && u.placed() {
		// Out of order: history keeps it, but a unit never moves backwards in time.
		return
	}
	first := !u.placed()
	u.pos = geo.Place{Point: geo.Point{Lat: f.Lat, Lng: f.Lng}, Cell: cell}
	u.fixT, u.heading, u.speed = f.T, f.Heading, f.Speed
	if e.placed.Move(i, u.pos) {
		e.updateCoverage(i)
	}
	e.unitChanged(u)
	if u.inc >= 0 && u.status != OnScene && geo.FastDistance(u.pos.Point, u.target.Point) <= e.cfg.arrivalRadius(u.mode) {
		e.arrive(i, f.T, "")
	}
	if first && u.free() {
		e.replan = true
	}
	if u.moveTo != (geo.Point{}) && geo.FastDistance(u.pos.Point, u.moveTo) <= e.cfg.arrivalRadius(u.mode) {
		e.endMoveUp(i) // at its post
	}
}

// Tag bits kept beside each unit in the index, so the nearest-unit search filters
// units without touching them: the unit's kindBit, and whether it is free or committed.
const (
	tagFree      = 1 << 16
	tagCommitted = 1 << 17
)

// tag is the unit's tag in the index.
func (u *unit) tag() uint32 {
	tag := uint32(kindBit(u.force, u.mode))
	if u.free() {
		tag |= tagFree
	}
	if u.committed() {
		tag |= tagCommitted
	}
	return tag
}

// updateCoverage refreshes what searches and coverage know of unit i after its status,
// assignment or cell changed.
func (e *Engine) updateCoverage(i int32) {
	u := e.units[i]
	wasFree := e.placed.Tag(i)&tagFree != 0
	e.placed.SetTag(i, u.tag())
	e.moveUpUnitChanged(i, wasFree)
	var mask uint32
	if u.free() {
		for l, k := range e.covKinds {
			if k&kindBit(u.force, u.mode) != 0 {
				mask |= 1 << l
			}
		}
	}
	e.coverage.Update(i, u.pos.Cell, u.mode, mask)
}

// setStatus changes a unit's status and does what the new status implies for its
// assignment: onscene is an arrival; available, busy and offduty end it.
func (e *Engine) setStatus(i int32, s Status, incident string, by string) {
	u := e.units[i]
	switch s {
	case Accepted:
		// The caller has checked that the unit has an assignment to accept.
		if e.accept(i) {
			e.logTimeline(u.inc, u.id+" accepted", by)
		}
		if u.status != Dispatched {
			return // a late accept (a retry) never takes a unit back from en route or on scene
		}
	case Enroute:
		if u.inc >= 0 {
			e.accept(i) // on its way without a word first: it reacted all the same
			e.setOff(i)
		}
	case OnScene:
		if u.inc < 0 && incident != "" {
			// A unit that comes upon an incident attaches itself to it.
			j, ok := e.incIDs[incident]
			if !ok || e.incs[j].closed {
				e.reject(NotFound, "unknown or closed incident "+incident)
				return
			}
			e.assign(j, i, e.firstTierFor(j, i), geo.Place{}, 0, by)
		}
		if u.inc >= 0 {
			e.accept(i)
			e.arrive(i, e.now, by)
			return
		}
	case Available, Busy, OffDuty:
		if u.inc >= 0 {
			e.unassign(i, "status "+s.String(), by)
		}
		if s == Available {
			e.replan = true
		}
	}
	if u.status != s {
		u.status = s
		e.updateCoverage(i)
	}
}

func (e *Engine) statusCommand(ev *SetStatus) {
	if !ev.Status.valid() {
		e.reject(Invalid, "invalid status")
		return
	}
	i, ok := e.unitIDs[ev.Unit]
	if !ok {
		e.reject(NotFound, "unknown unit "+ev.Unit)
		return
	}
	u := e.units[i]
	if ev.Status == Accepted {
		if why := e.cannotAccept(i, true, ev.Incident); why != "" {
			e.reject(Conflict, why)
			return
		}
	} else if u.inc >= 0 {
		e.logTimeline(u.inc, "status "+ev.Status.String()+" "+u.id, ev.By)
	}
	e.setStatus(i, ev.Status, ev.Incident, ev.By)
	e.unitChanged(u)
}

// cannotAccept says why unit i (known: on the roster) may not accept incident (""
// for its current one), or "" when it may: a unit accepts the order it has, not one
// it had or one it expects.
func (e *Engine) cannotAccept(i int32, known bool, incident string) string {
	if !known {
		return "unit has no assignment to accept: it is not on the roster yet"
	}
	u := e.units[i]
	if u.inc < 0 {
		return "unit " + u.id + " has no assignment to accept"
	}
	if on := e.incs[u.inc].id; incident != "" && incident != on {
		return "unit " + u.id + " is not on " + incident + " (it is on " + on + ")"
	}
	return ""
}

// accept records that unit i acknowledged its current assignment, the first time it
// does (an accept, or an en route or on scene report without one), and reports
// whether this was that first time.
func (e *Engine) accept(i int32) bool {
	u := e.units[i]
	for _, tu := range e.incs[u.inc].tiers[u.tier].units {
		if tu.unit == i && tu.cleared.IsZero() {
			if !tu.accepted.IsZero() {
				return false
			}
			tu.accepted = e.now
			e.touch(u.inc)
			return true
		}
	}
	return false
}

// setOff records that unit i reported en route with its current assignment, the first
// time it does.
func (e *Engine) setOff(i int32) {
	u := e.units[i]
	for _, tu := range e.incs[u.inc].tiers[u.tier].units {
		if tu.unit == i && tu.cleared.IsZero() {
			if tu.enroute.IsZero() {
				tu.enroute = e.now
				e.touch(u.inc)
			}
			return
		}
	}
}

// TerminalName is a JT/T 808 terminal phone number as the roster and the index keep
// it: leading zeros dropped ("0" for all zeros), so that the 6-byte BCD field of a
// 2013 header and the 10-byte one of a 2019 header name the same terminal.
func TerminalName(t string) string {
	for len(t) > 1 && t[0] == '0' {
		t = t[1:]
	}
	return t
}

// setTerminal gives unit i the terminal, taking it from any unit that had it.
func (e *Engine) setTerminal(i int32, t string) {
	t = TerminalName(t)
	u := e.units[i]
	if u.terminal == t {
		return
	}
	if j, ok := e.terminals[t]; ok && j != i {
		e.units[j].terminal = ""
		e.unitChanged(e.units[j])
	}
	if u.terminal != "" {
		delete(e.terminals, u.terminal)
	}
	u.terminal = t
	e.terminals[t] = i
}

// UnitByTerminal returns the unit whose JT/T 808 terminal is t (leading zeros do
// not matter).
func (e *Engine) UnitByTerminal(t string) (unit string, ok bool) {
	i, ok := e.terminals[TerminalName(t)]
	if !ok {
		return "", false
	}
	return e.units[i].id, true
}
