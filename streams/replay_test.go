package streams

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"commandd/dispatch"
	"commandd/fixtures"
)

// liveWall is what the live engine showed a wall at one moment, in the form a
// snapshot frame carries it.
type liveWall struct {
	seq       uint64
	t         time.Time
	units     map[string][3]any // lat, lng, status
	incidents map[string]any    // id → incident JSON, decoded
}

func wallOfEngine(t testing.TB, e *dispatch.Engine, seq uint64) liveWall {
	w := liveWall{seq: seq, t: e.Now(), units: map[string][3]any{}, incidents: map[string]any{}}
	for _, u := range e.Units() {
		w.units[u.ID] = [3]any{u.Lat, u.Lng, u.Status.String()}
	}
	for _, inc := range e.Incidents(false) {
		w.incidents[inc.ID] = decodeJSON(t, inc)
	}
	return w
}

func wallOfFrame(t testing.TB, f map[string]any) liveWall {
	w := liveWall{seq: uint64(f["seq"].(float64)), units: map[string][3]any{}, incidents: map[string]any{}}
	for _, x := range f["units"].([]any) {
		u := x.(map[string]any)
		w.units[u["id"].(string)] = [3]any{u["lat"], u["lng"], u["status"]}
	}
	for _, x := range f["incidents"].([]any) {
		w.incidents[x.(map[string]any)["id"].(string)] = x
	}
	return w
}

func decodeJSON(t testing.TB, v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	json.Unmarshal(b, &out)
	return out
}

// TestWSReplay records a stretch of a small district through a live server, then
// replays it over the replay view: seeking to sampled moments gives what the live
// engine showed then (incidents with their tier states, units where they were), and
// playing through an incident's close shows it closing, then ends; pause holds the
// clock. Across a configuration change (a Configure event in the log five minutes in)
// the replay equals the live run as well: its engine applies the change where it is.
func TestWSReplay(t *testing.T) {
	crim := dispatch.Criminal
	change := &dispatch.Configure{Config: dispatch.Config{DupWindow: 2 * time.Minute, ArrivalRadius: 150,
		Plans: []dispatch.PlanRule{{Category: &crim, Plan: dispatch.Plan{Name: "two", Tiers: []dispatch.Tier{
			{Deadline: 45 * time.Second, Units: 1, MetBy: dispatch.OnAccept}, {Deadline: 4 * time.Minute, Units: 2, Perimeter: true}}}},
			{Plan: dispatch.DefaultPlan()}}}, By: "admin:test"}
	for _, tc := range []struct {
		name   string
		change *dispatch.Configure
	}{{"one configuration", nil}, {"across a configuration change", change}} {
		t.Run(tc.name, func(t *testing.T) { testWSReplay(t, tc.change) })
	}
}

func testWSReplay(t *testing.T, change *dispatch.Configure) {
	s := newTestServer(t, 0)
	ctx := context.Background()
	start := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	tr := fixtures.NewTraffic(3, start, 16)
	var samples []liveWall
	next := start.Add(3 * time.Minute)
	var seq uint64
	feed := func(msgs [][]dispatch.Event) {
		for _, events := range msgs {
			// A seek shows the engine after every message up to its time.
			s.srv.Loop.Read(func(e *dispatch.Engine) {
				if messageTime(e, events).After(next) {
					samples = append(samples, wallOfEngine(t, e, seq))
					samples[len(samples)-1].t = next
					next = next.Add(97 * time.Second)
				}
			})
			var err error
			seq, err = s.srv.Log.Append(ctx, "", events...)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.srv.Loop.Wait(ctx, seq); err != nil {
				t.Fatal(err)
			}
		}
	}
	feed(tr.Start())
	for n := range 25 * 60 {
		msgs := tr.Second()
		if change != nil && n == 5*60 {
			change.T = msgs[0][0].Time()
			msgs = append([][]dispatch.Event{{change}}, msgs...)
		}
		feed(msgs)
	}
	if change != nil {
		s.srv.Loop.Read(func(e *dispatch.Engine) {
			if !e.Configured() || e.Config().DupWindow != 2*time.Minute {
				t.Fatal("the configuration change is not in force")
			}
			twoTiers := 0
			for _, inc := range e.Incidents(true) {
				if inc.Received.After(change.T) && inc.Category == dispatch.Criminal && len(inc.Tiers) == 2 {
					twoTiers++
				}
			}
			if twoTiers == 0 {
				t.Fatal("no criminal incident opened under the new plan")
			}
		})
	}
	var closed dispatch.IncidentView
	s.srv.Loop.Read(func(e *dispatch.Engine) {
		for _, inc := range e.Incidents(true) {
			if change != nil && !inc.Received.After(change.T) {
				continue // across the change: an incident opened under the configuration it brought
			}
			if inc.Status == "closed" && inc.Closed.Add(replayAfter).Before(e.Now()) && len(inc.Tiers[0].Units) > 0 {
				closed = inc
				break
			}
		}
	})
	if closed.ID == "" {
		t.Fatal("no incident closed early enough to replay")
	}

	c := s.subscribe(tokSupervisor, fmt.Sprintf(`{"type":"subscribe","view":"replay","incident":%q,"speed":60}`, closed.ID))
	first := c.expect("snapshot", nil)
	if got, want := first["t"].(string), closed.Received.Add(-replayBefore).Format(dispatch.MillisLayout); got < want {
		t.Errorf("replay starts at %s, want from %s", got, want)
	}
	c.expect("clock", func(m map[string]any) bool { return m["incident"] == closed.ID && m["speed"] == 60.0 })

	seek := func(at time.Time) map[string]any {
		t.Helper()
		msg := fmt.Sprintf(`{"type":"seek","t":%q}`, at.Format(dispatch.MillisLayout))
		if err := c.conn.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		return c.expect("snapshot", nil)
	}
	compared := 0
	for _, want := range samples {
		if want.t.Before(closed.Received.Add(-replayBefore)) || want.t.After(closed.Closed.Add(replayAfter)) {
			continue // outside the incident's window: a seek there is clamped to it
		}
		got := wallOfFrame(t, seek(want.t))
		if got.seq != want.seq {
			t.Errorf("seek to %s: snapshot at %d, want %d", want.t, got.seq, want.seq)
			continue
		}
		if !reflect.DeepEqual(got.units, want.units) {
			t.Errorf("seek to %s: units differ from the live run:\n got %v\nwant %v", want.t, got.units, want.units)
		}
		if !reflect.DeepEqual(got.incidents, want.incidents) {
			t.Errorf("seek to %s: incidents differ from the live run:\n got %v\nwant %v", want.t, got.incidents, want.incidents)
		}
		compared++
	}
	if compared < 3 {
		t.Errorf("compared %d moments in the window, want at least 3", compared)
	}

	// Play through the close: the incident closes as it did live, then the replay ends.
	seek(closed.Closed.Add(-20 * time.Second))
	inc := c.expect("incident", func(m map[string]any) bool { return m["id"] == closed.ID && m["status"] == "closed" })
	if want := decodeJSON(t, closed); !reflect.DeepEqual(inc["tiers"], want.(map[string]any)["tiers"]) {
		t.Errorf("replayed close: tiers %v, want %v", inc["tiers"], want.(map[string]any)["tiers"])
	}
	c.expect("clock", func(m map[string]any) bool { return m["ended"] == true })

	// Pause holds the clock where it is.
	seek(closed.Closed.Add(-4 * time.Minute))
	c.conn.WriteMessage(websocket.TextMessage, []byte(`{"type":"pause"}`))
	held := c.expect("clock", func(m map[string]any) bool { return m["paused"] == true && m["ended"] == nil })
	time.Sleep(600 * time.Millisecond)
	for _, f := range c.all() {
		if f["type"] == "clock" && f["paused"] == true && f["ended"] == nil && f["t"] != held["t"] {
			t.Errorf("paused clock moved from %v to %v", held["t"], f["t"])
		}
	}
	c.conn.WriteMessage(websocket.TextMessage, []byte(`{"type":"play","speed":100}`))
	c.expect("error", func(m map[string]any) bool { return m["error"].(map[string]any)["field"] == "speed" })
}
