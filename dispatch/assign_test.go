package dispatch

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"commandd/geo"
)

// TestGatherRanksByArrival: the ring search's candidates for every tier, and its
// spares, are exactly the best eligible units by travel time to the arrival radius
// found by looking at every unit, for incidents all over a city of 3,000 units.
func TestGatherRanksByArrival(t *testing.T) {
	e, _, t0 := benchCity(t, 3000)
	e.cfg.Recommend = true // plans leave every unit free
	r := rand.New(rand.NewPCG(7, 7))
	horizon := e.cfg.Horizon.Seconds()
	spares := 0
	for n := range 40 {
		id := fmt.Sprintf("A%d", n)
		e.Apply(&AlertReceived{ID: id, T: t0.Add(time.Duration(2+n) * time.Second), Lat: 24.46 + r.Float64()*0.11,
			Lng: 118.06 + r.Float64()*0.15, Category: Criminal, Priority: 1 + n%4})
		q := e.incIDs[fmt.Sprintf("INC-%06d", n+1)]
		inc := e.incs[q]
		keep := 1 + n%6
		e.gather(0, q, keep)
		for i, r := range e.scratch.ranked {
			var want []candidate
			for ui, u := range e.units {
				if r.kinds&kindBit(u.force, u.mode) == 0 || !e.eligibleFor(inc, int32(ui), u.tag()) {
					continue
				}
				if eta := e.travel(u.mode, u.pos, inc.scene); eta <= min(horizon, r.within) {
					want = append(want, candidate{unit: int32(ui), eta: eta})
				}
			}
			slices.SortFunc(want, byETA)
			want = want[:min(keep, len(want))]
			if !slices.Equal(r.best, want) {
				t.Fatalf("incident %d ranking %d (kinds %016b within %.0f s), best %d: ring search found %v, every unit gives %v",
					n, i, r.kinds, r.within, keep, r.best, want)
			}
			if i >= len(inc.tiers) && r.kinds != 0 {
				spares++
			}
		}
	}
	if spares == 0 {
		t.Error("no tier ranked spares")
	}
}

// TestTravelToScene: travel times run to the scene itself, whatever the arrival
// radius; a fix within the mode's radius (a quarter of it on foot, half on a bike) is
// the arrival.
func TestTravelToScene(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
	north := func(metres float64) geo.Point { return geo.Point{Lat: 24.5 + metres/111195, Lng: 118.12} }
	for _, tc := range []struct {
		mode    geo.Mode
		metres  float64 // from the scene, of the fix after the unit was sent
		arrived bool
	}{
		{geo.Foot, 20, true},
		{geo.Foot, 40, false},
		{geo.Bike, 45, true},
		{geo.Bike, 60, false},
		{geo.Car, 95, true},
		{geo.Motorbike, 110, false},
	} {
		e := New(Config{})
		scene, _ := geo.PlaceOf(north(0))
		from, _ := geo.PlaceOf(north(500))
		if got, want := e.travel(tc.mode, from, scene), e.cfg.Model.Seconds(tc.mode, from, scene, time.Time{}); got != want {
			t.Errorf("%v from 500 m: %.1f s, want the model's %.1f s to the scene", tc.mode, got, want)
		}
		e.Apply(&UnitUpserted{T: t0, ID: "U", Force: Police, Mode: tc.mode})
		e.Apply(&Fix{Unit: "U", T: t0, Lat: from.Lat, Lng: from.Lng})
		e.Apply(&AlertReceived{ID: "A", T: t0, Lat: scene.Lat, Lng: scene.Lng, Category: Criminal, Priority: 2})
		at := north(tc.metres)
		var arrived bool
		for _, c := range e.Apply(&Fix{Unit: "U", T: t0.Add(time.Minute), Lat: at.Lat, Lng: at.Lng}) {
			arrived = arrived || c.Kind == Arrived
		}
		if arrived != tc.arrived {
			t.Errorf("%v at %g m: arrived %v, want %v", tc.mode, tc.metres, arrived, tc.arrived)
		}
	}
}

// TestReserveKeepsPoliceVehicles: where a guard makes tier 1 and a patrol member tier 3
// in time, the plan sends them and keeps the second police car, sooner though it is
// than either, for the next incident's tier 2; where no one but a car makes tier 1,
// both cars go.
func TestReserveKeepsPoliceVehicles(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
	place := func(metresNorth, metresEast float64) (float64, float64) {
		return 24.5 + metresNorth/111195, 118.12 + metresEast/101170
	}
	for _, tc := range []struct {
		name  string
		guard float64 // metres north of the scene
		want  map[string]int
	}{
		{"guard in time", 40, map[string]int{"G": 1, "C1": 2, "T": 3, "C2": 0}},
		{"guard too far", 900, map[string]int{"C1": 1, "C2": 2, "T": 3, "G": 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := New(Config{Plans: []PlanRule{{Plan: Plan{Tiers: []Tier{
				{Deadline: 60 * time.Second, Units: 1},
				{Deadline: 180 * time.Second, Forces: []Force{Police}, Modes: []geo.Mode{geo.Car, geo.Motorbike}, Units: 1},
				{Deadline: 300 * time.Second, Forces: []Force{Police, Patrol, Guard}, Units: 1},
			}}}}})
			units := []struct {
				id    string
				f     Force
				m     geo.Mode
				north float64
				east  float64
			}{
				{"C1", Police, geo.Car, 0, 200},
				{"C2", Police, geo.Car, 0, -300},
				{"G", Guard, geo.Foot, tc.guard, 0},
				{"T", Patrol, geo.Bike, -400, 0},
			}
			for _, u := range units {
				lat, lng := place(u.north, u.east)
				e.Apply(&UnitUpserted{T: t0, ID: u.id, Force: u.f, Mode: u.m})
				e.Apply(&Fix{Unit: u.id, T: t0, Lat: lat, Lng: lng})
			}
			var got = map[string]int{}
			for _, c := range e.Apply(&AlertReceived{ID: "A", T: t0.Add(time.Second), Lat: 24.5, Lng: 118.12, Category: Criminal, Priority: 2}) {
				if c.Kind == Assigned {
					got[c.Unit] = c.Tier
				}
			}
			for id, tier := range tc.want {
				if tier != 0 && got[id] != tier {
					t.Errorf("%s on tier %d, want tier %d (assignments %v)", id, got[id], tier, got)
				}
				if tier == 0 && got[id] != 0 {
					t.Errorf("%s sent to tier %d, want it kept free (assignments %v)", id, got[id], got)
				}
			}
		})
	}
}
