package dispatch

import (
	"encoding/json"
	"testing"
	"time"

	"commandd/geo"
)

func TestSmoke(t *testing.T) {
	e := New(Config{})
	t0 := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
	add := func(id string, f Force, m geo.Mode, lat, lng float64) {
		e.Apply(&UnitUpserted{T: t0, ID: id, Force: f, Mode: m})
		e.Apply(&Fix{Unit: id, T: t0, Lat: lat, Lng: lng})
	}
	add("P1", Police, geo.Car, 24.500, 118.100)
	add("V1", Volunteer, geo.Foot, 24.5102, 118.1102)
	add("T1", Patrol, geo.Bike, 24.505, 118.105)
	add("T2", Patrol, geo.Foot, 24.515, 118.115)
	ch := e.Apply(&AlertReceived{ID: "a1", T: t0.Add(time.Second), Lat: 24.51, Lng: 118.11, Category: Criminal, Priority: 2})
	for _, c := range ch {
		b, _ := json.Marshal(c)
		t.Logf("%s", b)
	}
	v, _ := e.Incident("INC-000001")
	b, _ := json.MarshalIndent(v, "", " ")
	t.Logf("%s", b)
}
