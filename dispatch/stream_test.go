package dispatch

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"commandd/geo"
)

// randomStream makes a long, plausible, seeded event stream around Xiamen: a roster,
// cameras, fixes on random walks, alerts (some of them duplicate calls), camera events,
// unit status reports, operator commands and a tick every second.
func randomStream(seed uint64, units, n int) []Event {
	r := rand.New(rand.NewPCG(seed, 7))
	t0 := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
	t := t0
	var evs []Event
	type walker struct{ lat, lng float64 }
	pos := make([]walker, units)
	forces := []Force{Police, Police, Patrol, Patrol, Volunteer, Guard}
	for i := range units {
		f := forces[r.IntN(len(forces))]
		m := geo.Mode(r.IntN(4))
		evs = append(evs, &UnitUpserted{T: t, ID: fmt.Sprintf("U%03d", i), Force: f, Mode: m})
		pos[i] = walker{24.49 + r.Float64()*0.04, 118.11 + r.Float64()*0.05}
	}
	for c := range 20 {
		evs = append(evs, &CameraUpserted{T: t, ID: fmt.Sprintf("CAM%02d", c),
			Lat: 24.47 + r.Float64()*0.08, Lng: 118.08 + r.Float64()*0.10})
	}
	var alerts []*AlertReceived
	incidents := 0
	place := func(lat, lng float64) geo.Cell {
		c, _ := geo.CellOf(geo.Point{Lat: lat, Lng: lng}, geo.DefaultRes)
		return c
	}
	cats := []Category{Criminal, PublicOrder, Traffic, Fire, Dispute, Help, OtherCategory}
	statuses := []Status{Accepted, Enroute, OnScene, Available, Busy, OffDuty, Available}
	for len(evs) < n {
		if r.IntN(20) == 0 {
			t = t.Add(time.Second)
			evs = append(evs, &Tick{T: t})
			continue
		}
		u := r.IntN(units)
		id := fmt.Sprintf("U%03d", u)
		switch k := r.IntN(100); {
		case k < 70:
			p := &pos[u]
			p.lat += (r.Float64() - 0.5) * 0.004
			p.lng += (r.Float64() - 0.5) * 0.004
			ft := t.Add(-time.Duration(r.IntN(3000)) * time.Millisecond) // some out of order
			evs = append(evs, &Fix{Unit: id, T: ft, Lat: p.lat, Lng: p.lng, Cell: place(p.lat, p.lng),
				Speed: r.Float64() * 10, Heading: r.Float64() * 360})
		case k < 76:
			a := &AlertReceived{ID: fmt.Sprintf("A%04d", len(alerts)), T: t,
				Category: cats[r.IntN(len(cats))], Priority: 1 + r.IntN(4)}
			if len(alerts) > 0 && r.IntN(3) == 0 {
				prev := alerts[r.IntN(len(alerts))]
				a.Lat, a.Lng = prev.Lat+(r.Float64()-0.5)*0.002, prev.Lng+(r.Float64()-0.5)*0.002
			} else {
				a.Lat, a.Lng = 24.49+r.Float64()*0.04, 118.11+r.Float64()*0.05
			}
			a.Cell = place(a.Lat, a.Lng)
			if len(alerts) > 0 && r.IntN(10) == 0 {
				a = alerts[r.IntN(len(alerts))] // a sender's retry
			} else {
				alerts = append(alerts, a)
				incidents++
			}
			evs = append(evs, a)
		case k < 80:
			evs = append(evs, &CameraEventReceived{ID: fmt.Sprintf("E%05d", len(evs)), Camera: fmt.Sprintf("CAM%02d", r.IntN(21)),
				T: t, Type: CameraEventType(r.IntN(9)), Confidence: r.Float64()})
		case k < 90:
			evs = append(evs, &SetStatus{T: t, Unit: id, Status: statuses[r.IntN(len(statuses))], By: "unit:" + id})
		case k < 94:
			evs = append(evs, &Assign{T: t, Incident: fmt.Sprintf("INC-%06d", 1+r.IntN(incidents+1)), Unit: id, Tier: r.IntN(4), By: "op:1"})
		case k < 97:
			evs = append(evs, &Release{T: t, Incident: fmt.Sprintf("INC-%06d", 1+r.IntN(incidents+1)), Unit: id, By: "op:1"})
		case k < 99:
			evs = append(evs, &Close{T: t, Incident: fmt.Sprintf("INC-%06d", 1+r.IntN(incidents+1)), Disposition: "done", By: "op:2"})
		default:
			evs = append(evs, &Note{T: t, Incident: fmt.Sprintf("INC-%06d", 1+r.IntN(incidents+1)), Text: "  seen near the gate ", By: "op:3"})
		}
	}
	return evs
}

// applyAll applies events and returns copies of every change, event by event.
func applyAll(e *Engine, evs []Event) [][]Change {
	out := make([][]Change, len(evs))
	for n, ev := range evs {
		var cs []Change
		if got := e.Apply(ev); len(got) > 0 {
			cs = slices.Clone(got)
		}
		for i := range cs {
			cs[i].Cells = slices.Clone(cs[i].Cells)
		}
		out[n] = cs
	}
	return out
}

func testDistrict() []geo.Cell {
	c, _ := geo.CellOf(geo.Point{Lat: 24.51, Lng: 118.13}, geo.DefaultRes)
	cells, _ := geo.Disk(c, 10)
	return cells
}
