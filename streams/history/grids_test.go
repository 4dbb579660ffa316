package history

import (
	"context"
	"testing"
	"time"

	"commandd/dispatch"
	"commandd/fixtures/pgtest"
	"commandd/geo"
	"commandd/streams"
)

// TestGridsAcceptance: a grid day counts the units sent to its incidents and those
// that acknowledged their order within 30 s (an accept, or an en route report without
// one); days begin at the midnight of the zone asked for. Notes are audited.
func TestGridsAcceptance(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, pgtest.Database(t))
	lg := openLog(t)
	// 23:59:40 in Shanghai: incident A comes before its midnight, B after.
	t0 := time.Date(2026, 12, 1, 15, 59, 40, 0, time.UTC)
	at := func(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }
	cfg := dispatch.Config{Plans: []dispatch.PlanRule{{Plan: dispatch.Plan{Tiers: []dispatch.Tier{{Deadline: time.Minute, Units: 2}}}}}}
	var msgs [][]dispatch.Event
	for _, u := range []struct {
		id       string
		lat, lng float64
	}{{"C1", 24.500, 118.121}, {"C2", 24.500, 118.122}, {"C4", 24.520, 118.141}, {"C5", 24.520, 118.142}} {
		msgs = append(msgs, []dispatch.Event{&dispatch.UnitUpserted{T: t0, ID: u.id, Force: dispatch.Police, Mode: geo.Car, By: "admin:setup"},
			&dispatch.Fix{Unit: u.id, T: t0, Lat: u.lat, Lng: u.lng}})
	}
	msgs = append(msgs,
		[]dispatch.Event{&dispatch.AlertReceived{ID: "A", T: at(5), Lat: 24.5, Lng: 118.12, Category: dispatch.Criminal, Priority: 2}},
		[]dispatch.Event{&dispatch.SetStatus{T: at(15), Unit: "C1", Status: dispatch.Accepted, By: "unit:C1"}}, // 10 s: in time
		[]dispatch.Event{&dispatch.AlertReceived{ID: "B", T: at(25), Lat: 24.52, Lng: 118.14, Category: dispatch.Fire, Priority: 2}},
		[]dispatch.Event{&dispatch.SetStatus{T: at(30), Unit: "C4", Status: dispatch.Enroute, By: "unit:C4"}},  // 5 s: in time
		[]dispatch.Event{&dispatch.SetStatus{T: at(50), Unit: "C2", Status: dispatch.Accepted, By: "unit:C2"}}, // 45 s: late
		[]dispatch.Event{&dispatch.Note{T: at(55), Incident: "INC-000001", Text: "C2 was stuck at the lights", By: "operator:ab12"}},
		[]dispatch.Event{&dispatch.Tick{T: at(60)}})
	for _, m := range msgs {
		if _, err := lg.Append(ctx, "", m...); err != nil {
			t.Fatal(err)
		}
	}
	w, stop := runWriter(t, s, lg, cfg)
	waitFor(t, w, uint64(len(msgs)), time.Minute)
	stop()

	// The note is audited, and on the incident's document.
	if n := count(t, s, `SELECT count(*) FROM audit WHERE kind = 'note' AND subject = 'INC-000001' AND actor = 'operator:ab12'`); n != 1 {
		t.Errorf("%d audit rows of the note, want 1", n)
	}
	if n := count(t, s, `SELECT count(*) FROM incidents WHERE id = 'INC-000001' AND doc->'notes'->0->>'text' = 'C2 was stuck at the lights'`); n != 1 {
		t.Errorf("the incident's document has not the note")
	}

	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		loc  *time.Location
		want map[string][2]int // day → assignments, accepted within 30 s
	}{
		{time.UTC, map[string][2]int{"2026-12-01": {4, 2}}},
		{shanghai, map[string][2]int{"2026-12-01": {2, 1}, "2026-12-02": {2, 1}}},
	} {
		grids, err := s.Grids(ctx, streams.HistoryQuery{From: t0.Add(-time.Hour), To: t0.Add(time.Hour), Limit: 1000, Res: 7, Location: tc.loc})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string][2]int{}
		for _, g := range grids {
			for _, d := range g.Days {
				c := got[d.Day]
				got[d.Day] = [2]int{c[0] + d.Assignments, c[1] + d.Accepted30s}
			}
		}
		if len(got) != len(tc.want) {
			t.Errorf("%s: days %v, want %v", tc.loc, got, tc.want)
		}
		for day, w := range tc.want {
			if got[day] != w {
				t.Errorf("%s, %s: %d sent, %d acknowledged within 30 s; want %d, %d", tc.loc, day, got[day][0], got[day][1], w[0], w[1])
			}
		}
	}
}
