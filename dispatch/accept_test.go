package dispatch

import (
	"testing"
	"time"

	"commandd/geo"
)

// acceptWorld is two police cars near 24.50,118.12 and, from 5 s, a priority-3 alert
// there that sends C1 (the nearer) to tier 1 of INC-000001 and C2 to tier 2. One
// tier each, so nobody else is in play.
func acceptWorld(t *testing.T) (*Engine, time.Time) {
	t.Helper()
	e := New(Config{Plans: []PlanRule{{Plan: Plan{Tiers: []Tier{
		{Deadline: 60 * time.Second, Units: 1}, {Deadline: 180 * time.Second, Units: 1}}}}}})
	t0 := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
	for n, id := range []string{"C1", "C2"} {
		e.Apply(&UnitUpserted{T: t0, ID: id, Force: Police, Mode: geo.Car})
		e.Apply(&Fix{Unit: id, T: t0, Lat: 24.5, Lng: 118.121 + 0.002*float64(n)})
	}
	e.Apply(&AlertReceived{ID: "X1", T: t0.Add(5 * time.Second), Lat: 24.5, Lng: 118.12, Category: Help, Priority: 3})
	if u, _ := e.Unit("C1"); u.Incident != "INC-000001" || u.Tier != 1 || u.Status != Dispatched {
		t.Fatalf("C1 after the alert: %+v", u)
	}
	return e, t0
}

// tierUnitOf is unit's entry on its incident's tiers.
func tierUnitOf(e *Engine, incident, unit string) (TierUnitView, bool) {
	v, _ := e.Incident(incident)
	for _, tr := range v.Tiers {
		for _, tu := range tr.Units {
			if tu.Unit == unit {
				return tu, true
			}
		}
	}
	return TierUnitView{}, false
}

func timelineHas(e *Engine, incident, what, by string) int {
	v, _ := e.Incident(incident)
	n := 0
	for _, l := range v.Timeline {
		if l.What == what && l.By == by {
			n++
		}
	}
	return n
}

// TestAccept: a unit acknowledges the order it has, and nothing else; the first
// acknowledgement (an accept, or an en route or on scene report without one) is kept
// with its time, the accept is on the timeline by who gave it, and an accepted unit
// stays committed to its incident.
func TestAccept(t *testing.T) {
	at := func(t0 time.Time, s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	for _, tc := range []struct {
		name   string
		events func(t0 time.Time) []Event
		reject string // the last event's rejection, if any
		status Status // C1's after
		// accepted is when C1's acceptance of INC-000001 is on record (0: none).
		accepted int
		accepts  int // "C1 accepted" lines on the timeline
	}{
		{"accept", func(t0 time.Time) []Event {
			return []Event{&SetStatus{T: at(t0, 12), Unit: "C1", Status: Accepted, Incident: "INC-000001", By: "unit:C1"}}
		}, "", Accepted, 12, 1},
		{"accept without naming the incident", func(t0 time.Time) []Event {
			return []Event{&SetStatus{T: at(t0, 9), Unit: "C1", Status: Accepted, By: "unit:C1"}}
		}, "", Accepted, 9, 1},
		{"a retry keeps the first time", func(t0 time.Time) []Event {
			return []Event{&SetStatus{T: at(t0, 9), Unit: "C1", Status: Accepted, By: "unit:C1"},
				&SetStatus{T: at(t0, 14), Unit: "C1", Status: Accepted, By: "unit:C1"}}
		}, "", Accepted, 9, 1},
		{"en route without accepting first", func(t0 time.Time) []Event {
			return []Event{&SetStatus{T: at(t0, 20), Unit: "C1", Status: Enroute, By: "unit:C1"}}
		}, "", Enroute, 20, 0},
		{"accept, then en route", func(t0 time.Time) []Event {
			return []Event{&SetStatus{T: at(t0, 10), Unit: "C1", Status: Accepted, By: "unit:C1"},
				&SetStatus{T: at(t0, 20), Unit: "C1", Status: Enroute, By: "unit:C1"}}
		}, "", Enroute, 10, 1},
		{"a late accept never takes a unit back from en route", func(t0 time.Time) []Event {
			return []Event{&SetStatus{T: at(t0, 20), Unit: "C1", Status: Enroute, By: "unit:C1"},
				&SetStatus{T: at(t0, 22), Unit: "C1", Status: Accepted, By: "unit:C1"}}
		}, "", Enroute, 20, 0},
		{"on scene without accepting first", func(t0 time.Time) []Event {
			return []Event{&SetStatus{T: at(t0, 30), Unit: "C1", Status: OnScene, Incident: "INC-000001", By: "unit:C1"}}
		}, "", OnScene, 30, 0},
		{"another incident", func(t0 time.Time) []Event {
			return []Event{&SetStatus{T: at(t0, 12), Unit: "C1", Status: Accepted, Incident: "INC-000009", By: "unit:C1"}}
		}, "unit C1 is not on INC-000009 (it is on INC-000001)", Dispatched, 0, 0},
		{"no assignment", func(t0 time.Time) []Event {
			return []Event{&Release{T: at(t0, 8), Incident: "INC-000001", Unit: "C1", By: "op:1"},
				&SetStatus{T: at(t0, 12), Unit: "C1", Status: Accepted, By: "unit:C1"}}
		}, "unit C1 has no assignment to accept", Available, 0, 0},
		{"a roster entry cannot make one up", func(t0 time.Time) []Event {
			return []Event{&Release{T: at(t0, 8), Incident: "INC-000001", Unit: "C1", By: "op:1"},
				&UnitUpserted{T: at(t0, 12), ID: "C1", Force: Police, Mode: geo.Car, Status: Accepted}}
		}, "unit C1 has no assignment to accept", Available, 0, 0},
		{"an unknown unit", func(t0 time.Time) []Event {
			return []Event{&SetStatus{T: at(t0, 12), Unit: "C9", Status: Accepted, By: "unit:C9"}}
		}, "unknown unit C9", Dispatched, 0, 0},
		{"a status beyond the list", func(t0 time.Time) []Event {
			return []Event{&SetStatus{T: at(t0, 12), Unit: "C1", Status: Accepted + 1, By: "unit:C1"}}
		}, "invalid status", Dispatched, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, t0 := acceptWorld(t)
			evs := tc.events(t0)
			var last []Change
			for _, ev := range evs {
				last = e.Apply(ev)
			}
			rejected := ""
			for _, c := range last {
				if c.Kind == Rejected {
					rejected = c.Reason
				}
			}
			if rejected != tc.reject {
				t.Fatalf("rejection %q, want %q", rejected, tc.reject)
			}
			if tc.reject != "" && len(last) != 1 {
				t.Errorf("a rejected event changed something: %+v", last)
			}
			if u, _ := e.Unit("C1"); u.Status != tc.status {
				t.Errorf("C1 is %v, want %v", u.Status, tc.status)
			}
			tu, _ := tierUnitOf(e, "INC-000001", "C1")
			want := time.Time{}
			if tc.accepted > 0 {
				want = at(t0, tc.accepted)
			}
			if !tu.Accepted.Equal(want) {
				t.Errorf("C1 accepted at %v, want %v", tu.Accepted, want)
			}
			if n := timelineHas(e, "INC-000001", "C1 accepted", "unit:C1"); n != tc.accepts {
				t.Errorf("%d accept lines on the timeline, want %d", n, tc.accepts)
			}
			// Restored from a snapshot, the engine holds the same.
			snap, err := e.Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			r, err := Restore(e.Config(), snap)
			if err != nil {
				t.Fatal(err)
			}
			if back, _ := tierUnitOf(r, "INC-000001", "C1"); !back.Accepted.Equal(tu.Accepted.Time) {
				t.Errorf("restored: accepted %v, want %v", back.Accepted, tu.Accepted)
			}
		})
	}
}

// TestAcceptedStaysCommitted: an accepted unit is pulled by a more urgent incident
// only, and loses its acceptance with the order it acknowledged.
func TestAcceptedStaysCommitted(t *testing.T) {
	for _, tc := range []struct {
		priority int
		pulled   bool
	}{{3, false}, {4, false}, {1, true}} {
		e, t0 := acceptWorld(t)
		e.Apply(&SetStatus{T: t0.Add(8 * time.Second), Unit: "C1", Status: Accepted, By: "unit:C1"})
		// Farther than DupRadius from X1: an incident of its own, which C1 is the nearest to.
		e.Apply(&AlertReceived{ID: "X2", T: t0.Add(10 * time.Second), Lat: 24.5, Lng: 118.1165, Category: Criminal, Priority: tc.priority})
		u, _ := e.Unit("C1")
		if pulled := u.Incident == "INC-000002"; pulled != tc.pulled {
			t.Errorf("priority %d: C1 now %+v, pulled %v, want %v", tc.priority, u, pulled, tc.pulled)
		}
		if tc.pulled {
			if u.Status != Dispatched {
				t.Errorf("pulled C1 is %v, want dispatched (its new order is not yet accepted)", u.Status)
			}
			if tu, _ := tierUnitOf(e, "INC-000002", "C1"); !tu.Accepted.IsZero() {
				t.Errorf("C1 accepted its new order at %v without a word", tu.Accepted)
			}
		} else if u.Status != Accepted {
			t.Errorf("priority %d: C1 is %v, want still accepted", tc.priority, u.Status)
		}
	}
}
