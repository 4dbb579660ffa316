package history

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"commandd/dispatch"
	"commandd/fixtures/pgtest"
	"commandd/geo"
	"commandd/streams"
)

// gridStream logs two days of a district with three management grids: on 30 November
// one incident in HL-001 (first arrival 15 s, met); on 1 December one in HL-001 (30 s,
// met), one in HL-002 (75 s, missed; its unit en route within 5 s) and one outside every
// grid (no unit free: missed). HL-003 has none. It returns the configuration and the
// number of messages logged. With late, the grids come into force (a Configure event)
// only on 1 December, and the configuration returned has none.
func gridStream(t *testing.T, lg *streams.Log, late bool) (dispatch.Config, uint64) {
	t.Helper()
	disk := func(lat, lng float64) []geo.Cell {
		c, err := geo.CellOf(geo.Point{Lat: lat, Lng: lng}, geo.DefaultRes)
		if err != nil {
			t.Fatal(err)
		}
		cells, err := geo.Disk(c, 2)
		if err != nil {
			t.Fatal(err)
		}
		return cells
	}
	cfg := dispatch.Config{
		Plans: []dispatch.PlanRule{{Plan: dispatch.Plan{Tiers: []dispatch.Tier{{Deadline: time.Minute, Units: 1}}}}},
		Grids: []dispatch.Grid{
			{ID: "HL-001", Name: "湖里网格001", Cells: disk(24.5, 118.12)},
			{ID: "HL-002", Name: "湖里网格002", Cells: disk(24.52, 118.14)},
			{ID: "HL-003", Name: "湖里网格003", Cells: disk(24.6, 118.3)},
		},
	}
	d1 := time.Date(2026, 11, 30, 2, 0, 0, 0, time.UTC)
	d2 := time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC)
	at := func(d time.Time, sec int) time.Time { return d.Add(time.Duration(sec) * time.Second) }
	var msgs [][]dispatch.Event
	for _, u := range []struct {
		id       string
		lat, lng float64
	}{{"C1", 24.500, 118.121}, {"C3", 24.500, 118.1205}, {"C4", 24.520, 118.141}} {
		msgs = append(msgs, []dispatch.Event{&dispatch.UnitUpserted{T: d1, ID: u.id, Force: dispatch.Police, Mode: geo.Car, By: "admin:setup"},
			&dispatch.Fix{Unit: u.id, T: d1, Lat: u.lat, Lng: u.lng}})
	}
	msgs = append(msgs,
		[]dispatch.Event{&dispatch.AlertReceived{ID: "E", T: at(d1, 5), Lat: 24.5, Lng: 118.12, Category: dispatch.Criminal, Priority: 2}},
		[]dispatch.Event{&dispatch.SetStatus{T: at(d1, 20), Unit: "C3", Status: dispatch.OnScene, By: "unit:C3"}},
		[]dispatch.Event{&dispatch.Tick{T: at(d1, 70)}})
	seed := cfg
	if late {
		seed.Grids = nil
		msgs[0] = append([]dispatch.Event{&dispatch.Configure{T: d1, Config: seed, By: "admin:test"}}, msgs[0]...)
		msgs = append(msgs, []dispatch.Event{&dispatch.Configure{T: d2, Config: cfg, By: "admin:test"}})
	}
	msgs = append(msgs,
		[]dispatch.Event{&dispatch.AlertReceived{ID: "A", T: at(d2, 5), Lat: 24.5, Lng: 118.12, Category: dispatch.Criminal, Priority: 2}},
		[]dispatch.Event{&dispatch.AlertReceived{ID: "B", T: at(d2, 25), Lat: 24.52, Lng: 118.14, Category: dispatch.Fire, Priority: 2}},
		[]dispatch.Event{&dispatch.SetStatus{T: at(d2, 30), Unit: "C4", Status: dispatch.Enroute, By: "unit:C4"}},
		[]dispatch.Event{&dispatch.SetStatus{T: at(d2, 35), Unit: "C1", Status: dispatch.OnScene, By: "unit:C1"}},
		[]dispatch.Event{&dispatch.AlertReceived{ID: "C", T: at(d2, 40), Lat: 24.56, Lng: 118.18, Category: dispatch.Criminal, Priority: 2}},
		[]dispatch.Event{&dispatch.SetStatus{T: at(d2, 100), Unit: "C4", Status: dispatch.OnScene, By: "unit:C4"}},
		[]dispatch.Event{&dispatch.Tick{T: at(d2, 200)}})
	for _, m := range msgs {
		if _, err := lg.Append(context.Background(), "", m...); err != nil {
			t.Fatal(err)
		}
	}
	return seed, uint64(len(msgs))
}

// TestGridsByGrid: per management grid and day, what happened in the grid the incident
// carries; incidents without a grid are left out, the district's grids are listed
// even without any.
func TestGridsByGrid(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, pgtest.Database(t))
	lg := openLog(t)
	cfg, n := gridStream(t, lg, false)
	w, stop := runWriter(t, s, lg, cfg)
	waitFor(t, w, n, time.Minute)
	stop()

	q := streams.HistoryQuery{From: time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC),
		Limit: 1000, Res: 7, Location: time.UTC, By: "grid",
		District: []dispatch.GridRef{{ID: "HL-001", Name: "湖里网格001"}, {ID: "HL-002", Name: "湖里网格002"}, {ID: "HL-003", Name: "湖里网格003"}}}
	grids, err := s.Grids(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(grids)
	want := `[{"grid":"HL-001","name":"湖里网格001","zero_incident_days":0,"days":[` +
		`{"day":"2026-11-30","alerts":1,"incidents":1,"tiers_decided":1,"tiers_met":1,"met_share":1,"median_first_arrival_s":15,"p90_first_arrival_s":15,"assignments":1,"accepted_30s":1},` +
		`{"day":"2026-12-01","alerts":1,"incidents":1,"tiers_decided":1,"tiers_met":1,"met_share":1,"median_first_arrival_s":30,"p90_first_arrival_s":30,"assignments":1,"accepted_30s":1}]},` +
		`{"grid":"HL-002","name":"湖里网格002","zero_incident_days":1,"days":[` +
		`{"day":"2026-12-01","alerts":1,"incidents":1,"tiers_decided":1,"tiers_met":0,"met_share":0,"median_first_arrival_s":75,"p90_first_arrival_s":75,"assignments":1,"accepted_30s":1}]},` +
		`{"grid":"HL-003","name":"湖里网格003","zero_incident_days":2,"days":[]}]`
	if string(got) != want {
		t.Errorf("by grid:\n got %s\nwant %s", got, want)
	}

	// A category filter and no district: only grids where something happened.
	q.Category, q.District = dispatch.Fire.String(), nil
	if grids, err = s.Grids(ctx, q); err != nil {
		t.Fatal(err)
	}
	if len(grids) != 1 || grids[0].Grid != "HL-002" || grids[0].Days[0].Incidents != 1 {
		t.Errorf("fire by grid: %+v, want HL-002 alone", grids)
	}

	// By cell, p90 too; the incident outside every grid counts there.
	q.By, q.Category = "", ""
	if grids, err = s.Grids(ctx, q); err != nil {
		t.Fatal(err)
	}
	incidents := 0
	for _, g := range grids {
		for _, d := range g.Days {
			incidents += d.Incidents
			if d.MedianFirstArrivalS != nil && d.P90FirstArrivalS == nil {
				t.Errorf("%s %s: a median without a p90", g.Grid, d.Day)
			}
		}
	}
	if incidents != 4 {
		t.Errorf("by cell: %d incidents, want 4", incidents)
	}
}

// TestGridsByGridConfigured: grids put in force by a Configure event in the log count
// the incidents opened from then on; those before it had none and are left out.
func TestGridsByGridConfigured(t *testing.T) {
	s := openStore(t, pgtest.Database(t))
	lg := openLog(t)
	seed, n := gridStream(t, lg, true)
	w, stop := runWriter(t, s, lg, seed)
	waitFor(t, w, n, time.Minute)
	stop()
	grids, err := s.Grids(context.Background(), streams.HistoryQuery{From: time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC),
		To: time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC), Res: 7, Location: time.UTC, By: "grid"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, g := range grids {
		for _, d := range g.Days {
			got = append(got, fmt.Sprintf("%s %s %s %d", g.Grid, g.Name, d.Day, d.Incidents))
		}
	}
	if want := "[HL-001 湖里网格001 2026-12-01 1 HL-002 湖里网格002 2026-12-01 1]"; fmt.Sprint(got) != want {
		t.Errorf("by grid across a configuration change: %v, want %s", got, want)
	}
}

// TestPercentile: nearest rank.
func TestPercentile(t *testing.T) {
	v := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
	for _, tc := range []struct{ p, want float64 }{{0.9, 10}, {0.5, 6}, {1, 11}, {0.01, 1}} {
		if got := percentile(v, tc.p); got != tc.want {
			t.Errorf("percentile %v of 1..11: %v, want %v", tc.p, got, tc.want)
		}
	}
	if got := percentile([]float64{42}, 0.9); got != 42 {
		t.Errorf("percentile of one: %v", got)
	}
}

// TestReport asks the API for the report card of 1 December (Shanghai days) against
// the day before.
func TestReport(t *testing.T) {
	s := openStore(t, pgtest.Database(t))
	dir := t.TempDir()
	lg, err := streams.OpenLog(context.Background(), streams.LogConfig{Dir: filepath.Join(dir, "log")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(lg.Close)
	cfg, n := gridStream(t, lg, false)
	w, stop := runWriter(t, s, lg, cfg)
	waitFor(t, w, n, time.Minute)
	stop()

	base := newHistoryServer(t, s, lg, cfg, dir)
	get := func(query string) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequest("GET", base+"/api/v1/history/"+query, nil)
		req.Header.Set("Authorization", "Bearer "+supervisorToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, body
	}

	status, body := get("report?from=2026-12-01T00:00:00%2B08:00&to=2026-12-02T00:00:00%2B08:00&compare=previous")
	if status != http.StatusOK {
		t.Fatalf("report: %d %s", status, body)
	}
	t.Logf("report: %s", body)
	var rep streams.Report
	if err := json.Unmarshal(body, &rep); err != nil {
		t.Fatal(err)
	}
	f := func(p *float64) string {
		if p == nil {
			return "null"
		}
		return fmt.Sprintf("%.4g", *p)
	}
	check := func(what, got, want string) {
		t.Helper()
		if got != want {
			t.Errorf("%s: %s, want %s", what, got, want)
		}
	}
	check("tz", rep.TZ, "Asia/Shanghai")
	check("alerts", fmt.Sprint(rep.Alerts.Total, rep.Alerts.ByCategory), "3 map[criminal:2 fire:1]")
	check("incidents", fmt.Sprint(rep.Incidents), "3")
	check("tiers", fmt.Sprintf("%d %d %d %s", len(rep.Tiers), rep.Tiers[0].Decided, rep.Tiers[0].Met, f(rep.Tiers[0].MetShare)), "1 3 1 0.3333")
	check("first arrival", f(rep.FirstArrivalS.Median)+" "+f(rep.FirstArrivalS.P90), "52.5 75")
	check("accepted", fmt.Sprint(rep.Accepted30s.Assignments, " ", rep.Accepted30s.Accepted, " ", f(rep.Accepted30s.Share)), "2 2 1")
	check("zero days", fmt.Sprint(rep.ZeroIncidentDaysByGrid), "[{HL-001 湖里网格001 0} {HL-002 湖里网格002 0} {HL-003 湖里网格003 1}]")
	if rep.Previous == nil || rep.Change == nil {
		t.Fatalf("compare=previous: no previous or change")
	}
	p := rep.Previous
	check("previous range", p.From.UTC().Format(time.RFC3339)+" "+p.To.UTC().Format(time.RFC3339), "2026-11-29T16:00:00Z 2026-11-30T16:00:00Z")
	check("previous alerts", fmt.Sprint(p.Alerts.Total, p.Alerts.ByCategory, p.Incidents), "1 map[criminal:1] 1")
	check("previous zero days", fmt.Sprint(p.ZeroIncidentDaysByGrid), "[{HL-001 湖里网格001 0} {HL-002 湖里网格002 1} {HL-003 湖里网格003 1}]")
	c := rep.Change
	check("change alerts", f(c.Alerts)+" "+f(c.AlertsByCategory["criminal"])+" "+f(c.AlertsByCategory["fire"])+" "+f(c.Incidents), "2 1 null 2")
	check("change tiers", fmt.Sprint(len(c.TiersMetShare))+" "+f(c.TiersMetShare[0].MetShare), "1 -0.6667")
	check("change arrival", f(c.FirstArrivalS.Median)+" "+f(c.FirstArrivalS.P90)+" "+f(c.Accepted30sShare), "2.5 4 0")

	// compare=year (同比): the same dates of the year before, on the district's calendar.
	if status, body = get("report?from=2026-12-01T00:00:00%2B08:00&to=2026-12-02T00:00:00%2B08:00&compare=year"); status != http.StatusOK {
		t.Fatalf("report, compare=year: %d %s", status, body)
	}
	var yoy streams.Report
	if err := json.Unmarshal(body, &yoy); err != nil || yoy.Previous == nil {
		t.Fatalf("report, compare=year: %v %s", err, body)
	}
	check("a year before", yoy.Previous.From.UTC().Format(time.RFC3339)+" "+yoy.Previous.To.UTC().Format(time.RFC3339)+" "+
		fmt.Sprint(yoy.Previous.Alerts.Total), "2025-11-30T16:00:00Z 2025-12-01T16:00:00Z 0")

	// Without compare, neither previous nor change.
	if status, body = get("report?from=2026-12-01T00:00:00Z&to=2026-12-02T00:00:00Z&tz=UTC"); status != http.StatusOK {
		t.Fatalf("report: %d %s", status, body)
	}
	var plain map[string]any
	json.Unmarshal(body, &plain)
	if _, ok := plain["previous"]; ok || plain["tz"] != "UTC" {
		t.Errorf("report without compare: %s", body)
	}

	// By grid over HTTP: the district in force names its grids.
	status, body = get("grids?by=grid&from=2026-11-30T00:00:00Z&to=2026-12-02T00:00:00Z")
	t.Logf("grids by grid: %s", body)
	var byGrid struct {
		By    string             `json:"by"`
		TZ    string             `json:"tz"`
		Grids []streams.GridDays `json:"grids"`
	}
	if json.Unmarshal(body, &byGrid); status != http.StatusOK || byGrid.By != "grid" || len(byGrid.Grids) != 3 || byGrid.Grids[2].Name != "湖里网格003" {
		t.Errorf("grids by grid: %d %s", status, body)
	}

	for _, tc := range []struct{ query, field string }{
		{"report?to=2026-12-02T00:00:00Z", "from"},
		{"report?from=2026-12-01T00:00:00Z", "to"},
		{"report?from=2026-12-01&to=2026-12-02T00:00:00Z", "from"},
		{"report?from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z", "from"},
		{"report?from=2026-12-01T00:00:00Z&to=2026-12-02T00:00:00Z&compare=last_year", "compare"},
		{"report?from=2026-12-01T00:00:00Z&to=2026-12-02T00:00:00Z&tz=Mars/Olympus", "tz"},
		{"grids?by=zone", "by"},
	} {
		status, body := get(tc.query)
		var e struct {
			Error struct {
				Field string `json:"field"`
			} `json:"error"`
		}
		json.Unmarshal(body, &e)
		if status != http.StatusBadRequest || e.Error.Field != tc.field {
			t.Errorf("%s: %d %s, want 400 on %s", tc.query, status, body, tc.field)
		}
	}
}

const supervisorToken = "supervisor-token-0123456789abcdef"

// newHistoryServer serves the API over lg (its district cfg) with the history s; days
// are Shanghai's. It returns the server's URL.
func newHistoryServer(t *testing.T, s *Store, lg *streams.Log, cfg dispatch.Config, dir string) string {
	t.Helper()
	tokensPath := filepath.Join(dir, "tokens")
	if err := os.WriteFile(tokensPath, []byte(supervisorToken+" supervisor\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tokens, err := streams.LoadTokens(tokensPath)
	if err != nil {
		t.Fatal(err)
	}
	logger := zerolog.Nop()
	hub := streams.NewHub(logger)
	loop, err := streams.NewLoop(lg, cfg, hub, dir, time.Hour, logger)
	if err != nil {
		t.Fatal(err)
	}
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	srv := &streams.Server{Log: lg, Loop: loop, Hub: hub, Tokens: tokens, Logger: logger, Limits: streams.DefaultLimits,
		Metrics: streams.NewMetrics(func() float64 { return 0 }, func() float64 { return 0 }), History: s, Location: shanghai}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { loop.Run(ctx) })
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { hs.Close(); cancel(); wg.Wait() })
	for deadline := time.Now().Add(10 * time.Second); !loop.Ready(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("loop not ready")
		}
	}
	return hs.URL
}
