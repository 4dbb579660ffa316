package streams

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"commandd/dispatch"
)

// Leader runs what only the region's leader does while this process holds the
// region's lease, on every node of a cluster alike: all of them apply the log (a hot
// standby), and whichever leads also writes what the engine needs from one place only
// (its clock's ticks), fenced, and runs what must run once (the history writer).
type Leader struct {
	Log    *Log
	Logger zerolog.Logger
	// TTL of the lease: a leader that dies is replaced within about this long.
	TTL time.Duration
	// Lead runs while this node leads, until ctx ends (the lease lost, a fenced write,
	// the process stopping); write appends events as the leader's.
	Lead func(ctx context.Context, write func(context.Context, ...dispatch.Event) error)

	leading atomic.Bool
}

// DefaultLeaseTTL: long enough that a leader renewing every quarter of it survives a
// slow second of its cluster, short enough that a dead one is replaced in a few.
const DefaultLeaseTTL = 3 * time.Second

// Leading reports whether this node leads its region now.
func (ld *Leader) Leading() bool { return ld.leading.Load() }

// Run contends for the lease until ctx ends: it tries to take it every tenth of the
// TTL, and, holding it, renews it every quarter and runs Lead. Leadership ends when a
// renewal is refused, when none has succeeded for half the TTL (others may take it
// once the TTL has passed, so this one stops well before), or when a write is fenced.
//
// In a cluster of commandd processes the region's leader keeps away from the
// JetStream cluster's own leaders, so that its death costs one lease TTL and no NATS
// election (4 to 9 s, with writes or new readers waiting): the node leading the
// JetStream cluster does not take the region (and gives it up should it come to lead
// the cluster), and the region's leader hands the raft leadership of the log's stream
// and of the lease bucket to another node.
func (ld *Leader) Run(ctx context.Context) {
	ttl := ld.TTL
	if ttl <= 0 {
		ttl = DefaultLeaseTTL
	}
	var lease *Lease
	for ctx.Err() == nil {
		var err error
		if lease == nil {
			lease, err = ld.Log.Lease(ctx, ld.Log.node, ttl)
		}
		if lease != nil && !ld.Log.metaLeader() {
			try, cancel := context.WithTimeout(ctx, ttl/4)
			var ok bool
			if ok, err = lease.Acquire(try); ok {
				err = ld.lead(ctx, lease, ttl)
			}
			cancel()
		}
		if err != nil && ctx.Err() == nil {
			ld.Logger.Warn().Err(err).Str("stream", ld.Log.Name()).Msg("leadership")
		}
		select {
		case <-ctx.Done():
		case <-time.After(ttl / 10):
		}
	}
}

// errMetaLeader ends a term whose node became its JetStream cluster's leader.
var errMetaLeader = errors.New("this node now leads the JetStream cluster: handing the region to another")

// lead runs one term: from taking the lease to losing it.
func (ld *Leader) lead(ctx context.Context, lease *Lease, ttl time.Duration) error {
	renewed := time.Now()
	try, cancel := context.WithTimeout(ctx, ttl/2)
	last, err := ld.Log.LeadLast(try)
	cancel()
	if err != nil {
		return err
	}
	defer func() { // at once, so another need not wait out the TTL
		release, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = lease.Release(release)
	}()
	term, end := context.WithCancelCause(ctx)
	var mu sync.Mutex
	write := func(c context.Context, events ...dispatch.Event) error {
		mu.Lock()
		defer mu.Unlock()
		seq, err := ld.Log.AppendLead(c, last, events...)
		if errors.Is(err, ErrFenced) {
			end(err)
		}
		if err != nil {
			return err
		}
		last = seq
		return nil
	}
	ld.leading.Store(true)
	defer ld.leading.Store(false)
	ld.Logger.Info().Str("stream", ld.Log.Name()).Str("node", ld.Log.node).Msg("leading the region")
	var running sync.WaitGroup
	running.Go(func() { ld.Lead(term, write) })
	defer running.Wait()
	defer end(nil)
	t := time.NewTicker(ttl / 4)
	defer t.Stop()
	for {
		if ld.Log.metaLeader() {
			end(errMetaLeader)
		}
		try, cancel := context.WithTimeout(term, ttl/4)
		if err := ld.Log.handRaftLeadersOff(try); err != nil && term.Err() == nil {
			ld.Logger.Warn().Err(err).Msg("keeping the log's replication leader on another node")
		}
		cancel()
		select {
		case <-term.Done():
			if err := context.Cause(term); !errors.Is(err, context.Canceled) {
				return err
			}
			return nil
		case <-t.C:
		}
		try, cancel = context.WithTimeout(term, ttl/4)
		err := lease.Renew(try)
		cancel()
		switch {
		case err == nil:
			renewed = time.Now()
		case errors.Is(err, ErrLeaseLost) || time.Since(renewed) > ttl/2:
			end(err)
		}
	}
}
