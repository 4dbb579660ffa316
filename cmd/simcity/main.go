// Command simcity drives commandd from outside, through its public contract only, as
// real terminals, a call-taking system and a camera platform would. Its load modes
// measure the server (docs/benchmarks.md):
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
	flag.DurationVar(&o.duration, "duration", 20*time.Second, "how long to measure")
	flag.Float64Var(&o.fixRate, "fix-rate", 50000, "alerts: background fixes per second")
	flag.Float64Var(&o.alertRate, "alert-rate", 10, "alerts: alerts per second")
	flag.IntVar(&o.responders, "responders", 200, "alerts: police cars, each with its own socket, that alerts are placed on")
	flag.IntVar(&o.clients, "clients", 1000, "fanout: WebSocket clients")
	flag.StringVar(&o.view, "view", "unit", "fanout: unit (each client its own unit) or wall (a quarter of the district each)")
	flag.IntVar(&o.boxes, "boxes", 0, "fanout with -view wall: walls share this many boxes (0: every wall its own)")
	flag.Float64Var(&o.hz, "hz", 10, "fanout: fixes per second per moving unit")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *base, *tokens, o); err != nil {
		fmt.Fprintln(os.Stderr, "simcity:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, base, tokens string, o options) error {
	s, err := newServer(base, tokens)
	if err != nil {
		return err
	}
	readyCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := s.waitReady(readyCtx); err != nil {
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
	default:
		return fmt.Errorf("-load must be fixes, alerts or fanout (the simulated day is to come)")
	}
	if err != nil {
		return err
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
