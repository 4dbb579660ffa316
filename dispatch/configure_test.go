package dispatch

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"commandd/geo"
)

// districtConfig is a configuration with every part a district file gives.
func districtConfig(t testing.TB) Config {
	t.Helper()
	disk := func(lat, lng float64, k int) []geo.Cell {
		c, err := geo.CellOf(geo.Point{Lat: lat, Lng: lng}, geo.DefaultRes)
		if err != nil {
			t.Fatal(err)
		}
		cells, err := geo.Disk(c, k)
		if err != nil {
			t.Fatal(err)
		}
		return cells
	}
	crim := Criminal
	return Config{Name: "湖里区", TZ: "Asia/Shanghai", District: disk(24.51, 118.13, 6),
		Grids: []Grid{{ID: "HL-001", Name: "一号网格", Cells: disk(24.50, 118.12, 2)}, {ID: "HL-002", Cells: disk(24.52, 118.14, 2)}},
		Zones: []Zone{{ID: "KS-1", Name: "厦门站", Kind: "key_site", Cells: disk(24.50, 118.12, 1), Deadlines: []time.Duration{30 * time.Second}}},
		Plans: []PlanRule{
			{Category: &crim, Priorities: []int{1, 2}, Plan: Plan{Name: "serious", Tiers: []Tier{
				{Name: "先期到场", Deadline: time.Minute, Units: 1, MetBy: OnAccept},
				{Deadline: 3 * time.Minute, Forces: []Force{Police}, Modes: []geo.Mode{geo.Car}, Units: 1, MetBy: OnSetOff},
				{Deadline: 5 * time.Minute, Forces: []Force{Police, Patrol}, Units: 2, Perimeter: true}}}},
			{Plan: Plan{Name: "one", Tiers: []Tier{{Deadline: 90 * time.Second, Units: 1}}}},
		},
		Source: json.RawMessage(`{"name":"湖里区","crs":"wgs84"}`), DupWindow: 5 * time.Minute, ArrivalRadius: 80, RetireClosed: time.Hour}
}

func TestConfigJSONRoundTrip(t *testing.T) {
	for name, cfg := range map[string]Config{"zero": {}, "district": districtConfig(t)} {
		t.Run(name, func(t *testing.T) {
			first, err := json.Marshal(New(cfg).Config())
			if err != nil {
				t.Fatal(err)
			}
			var back Config
			if err := json.Unmarshal(first, &back); err != nil {
				t.Fatal(err)
			}
			again, _ := json.Marshal(New(back).Config())
			if !bytes.Equal(first, again) {
				t.Fatalf("config JSON does not round-trip:\n%s\n%s", first, again)
			}
			b, err := MarshalEvent(&Configure{T: time.Unix(100, 0).UTC(), Config: cfg, By: "admin:1"})
			if err != nil {
				t.Fatal(err)
			}
			ev, err := UnmarshalEvent(b)
			if err != nil {
				t.Fatal(err)
			}
			b2, _ := MarshalEvent(ev)
			if !bytes.Equal(b, b2) {
				t.Fatalf("configure event does not round-trip:\n%s\n%s", b, b2)
			}
		})
	}
}

func TestConfigure(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
	e := New(Config{})
	for n, p := range []geo.Point{{Lat: 24.501, Lng: 118.12}, {Lat: 24.505, Lng: 118.125}, {Lat: 24.52, Lng: 118.14}} {
		id := fmt.Sprintf("P%d", n)
		e.Apply(&UnitUpserted{T: t0, ID: id, Force: Police, Mode: geo.Car})
		c, _ := geo.CellOf(p, geo.DefaultRes)
		e.Apply(&Fix{T: t0, Unit: id, Lat: p.Lat, Lng: p.Lng, Cell: c})
	}
	for n := range 4 { // free units for the coverage: volunteers fill no tier the plans leave open
		id := fmt.Sprintf("V%d", n)
		p := geo.Point{Lat: 24.505 + 0.003*float64(n), Lng: 118.13}
		e.Apply(&UnitUpserted{T: t0, ID: id, Force: Volunteer, Mode: geo.Foot})
		c, _ := geo.CellOf(p, geo.DefaultRes)
		e.Apply(&Fix{T: t0, Unit: id, Lat: p.Lat, Lng: p.Lng, Cell: c})
	}
	alert := func(id string, sec int, lat, lng float64, cat Category) IncidentView {
		c, _ := geo.CellOf(geo.Point{Lat: lat, Lng: lng}, geo.DefaultRes)
		var inc string
		for _, ch := range e.Apply(&AlertReceived{ID: id, T: t0.Add(time.Duration(sec) * time.Second), Lat: lat, Lng: lng, Cell: c,
			Category: cat, Priority: 2}) {
			if ch.Kind == AlertAccepted {
				inc = ch.Incident
			}
		}
		v, ok := e.Incident(inc)
		if !ok {
			t.Fatalf("alert %s opened no incident", id)
		}
		return v
	}
	before := alert("A1", 1, 24.5001, 118.1201, Fire)
	if len(before.Tiers) != 3 || before.Grid != nil || before.Zone != "" {
		t.Fatalf("before configure: %d tiers, grid %v, zone %q", len(before.Tiers), before.Grid, before.Zone)
	}
	if len(e.Coverage(nil)) != 0 || e.Configured() {
		t.Fatal("no district yet: no coverage, not configured")
	}
	cfg := districtConfig(t)
	changes := e.Apply(&Configure{T: t0.Add(2 * time.Second), Config: cfg, By: "admin:1"})
	if !slices.ContainsFunc(changes, func(c Change) bool { return c.Kind == Configured && c.Reason == "admin:1" }) {
		t.Fatalf("configure gave %+v", changes)
	}
	if !e.Configured() || e.Config().Name != "湖里区" || e.Config().DupWindow != 5*time.Minute || e.Config().ReplanEvery != 5*time.Second {
		t.Fatalf("config in force: %+v", e.Config())
	}
	if v, _ := e.Incident(before.ID); len(v.Tiers) != 3 || v.Tiers[0].Deadline != 60 {
		t.Errorf("an open incident keeps its tiers: %+v", v.Tiers)
	}
	// A key site in grid HL-001: the serious plan, the zone's 30 s, the grid.
	at := alert("A2", 3, 24.5000, 118.1200, Criminal)
	if len(at.Tiers) != 3 || at.Tiers[0].Deadline != 30 || at.Tiers[1].Deadline != 180 || at.Zone != "厦门站" || at.ZoneID != "KS-1" ||
		at.Grid == nil || *at.Grid != (GridRef{ID: "HL-001", Name: "一号网格"}) {
		t.Errorf("incident at the key site: tiers %+v zone %q/%q grid %+v", at.Tiers, at.Zone, at.ZoneID, at.Grid)
	}
	e.Apply(&Tick{T: t0.Add(4 * time.Second)})
	cov := e.Coverage(nil)
	if len(cov) != len(cfg.District) {
		t.Fatalf("coverage over %d cells, want the district's %d", len(cov), len(cfg.District))
	}
	reached := 0
	for _, c := range cov {
		if len(c.Seconds) != 1 {
			t.Fatalf("coverage layers: %d, want the default plan's 1", len(c.Seconds))
		}
		if c.Seconds[0] >= 0 {
			reached++
		}
	}
	if reached == 0 {
		t.Error("no cell of the new district is covered: the units were not taken in")
	}
}

func TestConfigureRejects(t *testing.T) {
	bad := func(f func(c *Config)) Config {
		c := districtConfig(t)
		c.Plans = slices.Clone(c.Plans)
		c.Zones, c.Grids = slices.Clone(c.Zones), slices.Clone(c.Grids)
		f(&c)
		return c
	}
	for _, tc := range []struct {
		name, reason string
		cfg          Config
	}{
		{"negative window", "configure: dup_window: negative", bad(func(c *Config) { c.DupWindow = -time.Second })},
		{"negative radius", "configure: arrival_radius_m: negative", bad(func(c *Config) { c.ArrivalRadius = -1 })},
		{"zone without cells", "configure: zones[0].cells: none", bad(func(c *Config) { c.Zones[0].Cells = nil })},
		{"negative zone deadline", "configure: zones[0].deadlines[0]: negative", bad(func(c *Config) {
			c.Zones[0].Deadlines = []time.Duration{-time.Second}
		})},
		{"grid without cells", "configure: grids[1].cells: none", bad(func(c *Config) { c.Grids[1].Cells = nil })},
		{"not a cell", "configure: district: 0 is not an H3 cell at resolution 9", bad(func(c *Config) { c.District = []geo.Cell{0} })},
		{"grid twice", `configure: grids[1].id: "HL-001" twice`, bad(func(c *Config) { c.Grids[1].ID = "HL-001" })},
		{"plan without tiers", "configure: plans[1].tiers: none", bad(func(c *Config) { c.Plans[1].Plan.Tiers = nil })},
		{"tier without units", "configure: plans[1].tiers[0].units: 0 not in 1–64", bad(func(c *Config) {
			c.Plans[1].Plan.Tiers = []Tier{{Deadline: time.Minute}}
		})},
		{"tier without deadline", "configure: plans[1].tiers[0].deadline: not positive", bad(func(c *Config) {
			c.Plans[1].Plan.Tiers = []Tier{{Units: 1}}
		})},
		{"priority 5", "configure: plans[0].priorities[1]: 5 not in 1–4", bad(func(c *Config) { c.Plans[0].Priorities = []int{1, 5} })},
		{"unknown mode", "configure: plans[1].tiers[0].modes: unknown mode", bad(func(c *Config) {
			c.Plans[1].Plan.Tiers = []Tier{{Deadline: time.Minute, Units: 1, Forces: []Force{Guard}, Modes: []geo.Mode{geo.Mode(7)}}}
		})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := New(Config{Recommend: true})
			was, _ := json.Marshal(e.Config())
			changes := e.Apply(&Configure{T: time.Unix(1, 0), Config: tc.cfg})
			if len(changes) != 1 || changes[0].Kind != Rejected || changes[0].Reason != tc.reason {
				t.Fatalf("got %+v, want rejected %q", changes, tc.reason)
			}
			if now, _ := json.Marshal(e.Config()); !bytes.Equal(was, now) || e.Configured() {
				t.Fatal("a rejected configuration changed the engine's")
			}
		})
	}
}

// TestRestoreAcrossConfigure: a log with configuration changes restores exactly from a
// snapshot taken anywhere, whatever the seed given to Restore: the snapshot carries the
// configuration in force.
func TestRestoreAcrossConfigure(t *testing.T) {
	seed := Config{District: testDistrict()}
	evs := randomStream(5, 60, 4000)
	cfg := districtConfig(t)
	other := cfg
	other.Plans, other.Zones, other.Grids, other.Recommend = nil, nil, nil, true
	other.District = cfg.Grids[0].Cells
	at := func(n int, c Config) Event { return &Configure{T: evs[n].Time(), Config: c, By: "admin:1"} }
	evs = slices.Insert(evs, 3000, at(3000, other))
	evs = slices.Insert(evs, 1500, at(1500, cfg))
	ref := New(seed)
	straight := applyAll(ref, evs)
	final, _ := ref.Snapshot()
	for _, k := range []int{0, 1400, 1501, 2500, 3100, len(evs) - 1} {
		e := New(seed)
		applyAll(e, evs[:k])
		snap, err := e.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		r, err := Restore(Config{Baseline: true}, snap) // a seed that differs: the snapshot's wins
		if k == 0 {
			r, err = Restore(seed, snap)
		}
		if err != nil {
			t.Fatal(err)
		}
		if again, _ := r.Snapshot(); !bytes.Equal(snap, again) {
			t.Fatalf("k=%d: snapshot of the restored engine differs", k)
		}
		tail := applyAll(r, evs[k:])
		for n := range tail {
			if !reflect.DeepEqual(tail[n], straight[k+n]) {
				t.Fatalf("k=%d: event %d (%s) gives\n%+v\nafter restore, straight run gave\n%+v", k, k+n, evs[k+n].Kind(), tail[n], straight[k+n])
			}
		}
		if s, _ := r.Snapshot(); !bytes.Equal(s, final) {
			t.Fatalf("k=%d: final state differs from the straight run's", k)
		}
	}
}
