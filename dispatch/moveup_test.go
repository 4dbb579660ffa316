package dispatch

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"commandd/geo"
)

// moveUpWorld is a district of ten rings around a centre, two police cars parked
// 1.2 km west of it, and a hotspot 1.2 km east where ten incidents were opened and
// closed: the cars are free, and the calls come from the east.
func moveUpWorld(t *testing.T, mode string) (*Engine, time.Time, geo.Point) {
	t.Helper()
	cfg, evs, now, hot := moveUpEvents(mode)
	e := New(cfg)
	for _, ev := range evs {
		e.Apply(ev)
	}
	return e, now, hot
}

// moveUpEvents is moveUpWorld as a configuration and a log.
func moveUpEvents(mode string) (Config, []Event, time.Time, geo.Point) {
	t0 := time.Date(2026, 11, 23, 20, 0, 0, 0, time.UTC)
	centre := geo.Point{Lat: 24.51, Lng: 118.13}
	c, _ := geo.CellOf(centre, geo.DefaultRes)
	cells, _ := geo.Disk(c, 10)
	east := func(m float64) geo.Point { return geo.Point{Lat: centre.Lat, Lng: centre.Lng + m/101170} }
	var evs []Event
	park := func(at time.Time) {
		for n, id := range []string{"C1", "C2"} {
			p := east(-1200 - 100*float64(n))
			evs = append(evs, &SetStatus{T: at, Unit: id, Status: Available}, &Fix{Unit: id, T: at.Add(time.Second), Lat: p.Lat, Lng: p.Lng})
		}
	}
	for _, id := range []string{"C1", "C2"} {
		evs = append(evs, &UnitUpserted{T: t0, ID: id, Force: Police, Mode: geo.Car})
	}
	park(t0)
	hot := east(1200)
	for n := range 10 {
		at := t0.Add(time.Duration(n) * time.Minute)
		evs = append(evs, &AlertReceived{ID: fmt.Sprint("A", n), T: at, Lat: hot.Lat, Lng: hot.Lng, Category: Traffic, Priority: 3},
			&Close{T: at.Add(time.Second), Incident: fmt.Sprintf("INC-%06d", n+1), By: "op"})
		park(at.Add(2 * time.Second)) // back where they were: free, and west
	}
	return Config{District: cells, MoveUp: mode}, evs, t0.Add(10 * time.Minute), hot
}

func kinds(cs []Change, k ChangeKind) []Change {
	var out []Change
	for _, c := range cs {
		if c.Kind == k {
			out = append(out, c)
		}
	}
	return out
}

// TestMoveUpToHotspot: in auto mode a tick sends one car east, to a post from which it
// reaches the hotspot by tier 2's deadline, and keeps the other where it is; in
// recommend mode the move waits for an operator; a unit sent is not moved again
// within the cooldown, and its move ends when it is sent to an incident.
func TestMoveUpToHotspot(t *testing.T) {
	e, now, hot := moveUpWorld(t, MoveUpAuto)
	sent := kinds(e.Apply(&Tick{T: now}), MoveUpSent)
	if len(sent) == 0 || len(sent) > moveUpMax {
		t.Fatalf("moves sent: %+v, want one or two", sent)
	}
	hotPlace, _ := geo.PlaceOf(hot)
	for _, mv := range sent {
		u := e.units[e.unitIDs[mv.Unit]]
		post := geo.Place{Point: geo.Point{Lat: mv.Lat, Lng: mv.Lng}, Cell: mv.Cell}
		if d := e.travel(geo.Car, post, hotPlace); d > 180 {
			t.Errorf("%s sent to a post %.0f s from the hotspot, want within tier 2's 180 s", mv.Unit, d)
		}
		if before, after := geo.Distance(u.pos.Point, hot), geo.Distance(post.Point, hot); after >= before {
			t.Errorf("the post is %.0f m from the hotspot, the car was %.0f m", after, before)
		}
		if eta := e.travel(geo.Car, u.pos, post); eta > moveUpReach {
			t.Errorf("%s sent %.0f s away, farther than %.0f s", mv.Unit, eta, moveUpReach)
		}
	}
	mv := sent[0]
	list := e.MoveUps()
	if len(list) != len(sent) || !list[0].Sent || list[0].Gain <= 0 || list[0].ETA <= 0 {
		t.Fatalf("move-ups in force: %+v", list)
	}
	// Forty seconds on, still on their way: not moved again.
	if again := kinds(e.Apply(&Tick{T: now.Add(40 * time.Second)}), MoveUpSent); len(again) != 0 {
		t.Errorf("moved again: %+v", again)
	}
	// Near its post, not yet there (120 m off, maybe in the post's cell already): the
	// move holds. Then it reaches the post, however few cells it crossed: the move is done.
	e.Apply(&Fix{Unit: mv.Unit, T: now.Add(45 * time.Second), Lat: mv.Lat, Lng: mv.Lng + 120/101170.0})
	if !slices.ContainsFunc(e.MoveUps(), func(v MoveUpView) bool { return v.Unit == mv.Unit }) {
		t.Fatalf("120 m from its post, the move ended: %+v", e.MoveUps())
	}
	cs := e.Apply(&Fix{Unit: mv.Unit, T: now.Add(50 * time.Second), Lat: mv.Lat + 20/111195.0, Lng: mv.Lng})
	if len(kinds(cs, MoveUpsChanged)) != 1 || len(e.MoveUps()) != len(sent)-1 {
		t.Errorf("at its post, the move-ups are %+v", e.MoveUps())
	}

	// Recommend: the same move, waiting; an operator confirms it; a second confirm and
	// one for a unit with none are rejected.
	e, now, _ = moveUpWorld(t, "")
	cs = e.Apply(&Tick{T: now})
	if len(kinds(cs, MoveUpSent)) != 0 || len(kinds(cs, MoveUpsChanged)) != 1 {
		t.Fatalf("recommend mode: %+v", cs)
	}
	rec := e.MoveUps()
	if len(rec) != len(sent) || rec[0].Sent || rec[0].Unit != mv.Unit || rec[0].Cell != mv.Cell {
		t.Fatalf("recommended %+v, want %s to %v unsent", rec, mv.Unit, mv.Cell)
	}
	cs = e.Apply(&MoveUpConfirmed{T: now.Add(time.Second), Unit: rec[0].Unit, By: "op:li"})
	if s := kinds(cs, MoveUpSent); len(s) != 1 || s[0].Unit != rec[0].Unit || s[0].Reason != "op:li" {
		t.Fatalf("confirm: %+v", cs)
	}
	for _, unit := range []string{rec[0].Unit, "C9"} {
		if r := kinds(e.Apply(&MoveUpConfirmed{T: now.Add(2 * time.Second), Unit: unit}), Rejected); len(r) != 1 {
			t.Errorf("confirm of %s with nothing to confirm: not rejected", unit)
		}
	}
	// Sent to an incident: the move ends.
	cs = e.Apply(&AlertReceived{ID: "B", T: now.Add(3 * time.Second), Lat: mv.Lat, Lng: mv.Lng, Category: Criminal, Priority: 1})
	if slices.ContainsFunc(e.MoveUps(), func(v MoveUpView) bool { return v.Unit == mv.Unit }) {
		t.Errorf("a unit on an incident keeps its move-up: %+v", e.MoveUps())
	}

	// Off: nothing.
	e, now, _ = moveUpWorld(t, MoveUpOff)
	if cs := e.Apply(&Tick{T: now}); len(kinds(cs, MoveUpsChanged))+len(kinds(cs, MoveUpSent)) != 0 || len(e.MoveUps()) != 0 {
		t.Errorf("move-up off moved units: %+v", e.MoveUps())
	}
}

// TestMoveUpRestore: an engine restored from a snapshot at any point of a log with
// move-ups (recommended, confirmed, sent in auto mode, reached, ended by an
// assignment) decides the same moves as one that never stopped.
func TestMoveUpRestore(t *testing.T) {
	for _, mode := range []string{MoveUpAuto, MoveUpRecommend} {
		cfg, evs, now, hot := moveUpEvents(mode)
		for s := range 400 { // ticks, calls now and then, and the cars where a move sent them
			at := now.Add(time.Duration(s) * time.Second)
			evs = append(evs, &Tick{T: at})
			switch s % 100 {
			case 1:
				evs = append(evs, &MoveUpConfirmed{T: at, Unit: "C1"}, &MoveUpConfirmed{T: at, Unit: "C2"})
			case 50:
				evs = append(evs, &AlertReceived{ID: fmt.Sprint("B", s), T: at, Lat: hot.Lat, Lng: hot.Lng + 0.002, Category: Traffic, Priority: 3})
			case 80:
				evs = append(evs, &Close{T: at, Incident: fmt.Sprintf("INC-%06d", 11+s/100), By: "op"},
					&SetStatus{T: at, Unit: "C1", Status: Available}, &SetStatus{T: at, Unit: "C2", Status: Available})
			case 90:
				evs = append(evs, &Fix{Unit: "C1", T: at, Lat: hot.Lat, Lng: hot.Lng - 0.004})
			}
		}
		straight := New(cfg)
		moves := 0
		for _, ev := range evs {
			moves += len(kinds(straight.Apply(ev), MoveUpSent))
		}
		if moves < 2 {
			t.Fatalf("%s: %d moves sent: the test shows little", mode, moves)
		}
		changes := func(e *Engine, evs []Event) []string {
			var out []string
			for _, ev := range evs {
				for _, c := range e.Apply(ev) {
					if c.Kind == MoveUpSent || c.Kind == MoveUpsChanged || c.Kind == Assigned {
						out = append(out, fmt.Sprintf("%v %s %v %.1f", c.Kind, c.Unit, c.Cell, c.ETA))
					}
				}
			}
			return out
		}
		for k := 0; k < len(evs); k += 7 {
			a := New(cfg)
			changes(a, evs[:k])
			snap, err := a.Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			b, err := Restore(cfg, snap)
			if err != nil {
				t.Fatal(err)
			}
			want, got := changes(a, evs[k:]), changes(b, evs[k:])
			if !slices.Equal(got, want) || !slices.Equal(a.MoveUps(), b.MoveUps()) {
				t.Fatalf("%s: restored after event %d: move-ups\n%q\nstraight run:\n%q", mode, k, got, want)
			}
		}
	}
}
