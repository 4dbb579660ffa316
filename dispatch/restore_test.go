package dispatch_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"commandd/dispatch"
	"commandd/fixtures"
)

// checkRestoreEverywhere applies a log of messages (each one or more events) straight,
// then for every message boundary k takes a snapshot, restores it and applies the rest:
// the changes must be exactly those of the straight run.
func checkRestoreEverywhere(t *testing.T, name string, cfg dispatch.Config, log [][]dispatch.Event) {
	t.Helper()
	apply := func(e *dispatch.Engine, msgs [][]dispatch.Event) [][]dispatch.Change {
		var out [][]dispatch.Change
		for _, m := range msgs {
			var cs []dispatch.Change // nil for no change, however the engine's buffer stands
			for _, ev := range m {
				for _, c := range e.Apply(ev) {
					c.Cells = slices.Clone(c.Cells) // the engine reuses its buffers
					cs = append(cs, c)
				}
			}
			out = append(out, cs)
		}
		return out
	}
	straight := apply(dispatch.New(cfg), log)
	for k := range log {
		e := dispatch.New(cfg)
		apply(e, log[:k])
		snap, err := e.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		r, err := dispatch.Restore(cfg, snap)
		if err != nil {
			t.Fatal(err)
		}
		for n, got := range apply(r, log[k:]) {
			if !reflect.DeepEqual(got, straight[k+n]) {
				t.Fatalf("%s: restored after message %d, message %d gives\n%+v\nstraight run gave\n%+v",
					name, k, k+n+1, got, straight[k+n])
			}
		}
	}
}

// TestRestoreAtEveryEvent: every scenario script restores exactly after any event. The
// scripts hold the rare paths (units pulled for a higher priority, joint re-planning
// after a close) where state could hide between events.
func TestRestoreAtEveryEvent(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join("..", "fixtures", "scenarios", "*.json"))
	if len(paths) == 0 {
		t.Fatal("no scenarios")
	}
	for _, path := range paths {
		s, err := fixtures.LoadScenario(path)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := s.EngineConfig()
		if err != nil {
			t.Fatal(err)
		}
		events, err := s.Events()
		if err != nil {
			t.Fatal(err)
		}
		log := make([][]dispatch.Event, len(events))
		for i, ev := range events {
			log[i] = []dispatch.Event{ev}
		}
		checkRestoreEverywhere(t, filepath.Base(path), cfg, log)
	}
}

// TestRestoreAfterPullChain replays a log captured from the server's crash test (104
// messages of fixes, alerts and commands) in which planning pulls a unit from a less
// urgent incident. That once left a "plan again" flag set after Apply returned, which no
// snapshot held, so an engine restored there planned differently from one that never
// stopped.
func TestRestoreAfterPullChain(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "pull_chain_log.json"))
	if err != nil {
		t.Fatal(err)
	}
	var messages [][]json.RawMessage
	if err := json.Unmarshal(raw, &messages); err != nil {
		t.Fatal(err)
	}
	var log [][]dispatch.Event
	for _, m := range messages {
		var evs []dispatch.Event
		for _, b := range m {
			ev, err := dispatch.UnmarshalEvent(b)
			if err != nil {
				t.Fatal(err)
			}
			evs = append(evs, ev)
		}
		log = append(log, evs)
	}
	checkRestoreEverywhere(t, "pull chain", dispatch.Config{}, log)
}
