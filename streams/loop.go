package streams

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"commandd/dispatch"
)

// Loop applies the log to the engine in order, on one goroutine, and hands what changed
// to the hub. Readers (the HTTP API) take the read lock; Apply takes the write lock for
// the few microseconds an event needs.
type Loop struct {
	log       *Log
	cfg       dispatch.Config // the seed: flags only configure a log that has no configuration
	hub       *Hub
	snapPath  string
	snapEvery time.Duration
	logger    zerolog.Logger
	// OnApply, when set, is told how long each log message took to apply.
	OnApply func(time.Duration)

	mu      sync.RWMutex // guards engine
	engine  *dispatch.Engine
	applied uint64 // position of the last message applied

	wmu      sync.Mutex
	answers  [answerRing]answer
	answered uint64 // position of the last message whose answer is recorded
	waiters  map[uint64][]chan []dispatch.Change
	caught   chan struct{} // closed once the log's tail at start is applied

	snapMu sync.Mutex // one snapshot written at a time
}

// ErrAnswerGone: the message was applied too long ago (or before a restart) for its
// answer to be kept; ask the engine's state instead.
var ErrAnswerGone = errors.New("answer no longer kept")

// answerRing is how many recent messages' answers are kept for senders that ask after
// the engine got there first.
const answerRing = 8192

type answer struct {
	seq     uint64
	changes []dispatch.Change
}

// answerKinds are the changes a sender waits for: what became of its alert, camera
// event or command.
var answerKinds = []dispatch.ChangeKind{dispatch.AlertAccepted, dispatch.CameraEvent, dispatch.Rejected,
	dispatch.Assigned, dispatch.Released, dispatch.IncidentClosed, dispatch.UnitChanged, dispatch.Configured}

// snapshotFile is what the loop writes to disk: the engine's state after message Seq.
type snapshotFile struct {
	Seq    uint64          `json:"seq"`
	Engine json.RawMessage `json:"engine"`
}

// NewLoop restores the engine from the snapshot in dir, if any.
func NewLoop(log *Log, cfg dispatch.Config, hub *Hub, dir string, snapEvery time.Duration, logger zerolog.Logger) (*Loop, error) {
	l := &Loop{log: log, cfg: cfg, hub: hub, snapPath: filepath.Join(dir, "snapshot.json"), snapEvery: snapEvery,
		logger: logger, waiters: make(map[uint64][]chan []dispatch.Change), caught: make(chan struct{})}
	b, err := os.ReadFile(l.snapPath)
	switch {
	case errors.Is(err, os.ErrNotExist):
		l.engine = dispatch.New(cfg)
	case err != nil:
		return nil, fmt.Errorf("read snapshot: %w", err)
	default:
		var sf snapshotFile
		if err := json.Unmarshal(b, &sf); err != nil {
			return nil, fmt.Errorf("read snapshot %s: %w", l.snapPath, err)
		}
		if l.engine, err = dispatch.Restore(cfg, sf.Engine); err != nil {
			return nil, err
		}
		l.applied, l.answered = sf.Seq, sf.Seq
		logger.Info().Uint64("seq", sf.Seq).Int("bytes", len(b)).Msg("snapshot restored")
	}
	return l, nil
}

// Run applies the log from after the snapshot until ctx ends, snapshotting every
// snapEvery and once more on the way out.
func (l *Loop) Run(ctx context.Context) error {
	tail, err := l.log.Last(ctx)
	for err != nil && !l.log.closed() { // a cluster still electing its leaders answers late for a while
		l.logger.Warn().Err(err).Msg("reading the log's end; trying again")
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(500 * time.Millisecond):
		}
		tail, err = l.log.Last(ctx)
	}
	if err != nil {
		return err
	}
	if l.applied >= tail {
		close(l.caught)
		l.settleConfig(ctx)
	}
	l.hub.Reset(l.view())
	lastSnap := time.Now()
	var writers sync.WaitGroup
	var writing atomic.Bool
	read := func(seq uint64, _ time.Time, events []dispatch.Event) error {
		l.apply(seq, events)
		if seq == tail {
			close(l.caught)
			l.logger.Info().Uint64("seq", seq).Msg("caught up with the log")
			l.settleConfig(ctx)
		}
		if time.Since(lastSnap) >= l.snapEvery && !writing.Load() {
			// The engine pauses only for the copy; encoding and writing go on beside it.
			lastSnap = time.Now()
			c, seq := l.capture()
			pause := time.Since(lastSnap)
			writing.Store(true)
			writers.Go(func() {
				defer writing.Store(false)
				if err := l.writeSnapshot(c, seq, pause); err != nil {
					l.logger.Error().Err(err).Msg("snapshot failed")
				}
			})
		}
		return nil
	}
	// A read that fails for another reason than a message it cannot decode (a node of
	// the cluster gone, its consumer with it) goes on from the next message.
	for {
		err = l.log.Read(ctx, l.applied+1, read)
		if ctx.Err() != nil || errors.Is(err, ErrUndecodable) || l.log.closed() {
			break
		}
		l.logger.Warn().Err(err).Uint64("seq", l.applied).Msg("reading the log; going on from where it stopped")
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}
	writers.Wait()
	if serr := l.Snapshot(); serr != nil {
		l.logger.Error().Err(serr).Msg("final snapshot failed")
	}
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// apply applies one log message and publishes its changes.
func (l *Loop) apply(seq uint64, events []dispatch.Event) {
	var ans []dispatch.Change
	start := time.Now()
	l.mu.Lock()
	batch := Batch{Seq: seq, Moves: make([]UnitMove, 0, len(events))}
	for _, ev := range events {
		changes := l.engine.Apply(ev)
		if len(events) == 1 { // a batch of fixes has no sender waiting for an answer
			for _, c := range changes {
				if slices.Contains(answerKinds, c.Kind) {
					ans = append(ans, c)
				}
			}
		}
		batch.add(l.engine, ev, changes)
	}
	batch.T = l.engine.Now()
	l.applied = seq
	l.mu.Unlock()
	if l.OnApply != nil {
		l.OnApply(time.Since(start))
	}
	l.hub.Publish(batch)

	l.wmu.Lock()
	l.answers[seq%answerRing] = answer{seq: seq, changes: ans}
	l.answered = seq
	ws := l.waiters[seq]
	delete(l.waiters, seq)
	l.wmu.Unlock()
	for _, w := range ws {
		w <- ans
	}
}

// Wait returns the answer to the message at seq (its alert, camera event and command
// changes) once the engine has applied it.
func (l *Loop) Wait(ctx context.Context, seq uint64) ([]dispatch.Change, error) {
	l.wmu.Lock()
	if a := l.answers[seq%answerRing]; a.seq == seq {
		l.wmu.Unlock()
		return a.changes, nil
	}
	if seq <= l.answered {
		l.wmu.Unlock()
		return nil, ErrAnswerGone
	}
	ch := make(chan []dispatch.Change, 1)
	l.waiters[seq] = append(l.waiters[seq], ch)
	l.wmu.Unlock()
	select {
	case a := <-ch:
		return a, nil
	case <-ctx.Done():
		l.wmu.Lock()
		l.waiters[seq] = slices.DeleteFunc(l.waiters[seq], func(c chan []dispatch.Change) bool { return c == ch })
		l.wmu.Unlock()
		return nil, ctx.Err()
	}
}

// Ready reports whether the engine has applied the log as it stood at start.
func (l *Loop) Ready() bool {
	select {
	case <-l.caught:
		return true
	default:
		return false
	}
}

// Read runs fn with the engine under the read lock.
func (l *Loop) Read(fn func(e *dispatch.Engine)) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	fn(l.engine)
}

// Applied is the position of the last message applied.
func (l *Loop) Applied() uint64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.applied
}

func (l *Loop) view() View {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return viewOf(l.engine, l.applied)
}

// viewOf is what a wall sees of engine e after message seq.
func viewOf(e *dispatch.Engine, seq uint64) View {
	return View{Seq: seq, T: e.Now(), Units: e.Units(), Incidents: e.Incidents(false), Cameras: e.Cameras(), MoveUps: e.MoveUps()}
}

// Config is the configuration in force: the log's (the last Configure event applied),
// or the seed's for a log that has none yet.
func (l *Loop) Config() dispatch.Config {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.engine.Config()
}

// Seed is the configuration the loop was given: what an engine fed the log from its
// start begins with (replays and the history's engine then apply the Configure events
// in the log, as this one did).
func (l *Loop) Seed() dispatch.Config { return l.cfg }

// seedBy is who a seed's Configure event is by.
const seedBy = "seed"

// settleConfig runs once the loop has caught up with the log. A log whose engine never
// applied a Configure event (a new data directory, or a log written before the
// configuration was in the log) gets the seed, once; a log that has one keeps it, and
// a seed that differs is said to be set aside.
func (l *Loop) settleConfig(ctx context.Context) {
	l.mu.RLock()
	configured, inForce, now := l.engine.Configured(), l.engine.Config(), l.engine.Now()
	l.mu.RUnlock()
	if configured {
		if diff := ConfigDiff(l.cfg, inForce); len(diff) > 0 {
			l.logger.Warn().Strs("differs", diff).
				Msg("the configuration given at start differs from the log's: the log's is kept (PUT /api/v1/district changes it)")
		}
		return
	}
	if err := l.cfg.Validate(); err != nil {
		l.logger.Error().Err(err).Msg("the configuration given at start is not valid: the log gets none, the engine runs on it unlogged")
		return
	}
	// Not on the loop's goroutine: the log is being read there. The time is the
	// engine's, so the event moves no clock; the message id keeps a restart within two
	// minutes from seeding twice.
	go func() {
		ev := &dispatch.Configure{T: now, Config: l.cfg, By: seedBy}
		if _, err := l.log.Append(ctx, "configure-seed", ev); err != nil && ctx.Err() == nil {
			l.logger.Error().Err(err).Msg("seeding the log's configuration")
			return
		}
		l.logger.Info().Msg("configuration seeded into the log")
	}()
}

// ConfigDiff names the fields (their JSON names) in which two configurations differ,
// with defaults filled in; the district file they came from (source) is not compared.
func ConfigDiff(a, b dispatch.Config) []string {
	fields := func(c dispatch.Config) map[string]json.RawMessage {
		c = c.WithDefaults()
		c.Source = nil
		raw, _ := json.Marshal(c)
		var m map[string]json.RawMessage
		_ = json.Unmarshal(raw, &m)
		return m
	}
	fa, fb := fields(a), fields(b)
	var diff []string
	for k, v := range fa {
		if w, ok := fb[k]; !ok || !bytes.Equal(v, w) {
			diff = append(diff, k)
		}
	}
	for k := range fb {
		if _, ok := fa[k]; !ok {
			diff = append(diff, k)
		}
	}
	slices.Sort(diff)
	return diff
}

// Snapshot writes the engine's state to disk atomically: a crash mid-write leaves the
// previous snapshot in place.
func (l *Loop) Snapshot() error {
	start := time.Now()
	c, seq := l.capture()
	return l.writeSnapshot(c, seq, time.Since(start))
}

// capture copies the engine's state after message seq.
func (l *Loop) capture() (c *dispatch.Capture, seq uint64) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.engine.Capture(), l.applied
}

// writeSnapshot encodes a capture straight into the file (a snapshot of 100k units is
// tens of megabytes: no copies of it in memory); pause is how long taking it held the
// engine, for the log.
func (l *Loop) writeSnapshot(c *dispatch.Capture, seq uint64, pause time.Duration) error {
	l.snapMu.Lock()
	defer l.snapMu.Unlock()
	start := time.Now()
	tmp := l.snapPath + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	defer f.Close()
	cw := &countingWriter{w: bufio.NewWriterSize(f, 1<<20)}
	fmt.Fprintf(cw, `{"seq":%d,"engine":`, seq)
	if err := c.Encode(cw); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	if _, err := cw.Write([]byte("}\n")); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	if err := cw.w.Flush(); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	if err := os.Rename(tmp, l.snapPath); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	l.logger.Info().Uint64("seq", seq).Int64("bytes", cw.n).Dur("engine_pause", pause).
		Dur("write", time.Since(start)).Msg("snapshot written")
	return nil
}

// countingWriter counts what goes through to its buffered writer, whose first error
// sticks and comes back from Flush.
type countingWriter struct {
	w *bufio.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
