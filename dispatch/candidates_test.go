package dispatch

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"commandd/geo"
)

// candidatesWorld: INC-000001 at 24.50,118.12 (recommend mode, tier 1 any unit in 60 s,
// tier 2 a police car or motorbike in 180 s) and units east of it, one of each case:
// C1 on it, C2 released from it, V1 a volunteer a step away, C3 busy, C4 on INC-000002,
// C5 off duty, C6 without a fix, M1 a motorbike and C7 a car farther out.
func candidatesWorld(t *testing.T) *Engine {
	t.Helper()
	police := []Force{Police}
	e := New(Config{Recommend: true, Plans: []PlanRule{{Plan: Plan{Tiers: []Tier{
		{Deadline: 60 * time.Second, Units: 1},
		{Deadline: 180 * time.Second, Forces: police, Modes: []geo.Mode{geo.Car, geo.Motorbike}, Units: 1}}}}}})
	t0 := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
	for _, u := range []struct {
		id    string
		force Force
		mode  geo.Mode
		lng   float64 // 0: no fix
	}{
		{"C1", Police, geo.Car, 118.1205}, {"C2", Police, geo.Car, 118.121}, {"V1", Volunteer, geo.Foot, 118.1202},
		{"C3", Police, geo.Car, 118.122}, {"C4", Police, geo.Car, 118.123}, {"C5", Police, geo.Car, 118.1215},
		{"C6", Police, geo.Car, 0}, {"M1", Police, geo.Motorbike, 118.125}, {"C7", Police, geo.Car, 118.13},
	} {
		e.Apply(&UnitUpserted{T: t0, ID: u.id, Force: u.force, Mode: u.mode})
		if u.lng != 0 {
			e.Apply(&Fix{Unit: u.id, T: t0, Lat: 24.5, Lng: u.lng})
		}
	}
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	for _, ev := range []Event{
		&SetStatus{T: at(1), Unit: "C3", Status: Busy, By: "unit:C3"},
		&SetStatus{T: at(1), Unit: "C5", Status: OffDuty, By: "unit:C5"},
		&AlertReceived{ID: "A1", T: at(2), Lat: 24.5, Lng: 118.12, Category: Criminal, Priority: 2},
		&AlertReceived{ID: "A2", T: at(2), Lat: 24.51, Lng: 118.123, Category: Fire, Priority: 2},
		&Assign{T: at(3), Incident: "INC-000001", Unit: "C1", Tier: 1, By: "op:1"},
		&Assign{T: at(3), Incident: "INC-000001", Unit: "C2", Tier: 2, By: "op:1"},
		&Release{T: at(4), Incident: "INC-000001", Unit: "C2", By: "op:1"},
		&Assign{T: at(4), Incident: "INC-000002", Unit: "C4", Tier: 2, By: "op:1"},
		&Tick{T: at(10)},
	} {
		for _, c := range e.Apply(ev) {
			if c.Kind == Rejected {
				t.Fatalf("%T: %s", ev, c.Reason)
			}
		}
	}
	return e
}

// line is a candidate in short: "unit why" (+ "@incident", "*" when recommended, "-"
// when ineligible).
func line(c CandidateView) string {
	s := c.Unit
	if !c.Eligible {
		s = "-" + s
	}
	if c.Why != "" {
		s += " " + c.Why
	}
	if c.On != "" {
		s += "@" + c.On
	}
	if c.Recommended {
		s += "*"
	}
	return s
}

func TestCandidates(t *testing.T) {
	e := candidatesWorld(t)
	for _, tc := range []struct {
		incident    string
		tier, limit int
		want        []string
		err         error
	}{
		{"INC-000001", 2, 10, []string{"C3 busy", "C4 assigned@INC-000002", "M1*", "C7",
			"-C1 on_this_incident", "-V1 not_eligible", "-C2 released", "-C5 offduty", "-C6 no_position"}, nil},
		{"INC-000001", 2, 2, []string{"C3 busy", "C4 assigned@INC-000002", "-C1 on_this_incident", "-V1 not_eligible"}, nil},
		{"INC-000001", 1, 1, []string{"V1", "-C1 on_this_incident"}, nil}, // any force: V1, a step away, is the soonest
		{"INC-000001", 0, 10, nil, ErrNoSuchTier},
		{"INC-000001", 3, 10, nil, ErrNoSuchTier},
		{"INC-000404", 1, 10, nil, ErrUnknownIncident},
	} {
		name := fmt.Sprintf("%s tier %d limit %d", tc.incident, tc.tier, tc.limit)
		v, err := e.Candidates(tc.incident, tc.tier, tc.limit)
		if !errors.Is(err, tc.err) {
			t.Errorf("%s: error %v, want %v", name, err, tc.err)
			continue
		}
		if err != nil {
			continue
		}
		var got []string
		for _, c := range v.Candidates {
			got = append(got, line(c))
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s:\n got %q\nwant %q", name, got, tc.want)
		}
		if deadline := map[int]float64{1: 60, 2: 180}[tc.tier]; v.Incident != tc.incident || v.Tier != tc.tier || v.Deadline != deadline {
			t.Errorf("%s: head %+v", name, v)
		}
		for _, c := range v.Candidates {
			if (c.ETA == nil) != (c.Unit == "C6") {
				t.Errorf("%s: %s eta %v", name, c.Unit, c.ETA)
			}
		}
	}
	e.Apply(&Close{T: e.Now(), Incident: "INC-000001", By: "op:1"})
	if _, err := e.Candidates("INC-000001", 1, 10); !errors.Is(err, ErrIncidentClosed) {
		t.Errorf("closed incident: %v", err)
	}
}

// TestCandidatesRankByTravel: in a city of 3,000 units of every kind, the list is the
// soonest units by the planner's travel time to the tier's target, eligible then not,
// exactly as ranking every unit gives it (the straight-line shortcut skips none it
// should keep).
func TestCandidatesRankByTravel(t *testing.T) {
	e, _, t0 := benchCity(t, 3000)
	r := rand.New(rand.NewPCG(3, 3))
	for n := range 12 {
		e.Apply(&AlertReceived{ID: fmt.Sprintf("A%d", n), T: t0.Add(time.Duration(2+n) * time.Second),
			Lat: 24.46 + r.Float64()*0.11, Lng: 118.06 + r.Float64()*0.15, Category: Criminal, Priority: 1 + n%4})
	}
	for _, inc := range e.Incidents(false) {
		i := e.incIDs[inc.ID]
		for tier := 1; tier <= len(inc.Tiers); tier++ {
			limit := 1 + (tier*7)%12
			v, err := e.Candidates(inc.ID, tier, limit)
			if err != nil {
				t.Fatal(err)
			}
			tr := e.incs[i].tiers[tier-1]
			target := e.incs[i].scene
			if posts := e.freePosts(tr, 1); posts != nil {
				target = posts[0]
			}
			var yes, no []candidate
			for ui, u := range e.units {
				eta := math.Inf(1)
				if u.placed() {
					eta = e.travel(u.mode, u.pos, target)
				}
				if ok, _, _ := e.candidacy(i, tr, int32(ui)); ok {
					yes = append(yes, candidate{int32(ui), eta})
				} else {
					no = append(no, candidate{int32(ui), eta})
				}
			}
			slices.SortFunc(yes, byETA)
			slices.SortFunc(no, byETA)
			var want []string
			for _, c := range slices.Concat(yes[:min(limit, len(yes))], no[:min(limit, len(no))]) {
				want = append(want, fmt.Sprintf("%s %.1f", e.units[c.unit].id, roundETA(c.eta)))
			}
			var got []string
			for _, c := range v.Candidates {
				got = append(got, fmt.Sprintf("%s %.1f", c.Unit, *c.ETA))
			}
			if !slices.Equal(got, want) {
				t.Fatalf("%s tier %d limit %d:\n got %v\nwant %v", inc.ID, tier, limit, got, want)
			}
		}
	}
}
