package history

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/rs/zerolog"

	"commandd/dispatch"
	"commandd/streams"
)

// Writer follows the log into the store.
type Writer struct {
	Store  *Store
	Log    *streams.Log
	Config dispatch.Config // the live engine's: the writer's engine must decide the same
	Logger zerolog.Logger
	// StateEvery is how much log time passes between saved engine states (default 5
	// minutes): a replay seeks by restoring one and applying the messages after it.
	StateEvery time.Duration
	// MaxBatch is the most messages written in one transaction (default 2,000), and
	// MaxFixes the most fixes (default 20,000); Wait is how long a smaller batch waits
	// for more (default 200 ms).
	MaxBatch int
	MaxFixes int
	Wait     time.Duration

	position atomic.Uint64
}

// Position is the log position the store holds up to.
func (w *Writer) Position() uint64 { return w.position.Load() }

// Run writes the log into the store until ctx ends. When the database or the log
// fails, it starts again from what the store holds, waiting longer each time (up to
// 15 s) while nothing gets through.
func (w *Writer) Run(ctx context.Context) error {
	if w.StateEvery <= 0 {
		w.StateEvery = 5 * time.Minute
	}
	if w.MaxBatch <= 0 {
		w.MaxBatch = 2000
	}
	if w.MaxFixes <= 0 {
		w.MaxFixes = 20000
	}
	if w.Wait <= 0 {
		w.Wait = 200 * time.Millisecond
	}
	backoff := time.Second
	for {
		before := w.Position()
		err := w.run(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if w.Position() > before {
			backoff = time.Second
		}
		w.Logger.Warn().Err(err).Uint64("seq", w.Position()).Dur("retry_in", backoff).Msg("history writer stopped")
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 15*time.Second)
	}
}

// run restores the writer's engine to the store's position and follows the log from
// there until something fails.
func (w *Writer) run(ctx context.Context) error {
	stream := w.Log.Name()
	eng, pos, stateT, err := w.restore(ctx, stream)
	if err != nil {
		return err
	}
	w.position.Store(pos)
	w.Logger.Info().Uint64("seq", pos).Msg("history writer following the log")

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	msgs := make(chan streams.Message, w.MaxBatch)
	readErr := make(chan error, 1)
	go func() {
		readErr <- w.Log.Messages(ctx, pos+1, func(m streams.Message) error {
			select {
			case msgs <- m:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()

	// One batch is written while the next is read and applied: a committer goroutine
	// takes finished batches in order.
	committed := make(chan error, 1)
	ready := make(chan *batch, 1)
	go func() {
		for b := range ready {
			if err := b.write(ctx, w.Store); err != nil {
				committed <- err
				cancel(err)
				for range ready { // drain: the run is over
				}
				return
			}
			w.position.Store(b.last)
		}
		committed <- nil
	}()
	defer func() {
		cancel(nil) // a batch still being written is abandoned: it is read again next time
		close(ready)
		<-committed
	}()

	b := newBatch(stream, pos)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	flush := func() error {
		if b.messages == 0 {
			return nil
		}
		if t := b.lastT; t.Sub(stateT) >= w.StateEvery {
			state, err := eng.Snapshot()
			if err != nil {
				return fmt.Errorf("history: engine state: %w", err)
			}
			b.state = state
			stateT = t
		}
		if err := b.finish(eng); err != nil {
			return err
		}
		select {
		case ready <- b:
		case <-ctx.Done():
			return ctx.Err()
		}
		b = newBatch(stream, b.last)
		return nil
	}
	for {
		select {
		case m := <-msgs:
			if m.Seq != b.last+1 {
				return fmt.Errorf("history: the log skips from %d to %d (it no longer holds what the store lacks)", b.last, m.Seq)
			}
			if err := b.add(eng, m); err != nil {
				return err
			}
			if b.messages == 1 {
				timer.Reset(w.Wait)
			}
			if b.messages >= w.MaxBatch || len(b.fixRows) >= w.MaxFixes {
				timer.Stop()
				if err := flush(); err != nil {
					return err
				}
			}
		case <-timer.C:
			if err := flush(); err != nil {
				return err
			}
		case err := <-readErr:
			if ctx.Err() != nil {
				return context.Cause(ctx)
			}
			return err
		case <-ctx.Done():
			// What is not committed is read again next time.
			return context.Cause(ctx)
		}
	}
}

// restore rebuilds the writer's engine as it was after the store's position: the
// newest saved state at or before it, then the archived messages after that state.
func (w *Writer) restore(ctx context.Context, stream string) (eng *dispatch.Engine, pos uint64, stateT time.Time, err error) {
	var other string
	err = w.Store.pool.QueryRow(ctx, `SELECT stream FROM history_position WHERE stream <> $1 LIMIT 1`, stream).Scan(&other)
	if err == nil {
		return nil, 0, time.Time{}, fmt.Errorf("history: this database holds the log %s; each log (region) needs its own database", other)
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return nil, 0, time.Time{}, fmt.Errorf("history: position: %w", err)
	}
	if pos, err = w.Store.Position(ctx, stream); err != nil {
		return nil, 0, time.Time{}, err
	}
	start := time.Now()
	stateSeq, state, stateT, err := w.Store.stateAt(ctx, pos)
	if err != nil {
		return nil, 0, time.Time{}, err
	}
	if state == nil {
		eng = dispatch.New(w.Config)
	} else if eng, err = dispatch.Restore(w.Config, state); err != nil {
		return nil, 0, time.Time{}, fmt.Errorf("history: engine state at %d: %w", stateSeq, err)
	}
	n := 0
	err = w.Store.archived(ctx, stateSeq, pos, func(m streams.Message) error {
		events, err := streams.DecodeEvents(m.Body)
		if err != nil {
			return fmt.Errorf("history: archived message %d: %w", m.Seq, err)
		}
		for _, ev := range events {
			eng.Apply(ev)
		}
		n++
		return nil
	})
	if err != nil {
		return nil, 0, time.Time{}, err
	}
	if uint64(n) != pos-stateSeq {
		return nil, 0, time.Time{}, fmt.Errorf("history: %d archived messages between %d and %d, want %d", n, stateSeq, pos, pos-stateSeq)
	}
	w.Logger.Info().Uint64("state", stateSeq).Uint64("seq", pos).Int("applied", n).Dur("took", time.Since(start)).Msg("history engine restored")
	return eng, pos, stateT, nil
}

// stateAt returns the newest saved engine state at or before seq (nil: none).
func (s *Store) stateAt(ctx context.Context, seq uint64) (stateSeq uint64, state []byte, t time.Time, err error) {
	var at int64
	err = s.pool.QueryRow(ctx, `SELECT seq, t, engine FROM engine_states WHERE seq <= $1 ORDER BY seq DESC LIMIT 1`,
		int64(seq)).Scan(&at, &t, &state)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil, time.Time{}, nil
	}
	if err != nil {
		return 0, nil, time.Time{}, fmt.Errorf("history: engine state: %w", err)
	}
	return uint64(at), state, t, nil
}

// archived delivers the archived log messages after position from up to and
// including to, in order.
func (s *Store) archived(ctx context.Context, from, to uint64, fn func(streams.Message) error) error {
	rows, err := s.pool.Query(ctx, `SELECT seq, t, body FROM log_messages WHERE seq > $1 AND seq <= $2 ORDER BY seq`,
		int64(from), int64(to))
	if err != nil {
		return fmt.Errorf("history: archived messages: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var m streams.Message
		var seq int64
		if err := rows.Scan(&seq, &m.T, &m.Body); err != nil {
			return fmt.Errorf("history: archived messages: %w", err)
		}
		m.Seq = uint64(seq)
		if err := fn(m); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("history: archived messages: %w", err)
	}
	return nil
}

// Maintain keeps the store in shape, reckoning days by the log's time as far as the
// store holds it: each day of fixes over for an hour gets its track index, and with
// retain > 0, days older than that are dropped.
func (w *Writer) Maintain(ctx context.Context, retain time.Duration) error {
	var t time.Time
	err := w.Store.pool.QueryRow(ctx, `SELECT t FROM history_position WHERE stream = $1`, w.Log.Name()).Scan(&t)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("history: maintain: %w", err)
	}
	indexed, err := w.Store.IndexDaysBefore(ctx, t.Add(-time.Hour))
	if err != nil {
		return err
	}
	dropped := 0
	if retain > 0 {
		if dropped, err = w.Store.DropBefore(ctx, t.Add(-retain)); err != nil {
			return err
		}
	}
	if indexed+dropped > 0 {
		w.Logger.Info().Int("days_indexed", indexed).Int("partitions_dropped", dropped).Msg("history maintained")
	}
	return nil
}
