package streams

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The nodes of a cluster: each running process keeps its name, and the regions it
// serves, in a KV bucket whose keys expire when it stops renewing them; who leads each
// region is in the lease bucket.

// nodesBucket holds one key per running node.
const nodesBucket = "commandd-nodes"

// announceEvery is how often a node says it is up; its key lives three times that.
const announceEvery = 2 * time.Second

// Member is one node of the cluster as GET /api/v1/cluster shows it.
type Member struct {
	Name     string   `json:"name"`
	Regions  []string `json:"regions"`
	LeaderOf []string `json:"leader_of"`
}

// Announce keeps this node in the cluster's list until ctx ends, then takes it out.
func (l *Log) Announce(ctx context.Context) {
	var kv jetstream.KeyValue
	body, _ := json.Marshal(struct {
		Regions []string `json:"regions"`
	}{[]string{l.region()}})
	for {
		if kv == nil {
			try, cancel := context.WithTimeout(ctx, announceEvery)
			kv, _ = l.bucket(try, jetstream.KeyValueConfig{Bucket: nodesBucket, TTL: 3 * announceEvery,
				History: 1, Storage: jetstream.MemoryStorage, Replicas: l.replicas})
			cancel()
		}
		if kv != nil {
			try, cancel := context.WithTimeout(ctx, announceEvery)
			_, _ = kv.Put(try, l.node, body) // a miss is made good by the next
			cancel()
		}
		select {
		case <-ctx.Done():
			if kv != nil {
				gone, cancel := context.WithTimeout(context.Background(), time.Second)
				_ = kv.Delete(gone, l.node)
				cancel()
			}
			return
		case <-time.After(announceEvery):
		}
	}
}

// region is the log's region, from its stream's name.
func (l *Log) region() string { return strings.TrimPrefix(l.stream, "events-") }

// Members lists the cluster's running nodes and the regions each leads, by name.
func (l *Log) Members(ctx context.Context) ([]Member, error) {
	byName := map[string]*Member{}
	member := func(name string) *Member {
		if m := byName[name]; m != nil {
			return m
		}
		m := &Member{Name: name, Regions: []string{}, LeaderOf: []string{}}
		byName[name] = m
		return m
	}
	err := l.eachKey(ctx, nodesBucket, func(key string, value []byte) {
		var v struct {
			Regions []string `json:"regions"`
		}
		_ = json.Unmarshal(value, &v)
		m := member(key)
		m.Regions = append(m.Regions, v.Regions...)
	})
	if err != nil {
		return nil, err
	}
	err = l.eachKey(ctx, leaseBucket, func(key string, value []byte) {
		if region, ok := strings.CutPrefix(key, "events-"); ok && len(value) > 0 {
			m := member(string(value))
			m.LeaderOf = append(m.LeaderOf, region)
		}
	})
	if err != nil {
		return nil, err
	}
	out := make([]Member, 0, len(byName))
	for _, m := range byName {
		slices.Sort(m.Regions)
		slices.Sort(m.LeaderOf)
		out = append(out, *m)
	}
	slices.SortFunc(out, func(a, b Member) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// eachKey calls fn with every live key of a KV bucket (none for a bucket not made
// yet). It asks for the last message of every key at once with a direct get, which a
// replica on this node answers: no consumer is made, so no JetStream leader need answer,
// and a node that stopped answering (a peer paused or cut off) delays nothing.
func (l *Log) eachKey(ctx context.Context, bucket string, fn func(key string, value []byte)) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	inbox := nats.NewInbox()
	sub, err := l.nc.SubscribeSync(inbox)
	if err != nil {
		return fmt.Errorf("%s: %w", bucket, err)
	}
	defer sub.Unsubscribe()
	prefix := "$KV." + bucket + "."
	req, _ := json.Marshal(map[string]any{"multi_last": []string{prefix + ">"}, "batch": 4096})
	if err := l.nc.PublishRequest("$JS.API.DIRECT.GET.KV_"+bucket, inbox, req); err != nil {
		return fmt.Errorf("%s: %w", bucket, err)
	}
	for {
		msg, err := sub.NextMsgWithContext(ctx)
		if err != nil {
			return fmt.Errorf("%s keys: %w", bucket, err)
		}
		switch status := msg.Header.Get("Status"); status {
		case "":
		case "204", "404", "503": // the end of the batch; no keys; no such bucket
			return nil
		default:
			return fmt.Errorf("%s keys: status %s %s", bucket, status, msg.Header.Get("Description"))
		}
		if op := msg.Header.Get("KV-Operation"); op == "DEL" || op == "PURGE" {
			continue
		}
		fn(strings.TrimPrefix(msg.Header.Get("Nats-Subject"), prefix), msg.Data)
	}
}

// getCluster answers GET /api/v1/cluster: the running nodes and the regions each leads.
func (s *Server) getCluster(r *http.Request, p Principal) (int, any, *Error) {
	nodes, err := s.Log.Members(r.Context())
	if err != nil {
		return 0, nil, Errorf("unavailable", "", "the cluster's state is not readable now: %v", err)
	}
	return http.StatusOK, map[string]any{"nodes": nodes}, nil
}

// metaLeader: this process's embedded server leads its JetStream cluster (the one
// that places streams and consumers).
func (l *Log) metaLeader() bool {
	return l.srv != nil && l.srv.JetStreamIsClustered() && l.srv.JetStreamIsLeader()
}

// handRaftLeadersOff moves the replication leadership of the log's stream and of the
// lease bucket away from this process's NATS server when it has them. The region's
// leader keeps them elsewhere so that its own death costs only the lease's TTL: a
// JetStream stream whose replication leader dies takes NATS's election timeout (4 to
// 9 s) to elect another, and takes no write meanwhile (Leader.Run).
func (l *Log) handRaftLeadersOff(ctx context.Context) error {
	if l.replicas < 2 {
		return nil
	}
	self := l.nc.ConnectedServerName()
	for _, name := range []string{l.stream, "KV_" + leaseBucket} {
		s, err := l.js.Stream(ctx, name)
		if err != nil {
			return fmt.Errorf("stream %s: %w", name, err)
		}
		if c := s.CachedInfo().Cluster; c == nil || c.Leader != self {
			continue
		}
		msg, err := l.nc.RequestWithContext(ctx, "$JS.API.STREAM.LEADER.STEPDOWN."+name, nil)
		if err != nil {
			return fmt.Errorf("stream %s: step down: %w", name, err)
		}
		var ans struct {
			Success bool `json:"success"`
		}
		if err := json.Unmarshal(msg.Data, &ans); err != nil || !ans.Success {
			return fmt.Errorf("stream %s: step down refused: %s", name, msg.Data)
		}
	}
	return nil
}
