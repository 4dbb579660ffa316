package streams

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"commandd/dispatch"
)

// Leadership of a region. One process leads a region's engine: it holds the region's
// key in a JetStream KV bucket, takes it with a create (which fails while another
// holds it) and keeps it with compare-and-swap updates on the revision it last wrote.
// Another process takes it over with a compare-and-swap once it has seen the revision
// stand still for the lease's TTL on its own clock; the bucket's keys also expire after
// twice the TTL. The lease alone cannot stop a leader that has not yet noticed it lost
// it (a process paused past its TTL), so what only the leader writes goes to the
// region's lead subject with the last sequence it knows there: the first write of a
// new leader moves that sequence, and every later write of the old one is refused
// (fencing).

// leaseBucket holds every region's lease.
const leaseBucket = "commandd-leases"

// ErrFenced: another leader has written to the region's lead subject since this one
// last did; this process no longer leads.
var ErrFenced = errors.New("fenced: another node leads this region")

// ErrLeaseLost: the lease expired and another took it.
var ErrLeaseLost = errors.New("lease lost: another node holds it")

// Lease is one process's claim on leading one region.
type Lease struct {
	kv     jetstream.KeyValue
	key    string
	holder string
	ttl    time.Duration
	rev    uint64 // of the holder's last write; 0: not held

	seenRev uint64    // the revision another holder's lease was at when last read
	seenAt  time.Time // when seenRev was first read
}

// Lease opens the claim of holder (a node name) on the log's region; keys of the
// bucket expire ttl after their last write.
func (l *Log) Lease(ctx context.Context, holder string, ttl time.Duration) (*Lease, error) {
	kv, err := l.bucket(ctx, jetstream.KeyValueConfig{Bucket: leaseBucket, TTL: 2 * ttl,
		History: 1, Storage: jetstream.FileStorage, Replicas: l.replicas})
	if err != nil {
		return nil, err
	}
	return &Lease{kv: kv, key: l.stream, holder: holder, ttl: ttl}, nil
}

// bucket opens a KV bucket, making it if there is none: opening asks only the
// bucket's own servers, making it asks the cluster's JetStream leader too (which may be
// the node that just died).
func (l *Log) bucket(ctx context.Context, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	kv, err := l.js.KeyValue(ctx, cfg.Bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		kv, err = l.js.CreateKeyValue(ctx, cfg)
		if errors.Is(err, jetstream.ErrBucketExists) {
			kv, err = l.js.KeyValue(ctx, cfg.Bucket)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("bucket %s: %w", cfg.Bucket, err)
	}
	return kv, nil
}

// Acquire takes the lease if no one holds it, if its holder has not renewed it for a
// whole TTL, or if this holder has it (a restarted process taking its own back), and
// reports whether this holder has it now. A lease unrenewed is seen by its revision
// standing still on this process's own clock, from one call to the next: no two
// machines' clocks are compared, and a follower calling often takes over a dead
// leader's lease a TTL after its last renewal (the bucket's own expiry of the key is
// a later backstop).
func (ls *Lease) Acquire(ctx context.Context) (bool, error) {
	e, err := ls.kv.Get(ctx, ls.key)
	var rev uint64
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		rev, err = ls.kv.Create(ctx, ls.key, []byte(ls.holder))
		if errors.Is(err, jetstream.ErrKeyExists) {
			return false, nil // another was quicker
		}
	case err != nil:
	case string(e.Value()) == ls.holder:
		rev, err = ls.kv.Update(ctx, ls.key, []byte(ls.holder), e.Revision())
	case e.Revision() != ls.seenRev:
		ls.seenRev, ls.seenAt = e.Revision(), time.Now()
		return false, nil
	case time.Since(ls.seenAt) < ls.ttl:
		return false, nil
	default:
		rev, err = ls.kv.Update(ctx, ls.key, []byte(ls.holder), e.Revision())
	}
	if lost(err) {
		return false, nil // taken or renewed meanwhile
	}
	if err != nil {
		return false, fmt.Errorf("acquire lease %s: %w", ls.key, err)
	}
	ls.rev = rev
	return true, nil
}

// lost: a compare-and-swap on the lease found another revision than the one it was
// made on.
func lost(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant) ||
		errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyNotFound)
}

// Renew keeps the lease for another TTL. ErrLeaseLost means another holds it now;
// other errors (the cluster not answering in time) may pass, but a holder that has not
// renewed for most of the TTL must stop leading.
func (ls *Lease) Renew(ctx context.Context) error {
	if ls.rev == 0 {
		return fmt.Errorf("renew lease %s: %w", ls.key, ErrLeaseLost)
	}
	rev, err := ls.kv.Update(ctx, ls.key, []byte(ls.holder), ls.rev)
	if lost(err) {
		ls.rev = 0
		return fmt.Errorf("renew lease %s: %w", ls.key, ErrLeaseLost)
	}
	if err != nil {
		return fmt.Errorf("renew lease %s: %w", ls.key, err)
	}
	ls.rev = rev
	return nil
}

// Release gives the lease up at once (a clean stop), so another need not wait out
// its TTL.
func (ls *Lease) Release(ctx context.Context) error {
	if ls.rev == 0 {
		return nil
	}
	err := ls.kv.Delete(ctx, ls.key, jetstream.LastRevision(ls.rev))
	ls.rev = 0
	if err != nil {
		return fmt.Errorf("release lease %s: %w", ls.key, err)
	}
	return nil
}

// Holder is who holds the lease now ("" when no one does).
func (ls *Lease) Holder(ctx context.Context) (string, error) {
	e, err := ls.kv.Get(ctx, ls.key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("lease %s: %w", ls.key, err)
	}
	return string(e.Value()), nil
}

// leadSubject is where only the region's leader writes (its ticks, the seed
// configuration); the stream takes it with the region's other events, in one order.
func (l *Log) leadSubject() string { return l.subject + ".lead" }

// LeadLast is the position of the newest message on the lead subject (0: none), what a
// new leader fences from.
func (l *Log) LeadLast(ctx context.Context) (uint64, error) {
	s, err := l.js.Stream(ctx, l.stream)
	if err != nil {
		return 0, fmt.Errorf("stream %s: %w", l.stream, err)
	}
	m, err := s.GetLastMsgForSubject(ctx, l.leadSubject())
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("last lead message of %s: %w", l.stream, err)
	}
	return m.Sequence, nil
}

// AppendLead stores events as the leader's, only if the newest message on the lead
// subject is still at last (the position of this leader's previous lead write, or
// LeadLast when it began leading); it returns the new position, or ErrFenced.
func (l *Log) AppendLead(ctx context.Context, last uint64, events ...dispatch.Event) (uint64, error) {
	body, err := EncodeEvents(events)
	if err != nil {
		return 0, fmt.Errorf("append lead: %w", err)
	}
	ack, err := l.js.Publish(ctx, l.leadSubject(), body, jetstream.WithExpectLastSequencePerSubject(last))
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant) { // the latter from replicated streams
		return 0, ErrFenced
	}
	if err != nil {
		return 0, fmt.Errorf("append lead to %s: %w", l.stream, err)
	}
	return ack.Sequence, nil
}
