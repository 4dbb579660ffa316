package dispatch

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"commandd/geo"
)

// benchCity builds an engine with n units spread over the test box around Xiamen
// (24.45–24.58 N, 118.05–118.22 E) in the mix of the three patrol tiers, each with one
// fix, and the district's coverage switched on.
func benchCity(b testing.TB, n int) (*Engine, []geo.Place, time.Time) {
	b.Helper()
	r := rand.New(rand.NewPCG(42, 42))
	t0 := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
	centre, _ := geo.CellOf(geo.Point{Lat: 24.515, Lng: 118.135}, geo.DefaultRes)
	district, _ := geo.Disk(centre, 25)
	e := New(Config{District: district})
	type kind struct {
		f Force
		m geo.Mode
		w int
	}
	mix := []kind{{Police, geo.Car, 8}, {Police, geo.Motorbike, 5}, {Patrol, geo.Foot, 12}, {Patrol, geo.Bike, 8},
		{Volunteer, geo.Foot, 55}, {Guard, geo.Foot, 12}}
	var pick []kind
	for _, k := range mix {
		for range k.w {
			pick = append(pick, k)
		}
	}
	places := make([]geo.Place, n)
	for i := range n {
		k := pick[r.IntN(len(pick))]
		id := fmt.Sprintf("U%06d", i)
		p, err := geo.PlaceOf(geo.Point{Lat: 24.45 + r.Float64()*0.13, Lng: 118.05 + r.Float64()*0.17})
		if err != nil {
			b.Fatal(err)
		}
		places[i] = p
		e.Apply(&UnitUpserted{T: t0, ID: id, Force: k.f, Mode: k.m})
		e.Apply(&Fix{Unit: id, T: t0, Lat: p.Lat, Lng: p.Lng, Cell: p.Cell})
	}
	e.Apply(&Tick{T: t0.Add(time.Second)})
	return e, places, t0
}

// BenchmarkEngineApplyFix: GPS fixes applied per second with 100,000 units, cells
// computed by the caller (ingest does it in parallel). Units move ~100 m between fixes,
// so about a third of fixes change cell and re-index.
func BenchmarkEngineApplyFix(b *testing.B) {
	const units, steps = 100_000, 8
	e, places, t0 := benchCity(b, units)
	r := rand.New(rand.NewPCG(1, 2))
	fixes := make([]Fix, units*steps)
	for s := range steps {
		for u := range units {
			p := places[u].Point
			p.Lat += float64(s) * 0.0009 * (r.Float64() - 0.3)
			p.Lng += float64(s) * 0.0009 * (r.Float64() - 0.3)
			pl, _ := geo.PlaceOf(p)
			fixes[s*units+u] = Fix{Unit: fmt.Sprintf("U%06d", u), Lat: p.Lat, Lng: p.Lng, Cell: pl.Cell, Speed: 8, Heading: 90}
		}
	}
	base := t0.Add(2 * time.Second)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f := &fixes[i%len(fixes)]
		f.T = base.Add(time.Duration(i) * time.Microsecond)
		e.Apply(f)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "fixes/s")
}

// BenchmarkEnginePlan: the full 1-3-5 plan for a new incident (duplicate check, plan
// and zone, ring search, joint assignment, clocks) with 100,000 units and 1,000 open
// incidents. Each new incident is closed again outside the timer.
func BenchmarkEnginePlan(b *testing.B) {
	e, _, t0 := benchCity(b, 100_000)
	r := rand.New(rand.NewPCG(3, 4))
	point := func() (float64, float64) { return 24.46 + r.Float64()*0.11, 118.06 + r.Float64()*0.15 }
	cats := []Category{Criminal, PublicOrder, Traffic, Dispute, Help}
	t := t0.Add(2 * time.Second)
	for i := 0; len(e.open) < 1000; i++ {
		lat, lng := point()
		e.Apply(&AlertReceived{ID: fmt.Sprintf("OLD-%d", i), T: t, Lat: lat, Lng: lng, Category: cats[i%len(cats)], Priority: 1 + i%4})
	}
	// Later alerts come after the duplicate window of the open ones.
	t = t.Add(time.Hour)
	e.Apply(&Tick{T: t})
	alerts := make([]AlertReceived, 4096)
	for i := range alerts {
		lat, lng := point()
		p, _ := geo.PlaceOf(geo.Point{Lat: lat, Lng: lng})
		alerts[i] = AlertReceived{Lat: lat, Lng: lng, Cell: p.Cell, Category: cats[i%len(cats)], Priority: 1 + i%4}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		a := alerts[i%len(alerts)]
		a.ID = fmt.Sprintf("NEW-%d", i)
		a.T = t.Add(time.Duration(i) * time.Millisecond)
		changes := e.Apply(&a)
		b.StopTimer()
		var inc string
		for _, c := range changes {
			if c.Kind == AlertAccepted {
				inc = c.Incident
			}
		}
		if len(e.open) != 1001 { // a duplicate would measure the merge, not a plan
			b.Fatalf("%d open incidents, want 1001", len(e.open))
		}
		e.Apply(&Close{T: a.T, Incident: inc, By: "bench"})
		b.StartTimer()
	}
}

// BenchmarkEngineSnapshot: a snapshot, and a restore from it, of 100,000 units and
// 1,000 open incidents: what the server pays every snapshot interval and at start.
func BenchmarkEngineSnapshot(b *testing.B) {
	e, _, t0 := benchCity(b, 100_000)
	r := rand.New(rand.NewPCG(5, 6))
	for i := 0; len(e.open) < 1000; i++ {
		e.Apply(&AlertReceived{ID: fmt.Sprintf("A-%d", i), T: t0.Add(2 * time.Second), Lat: 24.46 + r.Float64()*0.11,
			Lng: 118.06 + r.Float64()*0.15, Category: Criminal, Priority: 1 + i%4})
	}
	snap, err := e.Snapshot()
	if err != nil {
		b.Fatal(err)
	}
	b.Run("snapshot", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := e.Snapshot(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(snap))/(1<<20), "MiB")
	})
	b.Run("restore", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := Restore(e.Config(), snap); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkMoveUp: one move-up decision (demand, units in reach of every cell for
// each tier, up to moveUpMax moves) over a district of 1,951 cells, with 750 units
// (a district's fleet) and 10,000, after 200 calls in five hotspots.
func BenchmarkMoveUp(b *testing.B) {
	for _, n := range []int{750, 10_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			e, _, t0 := benchCity(b, n)
			e.cfg.MoveUp = MoveUpRecommend
			r := rand.New(rand.NewPCG(7, 8))
			t := t0.Add(2 * time.Second)
			for i := range 200 {
				h := i % 5
				lat, lng := 24.47+0.02*float64(h)+r.Float64()*0.005, 118.08+0.025*float64(h)+r.Float64()*0.005
				e.Apply(&AlertReceived{ID: fmt.Sprint("H", i), T: t, Lat: lat, Lng: lng, Category: Traffic, Priority: 3})
				e.Apply(&Close{T: t, Incident: fmt.Sprintf("INC-%06d", i+1), By: "bench"})
			}
			moves := 0
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				e.decideMoveUps()
				moves += len(e.mu.list)
			}
			b.ReportMetric(float64(moves)/float64(b.N), "moves/op")
		})
	}
}
