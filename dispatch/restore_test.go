package dispatch_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"commandd/dispatch"
	"commandd/fixtures"
)

// applyLog applies messages (each one or more events) and returns each message's
// changes, copied out of the engine's reused buffers.
func applyLog(e *dispatch.Engine, msgs [][]dispatch.Event) [][]dispatch.Change {
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

// checkRestoreEverywhere applies a log of messages straight, then for every message
// boundary k takes a snapshot, restores it and applies the rest: the changes must be
// exactly those of the straight run.
func checkRestoreEverywhere(t *testing.T, name string, cfg dispatch.Config, log [][]dispatch.Event) {
	t.Helper()
	checkRestoreEvery(t, name, cfg, log, 1)
}

// checkRestoreEvery is checkRestoreEverywhere at every step-th boundary.
func checkRestoreEvery(t *testing.T, name string, cfg dispatch.Config, log [][]dispatch.Event, step int) {
	t.Helper()
	straight := applyLog(dispatch.New(cfg), log)
	for k := 0; k < len(log); k += step {
		e := dispatch.New(cfg)
		applyLog(e, log[:k])
		snap, err := e.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		r, err := dispatch.Restore(cfg, snap)
		if err != nil {
			t.Fatal(err)
		}
		for n, got := range applyLog(r, log[k:]) {
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

// TestRetireClosed: closed incidents leave the engine once RetireClosed has passed
// since they closed (with their alerts' ids), the open ones stay, snapshots shrink,
// and an engine restored at any point decides exactly as the straight run.
func TestRetireClosed(t *testing.T) {
	start := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	tr := fixtures.NewTraffic(5, start, 20)
	log := tr.Start()
	for range 15 * 60 {
		log = append(log, tr.Second()...)
	}
	cfg := dispatch.Config{RetireClosed: 2 * time.Minute}
	e := dispatch.New(cfg)
	applyLog(e, log)

	keeper := tr.Engine() // the same stream, nothing retired
	retired, kept := 0, 0
	for _, v := range keeper.Incidents(true) {
		_, readable := e.Incident(v.ID)
		old := v.Status == "closed" && !v.Closed.After(e.Now().Add(-cfg.RetireClosed))
		answered := !old // incidents a camera opened have no alert
		for _, a := range v.Alerts {
			_, answered = e.Alert(a.ID)
		}
		if readable == old || answered == old {
			t.Errorf("%s (%s, closed %v): readable %v, alert answered %v", v.ID, v.Status, v.Closed, readable, answered)
		}
		if old {
			retired++
		} else {
			kept++
		}
	}
	if retired < 10 || kept == 0 {
		t.Fatalf("%d incidents retired, %d kept: the stream does not test retirement", retired, kept)
	}
	if got, want := len(e.Incidents(false)), len(keeper.Incidents(false)); got != want {
		t.Errorf("%d open incidents, want %d", got, want)
	}
	small, _ := e.Snapshot()
	big, _ := keeper.Snapshot()
	if len(small) >= len(big)*3/4 {
		t.Errorf("snapshot %d bytes with retirement, %d without: want under three quarters", len(small), len(big))
	}

	checkRestoreEvery(t, "retiring", cfg, log, 97)
}
