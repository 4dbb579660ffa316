package dispatch

import (
	"fmt"
	"math"
	"time"
)

// Tier clocks. Every tier of an open incident is pending, at_risk (no assigned unit —
// or recommended unit, when recommending — can make the deadline), met (enough units
// reached the tier's phase in time: arrived, or set off, or accepted, by its MetBy) or
// missed (the deadline passed without them). Met and missed are
// final. At-risk is decided from travel times, so it is raised the moment a plan falls
// short, not when the clock runs out.

// evaluate brings incident i's tier clocks up to date and reports whether any changed.
func (e *Engine) evaluate(i int32) bool {
	inc := e.incs[i]
	if inc.closed {
		return false
	}
	changed := false
	for n, t := range inc.tiers {
		if t.state == Met || t.state == Missed {
			continue
		}
		due := inc.received.Add(t.Deadline)
		onTime, expected := 0, 0
		for _, tu := range t.units {
			switch reached := tu.reached(t.MetBy); {
			case !reached.IsZero():
				if !reached.After(due) {
					onTime++
				}
			case !tu.cleared.IsZero():
			case t.MetBy != OnArrival:
				// A unit sent that has not reacted yet may still react in time: the
				// clock, not travel, tells whether it did.
				expected++
			case e.canMake(tu, due):
				expected++
			}
		}
		if e.cfg.Recommend {
			for _, tu := range t.recommended {
				if t.MetBy != OnArrival || e.canMake(tu, due) {
					expected++
				}
			}
		}
		var state TierState
		switch {
		case onTime >= t.Units:
			state = Met
		case e.now.After(due):
			state = Missed
		case onTime+expected >= t.Units:
			state = Pending
		default:
			state = AtRisk
		}
		if state != t.state {
			t.state = state
			changed = true
			e.emit(Change{Kind: TierChanged, Incident: inc.id, Tier: n + 1, State: state})
			inc.timeline = append(inc.timeline, TimelineEntry{T: Millis{e.now}, By: "engine",
				What: fmt.Sprintf("tier %d %s", n+1, state)})
		}
	}
	return changed
}

// canMake reports whether the unit of tu can still be at its target by due: its travel
// time from its last fix, less the time it has been moving since.
func (e *Engine) canMake(tu *tierUnit, due time.Time) bool {
	u := e.units[tu.unit]
	eta := e.travel(u.mode, u.pos, tu.target)
	var since time.Duration // a recommended unit has not started moving
	if !tu.assigned.IsZero() {
		from := tu.assigned
		if u.fixT.After(from) {
			from = u.fixT
		}
		since = e.now.Sub(from)
	}
	left := math.Max(0, eta-since.Seconds())
	return !e.now.Add(etaSeconds(left)).After(due)
}

// reached is when the unit of tu reached phase p with its order (zero: not yet). A
// later phase implies the earlier ones: a unit that arrived set off, and one that set
// off reacted; the earliest report counts.
func (tu *tierUnit) reached(p Phase) time.Time {
	switch p {
	case OnAccept:
		return earliest(earliest(tu.accepted, tu.enroute), tu.arrived)
	case OnSetOff:
		return earliest(tu.enroute, tu.arrived)
	}
	return tu.arrived
}

// earliest is the earlier of two times, a zero time counting as none.
func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}
