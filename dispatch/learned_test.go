package dispatch

import (
	"fmt"
	"math"
	"testing"
	"time"

	"commandd/geo"
)

// TestLearnedTravel: cars that take half as long again as the model says, trip after
// trip, teach the engine a factor near 1.5 for cars (and nothing for other modes); its
// ETAs then come within a few seconds of the arrivals, and the errors it reports say so.
func TestLearnedTravel(t *testing.T) {
	e := New(Config{})
	t0 := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	scene := geo.Point{Lat: 24.5, Lng: 118.12}
	from := geo.Point{Lat: 24.5 + 1500/111195.0, Lng: 118.12}
	e.Apply(&UnitUpserted{T: t0, ID: "C", Force: Police, Mode: geo.Car})
	now := t0
	var first, last float64
	for n := range 60 {
		e.Apply(&Fix{Unit: "C", T: now, Lat: from.Lat, Lng: from.Lng})
		var eta float64
		for _, c := range e.Apply(&AlertReceived{ID: fmt.Sprint("A", n), T: now, Lat: scene.Lat, Lng: scene.Lng, Category: Traffic, Priority: 3}) {
			if c.Kind == Assigned {
				eta = c.ETA
			}
		}
		if eta == 0 {
			t.Fatalf("trip %d: the car was not sent", n)
		}
		model := e.cfg.Model.Seconds(geo.Car, mustPlace(from), mustPlace(scene), now)
		took := time.Duration(1.5 * model * float64(time.Second))
		if n == 0 {
			first = eta
		}
		last = eta
		now = now.Add(took)
		e.Apply(&Fix{Unit: "C", T: now, Lat: scene.Lat, Lng: scene.Lng})
		e.Apply(&Close{T: now, Incident: fmt.Sprintf("INC-%06d", n+1), By: "op"})
		e.Apply(&SetStatus{T: now, Unit: "C", Status: Available})
		now = now.Add(time.Minute)
	}
	model := e.cfg.Model.Seconds(geo.Car, mustPlace(from), mustPlace(scene), now)
	if math.Abs(first-model) > 1 {
		t.Errorf("the first ETA %.0f s, want the model's %.0f s", first, model)
	}
	if math.Abs(last-1.5*model) > 0.1*model {
		t.Errorf("the last ETA %.0f s, want near the %.0f s the car takes", last, 1.5*model)
	}
	errs := e.ETAErrors()
	car := errs[geo.Car]
	if car.Arrivals != 60 || car.Factor < 1.35 || car.Factor > 1.6 || car.BiasS <= 0 || car.RecentAbsS > car.MeanAbsS {
		t.Errorf("car ETA figures %+v: want 60 arrivals, a factor near 1.5, late on average, better lately", car)
	}
	if foot := errs[geo.Foot]; foot.Arrivals != 0 || foot.Factor != 1 {
		t.Errorf("foot ETA figures %+v: want none", foot)
	}
	// A snapshot carries what was learned.
	snap, err := e.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	r, err := Restore(Config{}, snap)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.ETAErrors(); got[geo.Car] != car {
		t.Errorf("restored: %+v, want %+v", got[geo.Car], car)
	}
}

func mustPlace(p geo.Point) geo.Place {
	pl, _ := geo.PlaceOf(p)
	return pl
}
