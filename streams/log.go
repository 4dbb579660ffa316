package streams

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"commandd/dispatch"
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
	// Replicas of the stream on an external cluster (1 when embedded).
	Replicas int
}

// Log is the ordered, durable event log of one region: a JetStream stream whose
// messages each hold one or more engine events as NDJSON. A message's stream sequence
// is its position in the log.
type Log struct {
	srv     *server.Server
	nc      *nats.Conn
	js      jetstream.JetStream
	stream  string
	subject string
}

// OpenLog connects to (or starts) the JetStream server and makes sure the region's
// stream exists.
func OpenLog(ctx context.Context, cfg LogConfig) (*Log, error) {
	if cfg.Region == "" {
		cfg.Region = "default"
	}
	l := &Log{stream: "events-" + cfg.Region, subject: "events." + cfg.Region}
	var err error
	if cfg.URL == "" {
		opts := &server.Options{
			ServerName: "commandd", DontListen: true, JetStream: true, NoSigs: true, NoLog: true,
			StoreDir: filepath.Join(cfg.Dir, "jetstream"), SyncInterval: cfg.Sync, SyncAlways: cfg.Sync == 0,
		}
		if l.srv, err = server.NewServer(opts); err != nil {
			return nil, fmt.Errorf("embedded nats: %w", err)
		}
		l.srv.Start()
		if !l.srv.ReadyForConnections(10 * time.Second) {
			l.srv.Shutdown()
			return nil, errors.New("embedded nats: not ready after 10 s")
		}
		l.nc, err = nats.Connect("", nats.InProcessServer(l.srv), nats.Name("commandd"))
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
	replicas := max(cfg.Replicas, 1)
	_, err = l.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: l.stream, Subjects: []string{l.subject}, Storage: jetstream.FileStorage,
		Retention: jetstream.LimitsPolicy, Replicas: replicas, Discard: jetstream.DiscardOld,
		MaxAge: 7 * 24 * time.Hour, Duplicates: 2 * time.Minute,
	})
	if err != nil {
		l.Close()
		return nil, fmt.Errorf("create stream %s: %w", l.stream, err)
	}
	return l, nil
}

// Close disconnects and stops the embedded server, if any.
func (l *Log) Close() {
	if l.nc != nil {
		_ = l.nc.Drain()
		l.nc.Close()
	}
	if l.srv != nil {
		l.srv.Shutdown()
		l.srv.WaitForShutdown()
	}
}

// EncodeEvents writes events as NDJSON, the body of one log message.
func EncodeEvents(events []dispatch.Event) ([]byte, error) {
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

// DecodeEvents reads the body of a log message.
func DecodeEvents(body []byte) ([]dispatch.Event, error) {
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

// Read delivers the log in order from position from (1 is the start) to fn until ctx
// ends or fn fails.
func (l *Log) Read(ctx context.Context, from uint64, fn func(seq uint64, t time.Time, events []dispatch.Event) error) error {
	cfg := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy}
	if from > 1 {
		cfg = jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: from}
	}
	cons, err := l.js.OrderedConsumer(ctx, l.stream, cfg)
	if err != nil {
		return fmt.Errorf("read %s from %d: %w", l.stream, from, err)
	}
	it, err := cons.Messages()
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
		events, err := DecodeEvents(msg.Data())
		if err != nil {
			return fmt.Errorf("read %s at %d: %w", l.stream, meta.Sequence.Stream, err)
		}
		if err := fn(meta.Sequence.Stream, meta.Timestamp, events); err != nil {
			return err
		}
	}
}
