package streams

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"commandd/dispatch"
	"commandd/geo"
)

// LogConfig says where the event log lives.
type LogConfig struct {
	// URL of an external NATS server or cluster; empty runs one embedded in the process
	// with its data under Dir.
	URL string
	// Dir is the embedded server's data directory.
	Dir string
	// Region names the stream: events.<region>.
	Region string
	// Sync is how often the embedded server fsyncs the stream; 0 means on every write
	// ("always"). See docs/durability.md for what each setting keeps across crashes.
	Sync time.Duration
	// Replicas of the stream; 0: 1 on a lone embedded server, 3 on a cluster or an
	// external server (1 if that server is not clustered). An existing stream keeps more
	// replicas than asked for.
	Replicas int
	// Node names this process in a cluster: its embedded server's name and the holder
	// of the leases it takes. Empty: "commandd".
	Node string
	// ClusterListen (HOST:PORT) is where the embedded server takes routes from its
	// peers, and ClusterPeers the peers' own; with them, the embedded servers of several
	// processes form one JetStream cluster.
	ClusterListen string
	ClusterPeers  []string
	// ClusterSecret, when set, is the password every node's routes carry: a server
	// without it cannot join the cluster.
	ClusterSecret string
}

// clustered: the log's servers are several, so the stream is replicated and a
// cluster still forming may refuse it for a while.
func (c LogConfig) clustered() bool { return c.URL != "" || c.ClusterListen != "" }

// Log is the ordered, durable event log of one region: a JetStream stream whose
// messages each hold one or more engine events as NDJSON. A message's stream sequence
// is its position in the log.
type Log struct {
	srv      *server.Server
	nc       *nats.Conn
	js       jetstream.JetStream
	stream   string
	subject  string
	replicas int
	node     string

	fixq    chan *fixCommit // fixes waiting for the group commit
	started bool            // the group commit runs
	closing sync.Once
	stop    chan struct{} // closed by Close
	stopped chan struct{} // closed when the group commit has ended
}

// MaxMessage is the largest log message the embedded server takes (max_payload): a
// district's Configure event (an 8 MB file re-encoded, with its cells) fits. An
// external NATS server needs max_payload at least this to take the largest districts.
const MaxMessage = 16 << 20

// OpenLog connects to (or starts) the JetStream server and makes sure the region's
// stream exists.
func OpenLog(ctx context.Context, cfg LogConfig) (*Log, error) {
	if cfg.Region == "" {
		cfg.Region = "default"
	}
	if cfg.Node == "" {
		cfg.Node = "commandd"
	}
	l := &Log{stream: "events-" + cfg.Region, subject: "events." + cfg.Region, node: cfg.Node,
		fixq: make(chan *fixCommit, 4096), stop: make(chan struct{}), stopped: make(chan struct{})}
	var err error
	if cfg.URL == "" {
		opts := &server.Options{
			ServerName: "commandd", DontListen: true, JetStream: true, NoSigs: true, NoLog: true,
			StoreDir: filepath.Join(cfg.Dir, "jetstream"), SyncInterval: cfg.Sync, SyncAlways: cfg.Sync == 0,
			// A district's Configure event (its file, cells, grids) is one message and may
			// be several megabytes; NATS's default is 1 MB.
			MaxPayload: MaxMessage,
		}
		if cfg.ClusterListen != "" {
			if err := clusterOptions(opts, cfg); err != nil {
				return nil, err
			}
		}
		if l.srv, err = server.NewServer(opts); err != nil {
			return nil, fmt.Errorf("embedded nats: %w", err)
		}
		l.srv.Start()
		if !l.srv.ReadyForConnections(10 * time.Second) {
			l.srv.Shutdown()
			return nil, errors.New("embedded nats: not ready after 10 s")
		}
		l.nc, err = nats.Connect("", nats.InProcessServer(l.srv), nats.Name("commandd"), nats.Token(opts.Authorization))
	} else {
		l.nc, err = nats.Connect(cfg.URL, nats.Name("commandd"), nats.MaxReconnects(-1))
	}
	if err != nil {
		l.Close()
		return nil, fmt.Errorf("connect nats: %w", err)
	}
	if l.js, err = jetstream.New(l.nc); err != nil {
		l.Close()
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	if l.replicas, err = l.ensureStreamEventually(ctx, cfg); err != nil {
		l.Close()
		return nil, err
	}
	l.started = true
	go l.commitFixes()
	return l, nil
}

// clusterOptions makes the embedded server one node of the JetStream cluster its
// peers are in.
func clusterOptions(opts *server.Options, cfg LogConfig) error {
	host, port, err := net.SplitHostPort(cfg.ClusterListen)
	if err != nil {
		return fmt.Errorf("cluster listen %q: %w", cfg.ClusterListen, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p <= 0 || p > 65535 {
		return fmt.Errorf("cluster listen %q: want HOST:PORT", cfg.ClusterListen)
	}
	routes := make([]string, 0, len(cfg.ClusterPeers))
	for _, peer := range cfg.ClusterPeers {
		if _, _, err := net.SplitHostPort(peer); err != nil {
			return fmt.Errorf("cluster peer %q: %w", peer, err)
		}
		routes = append(routes, "nats://"+peer)
	}
	opts.ServerName = cfg.Node
	opts.Cluster = server.ClusterOpts{Name: "commandd", Host: host, Port: p}
	if cfg.ClusterSecret != "" {
		opts.Cluster.Username, opts.Cluster.Password = "commandd", cfg.ClusterSecret
		for i, r := range routes {
			routes[i] = "nats://commandd:" + url.QueryEscape(cfg.ClusterSecret) + "@" + strings.TrimPrefix(r, "nats://")
		}
	}
	opts.Routes = server.RoutesFromStr(strings.Join(routes, ","))
	// The server starts its routes only once it listens for clients, so a clustered
	// one does, on a random loopback port, behind a token only this process knows
	// (the process itself connects in-process).
	secret := make([]byte, 24)
	if _, err := rand.Read(secret); err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	opts.DontListen, opts.Host, opts.Port = false, "127.0.0.1", server.RANDOM_PORT
	opts.Authorization = hex.EncodeToString(secret)
	return nil
}

// clusterForming bounds how long a node waits for its cluster to take the stream:
// the peers of a new cluster start one by one, and JetStream has no leader until a
// majority of them is up.
const clusterForming = 2 * time.Minute

// ensureStreamEventually is ensureStream, retried while a cluster forms.
func (l *Log) ensureStreamEventually(ctx context.Context, cfg LogConfig) (int, error) {
	deadline := time.Now().Add(clusterForming)
	for {
		try, cancel := context.WithTimeout(ctx, 5*time.Second)
		n, err := l.ensureStream(try, cfg)
		cancel()
		if err == nil || !cfg.clustered() || ctx.Err() != nil || time.Now().After(deadline) {
			return n, err
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// streamReplicasNotSupported is JetStream's error code for a stream of several
// replicas asked of a server that is not clustered.
const streamReplicasNotSupported = 10074

// ensureStream creates the region's stream, or updates the one there to this
// configuration, and returns its replicas. An update never lowers them: a stream made
// with three replicas on a cluster keeps three whatever a process opening it asks for.
func (l *Log) ensureStream(ctx context.Context, cfg LogConfig) (int, error) {
	want := cfg.Replicas
	if want <= 0 {
		want = 1
		if cfg.clustered() {
			want = 3
		}
	}
	sc := jetstream.StreamConfig{
		Name: l.stream, Subjects: []string{l.subject, l.leadSubject()}, Storage: jetstream.FileStorage,
		Retention: jetstream.LimitsPolicy, Replicas: want, Discard: jetstream.DiscardOld,
		MaxAge: 7 * 24 * time.Hour, Duplicates: 2 * time.Minute,
	}
	s, err := l.js.Stream(ctx, l.stream)
	write, floor := l.js.CreateStream, 1
	switch {
	case errors.Is(err, jetstream.ErrStreamNotFound):
	case err != nil:
		return 0, fmt.Errorf("stream %s: %w", l.stream, err)
	default:
		write, floor = l.js.UpdateStream, s.CachedInfo().Config.Replicas
		sc.Replicas = max(sc.Replicas, floor)
	}
	_, err = write(ctx, sc)
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode == streamReplicasNotSupported && cfg.Replicas <= 0 {
		sc.Replicas = floor // a single external server: what it can keep (Replicas says so)
		_, err = write(ctx, sc)
	}
	if err != nil {
		return 0, fmt.Errorf("create stream %s with %d replicas: %w", l.stream, sc.Replicas, err)
	}
	return sc.Replicas, nil
}

// closed: Close was called, or the connection to NATS is closed for good.
func (l *Log) closed() bool {
	select {
	case <-l.stop:
		return true
	default:
		return l.nc.IsClosed()
	}
}

// Replicas is how many servers keep the log's stream.
func (l *Log) Replicas() int { return l.replicas }

// Close disconnects and stops the embedded server, if any. Fixes still waiting for
// the group commit get ErrLogClosed.
func (l *Log) Close() {
	l.closing.Do(func() {
		close(l.stop)
		if l.started {
			<-l.stopped
		}
		if l.nc != nil {
			_ = l.nc.Drain()
			l.nc.Close()
		}
		if l.srv != nil {
			l.srv.Shutdown()
			l.srv.WaitForShutdown()
		}
	})
}

// A log message is NDJSON of engine events, or, when it holds only fixes (the bulk of
// the log), a fix batch: fixBatchMagic, the count, then each fix as its unit id
// (length-prefixed), time (Unix ms), and lat, lng, cell, speed, heading and accuracy in
// fixed little-endian words. The batch form is ~60 bytes a fix against ~150 of JSON and
// decodes without reflection; both keep every field exactly (times are already whole
// milliseconds at ingest). In the current form (fixBatchMagic) the unit id's length is
// doubled and its low bit says that the alarm word and mileage of a JT/T 808 report
// follow the fixed words as two uvarints; the first form (fixBatchMagicV1, never
// written now) has neither and is still read.
const (
	fixBatchMagicV1 = 0x01
	fixBatchMagic   = 0x02
)

// EncodeEvents encodes events as the body of one log message.
func EncodeEvents(events []dispatch.Event) ([]byte, error) {
	if b, ok := encodeFixBatch(events); ok {
		return b, nil
	}
	var buf bytes.Buffer
	for _, ev := range events {
		b, err := dispatch.MarshalEvent(ev)
		if err != nil {
			return nil, err
		}
		buf.Write(b)
		buf.WriteByte('\n')
	}
	return buf.Bytes(), nil
}

func encodeFixBatch(events []dispatch.Event) ([]byte, bool) {
	if len(events) == 0 {
		return nil, false
	}
	for _, ev := range events {
		if f, ok := ev.(*dispatch.Fix); !ok || !batchable(f) {
			return nil, false
		}
	}
	b := appendBatchHeader(nil, len(events))
	for _, ev := range events {
		b = appendFix(b, ev.(*dispatch.Fix))
	}
	return b, true
}

// batchable: the batch form keeps times to the millisecond, as ingest does.
func batchable(f *dispatch.Fix) bool { return f.T.Nanosecond()%int(time.Millisecond) == 0 }

func appendBatchHeader(b []byte, count int) []byte {
	return binary.AppendUvarint(append(b, fixBatchMagic), uint64(count))
}

func appendFix(b []byte, f *dispatch.Fix) []byte {
	extra := f.Alarm != 0 || f.Mileage != 0
	n := uint64(len(f.Unit)) << 1
	if extra {
		n |= 1
	}
	b = binary.AppendUvarint(b, n)
	b = append(b, f.Unit...)
	b = binary.AppendVarint(b, f.T.UnixMilli())
	for _, w := range [...]uint64{math.Float64bits(f.Lat), math.Float64bits(f.Lng), uint64(f.Cell),
		math.Float64bits(f.Speed), math.Float64bits(f.Heading), math.Float64bits(f.Accuracy)} {
		b = binary.LittleEndian.AppendUint64(b, w)
	}
	if extra {
		b = binary.AppendUvarint(b, uint64(f.Alarm))
		b = binary.AppendUvarint(b, uint64(f.Mileage))
	}
	return b
}

// DecodeEvents reads the body of a log message.
func DecodeEvents(body []byte) ([]dispatch.Event, error) {
	var d eventDecoder
	return d.decode(body)
}

// eventDecoder decodes log messages, reusing its memory from one message to the next:
// the events it returns are valid until its next decode. Unit ids of fixes are interned,
// so a message of fixes allocates nothing once its units have been seen.
type eventDecoder struct {
	fixes  []dispatch.Fix
	events []dispatch.Event
	names  map[string]string
}

func (d *eventDecoder) decode(body []byte) ([]dispatch.Event, error) {
	if len(body) > 0 && (body[0] == fixBatchMagic || body[0] == fixBatchMagicV1) {
		return d.decodeFixBatch(body[1:], body[0] == fixBatchMagic)
	}
	var out []dispatch.Event
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 0, 64*1024), 16<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		ev, err := dispatch.UnmarshalEvent(sc.Bytes())
		if err != nil {
			return nil, err
		}
		out = append(out, ev)
	}
	return out, sc.Err()
}

var errFixBatch = errors.New("malformed fix batch")

func (d *eventDecoder) decodeFixBatch(b []byte, extras bool) ([]dispatch.Event, error) {
	count, k := binary.Uvarint(b)
	if k <= 0 || count > uint64(len(b)/(2+6*8)) { // each fix takes at least 50 bytes
		return nil, errFixBatch
	}
	b = b[k:]
	if d.names == nil || len(d.names) > 1<<20 {
		d.names = make(map[string]string)
	}
	d.fixes = slices.Grow(d.fixes[:0], int(count))[:count]
	d.events = slices.Grow(d.events[:0], int(count))[:count]
	for i := range d.fixes {
		n, k := binary.Uvarint(b)
		extra := false
		if extras {
			n, extra = n>>1, n&1 == 1
		}
		if k <= 0 || n > uint64(len(b)-k) {
			return nil, errFixBatch
		}
		id := b[k : k+int(n)]
		b = b[k+int(n):]
		name, ok := d.names[string(id)]
		if !ok {
			name = string(id)
			d.names[name] = name
		}
		ms, k := binary.Varint(b)
		if k <= 0 || len(b)-k < 6*8 {
			return nil, errFixBatch
		}
		b = b[k:]
		var w [6]uint64
		for j := range w {
			w[j] = binary.LittleEndian.Uint64(b[8*j:])
		}
		b = b[6*8:]
		d.fixes[i] = dispatch.Fix{Unit: name, T: time.UnixMilli(ms).UTC(), Lat: math.Float64frombits(w[0]),
			Lng: math.Float64frombits(w[1]), Cell: geo.Cell(w[2]), Speed: math.Float64frombits(w[3]),
			Heading: math.Float64frombits(w[4]), Accuracy: math.Float64frombits(w[5])}
		if extra {
			alarm, k := binary.Uvarint(b)
			if k <= 0 || alarm > math.MaxUint32 {
				return nil, errFixBatch
			}
			b = b[k:]
			mileage, k := binary.Uvarint(b)
			if k <= 0 || mileage > math.MaxUint32 {
				return nil, errFixBatch
			}
			b = b[k:]
			d.fixes[i].Alarm, d.fixes[i].Mileage = uint32(alarm), uint32(mileage)
		}
		d.events[i] = &d.fixes[i]
	}
	if len(b) != 0 {
		return nil, errFixBatch
	}
	return d.events, nil
}

// Append stores events as one message and returns its position once JetStream has
// stored it. msgID, when not empty, lets JetStream drop a retried duplicate within
// two minutes: then nothing is stored and the position is the original's.
func (l *Log) Append(ctx context.Context, msgID string, events ...dispatch.Event) (uint64, error) {
	seq, _, err := l.append(ctx, msgID, events)
	return seq, err
}

// AppendOnce is Append that also reports whether the message was a duplicate of one
// already stored under msgID.
func (l *Log) AppendOnce(ctx context.Context, msgID string, events ...dispatch.Event) (seq uint64, duplicate bool, err error) {
	return l.append(ctx, msgID, events)
}

func (l *Log) append(ctx context.Context, msgID string, events []dispatch.Event) (uint64, bool, error) {
	body, err := EncodeEvents(events)
	if err != nil {
		return 0, false, fmt.Errorf("append: %w", err)
	}
	var opts []jetstream.PublishOpt
	if msgID != "" {
		opts = append(opts, jetstream.WithMsgID(msgID))
	}
	ack, err := l.js.Publish(ctx, l.subject, body, opts...)
	if err != nil {
		return 0, false, fmt.Errorf("append to %s: %w", l.stream, err)
	}
	return ack.Sequence, ack.Duplicate, nil
}

// fixCommit is one caller's fixes waiting for the group commit.
type fixCommit struct {
	fixes []dispatch.Fix
	done  chan error
}

// maxFixMessage bounds the body of one message of fixes, well under JetStream's
// default 1 MiB payload limit.
const maxFixMessage = 512 << 10

// ErrUndecodable: a message of the log is not events; reading cannot go past it.
var ErrUndecodable = errors.New("undecodable log message")

// ErrLogClosed: the log was closed before the fixes were stored.
var ErrLogClosed = errors.New("event log closed")

// AppendFixes stores fixes and returns once they are stored. Fixes of concurrent
// callers are committed together (a group commit): while one message is being
// stored the next fills up, so a stream of small reports — an OsmAnd request is a
// single fix — costs one JetStream write per batch, not one per fix, and a large
// batch is cut into messages JetStream takes. Fixes are idempotent (a repeat is older
// than the unit's last fix and moves nothing), so a caller that gets an error retries.
func (l *Log) AppendFixes(ctx context.Context, fixes []dispatch.Fix) error {
	c := &fixCommit{fixes: fixes, done: make(chan error, 1)}
	select {
	case <-l.stop:
		return ErrLogClosed
	default:
	}
	select {
	case l.fixq <- c:
	case <-ctx.Done():
		return ctx.Err()
	case <-l.stop:
		return ErrLogClosed
	}
	select {
	case err := <-c.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-l.stopped: // closed while queued (perhaps stored: fixes may be sent again)
		return ErrLogClosed
	}
}

// commitFixes is the group commit: it takes every caller waiting, writes their fixes
// in as few messages as fit, and answers them all.
func (l *Log) commitFixes() {
	defer close(l.stopped)
	var round []*fixCommit
	var body []byte // reused from round to round
	for {
		select {
		case c := <-l.fixq:
			round = append(round[:0], c)
		case <-l.stop:
			for {
				select {
				case c := <-l.fixq:
					c.done <- ErrLogClosed
				default:
					return
				}
			}
		}
	more:
		for len(round) < cap(l.fixq) {
			select {
			case c := <-l.fixq:
				round = append(round, c)
			default:
				break more
			}
		}
		err := l.publishFixes(round, &body)
		if err != nil {
			err = fmt.Errorf("append fixes to %s: %w", l.stream, err)
		}
		for _, c := range round {
			c.done <- err
		}
		clear(round)
	}
}

// headRoom is kept at the front of a batch being filled, for its header: the count
// is known only once the batch is full.
const headRoom = 1 + binary.MaxVarintLen64

// publishFixes writes the fixes of a round in messages of at most maxFixMessage bytes.
func (l *Log) publishFixes(round []*fixCommit, body *[]byte) error {
	b, count := (*body)[:0], 0
	b = append(b, make([]byte, headRoom)...)
	publish := func() error {
		if count == 0 {
			return nil
		}
		hdr := appendBatchHeader(make([]byte, 0, headRoom), count)
		msg := b[headRoom-len(hdr):]
		copy(msg, hdr)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := l.js.Publish(ctx, l.subject, msg)
		b, count = b[:headRoom], 0
		return err
	}
	defer func() { *body = b }()
	for _, c := range round {
		for i := range c.fixes {
			f := &c.fixes[i]
			if !batchable(f) {
				g := *f
				g.T = g.T.Truncate(time.Millisecond)
				f = &g
			}
			b = appendFix(b, f)
			if count++; len(b) >= maxFixMessage {
				if err := publish(); err != nil {
					return err
				}
			}
		}
	}
	return publish()
}

// Last returns the position of the newest message (0 for an empty log).
func (l *Log) Last(ctx context.Context) (uint64, error) {
	s, err := l.js.Stream(ctx, l.stream)
	if err != nil {
		return 0, fmt.Errorf("stream info: %w", err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("stream info: %w", err)
	}
	return info.State.LastSeq, nil
}

// Message is one message of the log as stored: its position, when the log took it,
// and its body (NDJSON events or a binary fix batch; DecodeEvents reads either).
type Message struct {
	Seq  uint64
	T    time.Time
	Body []byte
}

// First returns the position of the oldest message the log still holds (the log
// drops messages older than its retention) and of the newest; both 0 when empty.
func (l *Log) First(ctx context.Context) (first, last uint64, err error) {
	s, err := l.js.Stream(ctx, l.stream)
	if err != nil {
		return 0, 0, fmt.Errorf("stream info: %w", err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("stream info: %w", err)
	}
	return info.State.FirstSeq, info.State.LastSeq, nil
}

// Read delivers the log in order from position from (1 is the start) to fn until ctx
// ends or fn fails. The events passed to fn are valid only until it returns.
func (l *Log) Read(ctx context.Context, from uint64, fn func(seq uint64, t time.Time, events []dispatch.Event) error) error {
	var dec eventDecoder
	return l.Messages(ctx, from, func(m Message) error {
		events, err := dec.decode(m.Body)
		if err != nil {
			return fmt.Errorf("read %s at %d: %w: %w", l.stream, m.Seq, ErrUndecodable, err)
		}
		return fn(m.Seq, m.T, events)
	})
}

// Messages delivers the log's messages undecoded, in order from position from, until
// ctx ends or fn fails. A message's body stays valid after fn returns.
func (l *Log) Messages(ctx context.Context, from uint64, fn func(Message) error) error {
	cfg := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy}
	if from > 1 {
		cfg = jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: from}
	}
	cons, err := l.js.OrderedConsumer(ctx, l.stream, cfg)
	if err != nil {
		return fmt.Errorf("read %s from %d: %w", l.stream, from, err)
	}
	// A reader whose consumer lived on a node that died notices it by the missing
	// heartbeats (two) and goes on from a new one: a second's heartbeat keeps that
	// pause near two seconds (the default would make it ten).
	it, err := cons.Messages(jetstream.PullHeartbeat(time.Second), jetstream.PullExpiry(10*time.Second))
	if err != nil {
		return fmt.Errorf("read %s from %d: %w", l.stream, from, err)
	}
	go func() {
		<-ctx.Done()
		it.Stop()
	}()
	for {
		msg, err := it.Next()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("read %s: %w", l.stream, err)
		}
		meta, err := msg.Metadata()
		if err != nil {
			return fmt.Errorf("read %s: metadata: %w", l.stream, err)
		}
		if err := fn(Message{Seq: meta.Sequence.Stream, T: meta.Timestamp, Body: msg.Data()}); err != nil {
			return err
		}
	}
}

// Name is the log's stream name (events-<region>).
func (l *Log) Name() string { return l.stream }
