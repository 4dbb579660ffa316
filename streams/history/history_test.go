package history

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"commandd/dispatch"
	"commandd/fixtures"
	"commandd/fixtures/pgtest"
	"commandd/streams"
)

var start = time.Date(2026, 11, 30, 23, 50, 0, 0, time.UTC) // the stream crosses midnight: two days of partitions

// logged counts what a test put in the log.
type logged struct {
	messages uint64
	fixes    int
	alerts   map[string]bool
	commands int // audited events
}

// feed appends messages to the log and counts them.
func (l *logged) feed(t testing.TB, lg *streams.Log, msgs [][]dispatch.Event) {
	t.Helper()
	for _, events := range msgs {
		if _, err := lg.Append(context.Background(), "", events...); err != nil {
			t.Fatalf("append: %v", err)
		}
		l.messages++
		for _, ev := range events {
			switch e := ev.(type) {
			case *dispatch.Fix:
				l.fixes++
			case *dispatch.AlertReceived:
				l.alerts[e.ID] = true
			case *dispatch.Tick, *dispatch.CameraEventReceived:
			default:
				l.commands++
			}
		}
	}
}

// startTraffic logs the start of a small district (seed) with 24 units, and counts it.
func startTraffic(t testing.TB, lg *streams.Log, seed uint64) (*fixtures.Traffic, *logged) {
	t.Helper()
	tr := fixtures.NewTraffic(seed, start, 24)
	l := &logged{alerts: make(map[string]bool)}
	l.feed(t, lg, tr.Start())
	return tr, l
}

// seconds logs the district's next n seconds.
func (l *logged) seconds(t testing.TB, lg *streams.Log, tr *fixtures.Traffic, n int) {
	t.Helper()
	for range n {
		l.feed(t, lg, tr.Second())
	}
}

// writeAll runs a writer until the store holds everything logged, then stops it.
func writeAll(t testing.TB, s *Store, lg *streams.Log, tr *fixtures.Traffic, l *logged) {
	t.Helper()
	w, stop := runWriter(t, s, lg, tr.Config())
	defer stop()
	waitFor(t, w, l.messages, time.Minute)
}

func openLog(t testing.TB) *streams.Log {
	t.Helper()
	lg, err := streams.OpenLog(context.Background(), streams.LogConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(lg.Close)
	return lg
}

func openStore(t testing.TB, url string) *Store {
	t.Helper()
	s, err := Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// runWriter starts a writer; the returned function stops it and waits.
func runWriter(t testing.TB, s *Store, lg *streams.Log, cfg dispatch.Config) (*Writer, func()) {
	t.Helper()
	logger := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
	w := &Writer{Store: s, Log: lg, Config: cfg, Logger: logger, StateEvery: time.Minute, MaxBatch: 50, Wait: 20 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { w.Run(ctx) })
	return w, func() { cancel(); wg.Wait() }
}

func waitFor(t testing.TB, w *Writer, seq uint64, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for w.Position() < seq {
		if time.Now().After(deadline) {
			t.Fatalf("writer at %d after %s, want %d", w.Position(), within, seq)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func count(t testing.TB, s *Store, query string, args ...any) int {
	t.Helper()
	var n int
	if err := s.pool.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// checkHistory compares the store with what went into the log and with the engine
// that was fed the same messages: every row once, every incident as the engine has it.
func checkHistory(t *testing.T, s *Store, l *logged, eng *dispatch.Engine) {
	t.Helper()
	ctx := context.Background()
	if got := count(t, s, `SELECT count(*) FROM log_messages`); uint64(got) != l.messages {
		t.Errorf("log_messages: %d rows, want %d", got, l.messages)
	}
	if got := count(t, s, `SELECT count(DISTINCT seq) FROM log_messages`); uint64(got) != l.messages {
		t.Errorf("log_messages: %d distinct positions, want %d", got, l.messages)
	}
	if got := count(t, s, `SELECT count(*) FROM fixes`); got != l.fixes {
		t.Errorf("fixes: %d rows, want %d", got, l.fixes)
	}
	if got := count(t, s, `SELECT count(*) FROM (SELECT DISTINCT unit, t, seq FROM fixes) f`); got != l.fixes {
		t.Errorf("fixes: %d distinct, want %d", got, l.fixes)
	}
	if got := count(t, s, `SELECT count(*) FROM alerts`); got != len(l.alerts) {
		t.Errorf("alerts: %d rows, want %d", got, len(l.alerts))
	}
	if got := count(t, s, `SELECT count(*) FROM audit`); got != l.commands {
		t.Errorf("audit: %d rows, want %d", got, l.commands)
	}
	for id := range l.alerts {
		ans, _ := eng.Alert(id)
		if got := count(t, s, `SELECT count(*) FROM alerts WHERE id = $1 AND incident = $2`, id, ans.Incident); got != 1 {
			t.Errorf("alert %s: not recorded on incident %s", id, ans.Incident)
		}
	}
	incidents := eng.Incidents(true)
	if got := count(t, s, `SELECT count(*) FROM incidents`); got != len(incidents) {
		t.Errorf("incidents: %d rows, want %d", got, len(incidents))
	}
	assigned, met, accepted := 0, 0, 0
	for _, v := range incidents {
		want, _ := json.Marshal(v)
		var doc []byte
		var tier1 *string
		if err := s.pool.QueryRow(ctx, `SELECT doc, tier1 FROM incidents WHERE id = $1`, v.ID).Scan(&doc, &tier1); err != nil {
			t.Errorf("incident %s: %v", v.ID, err)
			continue
		}
		if !jsonEqual(t, doc, want) {
			t.Errorf("incident %s:\n got %s\nwant %s", v.ID, doc, want)
		}
		if tier1 == nil || *tier1 != v.Tiers[0].State.String() {
			t.Errorf("incident %s: tier1 %v, want %s", v.ID, tier1, v.Tiers[0].State)
		}
		for _, tier := range v.Tiers {
			for _, u := range tier.Units {
				assigned++
				if !u.Accepted.IsZero() {
					accepted++
				}
				if !u.Arrived.IsZero() && !u.Arrived.After(tier.Due.Time) {
					met++
				}
			}
		}
	}
	if got := count(t, s, `SELECT count(*) FROM assignments WHERE released IS NULL`); got != assigned {
		t.Errorf("assignments on incidents: %d, want %d", got, assigned)
	}
	if got := count(t, s, `SELECT count(*) FROM assignments WHERE met`); got != met {
		t.Errorf("assignments met: %d, want %d", got, met)
	}
	if got := count(t, s, `SELECT count(*) FROM assignments WHERE released IS NULL AND accepted IS NOT NULL`); got != accepted {
		t.Errorf("assignments accepted: %d, want %d", got, accepted)
	}
	if assigned == 0 || met == 0 || accepted == 0 {
		t.Errorf("the stream assigned %d units, %d accepted, %d on time: too quiet to test anything", assigned, accepted, met)
	}
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	ja, _ := json.Marshal(x)
	jb, _ := json.Marshal(y)
	return string(ja) == string(jb)
}

// TestWriter writes twenty minutes of a small district, stops, and writes ten more
// from where it left off (its engine rebuilt from a saved state and the archive).
func TestWriter(t *testing.T) {
	s := openStore(t, pgtest.Database(t))
	lg := openLog(t)
	tr, l := startTraffic(t, lg, 1)
	l.seconds(t, lg, tr, 20*60)
	writeAll(t, s, lg, tr, l)
	checkHistory(t, s, l, tr.Engine())
	if n := count(t, s, `SELECT count(*) FROM engine_states`); n < 15 {
		t.Errorf("%d engine states saved over 20 minutes, want one a minute", n)
	}
	if n := count(t, s, `SELECT count(*) FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'fixes'`); n != 2 {
		t.Errorf("fixes in %d day partitions, want 2", n)
	}

	l.seconds(t, lg, tr, 10*60)
	writeAll(t, s, lg, tr, l)
	checkHistory(t, s, l, tr.Engine())

	// A day over gets its track index; today's partition is left alone.
	if n, err := s.IndexDaysBefore(context.Background(), start.Add(24*time.Hour)); err != nil || n != 1 {
		t.Fatalf("IndexDaysBefore: %d days, %v; want 1", n, err)
	}
	if n := count(t, s, `SELECT count(*) FROM pg_indexes WHERE tablename LIKE 'fixes_2026%' AND indexdef LIKE '%(unit, t)%'`); n != 1 {
		t.Errorf("%d day partitions with a track index, want 1", n)
	}

	// Retention drops whole days of fixes and messages; what supervisors query stays.
	dropped, err := s.DropBefore(context.Background(), start.Add(24*time.Hour))
	if err != nil || dropped != 2 {
		t.Fatalf("DropBefore: %d partitions, %v; want 2", dropped, err)
	}
	if n := count(t, s, `SELECT count(*) FROM fixes WHERE t < $1`, start.Add(24*time.Hour).Truncate(24*time.Hour)); n != 0 {
		t.Errorf("%d fixes left from the dropped day", n)
	}
	if n := count(t, s, `SELECT count(*) FROM incidents`); n != len(tr.Engine().Incidents(true)) {
		t.Errorf("retention dropped incidents")
	}
}

// TestWriterOutage stops PostgreSQL under load (for COMMANDD_TEST_OUTAGE, default a
// minute) and starts it again: the writer catches up by itself, no row lost or doubled.
func TestWriterOutage(t *testing.T) {
	outage := time.Minute
	if d, err := time.ParseDuration(os.Getenv("COMMANDD_TEST_OUTAGE")); err == nil {
		outage = d
	}
	cluster := pgtest.StartCluster(t)
	s := openStore(t, cluster.Database())
	lg := openLog(t)
	tr, l := startTraffic(t, lg, 2)
	w, stop := runWriter(t, s, lg, tr.Config())
	defer stop()

	// The district keeps going: a simulated second every 10 ms, the whole time.
	done := make(chan struct{})
	fed := make(chan struct{})
	go func() {
		defer close(fed)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				l.feed(t, lg, tr.Second())
			}
		}
	}()
	time.Sleep(2 * time.Second)
	cluster.Stop()
	before := w.Position()
	time.Sleep(outage)
	if w.Position() != before {
		t.Errorf("position moved from %d to %d while the database was down", before, w.Position())
	}
	cluster.Start()
	time.Sleep(2 * time.Second)
	close(done)
	<-fed
	waitFor(t, w, l.messages, 2*time.Minute)
	checkHistory(t, s, l, tr.Engine())
}

// engineAt is the engine after every message up to t, read from archive: what a
// replay shows after a seek to t.
func engineAt(ctx context.Context, archive streams.Archive, cfg dispatch.Config, t time.Time) (*dispatch.Engine, error) {
	seq, state, err := archive.StateBefore(ctx, t)
	if err != nil {
		return nil, err
	}
	eng := dispatch.New(cfg)
	if state != nil {
		if eng, err = dispatch.Restore(cfg, state); err != nil {
			return nil, err
		}
	}
	err = archive.Messages(ctx, seq, func(m streams.Message) error {
		events, err := streams.DecodeEvents(m.Body)
		if err != nil {
			return err
		}
		for _, ev := range events {
			if ev.Time().After(t) {
				return errDone
			}
			eng.Apply(ev)
		}
		return nil
	})
	if err != errDone {
		return nil, err
	}
	return eng, nil
}

var errDone = errors.New("done")

// TestArchive: an engine rebuilt for a moment from the store (a saved state and the
// archived messages after it) is the engine rebuilt from the whole log, for moments
// all through a stretch of time, including its very start and where the store ends
// and the log goes on. Across a configuration change (a Configure event in the log)
// too: the saved states carry the configuration in force.
func TestArchive(t *testing.T) {
	change := &dispatch.Configure{T: start.Add(15 * time.Minute), By: "admin:test",
		Config: dispatch.Config{Recommend: true, DupWindow: 3 * time.Minute, RetireClosed: 10 * time.Minute}}
	for _, tc := range []struct {
		name   string
		change *dispatch.Configure
	}{{"one configuration", nil}, {"across a configuration change", change}} {
		t.Run(tc.name, func(t *testing.T) { testArchive(t, tc.change) })
	}
}

func testArchive(t *testing.T, change *dispatch.Configure) {
	ctx := context.Background()
	s := openStore(t, pgtest.Database(t))
	lg := openLog(t)
	tr, l := startTraffic(t, lg, 4)
	if change == nil {
		l.seconds(t, lg, tr, 30*60)
	} else {
		l.seconds(t, lg, tr, 15*60)
		l.feed(t, lg, [][]dispatch.Event{{change}})
		l.seconds(t, lg, tr, 15*60)
	}
	writeAll(t, s, lg, tr, l)
	l.seconds(t, lg, tr, 5*60) // the log goes on past the store
	store, whole := s.Archive(lg), streams.LogArchive{Log: lg}
	for _, at := range []time.Duration{0, 10 * time.Second, 59 * time.Second, 7 * time.Minute, 13*time.Minute + 500*time.Millisecond,
		22 * time.Minute, 29*time.Minute + 59*time.Second, 32 * time.Minute} {
		moment := start.Add(at)
		a, err := engineAt(ctx, store, tr.Config(), moment)
		if err != nil {
			t.Fatalf("%s from the store: %v", at, err)
		}
		b, err := engineAt(ctx, whole, tr.Config(), moment)
		if err != nil {
			t.Fatalf("%s from the log: %v", at, err)
		}
		sa, _ := a.Snapshot()
		sb, _ := b.Snapshot()
		if string(sa) != string(sb) {
			t.Errorf("%s: the engine from the store differs from the engine from the log", at)
		}
		if after := change != nil && !moment.Before(change.T); a.Configured() != after || (after && !a.Config().Recommend) {
			t.Errorf("%s: configured %v (recommend %v), want the change in force from %s", at, a.Configured(), a.Config().Recommend, change.T)
		}
	}
}
