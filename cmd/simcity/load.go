package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"commandd/fixtures/city"
)

// The load modes measure commandd from outside, over loopback, as the benchmarks of
// docs/benchmarks.md quote them: fixes accepted per second, alert → assignment latency
// under a background of fixes, and fan-out latency and memory per client.

// area is where load units move: Huli district and around, WGS-84.
var area = struct{ minLat, maxLat, minLng, maxLng float64 }{24.45, 24.56, 118.07, 118.21}

// loadUnits makes n units named prefix+number, spread over the area by seed.
func loadUnits(prefix string, n int, force, mode string, seed uint64) []city.Unit {
	r := rand.New(rand.NewPCG(seed, 1))
	out := make([]city.Unit, n)
	for i := range out {
		out[i] = city.Unit{ID: fmt.Sprintf("%s%06d", prefix, i), Force: force, Mode: mode,
			Lat: area.minLat + r.Float64()*(area.maxLat-area.minLat), Lng: area.minLng + r.Float64()*(area.maxLng-area.minLng)}
	}
	return out
}

// fixStream sends fixes of its units in batches, as fast as it can or at a rate, over
// HTTP NDJSON or as binary WebSocket messages on the ingest view.
type fixStream struct {
	units   []city.Unit
	batch   int     // fixes per request
	senders int     // concurrent requests (HTTP) or sockets (WebSocket)
	rate    float64 // fixes per second in all; 0: as fast as the server takes them
	ws      bool

	sent     atomic.Int64 // fixes acknowledged by the server
	rejected atomic.Int64
}

// body is one prepared request: a batch of fixes whose time fields are rewritten in
// place before each send, so the same bytes serve every round without the load
// generator formatting JSON while it measures.
type body struct {
	b     []byte
	times []int // offsets of the 13-digit Unix-millisecond times
}

func (b *body) stamp(ms int64) {
	var d [13]byte
	strconv.AppendInt(d[:0], ms, 10)
	for _, at := range b.times {
		copy(b.b[at:at+13], d[:])
	}
}

// bodies prepares, for each sender, its batches: every unit once per round, in four
// positions a little apart that rounds cycle through (so units move, and some change
// cell). A round sends every group of a sender once, so two fixes of a unit are a
// round apart, and each carries the time it was sent.
func (f *fixStream) bodies() [][]*body {
	groups := make([][][]city.Unit, f.senders)
	for lo, n := 0, 0; lo < len(f.units); lo, n = lo+f.batch, n+1 {
		groups[n%f.senders] = append(groups[n%f.senders], f.units[lo:min(lo+f.batch, len(f.units))])
	}
	r := rand.New(rand.NewPCG(7, 7))
	out := make([][]*body, f.senders)
	for i := range groups {
		for v := range 4 {
			for _, group := range groups[i] {
				b := &body{}
				for _, u := range group {
					b.b = fmt.Appendf(b.b, `{"unit":%q,"t":`, u.ID)
					b.times = append(b.times, len(b.b))
					b.b = fmt.Appendf(b.b, `0000000000000,"lat":%.6f,"lng":%.6f,"speed":%.1f,"heading":%d}`+"\n",
						u.Lat+float64(v)*0.0008, u.Lng+float64(v)*0.0006, r.Float64()*15, r.IntN(360))
				}
				out[i] = append(out[i], b)
			}
		}
	}
	return out
}

// run sends until ctx ends.
func (f *fixStream) run(ctx context.Context, s *city.Server) error {
	bodies := f.bodies()
	var wg sync.WaitGroup
	errs := make(chan error, f.senders)
	start := time.Now()
	for i := range f.senders {
		mine := bodies[i]
		if len(mine) == 0 {
			continue
		}
		wg.Go(func() {
			var send func(*body) (int, int, error)
			if f.ws {
				conn, err := s.Dial(ctx, "ingest", map[string]string{"type": "subscribe", "view": "ingest"})
				if err != nil {
					errs <- err
					return
				}
				defer conn.Close()
				if _, _, err := conn.ReadMessage(); err != nil { // the (empty) snapshot
					errs <- err
					return
				}
				send = func(b *body) (int, int, error) { return sendWS(conn, b.b) }
			} else {
				send = func(b *body) (int, int, error) { return sendHTTP(ctx, s, b.b) }
			}
			// With a rate, each sender keeps to its share of it.
			var every time.Duration
			if f.rate > 0 {
				every = time.Duration(float64(time.Second) * float64(len(mine[0].times)*f.senders) / f.rate)
			}
			for k := 0; ctx.Err() == nil; k++ {
				b := mine[k%len(mine)]
				b.stamp(time.Now().UnixMilli())
				ok, bad, err := send(b)
				if err != nil {
					if ctx.Err() == nil {
						errs <- err
					}
					return
				}
				f.sent.Add(int64(ok))
				f.rejected.Add(int64(bad))
				if every > 0 {
					next := start.Add(time.Duration(k+1) * every)
					select {
					case <-ctx.Done():
					case <-time.After(time.Until(next)):
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

type fixesAnswer struct {
	Accepted int               `json:"accepted"`
	Rejected []json.RawMessage `json:"rejected"`
}

func sendHTTP(ctx context.Context, s *city.Server, b []byte) (int, int, error) {
	var ans fixesAnswer
	if err := s.Call(ctx, "ingest", "POST", "/api/v1/fixes", b, 202, &ans); err != nil {
		return 0, 0, err
	}
	return ans.Accepted, len(ans.Rejected), nil
}

func sendWS(conn *websocket.Conn, b []byte) (int, int, error) {
	if err := conn.WriteMessage(websocket.BinaryMessage, b); err != nil {
		return 0, 0, err
	}
	for {
		_, msg, err := conn.ReadMessage()
		if err != nil {
			return 0, 0, err
		}
		var f struct {
			Type string `json:"type"`
			fixesAnswer
			Error json.RawMessage `json:"error"`
		}
		if err := json.Unmarshal(msg, &f); err != nil {
			return 0, 0, err
		}
		switch f.Type {
		case "ack":
			return f.Accepted, len(f.Rejected), nil
		case "error":
			return 0, 0, fmt.Errorf("batch refused: %s", f.Error)
		}
	}
}

// latencies collects durations and reports percentiles.
type latencies struct {
	mu    sync.Mutex
	d     []time.Duration
	worst []sample // the slowest few, with when they began, to line them up with server logs
}

type sample struct {
	d  time.Duration
	at time.Time
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.d = append(l.d, d)
	l.worst = append(l.worst, sample{d, time.Now().Add(-d)})
	slices.SortFunc(l.worst, func(a, b sample) int { return cmp.Compare(b.d, a.d) })
	l.worst = l.worst[:min(len(l.worst), 3)]
}

// addAll adds many samples at once, without their times.
func (l *latencies) addAll(ds []time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, ds...)
	l.mu.Unlock()
}

// slowest lists the slowest samples as "duration at UTC time".
func (l *latencies) slowest() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, w := range l.worst {
		out = append(out, fmt.Sprintf("%.1fms at %s", float64(w.d)/1e6, w.at.UTC().Format("15:04:05.000")))
	}
	return out
}

// summary is p50, p90, p99 and max in milliseconds, and the count.
func (l *latencies) summary() map[string]float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	d := slices.Clone(l.d)
	slices.Sort(d)
	at := func(q float64) float64 {
		if len(d) == 0 {
			return math.NaN()
		}
		return float64(d[min(len(d)-1, int(q*float64(len(d))))]) / 1e6
	}
	return map[string]float64{"n": float64(len(d)), "p50_ms": at(0.50), "p90_ms": at(0.90), "p99_ms": at(0.99), "max_ms": at(1)}
}

// ---- the three measurements ----

// loadFixes: fixes accepted per second, and how fast the engine applied them.
func loadFixes(ctx context.Context, s *city.Server, o options) (map[string]any, error) {
	units := loadUnits("L", o.units, "patrol", "foot", 1)
	if err := s.Register(ctx, units, 32); err != nil {
		return nil, err
	}
	f := &fixStream{units: units, batch: o.batch, senders: o.senders, ws: o.via == "ws"}
	runCtx, cancel := context.WithTimeout(ctx, o.duration)
	defer cancel()
	start := time.Now()
	if err := f.run(runCtx, s); err != nil {
		return nil, err
	}
	accepted := time.Since(start)
	// A command is answered once the engine has applied everything before it.
	if err := s.Call(ctx, "operator", "POST", "/api/v1/units/"+units[0].ID+"/status", []byte(`{"status":"available"}`), 200, nil); err != nil {
		return nil, err
	}
	applied := time.Since(start)
	n := float64(f.sent.Load())
	return map[string]any{"mode": "fixes", "via": o.via, "units": o.units, "batch": o.batch, "senders": o.senders,
		"fixes": n, "rejected": f.rejected.Load(), "seconds": accepted.Seconds(),
		"accepted_per_s": math.Round(n / accepted.Seconds()), "applied_per_s": math.Round(n / applied.Seconds())}, nil
}

// loadAlerts: alert posted → its acknowledgement, and → the assignment frame read on
// the nearest unit's own socket, with fixes streaming in the background.
func loadAlerts(ctx context.Context, s *city.Server, o options) (map[string]any, error) {
	background := loadUnits("L", o.units, "patrol", "foot", 1)
	responders := loadUnits("R", o.responders, "police", "car", 2)
	if err := s.Register(ctx, append(slices.Clone(background), responders...), 32); err != nil {
		return nil, err
	}
	// Each responder's terminal: the time of every assignment frame it reads.
	got := make([]chan time.Time, len(responders))
	for i, u := range responders {
		conn, err := s.Dial(ctx, "operator", map[string]string{"type": "subscribe", "view": "unit", "unit": u.ID})
		if err != nil {
			return nil, err
		}
		defer conn.Close()
		got[i] = make(chan time.Time, 16)
		go func() {
			for {
				_, msg, err := conn.ReadMessage()
				if err != nil {
					return
				}
				at := time.Now()
				var f struct{ Type, Unit string }
				if json.Unmarshal(msg, &f) == nil && f.Type == "assignment" && f.Unit == u.ID {
					got[i] <- at
				}
			}
		}()
	}
	bgCtx, stopBG := context.WithCancel(ctx)
	defer stopBG()
	bg := &fixStream{units: background, batch: max(1, int(o.fixRate/100)), senders: 2, rate: o.fixRate}
	bgErr := make(chan error, 1)
	go func() { bgErr <- bg.run(bgCtx, s) }()
	time.Sleep(time.Second) // let the background settle

	var ack, assign latencies
	missed := 0
	run := fmt.Sprintf("%x", time.Now().UnixNano())
	deadline := time.Now().Add(o.duration)
	every := time.Duration(float64(time.Second) / o.alertRate)
	for i := 0; time.Now().Before(deadline); i++ {
		next := time.Now().Add(every)
		k := i % len(responders)
		u := responders[k]
		for len(got[k]) > 0 {
			<-got[k]
		}
		body := fmt.Sprintf(`{"id":"LOAD-%s-%d","lat":%.6f,"lng":%.6f,"category":"criminal","priority":2}`, run, i, u.Lat, u.Lng)
		var ans struct{ Incident string }
		posted := time.Now()
		if err := s.Call(ctx, "operator", "POST", "/api/v1/alerts", []byte(body), 201, &ans); err != nil {
			return nil, err
		}
		ack.add(time.Since(posted))
		select {
		case at := <-got[k]:
			assign.add(at.Sub(posted))
		case <-time.After(2 * time.Second):
			missed++
		}
		if err := s.Call(ctx, "operator", "POST", "/api/v1/incidents/"+ans.Incident+"/close", []byte(`{"disposition":"load test"}`), 200, nil); err != nil {
			return nil, err
		}
		time.Sleep(time.Until(next))
	}
	stopBG()
	if err := <-bgErr; err != nil {
		return nil, fmt.Errorf("background fixes: %w", err)
	}
	return map[string]any{"mode": "alerts", "units": o.units, "responders": o.responders,
		"background_fixes_per_s": math.Round(float64(bg.sent.Load()) / (o.duration + time.Second).Seconds()),
		"ack":                    ack.summary(), "assignment": assign.summary(), "assignment_missed": missed,
		"slowest_assignments": assign.slowest()}, nil
}

// loadFanout: clients on unit or wall views while units move; frame delivery latency
// (frame read − the frame's t, the time of the newest event it reflects), fix-to-client
// latency (frame read − the fix's own t, which includes waiting for the next frame),
// frames per second per client, and the server's memory per idle connection.
func loadFanout(ctx context.Context, s *city.Server, o options) (map[string]any, error) {
	n := o.units
	if o.view == "unit" {
		n = o.clients // each client watches its own unit
	}
	units := loadUnits("F", n, "patrol", "foot", 3)
	if err := s.Register(ctx, units, 32); err != nil {
		return nil, err
	}
	time.Sleep(time.Second)
	before, err := s.RSS(ctx)
	if err != nil {
		return nil, err
	}
	var frameLat, fixLat latencies
	var frames atomic.Int64
	var measuring atomic.Bool
	conns := make([]*websocket.Conn, o.clients)
	r := rand.New(rand.NewPCG(5, 5))
	var dialWG, readers sync.WaitGroup
	dialErr := make(chan error, 1)
	sem := make(chan struct{}, 64)
	for i := range conns {
		var sub map[string]any
		if o.view == "unit" {
			sub = map[string]any{"type": "subscribe", "view": "unit", "unit": units[i].ID}
		} else {
			// A wall on a quarter of the district, somewhere in it; with -boxes, on one
			// of that many boxes, as walls of one command center share a few views.
			w, h := (area.maxLng-area.minLng)/2, (area.maxLat-area.minLat)/2
			x, y := area.minLng+r.Float64()*w, area.minLat+r.Float64()*h
			if o.boxes > 0 {
				b := rand.New(rand.NewPCG(uint64(i%o.boxes), 5))
				x, y = area.minLng+b.Float64()*w, area.minLat+b.Float64()*h
			}
			sub = map[string]any{"type": "subscribe", "view": "wall", "bbox": []float64{x, y, x + w, y + h}}
		}
		sem <- struct{}{}
		dialWG.Go(func() {
			defer func() { <-sem }()
			conn, err := s.Dial(ctx, "operator", sub)
			if err != nil {
				select {
				case dialErr <- err:
				default:
				}
				return
			}
			conns[i] = conn
			readers.Go(func() { readFrames(conn, &measuring, &frames, &frameLat, &fixLat) })
		})
	}
	dialWG.Wait()
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	select {
	case err := <-dialErr:
		return nil, err
	default:
	}
	time.Sleep(2 * time.Second)
	idle, err := s.RSS(ctx)
	if err != nil {
		return nil, err
	}

	moveCtx, stop := context.WithTimeout(ctx, o.duration+time.Second)
	defer stop()
	mover := &fixStream{units: units, batch: max(1, int(o.hz*float64(len(units))/100)), senders: 2, rate: o.hz * float64(len(units))}
	moveErr := make(chan error, 1)
	go func() { moveErr <- mover.run(moveCtx, s) }()
	time.Sleep(time.Second)
	measuring.Store(true)
	time.Sleep(o.duration)
	measuring.Store(false)
	loaded, _ := s.RSS(ctx)
	stop()
	if err := <-moveErr; err != nil {
		return nil, fmt.Errorf("moving units: %w", err)
	}
	for _, c := range conns { // readers hand in their samples as they end
		c.Close()
	}
	readers.Wait()
	return map[string]any{"mode": "fanout", "view": o.view, "clients": o.clients, "units": len(units), "hz": o.hz,
		"frame_latency": frameLat.summary(), "fix_latency": fixLat.summary(),
		"frames_per_client_per_s": float64(frames.Load()) / float64(o.clients) / o.duration.Seconds(),
		"rss_before_mib":          before / (1 << 20), "rss_idle_mib": idle / (1 << 20), "rss_loaded_mib": loaded / (1 << 20),
		"rss_per_idle_conn_kib": (idle - before) / float64(o.clients) / 1024}, nil
}

// readFrames reads a client's frames; while measuring, it records each units frame.
func readFrames(conn *websocket.Conn, measuring *atomic.Bool, frames *atomic.Int64, frameLat, fixLat *latencies) {
	// The reader keeps its samples and hands them over in bunches, and reads only the
	// times it needs from a frame: the load generator shares the machine with the server.
	var mine, fixes []time.Duration
	defer func() { frameLat.addAll(mine); fixLat.addAll(fixes) }()
	typ := []byte(`{"type":"units"`)
	for {
		_, msg, err := conn.ReadMessage()
		if err != nil {
			return
		}
		at := time.Now()
		if !measuring.Load() || !bytes.HasPrefix(msg, typ) {
			continue
		}
		t, rest, ok := nextTime(msg)
		if !ok {
			continue
		}
		frames.Add(1)
		mine = append(mine, at.Sub(t))
		if u, _, ok := nextTime(rest); ok { // the first unit's fix
			fixes = append(fixes, at.Sub(u))
		}
		if len(mine) >= 1000 {
			frameLat.addAll(mine)
			fixLat.addAll(fixes)
			mine, fixes = mine[:0], fixes[:0]
		}
	}
}

// nextTime finds the next "t":"…" in b and returns the time and what follows it.
func nextTime(b []byte) (time.Time, []byte, bool) {
	key := []byte(`"t":"`)
	i := bytes.Index(b, key)
	if i < 0 {
		return time.Time{}, nil, false
	}
	b = b[i+len(key):]
	j := bytes.IndexByte(b, '"')
	if j < 0 {
		return time.Time{}, nil, false
	}
	t, err := time.Parse(time.RFC3339Nano, string(b[:j]))
	return t, b[j:], err == nil
}
