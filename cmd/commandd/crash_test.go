package main

// The crash test: commandd under load (fixes, alerts and their retries, camera events,
// operator commands, unit status) is killed with SIGKILL at random points, again and
// again, and restarted on the same data directory; now and then it is stopped cleanly
// under load instead. At the end nothing it acknowledged may be missing, and the
// engine's state must be exactly the state of a clean replay of the whole log
// (docs/durability.md): the same incidents, units and cameras, the same answers to the
// same further events, the same final snapshot.
//
//	COMMANDD_CRASH_ROUNDS=40 COMMANDD_CRASH_SEED=7 go test -run Crash -v ./cmd/commandd
//
// The seed picks the kill points, snapshot intervals and load; the timing is the
// machine's, so a seed narrows a failure down rather than replaying it.
// COMMANDD_CRASH_KEEP=DIR copies the data directory to DIR when the test fails.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	crashUnits = 50
	// The district the load plays in (Xiamen), in degrees.
	crashMinLat, crashMaxLat = 24.44, 24.56
	crashMinLng, crashMaxLng = 118.06, 118.20
)

// crashLedger is what the load sent and what commandd acknowledged, over all rounds.
type crashLedger struct {
	mu        sync.Mutex
	alertBody map[string]string    // every alert id sent → its body (a retry sends the same)
	alertIDs  []string             // alert ids in the order first sent
	alertInc  map[string]string    // acknowledged alert → its incident
	incidents []string             // incidents learned from alert and camera event answers
	closed    map[string]bool      // incidents whose close was acknowledged
	views     []crashIncident      // incidents as answered to acknowledged commands
	fixT      map[string]time.Time // unit → the latest time of its acknowledged fixes
	camBody   map[string]string    // every camera event id sent → its body
	camIDs    []string             // camera event ids in the order first sent
	camInc    map[string]string    // acknowledged camera event → its incident ("" for none)
	counts    map[string]int       // "<what> <status>" → requests
}

// crashIncident is the part of an incident the test checks.
type crashIncident struct {
	ID       string                `json:"id"`
	Status   string                `json:"status"`
	Alerts   []struct{ ID string } `json:"alerts"`
	Cameras  []struct{ ID string } `json:"camera_events"`
	Timeline []json.RawMessage     `json:"timeline"`
}

func (l *crashLedger) count(what string, status int) {
	l.mu.Lock()
	l.counts[fmt.Sprintf("%s %d", what, status)]++
	l.mu.Unlock()
}

func (l *crashLedger) incident(r *rand.Rand) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.incidents) == 0 {
		return ""
	}
	// Mostly recent incidents: they are the open ones.
	n := len(l.incidents)
	if r.IntN(4) > 0 {
		return l.incidents[max(0, n-1-r.IntN(min(n, 15)))]
	}
	return l.incidents[r.IntN(n)]
}

// crashClient sends one round's requests; every request ends with the round.
type crashClient struct {
	ctx  context.Context
	http *http.Client
	base string
}

// send returns the status (0 when there was no answer) and the body.
func (c *crashClient) send(method, path, token, body string) (int, []byte) {
	req, err := http.NewRequestWithContext(c.ctx, method, c.base+path, strings.NewReader(body))
	if err != nil {
		return 0, nil
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil // the answer was cut off: not an acknowledgement
	}
	return resp.StatusCode, b
}

func TestCrashRecovery(t *testing.T) {
	rounds := 12
	if s := os.Getenv("COMMANDD_CRASH_ROUNDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("COMMANDD_CRASH_ROUNDS=%q: want a positive number", s)
		}
		rounds = n
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("COMMANDD_CRASH_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("COMMANDD_CRASH_SEED=%q: %v", s, err)
		}
		seed = n
	}
	t.Logf("seed %d (COMMANDD_CRASH_SEED), %d rounds (COMMANDD_CRASH_ROUNDS)", seed, rounds)
	rng := rand.New(rand.NewPCG(seed, 0x636f6d6d616e6464))

	dir := t.TempDir()
	if keep := os.Getenv("COMMANDD_CRASH_KEEP"); keep != "" {
		// For a post-mortem: the data directory as the test left it.
		t.Cleanup(func() {
			if t.Failed() {
				if err := os.CopyFS(keep, os.DirFS(dir)); err != nil {
					t.Logf("keeping %s: %v", dir, err)
				} else {
					t.Logf("data directory kept in %s", keep)
				}
			}
		})
	}
	led := &crashLedger{alertBody: map[string]string{}, alertInc: map[string]string{}, closed: map[string]bool{},
		fixT: map[string]time.Time{}, camBody: map[string]string{}, camInc: map[string]string{}, counts: map[string]int{}}
	units := make([]string, crashUnits)
	pos := make([][2]float64, crashUnits) // the fix sender's idea of where each unit is
	forces := []string{"police", "police", "police", "patrol", "volunteer", "guard"}
	modes := []string{"car", "car", "motorbike", "bike", "foot"}

	began := time.Now()
	for round := range rounds {
		snapEvery := []string{"200ms", "700ms", "2s", "30s"}[rng.IntN(4)]
		s := start(t, dir, "--snapshot-every", snapEvery)
		if round == 0 {
			var fixes strings.Builder
			for i := range units {
				units[i] = fmt.Sprintf("U-%02d", i)
				s.must(200, "PUT", "/api/v1/units/"+units[i], tokOperator, fmt.Sprintf(`{"callsign":"巡%02d","force":%q,"mode":%q,"status":"available"}`,
					i, forces[rng.IntN(len(forces))], modes[rng.IntN(len(modes))]))
				pos[i] = crashPlace(rng)
				ms := time.Now().UnixMilli()
				fmt.Fprintf(&fixes, `{"unit":%q,"t":%d,"lat":%.6f,"lng":%.6f}`+"\n", units[i], ms, pos[i][0], pos[i][1])
				led.fixT[units[i]] = time.UnixMilli(ms)
			}
			if m := s.must(202, "POST", "/api/v1/fixes", tokIngest, fixes.String()); m["accepted"] != float64(crashUnits) {
				t.Fatalf("first fixes: %v", m)
			}
			for i := range crashCameras {
				p := crashPlace(rng)
				s.must(200, "PUT", fmt.Sprintf("/api/v1/cameras/CAM-%d", i), tokOperator,
					fmt.Sprintf(`{"lat":%.6f,"lng":%.6f,"name":"路口 %d","heading":%d}`, p[0], p[1], i, rng.IntN(360)))
			}
		}

		ctx, cancel := context.WithCancel(context.Background())
		c := &crashClient{ctx: ctx, base: s.base, http: &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 4}}}
		killAfter := 50*time.Millisecond + time.Duration(rng.Int64N(int64(2450*time.Millisecond)))
		deadline := time.Now().Add(killAfter + 5*time.Second) // a bound should the kill not end the load
		var wg sync.WaitGroup
		for _, load := range []func(*rand.Rand){
			func(r *rand.Rand) { crashFixes(t, c, r, deadline, led, units, pos) },
			func(r *rand.Rand) { crashAlerts(t, c, r, deadline, led, round) },
			func(r *rand.Rand) { crashCommands(t, c, r, deadline, led, units, round) },
		} {
			r := rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64()))
			wg.Go(func() { load(r) })
		}
		time.Sleep(killAfter)
		how := "kill -9"
		if rng.IntN(8) == 0 {
			how = "SIGTERM"
			s.stop() // a clean stop under load now and then: drain, final snapshot
		} else {
			s.kill()
		}
		cancel()
		wg.Wait()
		c.http.CloseIdleConnections()
		led.mu.Lock()
		t.Logf("round %d: %s after %v (snapshot every %s); so far %d alerts acknowledged in %d incidents, %d closes",
			round, how, killAfter.Round(time.Millisecond), snapEvery, len(led.alertInc), len(led.incidents), len(led.closed))
		led.mu.Unlock()
	}
	t.Logf("load and crashes took %v; requests by answer: %v", time.Since(began).Round(time.Millisecond), led.counts)
	if len(led.alertInc) == 0 || len(led.views) == 0 {
		t.Fatalf("the load got nothing acknowledged: %v", led.counts)
	}

	// Recover from the last crash, then stop cleanly: the final snapshot is written and
	// the log stops growing.
	s := start(t, dir)
	s.stop()
	if _, err := os.Stat(filepath.Join(dir, "snapshot.json")); err != nil {
		t.Fatalf("no snapshot after a clean stop: %v", err)
	}
	replay := t.TempDir()
	if err := os.CopyFS(replay, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"snapshot.json", "snapshot.json.tmp"} {
		if err := os.Remove(filepath.Join(replay, f)); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	// Both on the same log; no clock tick is appended for an hour, so both hold the state
	// after exactly the log's last message: one from the snapshot and the log's tail, the
	// other from a replay of the whole log.
	restored := start(t, dir, "--tick", "1h")
	replayed := start(t, replay, "--tick", "1h")
	crashCompare(t, restored, replayed, "after the crashes")

	// The engine's hidden state (plans, clocks, what it remembers) must match as well:
	// both take the same events from here, answer them alike and end alike. Event times
	// run ahead of the servers' clocks, and commands, which carry the server's time, come
	// before them, so the engine clock is the same on both.
	crashLockstep(t, restored, replayed, rng, units)
	crashCompare(t, restored, replayed, "after the same events")
	restored.stop()
	replayed.stop()
	snapA, snapB := crashSnapshot(t, dir), crashSnapshot(t, replay)
	if snapA.Seq != snapB.Seq || !bytes.Equal(snapA.Engine, snapB.Engine) {
		t.Errorf("final snapshots differ: restored at %d, %d bytes; replayed at %d, %d bytes", snapA.Seq, len(snapA.Engine), snapB.Seq, len(snapB.Engine))
	}

	// Everything acknowledged is there.
	s = start(t, dir)
	var incs []crashIncident
	if err := json.Unmarshal(crashGet(t, s, "/api/v1/incidents?status=all"), &incs); err != nil {
		t.Fatal(err)
	}
	byID := map[string]*crashIncident{}
	alertAt, camAt := map[string]string{}, map[string]string{}
	for i := range incs {
		byID[incs[i].ID] = &incs[i]
		for _, a := range incs[i].Alerts {
			if prev, ok := alertAt[a.ID]; ok {
				t.Errorf("alert %s is on %s and on %s", a.ID, prev, incs[i].ID)
			}
			alertAt[a.ID] = incs[i].ID
		}
		for _, c := range incs[i].Cameras {
			if prev, ok := camAt[c.ID]; ok {
				t.Errorf("camera event %s is on %s and on %s", c.ID, prev, incs[i].ID)
			}
			camAt[c.ID] = incs[i].ID
		}
	}
	for id, inc := range led.alertInc {
		if alertAt[id] != inc {
			t.Errorf("acknowledged alert %s (incident %s) is on incident %q", id, inc, alertAt[id])
		}
	}
	for id, inc := range led.camInc {
		if camAt[id] != inc {
			t.Errorf("acknowledged camera event %s (incident %q) is on incident %q", id, inc, camAt[id])
		}
	}
	for id := range led.closed {
		if inc := byID[id]; inc == nil || inc.Status != "closed" {
			t.Errorf("acknowledged close of %s: incident now %+v", id, inc)
		}
	}
	// An answer showed the incident after the command and whatever the engine had applied
	// by then, all of it from the log: the incident's history now must begin with it.
	for _, v := range led.views {
		inc := byID[v.ID]
		switch {
		case inc == nil:
			t.Errorf("incident %s answered to a command is gone", v.ID)
		case len(inc.Timeline) < len(v.Timeline) || !slices.EqualFunc(v.Timeline, inc.Timeline[:len(v.Timeline)], func(a, b json.RawMessage) bool { return bytes.Equal(a, b) }):
			t.Errorf("incident %s: timeline answered to a command\n%s\nis not the start of its timeline now\n%s", v.ID, v.Timeline, inc.Timeline)
		case v.Status == "closed" && inc.Status != "closed":
			t.Errorf("incident %s was answered closed, is %s", v.ID, inc.Status)
		}
	}
	var unitViews []struct {
		ID string    `json:"id"`
		T  time.Time `json:"t"`
	}
	if err := json.Unmarshal(crashGet(t, s, "/api/v1/units"), &unitViews); err != nil {
		t.Fatal(err)
	}
	if len(unitViews) != crashUnits {
		t.Errorf("%d units, want %d", len(unitViews), crashUnits)
	}
	for _, u := range unitViews {
		if u.T.Before(led.fixT[u.ID]) {
			t.Errorf("unit %s is at its fix of %v, an acknowledged fix was at %v", u.ID, u.T, led.fixT[u.ID])
		}
	}
	// Senders retry: the same alert answers 200 with the same incident, the same camera
	// event 202 with the same incident or none.
	for id, inc := range led.alertInc {
		code, m := s.do("POST", "/api/v1/alerts", tokIngest, led.alertBody[id])
		if code != 200 || m["incident"] != inc || m["alert"] != id {
			t.Errorf("retried alert %s: %d %v, acknowledged with incident %s", id, code, m, inc)
		}
	}
	for id, inc := range led.camInc {
		code, m := s.do("POST", "/api/v1/camera-events", tokIngest, led.camBody[id])
		if got, _ := m["incident"].(string); code != 202 || got != inc || m["event"] != id {
			t.Errorf("retried camera event %s: %d %v, acknowledged with incident %q", id, code, m, inc)
		}
	}
	t.Logf("checked %d alerts, %d camera events, %d closes, %d command answers in %d incidents, %d units; total %v",
		len(led.alertInc), len(led.camInc), len(led.closed), len(led.views), len(incs), len(unitViews), time.Since(began).Round(time.Millisecond))
}

const crashCameras = 8

func crashPlace(r *rand.Rand) [2]float64 {
	return [2]float64{crashMinLat + r.Float64()*(crashMaxLat-crashMinLat), crashMinLng + r.Float64()*(crashMaxLng-crashMinLng)}
}

// crashCompare fails unless two servers show the same incidents, units and cameras.
func crashCompare(t *testing.T, restored, replayed *server, when string) {
	t.Helper()
	for _, path := range []string{"/api/v1/incidents?status=all", "/api/v1/units", "/api/v1/cameras"} {
		a, b := crashGet(t, restored, path), crashGet(t, replayed, path)
		if !bytes.Equal(a, b) {
			crashDiff(t, path+" "+when, a, b)
		}
	}
}

// crashLockstep sends the same requests to both servers, one at a time, and fails
// unless they answer alike.
func crashLockstep(t *testing.T, a, b *server, r *rand.Rand, units []string) {
	t.Helper()
	var incs []crashIncident
	if err := json.Unmarshal(crashGet(t, a, "/api/v1/incidents?status=open"), &incs); err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(time.Minute) // ahead of both servers' clocks, within what they accept
	same := func(method, path, token, body string) map[string]any {
		t.Helper()
		ca, ma := a.do(method, path, token, body)
		cb, mb := b.do(method, path, token, body)
		ja, _ := json.Marshal(ma)
		jb, _ := json.Marshal(mb)
		if ca != cb || !bytes.Equal(ja, jb) {
			t.Errorf("%s %s %s answered\nrestored %d %s\nreplayed %d %s", method, path, body, ca, ja, cb, jb)
		}
		return ma
	}
	// First fixes at that time, so that the commands, which carry the time the server
	// took them, never move the engine clock.
	var fixes strings.Builder
	for _, u := range units {
		p := crashPlace(r)
		fmt.Fprintf(&fixes, `{"unit":%q,"t":%q,"lat":%.6f,"lng":%.6f}`+"\n", u, at.UTC().Format("2006-01-02T15:04:05.000Z07:00"), p[0], p[1])
	}
	same("POST", "/api/v1/fixes", tokIngest, fixes.String())
	for n := range 40 {
		at = at.Add(time.Duration(200+r.IntN(2000)) * time.Millisecond)
		stamp := at.UTC().Format("2006-01-02T15:04:05.000Z07:00")
		switch op := r.IntN(10); {
		case op < 3:
			var fixes strings.Builder
			for _, i := range r.Perm(len(units))[:10] {
				p := crashPlace(r)
				fmt.Fprintf(&fixes, `{"unit":%q,"t":%q,"lat":%.6f,"lng":%.6f,"speed":%.1f}`+"\n", units[i], stamp, p[0], p[1], r.Float64()*15)
			}
			same("POST", "/api/v1/fixes", tokIngest, fixes.String())
		case op < 6:
			p := crashPlace(r)
			if len(incs) > 0 && r.IntN(2) == 0 { // near an open incident: it may join it
				var near struct{ Lat, Lng float64 }
				_ = json.Unmarshal(crashGet(t, a, "/api/v1/incidents/"+incs[r.IntN(len(incs))].ID), &near)
				p = [2]float64{near.Lat + 0.0005, near.Lng - 0.0005}
			}
			same("POST", "/api/v1/alerts", tokIngest, fmt.Sprintf(`{"id":"110-LOCKSTEP-%d","t":%q,"lat":%.6f,"lng":%.6f,"category":"criminal","priority":%d}`,
				n, stamp, p[0], p[1], 1+r.IntN(4)))
		case op < 7:
			same("POST", "/api/v1/camera-events", tokIngest, fmt.Sprintf(`{"id":"CE-LOCKSTEP-%d","camera":"CAM-%d","t":%q,"type":"fight","confidence":0.9}`,
				n, r.IntN(crashCameras), stamp))
		case len(incs) > 0:
			inc := incs[r.IntN(len(incs))].ID
			unit := units[r.IntN(len(units))]
			switch r.IntN(4) {
			case 0:
				same("POST", "/api/v1/incidents/"+inc+"/assign", tokOperator, fmt.Sprintf(`{"unit":%q}`, unit))
			case 1:
				same("POST", "/api/v1/incidents/"+inc+"/release", tokOperator, fmt.Sprintf(`{"unit":%q}`, unit))
			case 2:
				same("POST", "/api/v1/units/"+unit+"/status", tokOperator, fmt.Sprintf(`{"status":"onscene","incident":%q}`, inc))
			default:
				same("POST", "/api/v1/incidents/"+inc+"/close", tokOperator, `{"disposition":"lockstep"}`)
			}
		}
	}
	// Last an alert: answered once applied, so both have applied everything before it.
	same("POST", "/api/v1/alerts", tokIngest, fmt.Sprintf(`{"id":"110-LOCKSTEP-END","t":%q,"lat":24.5,"lng":118.1,"category":"help","priority":4}`,
		at.UTC().Format("2006-01-02T15:04:05.000Z07:00")))
}

// crashSnapshot reads the snapshot a server wrote into dir.
func crashSnapshot(t *testing.T, dir string) (sf struct {
	Seq    uint64          `json:"seq"`
	Engine json.RawMessage `json:"engine"`
}) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "snapshot.json"))
	if err == nil {
		err = json.Unmarshal(b, &sf)
	}
	if err != nil {
		t.Fatalf("snapshot in %s: %v", dir, err)
	}
	return sf
}

// crashFixes posts NDJSON batches of fixes for random units moving about.
func crashFixes(t *testing.T, c *crashClient, r *rand.Rand, deadline time.Time, led *crashLedger, units []string, pos [][2]float64) {
	for n := 0; n < 400 && c.ctx.Err() == nil && time.Now().Before(deadline); n++ {
		var b strings.Builder
		sent := map[string]time.Time{}
		for _, i := range r.Perm(len(units))[:5+r.IntN(len(units)-5)] {
			pos[i][0] = min(max(pos[i][0]+(r.Float64()-0.5)*0.002, crashMinLat), crashMaxLat)
			pos[i][1] = min(max(pos[i][1]+(r.Float64()-0.5)*0.002, crashMinLng), crashMaxLng)
			ms := time.Now().UnixMilli()
			fmt.Fprintf(&b, `{"unit":%q,"t":%d,"lat":%.6f,"lng":%.6f,"speed":%.1f,"heading":%d,"accuracy":%d}`+"\n",
				units[i], ms, pos[i][0], pos[i][1], r.Float64()*20, r.IntN(360), 3+r.IntN(30))
			sent[units[i]] = time.UnixMilli(ms)
		}
		code, body := c.send("POST", "/api/v1/fixes", tokIngest, b.String())
		led.count("fixes", code)
		if code == 202 {
			var ans struct {
				Accepted int   `json:"accepted"`
				Rejected []any `json:"rejected"`
			}
			if err := json.Unmarshal(body, &ans); err != nil || ans.Accepted != len(sent) || len(ans.Rejected) != 0 {
				t.Errorf("fixes answered %s for %d fixes", body, len(sent))
			}
			led.mu.Lock()
			for u, ft := range sent {
				if ft.After(led.fixT[u]) {
					led.fixT[u] = ft
				}
			}
			led.mu.Unlock()
		}
		crashPause(c, 20*time.Millisecond+time.Duration(r.IntN(60))*time.Millisecond)
	}
}

// crashAlerts posts new alerts, some near earlier ones (so they join their incident),
// and retries earlier ones, acknowledged or not.
func crashAlerts(t *testing.T, c *crashClient, r *rand.Rand, deadline time.Time, led *crashLedger, round int) {
	cats := []string{"criminal", "public_order", "traffic", "fire", "dispute", "help", "other"}
	for n := 0; n < 400 && c.ctx.Err() == nil && time.Now().Before(deadline); n++ {
		if r.IntN(4) == 0 {
			crashCameraEvent(t, c, r, led, round, n)
			crashPause(c, 10*time.Millisecond+time.Duration(r.IntN(60))*time.Millisecond)
			continue
		}
		led.mu.Lock()
		var id, body string
		if k := len(led.alertIDs); k > 0 && r.IntN(5) == 0 {
			id = led.alertIDs[r.IntN(k)]
			body = led.alertBody[id]
		} else {
			lat := crashMinLat + r.Float64()*(crashMaxLat-crashMinLat)
			lng := crashMinLng + r.Float64()*(crashMaxLng-crashMinLng)
			cat := cats[r.IntN(len(cats))]
			if k := len(led.alertIDs); k > 0 && r.IntN(3) == 0 {
				var near struct {
					Lat, Lng float64
					Category string
				}
				_ = json.Unmarshal([]byte(led.alertBody[led.alertIDs[k-1-r.IntN(min(k, 10))]]), &near)
				lat, lng, cat = near.Lat+(r.Float64()-0.5)*0.001, near.Lng+(r.Float64()-0.5)*0.001, near.Category
			}
			id = fmt.Sprintf("110-R%02d-%04d", round, n)
			body = fmt.Sprintf(`{"id":%q,"t":%q,"lat":%.6f,"lng":%.6f,"address":"路 %d 号","category":%q,"priority":%d,"caller":"138****%04d","text":"crash test %d"}`,
				id, time.Now().UTC().Format("2006-01-02T15:04:05.000Z07:00"), lat, lng, r.IntN(999), cat, 1+r.IntN(4), r.IntN(10000), n)
			led.alertIDs = append(led.alertIDs, id)
			led.alertBody[id] = body
		}
		led.mu.Unlock()

		code, raw := c.send("POST", "/api/v1/alerts", tokIngest, body)
		led.count("alert", code)
		if code == 200 || code == 201 {
			var ans struct {
				Alert     string `json:"alert"`
				Incident  string `json:"incident"`
				Duplicate bool   `json:"duplicate"`
			}
			if err := json.Unmarshal(raw, &ans); err != nil || ans.Alert != id || !strings.HasPrefix(ans.Incident, "INC-") {
				t.Errorf("alert %s answered %d %s", id, code, raw)
				continue
			}
			led.mu.Lock()
			if prev, ok := led.alertInc[id]; ok && (prev != ans.Incident || code != 200) {
				t.Errorf("alert %s acknowledged with %s, its retry answered %d %s", id, prev, code, raw)
			}
			led.alertInc[id] = ans.Incident
			if !slices.Contains(led.incidents, ans.Incident) {
				led.incidents = append(led.incidents, ans.Incident)
			}
			led.mu.Unlock()
		} else if code != 0 && code != 503 {
			t.Errorf("alert %s answered %d %s", id, code, raw)
		}
		crashPause(c, 10*time.Millisecond+time.Duration(r.IntN(60))*time.Millisecond)
	}
}

// crashCameraEvent posts a new camera event or retries an earlier one.
func crashCameraEvent(t *testing.T, c *crashClient, r *rand.Rand, led *crashLedger, round, n int) {
	types := []string{"intrusion", "tripwire", "loitering", "crowd", "fight", "fire", "face_match", "plate_match", "other"}
	led.mu.Lock()
	var id, body string
	if k := len(led.camIDs); k > 0 && r.IntN(5) == 0 {
		id = led.camIDs[r.IntN(k)]
		body = led.camBody[id]
	} else {
		id = fmt.Sprintf("CE-R%02d-%04d", round, n)
		body = fmt.Sprintf(`{"id":%q,"camera":"CAM-%d","t":%q,"type":%q,"confidence":%.2f,"snapshot":"https://cam.example/%s.jpg"}`,
			id, r.IntN(crashCameras), time.Now().UTC().Format("2006-01-02T15:04:05.000Z07:00"), types[r.IntN(len(types))], 0.5+r.Float64()/2, id)
		led.camIDs = append(led.camIDs, id)
		led.camBody[id] = body
	}
	led.mu.Unlock()
	code, raw := c.send("POST", "/api/v1/camera-events", tokIngest, body)
	led.count("camera_event", code)
	switch code {
	case 202:
		var ans struct {
			Event    string  `json:"event"`
			Incident *string `json:"incident"`
		}
		if err := json.Unmarshal(raw, &ans); err != nil || ans.Event != id {
			t.Errorf("camera event %s answered %s", id, raw)
			return
		}
		inc := ""
		if ans.Incident != nil {
			inc = *ans.Incident
		}
		led.mu.Lock()
		if prev, ok := led.camInc[id]; ok && prev != inc {
			t.Errorf("camera event %s acknowledged with incident %q, its retry answered %s", id, prev, raw)
		}
		led.camInc[id] = inc
		if inc != "" && !slices.Contains(led.incidents, inc) {
			led.incidents = append(led.incidents, inc)
		}
		led.mu.Unlock()
	case 0, 503:
	default:
		t.Errorf("camera event %s answered %d %s", id, code, raw)
	}
}

// crashCommands gives operator commands on the incidents the alerts opened and changes
// units' status.
func crashCommands(t *testing.T, c *crashClient, r *rand.Rand, deadline time.Time, led *crashLedger, units []string, round int) {
	for n := 0; n < 400 && c.ctx.Err() == nil && time.Now().Before(deadline); n++ {
		inc, unit := led.incident(r), units[r.IntN(len(units))]
		var what, path, body string
		switch op := r.IntN(20); {
		case inc == "" || op >= 13:
			// Where the unit is on, if anywhere, for a status report about it.
			code, raw := c.send("GET", "/api/v1/units/"+unit, tokOperator, "")
			var u struct {
				Incident string `json:"incident"`
			}
			if code != 200 || json.Unmarshal(raw, &u) != nil {
				crashPause(c, 20*time.Millisecond)
				continue
			}
			status := []string{"enroute", "onscene", "onscene", "available", "available", "busy", "offduty"}[r.IntN(7)]
			what, path = "status", "/api/v1/units/"+unit+"/status"
			body = fmt.Sprintf(`{"status":%q}`, status)
			if status == "onscene" && u.Incident != "" {
				body = fmt.Sprintf(`{"status":%q,"incident":%q}`, status, u.Incident)
			}
		case op < 7:
			what, path = "assign", "/api/v1/incidents/"+inc+"/assign"
			body = fmt.Sprintf(`{"unit":%q}`, unit)
			if tier := r.IntN(4); tier > 0 {
				body = fmt.Sprintf(`{"unit":%q,"tier":%d}`, unit, tier)
			}
		case op < 11:
			// Release a unit that is on an incident, mostly.
			code, raw := c.send("GET", "/api/v1/units/"+unit, tokOperator, "")
			var u struct {
				Incident string `json:"incident"`
			}
			if code == 200 && json.Unmarshal(raw, &u) == nil && u.Incident != "" && r.IntN(4) > 0 {
				inc = u.Incident
			}
			what, path, body = "release", "/api/v1/incidents/"+inc+"/release", fmt.Sprintf(`{"unit":%q}`, unit)
		default:
			what, path, body = "close", "/api/v1/incidents/"+inc+"/close", fmt.Sprintf(`{"disposition":"handled %d.%d"}`, round, n)
		}
		code, raw := c.send("POST", path, tokOperator, body)
		led.count(what, code)
		switch {
		case code == 200 && what != "status":
			var v crashIncident
			if err := json.Unmarshal(raw, &v); err != nil || v.ID != inc {
				t.Errorf("%s %s answered %s", path, body, raw)
				break
			}
			led.mu.Lock()
			led.views = append(led.views, v)
			if what == "close" {
				if v.Status != "closed" {
					t.Errorf("close of %s answered %s", inc, raw)
				}
				led.closed[inc] = true
			}
			led.mu.Unlock()
		case code == 200, code == 0, code == 503, code == 404, code == 409:
		case code == 400 && what == "assign": // a tier the incident's plan has not
		default:
			t.Errorf("%s %s answered %d %s", path, body, code, raw)
		}
		crashPause(c, 10*time.Millisecond+time.Duration(r.IntN(50))*time.Millisecond)
	}
}

// crashPause waits d or until the round ends.
func crashPause(c *crashClient, d time.Duration) {
	select {
	case <-c.ctx.Done():
	case <-time.After(d):
	}
}

// crashGet reads a JSON document as commandd sends it.
func crashGet(t *testing.T, s *server, path string) []byte {
	t.Helper()
	req, _ := http.NewRequest("GET", s.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+tokOperator)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %v %s", path, resp.StatusCode, err, b)
	}
	return b
}

// crashDiff reports how the restored state differs from the replayed one.
func crashDiff(t *testing.T, path string, restored, replayed []byte) {
	t.Helper()
	var a, b []json.RawMessage
	if json.Unmarshal(restored, &a) != nil || json.Unmarshal(replayed, &b) != nil {
		t.Errorf("GET %s differs:\nrestored %s\nreplayed %s", path, restored, replayed)
		return
	}
	shown := 0
	for i := range max(len(a), len(b)) {
		var x, y json.RawMessage
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if !bytes.Equal(x, y) && shown < 3 {
			shown++
			t.Errorf("GET %s item %d differs:\nrestored %s\nreplayed %s", path, i, x, y)
		}
	}
	t.Errorf("GET %s: restored from snapshot and log (%d items) differs from a replay of the log (%d items)", path, len(a), len(b))
}
