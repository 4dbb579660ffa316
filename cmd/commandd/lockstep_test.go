package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"commandd/fixtures"
	"commandd/fixtures/city"
)

// TestExternalClock: GET /api/v1/clock tells anyone the server's time; a server on
// the wall clock refuses to be set; one started with --clock external moves only
// when an admin sets it, never back, and answers once the engine has ticked there.
func TestExternalClock(t *testing.T) {
	wall := start(t, t.TempDir())
	m := wall.must(200, "GET", "/api/v1/clock", tokUnitP17, "")
	if m["external"] != false || m["t"] == nil {
		t.Errorf("GET /api/v1/clock on the wall clock: %v", m)
	}
	if code, m := wall.do("POST", "/api/v1/clock", tokAdmin, `{"t":"2030-01-01T00:00:00Z"}`); code != 409 {
		t.Errorf("setting a wall clock: %d %v, want 409", code, m)
	}

	s := start(t, t.TempDir(), "--clock", "external")
	t0 := time.Now().UTC().Add(time.Hour).Truncate(time.Second)
	at := func(d time.Duration) string { return t0.Add(d).Format(time.RFC3339) }
	for _, tc := range []struct {
		token, body string
		want        int
		field       string
	}{
		{tokOperator, `{"t":"` + at(0) + `"}`, 403, ""},
		{tokAdmin, `{}`, 400, "t"},
		{tokAdmin, `{"t":"yesterday"}`, 400, "t"},
		{tokAdmin, `{"t":"` + at(0) + `"}`, 200, ""},
		{tokAdmin, `{"t":"` + at(-time.Second) + `"}`, 400, "t"},
	} {
		code, m := s.do("POST", "/api/v1/clock", tc.token, tc.body)
		if code != tc.want {
			t.Errorf("POST /api/v1/clock %s as %s: %d %v, want %d", tc.body, tc.token[:4], code, m, tc.want)
		}
		if tc.field != "" {
			if e, _ := m["error"].(map[string]any); e == nil || e["field"] != tc.field {
				t.Errorf("POST /api/v1/clock %s: %v, want an error naming %q", tc.body, m, tc.field)
			}
		}
	}
	if m := s.must(200, "GET", "/api/v1/clock", tokVolunteer, ""); m["t"] != t0.Format("2006-01-02T15:04:05.000Z") || m["external"] != true {
		t.Errorf("GET /api/v1/clock after setting it to %s: %v", t0, m)
	}
	// The clock stands: an alert sent later on the wall clock is received at t0, and
	// its tier 1 runs out only when the clock is set past its deadline.
	time.Sleep(1100 * time.Millisecond)
	s.must(201, "POST", "/api/v1/alerts", tokOperator, `{"id":"CLK-1","lat":24.5,"lng":118.12,"category":"help","priority":3}`)
	inc := s.must(200, "GET", "/api/v1/incidents/INC-000001", tokOperator, "")
	if inc["received"] != t0.Format("2006-01-02T15:04:05.000Z") {
		t.Errorf("alert received at %v, want the clock's %s", inc["received"], t0)
	}
	s.must(200, "POST", "/api/v1/clock", tokAdmin, `{"t":"`+at(61*time.Second)+`"}`)
	inc = s.must(200, "GET", "/api/v1/incidents/INC-000001", tokOperator, "")
	if tier := inc["tiers"].([]any)[0].(map[string]any); tier["state"] != "missed" {
		t.Errorf("tier 1 after the clock was set past its deadline: %v, want missed", tier)
	}
}

// TestCityPlanningBeatsBaseline is the measure of what planning buys: one
// simulated hour of the sample district, at ten times Huli's call rate, lived in
// lockstep (the city drives the server's clock a second at a time) once against the
// engine and once against the baseline (--baseline), on the same seed, so on the same
// calls and camera events. The engine meets tier 2 more often than the baseline does,
// and tiers 1 and 3 too. Two runs of the same seed give the same report, so the
// comparison is exact, not luck.
func TestCityPlanningBeatsBaseline(t *testing.T) {
	if testing.Short() {
		t.Skip("two simulated hours")
	}
	d, err := fixtures.GenerateDistrict(fixtures.DefaultDistrict)
	if err != nil {
		t.Fatal(err)
	}
	// 10:00 in Xiamen tomorrow: ahead of a fresh server's clock, and the same hour of
	// the call curve whatever the day.
	now := time.Now().UTC()
	from := time.Date(now.Year(), now.Month(), now.Day()+1, 2, 0, 0, 0, time.UTC)
	live := func(d *fixtures.District, dur time.Duration, flags ...string) (*city.Report, error) {
		s := start(t, t.TempDir(), append([]string{"--clock", "external", "--rate", "1000000"}, flags...)...)
		defer s.stop()
		srv, err := city.Connect(s.base, map[string]string{"admin": tokAdmin, "operator": tokOperator, "ingest": tokIngest})
		if err != nil {
			return nil, err
		}
		return city.Run(context.Background(), srv, city.Options{District: d, Seed: 1, Busier: 10, Lockstep: true,
			Start: from, Duration: dur})
	}
	reports := make([]*city.Report, 4)
	errs := make([]error, 4)
	var wg sync.WaitGroup
	for i, run := range []struct {
		dur   time.Duration
		flags []string
	}{{time.Hour, nil}, {time.Hour, []string{"--baseline"}}, {10 * time.Minute, nil}, {10 * time.Minute, nil}} {
		wg.Go(func() { reports[i], errs[i] = live(d, run.dur, run.flags...) })
		if i%2 == 1 {
			wg.Wait() // two at a time: two cores
		}
	}
	for i, err := range errs {
		if err != nil || reports[i] == nil {
			t.Fatalf("run %d: %v", i, err)
		}
	}
	js := make([]string, len(reports))
	for i, r := range reports {
		b, _ := json.Marshal(r)
		js[i] = string(b)
	}
	t.Logf("engine:   %s", js[0])
	t.Logf("baseline: %s", js[1])
	engine, baseline := reports[0], reports[1]
	for _, r := range []*city.Report{engine, baseline} {
		if len(r.Tiers) != 3 || r.Tiers[1].Decided < 50 || r.FailedRequests != 0 {
			t.Fatalf("report %+v: want three tiers, tier 2 decided at least 50 times, no failed request", r)
		}
	}
	if engine.Alerts != baseline.Alerts || engine.CameraEvents != baseline.CameraEvents {
		t.Errorf("the runs did not get the same day: %d/%d alerts, %d/%d camera events",
			engine.Alerts, baseline.Alerts, engine.CameraEvents, baseline.CameraEvents)
	}
	for n, name := range []string{"tier 1", "tier 2", "tier 3"} {
		if e, b := engine.Tiers[n].Met, baseline.Tiers[n].Met; e <= b {
			t.Errorf("%s met %.1f%% with the engine, %.1f%% with the baseline: want the engine above", name, 100*e, 100*b)
		}
	}
	if js[2] != js[3] {
		t.Errorf("two lockstep runs of seed 1 differ:\n%s\n%s", js[2], js[3])
	}
}

// TestCityMixes lives districts the engine was not tuned in: on seed 1 of each other
// fleet mix and call pattern (docs/benchmarks.md has more seeds, and the rates), half
// an hour in lockstep against the engine without move-up, with move-up obeyed by the
// units (--moveup auto) and the baseline, all on the sample district's file. The
// engine meets tiers 1 and 3 more often than the baseline, and tier 2 within three
// decided tiers of it; every run goes without a failed request. (What move-up does on
// one seed is logged, not asserted: on single seeds it wins and loses tiers by more
// than chance alone would explain either way; docs/benchmarks.md has the medians.)
func TestCityMixes(t *testing.T) {
	if testing.Short() {
		t.Skip("nine simulated half-hours")
	}
	now := time.Now().UTC()
	from := time.Date(now.Year(), now.Month(), now.Day()+1, 2, 0, 0, 0, time.UTC) // 10:00 in Xiamen
	districtFile := filepath.Join(t.TempDir(), "huli.json")
	base, err := fixtures.GenerateDistrict(fixtures.DefaultDistrict)
	if err != nil {
		t.Fatal(err)
	}
	file, err := base.File()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(districtFile, file, 0o644); err != nil {
		t.Fatal(err)
	}
	type mix struct {
		fleet, calls string
		busier       float64
	}
	mixes := []mix{{"police-half", "", 10}, {"foot-heavy", "", 10}, {"sample", "hotspots", 10}}
	configs := [][]string{{"--moveup", "off"}, {"--moveup", "auto"}, {"--baseline"}}
	live := func(m mix, flags []string) (*city.Report, error) {
		d, err := fixtures.GenerateDistrict(fixtures.Fleets[m.fleet](fixtures.DefaultDistrict))
		if err != nil {
			return nil, err
		}
		s := start(t, t.TempDir(), append([]string{"--clock", "external", "--rate", "1000000", "--district", districtFile}, flags...)...)
		defer s.stop()
		srv, err := city.Connect(s.base, map[string]string{"admin": tokAdmin, "operator": tokOperator, "ingest": tokIngest})
		if err != nil {
			return nil, err
		}
		return city.Run(context.Background(), srv, city.Options{District: d, Seed: 1, Busier: m.busier, Lockstep: true,
			Start: from, Duration: 30 * time.Minute, Calls: m.calls})
	}
	for _, m := range mixes {
		reports := make([]*city.Report, len(configs))
		errs := make([]error, len(configs))
		var wg sync.WaitGroup
		for i, flags := range configs {
			wg.Go(func() { reports[i], errs[i] = live(m, flags) })
			if i%2 == 1 {
				wg.Wait()
			}
		}
		wg.Wait()
		name := fmt.Sprintf("%s fleet, %s calls, %g×", m.fleet, cmp.Or(m.calls, "district"), m.busier)
		for i, err := range errs {
			if err != nil || reports[i] == nil || len(reports[i].Tiers) != 3 || reports[i].FailedRequests != 0 {
				t.Fatalf("%s, %v: %v %+v", name, configs[i], err, reports[i])
			}
		}
		off, auto, baseline := reports[0], reports[1], reports[2]
		t.Logf("%s: tiers met off/auto/baseline %v", name, [][3]float64{
			{off.Tiers[0].Met, auto.Tiers[0].Met, baseline.Tiers[0].Met},
			{off.Tiers[1].Met, auto.Tiers[1].Met, baseline.Tiers[1].Met},
			{off.Tiers[2].Met, auto.Tiers[2].Met, baseline.Tiers[2].Met}})
		for _, n := range []int{0, 2} {
			if e, b := off.Tiers[n].Met, baseline.Tiers[n].Met; e <= b {
				t.Errorf("%s: tier %d met %.1f%% with the engine, %.1f%% with the baseline", name, n+1, 100*e, 100*b)
			}
		}
		if e, b := off.Tiers[1].Met, baseline.Tiers[1].Met; e < b-3/float64(max(1, off.Tiers[1].Decided)) {
			t.Errorf("%s: tier 2 met %.1f%% with the engine, %.1f%% with the baseline", name, 100*e, 100*b)
		}
	}
}
