package streams

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"commandd/dispatch"
)

// freePort returns a loopback port nothing listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startNATS runs a real NATS server with JetStream on loopback: alone, or, with
// cluster ports, one node of a JetStream cluster routed to the others.
func startNATS(t *testing.T, name string, clusterPort int, routes []string) *server.Server {
	t.Helper()
	opts := &server.Options{ServerName: name, Host: "127.0.0.1", Port: -1, JetStream: true, NoLog: true, NoSigs: true,
		StoreDir: filepath.Join(t.TempDir(), name), MaxPayload: MaxMessage}
	if clusterPort != 0 {
		opts.Cluster = server.ClusterOpts{Name: "commandd-test", Host: "127.0.0.1", Port: clusterPort}
		opts.Routes = server.RoutesFromStr(strings.Join(routes, ","))
	}
	s, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatalf("nats %s not ready", name)
	}
	t.Cleanup(s.Shutdown)
	return s
}

// openLogEventually opens the log, retrying while a cluster is still forming (its
// JetStream has no meta leader, or too few peers, for a few seconds after start).
func openLogEventually(t *testing.T, cfg LogConfig) *Log {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		l, err := OpenLog(ctx, cfg)
		cancel()
		if err == nil {
			return l
		}
		if time.Now().After(deadline) {
			t.Fatalf("open log on %s: %v", cfg.URL, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// TestLogReplicas: on an external JetStream cluster the region's stream has three
// replicas, a process that opens it asking for fewer does not lower them, and with
// one server of three gone an append is still acknowledged and read back. A single
// server that is not clustered keeps the one replica it can.
func TestLogReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-node NATS cluster")
	}
	alone := startNATS(t, "alone", 0, nil)
	l := openLogEventually(t, LogConfig{URL: alone.ClientURL(), Region: "single"})
	if l.Replicas() != 1 {
		t.Errorf("single server: %d replicas, want 1", l.Replicas())
	}
	l.Close()
	l = openLogEventually(t, LogConfig{URL: alone.ClientURL(), Region: "single"}) // and again, on the stream it has
	if l.Replicas() != 1 {
		t.Errorf("single server, reopened: %d replicas, want 1", l.Replicas())
	}
	l.Close()

	nodes := natsCluster(t)
	l = openLogEventually(t, LogConfig{URL: nodes[0].ClientURL(), Region: "r3"})
	if l.Replicas() != 3 {
		t.Fatalf("cluster: %d replicas, want 3", l.Replicas())
	}
	ctx := context.Background()
	t0 := time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)
	if _, err := l.Append(ctx, "", &dispatch.Tick{T: t0}); err != nil {
		t.Fatal(err)
	}
	l.Close()

	again := openLogEventually(t, LogConfig{URL: nodes[1].ClientURL(), Region: "r3", Replicas: 1})
	if again.Replicas() != 3 {
		t.Errorf("reopened asking for 1: %d replicas, want the 3 it has", again.Replicas())
	}
	s, err := again.js.Stream(ctx, again.Name())
	if err != nil {
		t.Fatal(err)
	}
	if got := s.CachedInfo().Config.Replicas; got != 3 {
		t.Errorf("stream config: %d replicas, want 3", got)
	}
	again.Close()

	nodes[0].Shutdown()
	survivor := openLogEventually(t, LogConfig{URL: nodes[2].ClientURL(), Region: "r3"})
	defer survivor.Close()
	var seq uint64
	deadline := time.Now().Add(30 * time.Second)
	for { // the stream may be electing a new leader among the two left
		actx, cancel := context.WithTimeout(ctx, 3*time.Second)
		seq, err = survivor.Append(actx, "", &dispatch.Tick{T: t0.Add(time.Second)})
		cancel()
		if err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatalf("append with one node of three down: %v", err)
	}
	var got []uint64
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_ = survivor.Read(rctx, 1, func(s uint64, _ time.Time, events []dispatch.Event) error {
		got = append(got, s)
		if s == seq {
			cancel()
		}
		return nil
	})
	if len(got) != 2 || got[1] != seq {
		t.Errorf("read back %v, want both ticks (the second at %d)", got, seq)
	}
}

// natsCluster starts three real NATS servers routed into one JetStream cluster and
// returns them.
func natsCluster(t *testing.T) []*server.Server {
	t.Helper()
	ports := []int{freePort(t), freePort(t), freePort(t)}
	var routes []string
	for _, p := range ports {
		routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", p))
	}
	var nodes []*server.Server
	for i, p := range ports {
		nodes = append(nodes, startNATS(t, fmt.Sprintf("n%d", i+1), p, routes))
	}
	return nodes
}

// TestLeaseAndFencing: on a three-node cluster, two nodes contend for a region. One
// takes the lease, the other cannot while it is renewed; when the leader stops
// renewing (a process paused past the TTL) the other takes it, and the paused one
// can neither renew nor append as leader once the new one has written: exactly one
// leader's writes reach the log at any time.
func TestLeaseAndFencing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-node NATS cluster")
	}
	nodes := natsCluster(t)
	a := openLogEventually(t, LogConfig{URL: nodes[0].ClientURL(), Region: "lead"})
	defer a.Close()
	b := openLogEventually(t, LogConfig{URL: nodes[1].ClientURL(), Region: "lead"})
	defer b.Close()
	ctx := context.Background()
	const ttl = 2 * time.Second
	la, err := a.Lease(ctx, "node-a", ttl)
	if err != nil {
		t.Fatal(err)
	}
	lb, err := b.Lease(ctx, "node-b", ttl)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := la.Acquire(ctx); !ok || err != nil {
		t.Fatalf("a acquires a free lease: %v %v", ok, err)
	}
	t0 := time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)
	lastA, err := a.LeadLast(ctx)
	if err != nil || lastA != 0 {
		t.Fatalf("lead subject of a new log: %d %v", lastA, err)
	}
	if lastA, err = a.AppendLead(ctx, lastA, &dispatch.Tick{T: t0}); err != nil {
		t.Fatalf("leader's first append: %v", err)
	}
	// Held and renewed for longer than its TTL: b never gets it.
	for i := range 6 {
		if ok, err := lb.Acquire(ctx); ok || err != nil {
			t.Fatalf("b acquired a held lease (round %d): %v %v", i, ok, err)
		}
		if err := la.Renew(ctx); err != nil {
			t.Fatalf("a renews: %v", err)
		}
		time.Sleep(ttl / 4)
	}
	if h, _ := lb.Holder(ctx); h != "node-a" {
		t.Errorf("holder %q, want node-a", h)
	}
	// a pauses: its lease runs out and b takes it.
	deadline := time.Now().Add(ttl + 10*time.Second)
	for {
		ok, err := lb.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("b never took the lease a stopped renewing")
		}
		time.Sleep(100 * time.Millisecond)
	}
	lastB, err := b.LeadLast(ctx)
	if err != nil || lastB != lastA {
		t.Fatalf("b fences from %d (%v), want a's last %d", lastB, err, lastA)
	}
	if lastB, err = b.AppendLead(ctx, lastB, &dispatch.Tick{T: t0.Add(time.Minute)}); err != nil {
		t.Fatalf("new leader's first append: %v", err)
	}
	// a resumes, not knowing: both its renewal and its append are refused.
	if err := la.Renew(ctx); err == nil {
		t.Error("the deposed leader renewed a lease another holds")
	}
	if _, err := a.AppendLead(ctx, lastA, &dispatch.Tick{T: t0.Add(2 * time.Minute)}); !errors.Is(err, ErrFenced) {
		t.Errorf("the deposed leader's append: %v, want ErrFenced", err)
	}
	if _, err := b.AppendLead(ctx, lastB, &dispatch.Tick{T: t0.Add(3 * time.Minute)}); err != nil {
		t.Errorf("the leader's next append: %v", err)
	}
	var ticks []time.Time
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	last, _ := b.Last(ctx)
	_ = b.Read(rctx, 1, func(s uint64, _ time.Time, events []dispatch.Event) error {
		for _, ev := range events {
			if tk, ok := ev.(*dispatch.Tick); ok {
				ticks = append(ticks, tk.T)
			}
		}
		if s == last {
			cancel()
		}
		return nil
	})
	want := []time.Time{t0, t0.Add(time.Minute), t0.Add(3 * time.Minute)}
	if !slices.Equal(ticks, want) {
		t.Errorf("the log's leader ticks %v, want %v (the deposed leader's never)", ticks, want)
	}
}
