// Command scenario plays engine scenario scripts (fixtures/scenarios/*.json) on a fresh
// dispatch engine and shows what happened: every event with the changes it caused, as
// NDJSON, then the incidents at the end. It exits 1 if the engine did not do what a
// script expects.
//
//	go run ./cmd/scenario fixtures/scenarios/01_nearest_by_travel_time.json
//	go run ./cmd/scenario -q fixtures/scenarios/*.json
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"commandd/dispatch"
	"commandd/fixtures"
)

func main() {
	quiet := flag.Bool("q", false, "print only mismatches and a summary")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: scenario [-q] SCRIPT.json...\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	out := json.NewEncoder(os.Stdout)
	failed := 0
	for _, path := range flag.Args() {
		s, err := fixtures.LoadScenario(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		var observe func(int, dispatch.Event, []dispatch.Change)
		if !*quiet {
			observe = func(step int, ev dispatch.Event, changes []dispatch.Change) {
				_ = out.Encode(map[string]any{"scenario": s.Name, "step": step, "event": ev.Kind(), "in": ev, "changes": changes})
			}
		}
		problems, e, err := s.Run(observe)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", path, err)
			os.Exit(2)
		}
		if !*quiet {
			_ = out.Encode(map[string]any{"scenario": s.Name, "incidents": e.Incidents(true)})
		}
		for _, p := range problems {
			fmt.Fprintf(os.Stderr, "%s: %s\n", path, p)
		}
		status := "ok"
		if len(problems) > 0 {
			failed++
			status = "FAIL"
		}
		fmt.Fprintf(os.Stderr, "%-4s %s (%d steps)\n", status, path, len(s.Steps))
	}
	if failed > 0 {
		os.Exit(1)
	}
}
