// Command simcity drives commandd from outside, through its public contract only, as
// real terminals, a call-taking system and a camera platform would. Without -load it
// lives the sample district (fixtures.DefaultDistrict) for -duration and prints a
// report of how the incidents were answered:
//
//	simcity -url http://127.0.0.1:8080 -tokens DATA/tokens [-duration 1h] [-busier 20] [-speed 60] [-gps-file F] [-report json]
//
// -speed needs the server's clock to run as fast: commandd --time-scale 60. With
// -lockstep the city drives the clock of a server started with --clock external
// instead, a second at a time, and a seed gives the same report on every run:
//
//	simcity -url … -tokens DATA/tokens -lockstep [-start 10:00] -duration 1h -busier 10 -seed 3 -report json
//
// -fleet (sample, police-half, foot-heavy) and -calls (district, hotspots) make other
// districts than the one the engine was tuned in; units obey move-ups sent to them
// while free.
//
// Its load modes measure the server (docs/benchmarks.md):
//
//	simcity -url http://127.0.0.1:8080 -tokens DATA/tokens -load fixes  [-via http|ws] [-units 100000]
//	simcity … -load alerts [-fix-rate 50000] [-alert-rate 10]
//	simcity … -load fanout [-view unit|wall] [-clients 10000] [-hz 10] [-boxes 8]
//
// Each prints its figures as one JSON object.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"commandd/fixtures"
	"commandd/fixtures/city"
)

type options struct {
	load       string
	via        string
	units      int
	batch      int
	senders    int
	duration   time.Duration
	fixRate    float64
	alertRate  float64
	responders int
	clients    int
	view       string
	boxes      int
	hz         float64
	seed       uint64
	busier     float64
	report     string
	speed      float64
	gpsFile    string
	lockstep   bool
	start      string
	fleet      string
	calls      string
}

func main() {
	var o options
	base := flag.String("url", "http://127.0.0.1:8080", "commandd's address")
	tokens := flag.String("tokens", "data/tokens", "commandd's tokens file (operator and ingest tokens are used)")
	flag.StringVar(&o.load, "load", "", "measurement: fixes, alerts or fanout")
	flag.StringVar(&o.via, "via", "http", "fixes: http (NDJSON POST) or ws (binary messages on the ingest view)")
	flag.IntVar(&o.units, "units", 100000, "units sending fixes (fanout with -view wall: units moving)")
	flag.IntVar(&o.batch, "batch", 5000, "fixes: fixes per request")
	flag.IntVar(&o.senders, "senders", 4, "fixes: concurrent requests or sockets")
	flag.DurationVar(&o.duration, "duration", 20*time.Second, "how long to measure, or to live the city (0: until interrupted)")
	flag.Float64Var(&o.fixRate, "fix-rate", 50000, "alerts: background fixes per second")
	flag.Float64Var(&o.alertRate, "alert-rate", 10, "alerts: alerts per second")
	flag.IntVar(&o.responders, "responders", 200, "alerts: police cars, each with its own socket, that alerts are placed on")
	flag.IntVar(&o.clients, "clients", 1000, "fanout: WebSocket clients")
	flag.StringVar(&o.view, "view", "unit", "fanout: unit (each client its own unit) or wall (a quarter of the district each)")
	flag.IntVar(&o.boxes, "boxes", 0, "fanout with -view wall: walls share this many boxes (0: every wall its own)")
	flag.Float64Var(&o.hz, "hz", 10, "fanout: fixes per second per moving unit")
	flag.Uint64Var(&o.seed, "seed", 1, "city: the district's and the city's seed")
	flag.Float64Var(&o.busier, "busier", 1, "city: alerts and camera events at this many times the district's real rate")
	flag.StringVar(&o.report, "report", "text", "city: the report as text or json")
	flag.StringVar(&o.gpsFile, "gps-file", "", "city: recorded vehicle GPS (CSV vehicle_id,time_of_day,lat,lon, e.g. ../shared/data/xiamen_vehicle_gps/xiamen_vehicle_gps_points.csv) added as patrol cars following their routes")
	flag.Float64Var(&o.speed, "speed", 1, "city: live this many times faster than real time (1 to 100); the server must run as fast (commandd --time-scale)")
	flag.BoolVar(&o.lockstep, "lockstep", false, "city: drive the server's clock a second at a time (commandd --clock external), for a report that is the same on every run of a seed")
	flag.StringVar(&o.start, "start", "", "city, with -lockstep: when the city starts: a time (RFC 3339), or HH:MM for the next such time in Xiamen (China Standard Time) after the server's clock, the same hour of the call curve whatever the day; empty: the server's time")
	flag.StringVar(&o.fleet, "fleet", "sample", "city: the fleet mix: sample (the sample district's), police-half (no volunteers or guards, half the police vehicles) or foot-heavy (three times the patrol on foot, a third of the police vehicles)")
	calls := flag.String("calls", "district", "city: where calls come from: district (criminal ones mostly in its hotspots) or hotspots (70% of all calls in four hotspots)")
	flag.Parse()
	if *calls != "district" {
		o.calls = *calls
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *base, *tokens, o); err != nil {
		fmt.Fprintln(os.Stderr, "simcity:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, base, tokens string, o options) error {
	toks, err := city.ReadTokens(tokens)
	if err != nil {
		return err
	}
	s, err := city.Connect(base, toks)
	if err != nil {
		return err
	}
	readyCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := s.WaitReady(readyCtx); err != nil {
		return err
	}
	var out map[string]any
	switch o.load {
	case "fixes":
		out, err = loadFixes(ctx, s, o)
	case "alerts":
		out, err = loadAlerts(ctx, s, o)
	case "fanout":
		out, err = loadFanout(ctx, s, o)
	case "":
		return liveCity(ctx, s, o)
	default:
		return fmt.Errorf("-load must be fixes, alerts or fanout, or left out to live the city")
	}
	if err != nil {
		return err
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// liveCity lives the sample district until ctx ends or -duration passes (SIGINT ends
// it early, with a report), then prints the report.
func liveCity(ctx context.Context, s *city.Server, o options) error {
	fleet, ok := fixtures.Fleets[o.fleet]
	if !ok {
		return fmt.Errorf("-fleet must be sample, police-half or foot-heavy")
	}
	if o.calls != "" && o.calls != "hotspots" {
		return fmt.Errorf("-calls must be district or hotspots")
	}
	p := fleet(fixtures.DefaultDistrict)
	p.Seed = o.seed
	d, err := fixtures.GenerateDistrict(p)
	if err != nil {
		return err
	}
	var traces []city.Trace
	if o.gpsFile != "" {
		f, err := os.Open(o.gpsFile)
		if err != nil {
			return err
		}
		traces, err = city.ReadTraces(f)
		f.Close()
		if err != nil {
			return err
		}
	}
	start, err := startAt(ctx, s, o.start)
	if err != nil {
		return err
	}
	rep, err := city.Run(ctx, s, city.Options{District: d, Seed: o.seed, Busier: o.busier, Speed: o.speed, Duration: o.duration, Traces: traces,
		Lockstep: o.lockstep, Start: start, Calls: o.calls,
		Logf: func(format string, args ...any) { fmt.Fprintf(os.Stderr, "simcity: "+format+"\n", args...) }})
	if err != nil {
		return err
	}
	if o.report == "json" {
		return json.NewEncoder(os.Stdout).Encode(rep)
	}
	fmt.Printf("incidents %d (alerts %d, duplicate calls merged %d, camera events %d, opened by cameras %d)\n",
		rep.Incidents, rep.Alerts, rep.DuplicatesMerged, rep.CameraEvents, rep.CameraIncidents)
	for _, t := range rep.Tiers {
		fmt.Printf("tier %d: met %.1f%% of %d decided; fulfilled p50 %.0f s, p90 %.0f s\n", t.Tier, 100*t.Met, t.Decided, t.P50, t.P90)
	}
	fmt.Printf("tiers flagged at risk before their deadline: %d; missed without a warning: %d; failed requests: %d\n", rep.AtRiskEarly, rep.MissedUnflagged, rep.FailedRequests)
	return nil
}

// startAt reads -start: empty (the server's time), RFC 3339, or HH:MM (the next such
// time in China Standard Time after the server's clock).
func startAt(ctx context.Context, s *city.Server, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	hm, err := time.Parse("15:04", v)
	if err != nil {
		return time.Time{}, fmt.Errorf("-start %q: want RFC 3339 or HH:MM", v)
	}
	now, err := s.Clock(ctx)
	if err != nil {
		return time.Time{}, err
	}
	n := now.In(city.Xiamen)
	t := time.Date(n.Year(), n.Month(), n.Day(), hm.Hour(), hm.Minute(), 0, 0, city.Xiamen)
	if t.Before(now) {
		t = t.AddDate(0, 0, 1)
	}
	return t, nil
}
