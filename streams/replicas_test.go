package streams

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
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

	ports := []int{freePort(t), freePort(t), freePort(t)}
	var routes []string
	for _, p := range ports {
		routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", p))
	}
	var nodes []*server.Server
	for i, p := range ports {
		nodes = append(nodes, startNATS(t, fmt.Sprintf("n%d", i+1), p, routes))
	}
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
