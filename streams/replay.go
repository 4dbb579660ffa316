package streams

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gorilla/websocket"

	"commandd/dispatch"
)

// Archive is where a replay reads the past: saved engine states, and the log's
// messages after them.
type Archive interface {
	// StateBefore returns the newest saved engine state at or before t and the log
	// position it follows; a nil state means an empty engine before the log's first
	// message.
	StateBefore(ctx context.Context, t time.Time) (seq uint64, state []byte, err error)
	// Messages delivers the messages after position after, in order, until ctx ends or
	// fn fails (at the end of what is stored, it waits for more).
	Messages(ctx context.Context, after uint64, fn func(Message) error) error
}

// LogArchive replays from the log alone: an empty engine, then every message from
// the first. It serves while the log still holds its beginning (7 days); beyond
// that, replays need the history store (--pg).
type LogArchive struct{ Log *Log }

func (a LogArchive) StateBefore(ctx context.Context, _ time.Time) (uint64, []byte, error) {
	first, _, err := a.Log.First(ctx)
	if err != nil {
		return 0, nil, err
	}
	if first > 1 {
		return 0, nil, fmt.Errorf("the log no longer holds its first messages (it starts at %d); replays this old need the history store (--pg)", first)
	}
	return 0, nil, nil
}

func (a LogArchive) Messages(ctx context.Context, after uint64, fn func(Message) error) error {
	return a.Log.Messages(ctx, after+1, fn)
}

// Replay windows and pacing.
const (
	replayBefore   = 5 * time.Minute // played before an incident's first alert
	replayAfter    = 5 * time.Minute // and after it closed
	replayMaxSpeed = 60
	replayFrame    = 250 * time.Millisecond // clock and unit frames, in wall time
)

// replayControl is what a replaying client sends: {"type":"pause"}, {"type":"play"},
// {"type":"play","speed":30}, {"type":"seek","t":"2026-…Z"}.
type replayControl struct {
	Type  string          `json:"type"`
	Speed float64         `json:"speed"`
	T     dispatch.Millis `json:"t"`
}

// clockFrame is the body of a `clock` frame: where the replay is and how it plays.
type clockFrame struct {
	Incident string          `json:"incident"`
	From     dispatch.Millis `json:"from"`
	To       dispatch.Millis `json:"to"`
	Speed    float64         `json:"speed"`
	Paused   bool            `json:"paused"`
	Ended    bool            `json:"ended,omitempty"`
}

// replay is one client's replay: an engine of its own fed from the archive, and a hub
// of its own, so that the client gets the frames a wall screen got then.
type replay struct {
	s        *Server
	archive  Archive
	cfg      dispatch.Config
	incident string
	from, to time.Time // to is zero while the incident is open: the replay runs into the present
	speed    float64
	paused   bool
	ended    bool
	hub      *Hub
	c        *client
	first    *websocket.PreparedMessage // the client's first snapshot
	control  chan replayControl

	// The pace: sim time simAt was shown at wall time wallAt.
	simAt, wallAt time.Time
	lastFrame     time.Time
}

// serveReplay plays an incident's window to one client.
func (s *Server) serveReplay(ctx context.Context, conn *websocket.Conn, sub Subscription, p Principal) {
	defer s.sockets.Delete(conn)
	defer conn.Close()
	inc, found, e := s.incident(ctx, sub.Incident)
	if e != nil {
		closeWith(conn, websocket.CloseTryAgainLater, e.Message)
		return
	}
	if !found {
		closeWith(conn, websocket.ClosePolicyViolation, fmt.Sprintf("no incident %q", clipMsg(sub.Incident, 40)))
		return
	}
	// Who looked at an incident's replay is part of the inquiry's record.
	if _, err := s.Log.Append(ctx, "", &dispatch.Accessed{T: stamp(s.now()), What: "replay", Subject: inc.ID, By: p.Name()}); err != nil {
		s.Logger.Error().Err(err).Msg("log append failed")
		closeWith(conn, websocket.CloseTryAgainLater, "the event log did not take the replay's audit; retry")
		return
	}
	r := &replay{s: s, archive: s.Archive, cfg: s.Loop.Seed(), incident: inc.ID,
		from: inc.Received.Add(-replayBefore), speed: sub.Speed, hub: NewHub(s.Logger), control: make(chan replayControl, 16)}
	if r.archive == nil {
		r.archive = LogArchive{Log: s.Log}
	}
	if !inc.Closed.IsZero() {
		// What has not happened yet cannot be shown: a replay of an incident closed
		// minutes ago ends at the present.
		r.to = inc.Closed.Add(replayAfter)
		if now := s.now(); r.to.After(now) {
			r.to = now
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	started := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- r.run(ctx, started) }()
	select {
	case <-started:
	case err := <-done:
		closeWith(conn, websocket.CloseInternalServerErr, "replay: "+err.Error())
		return
	}
	s.Metrics.clients.Inc()
	defer s.Metrics.clients.Dec()
	writer := make(chan struct{})
	go func() {
		defer close(writer)
		s.writePump(conn, r.hub, r.c, r.first)
	}()
	r.readControls(conn)
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		s.Logger.Warn().Err(err).Str("incident", r.incident).Msg("replay stopped")
		closeWith(conn, websocket.CloseInternalServerErr, "replay: "+err.Error())
	}
	r.hub.leave(r.c)
	close(r.c.done)
	conn.Close()
	<-writer
}

// readControls reads the client's controls until it leaves.
func (r *replay) readControls(conn *websocket.Conn) {
	conn.SetReadDeadline(time.Now().Add(pongWait))
	conn.SetPongHandler(func(string) error { return conn.SetReadDeadline(time.Now().Add(pongWait)) })
	for {
		_, b, err := conn.ReadMessage()
		if err != nil {
			return
		}
		conn.SetReadDeadline(time.Now().Add(pongWait))
		var m replayControl
		if err := json.Unmarshal(b, &m); err != nil {
			r.hub.tell(r.c, "error", errorBody{Invalid("", "a message must be a JSON object with a type")})
			continue
		}
		if e := m.check(); e != nil {
			r.hub.tell(r.c, "error", errorBody{e})
			continue
		}
		select {
		case r.control <- m:
		default:
			r.hub.tell(r.c, "error", errorBody{Errorf("rate_limited", "", "too many controls at once")})
		}
	}
}

func (m *replayControl) check() *Error {
	switch m.Type {
	case "pause":
	case "play":
		if m.Speed != 0 && (m.Speed < 1 || m.Speed > replayMaxSpeed) {
			return Invalid("speed", "speed must be 1 to %d", replayMaxSpeed)
		}
	case "seek":
		if m.T.IsZero() {
			return Invalid("t", "seek needs a time t")
		}
	default:
		return Errorf("invalid", "type", "%q is not a replay control (play, pause, seek)", clipMsg(m.Type, 40))
	}
	return nil
}

// run plays from the start of the window, and again from wherever the client seeks,
// until ctx ends; started is closed once the client has its first snapshot.
func (r *replay) run(ctx context.Context, started chan struct{}) error {
	target := r.from
	for {
		err := r.pass(ctx, target, started)
		var seek *seekTo
		if !errors.As(err, &seek) {
			return err
		}
		target = seek.t
	}
}

// seekTo ends a pass through the archive to start again at another time.
type seekTo struct{ t time.Time }

func (s *seekTo) Error() string { return "seek to " + s.t.String() }

// pass restores the engine as it was at target and plays on from there.
func (r *replay) pass(ctx context.Context, target time.Time, started chan struct{}) error {
	if target.Before(r.from) {
		target = r.from
	}
	if !r.to.IsZero() && target.After(r.to) {
		target = r.to
	}
	if now := r.s.now(); target.After(now) { // an open incident's replay reaches the present
		target = now
	}
	seq, state, err := r.archive.StateBefore(ctx, target)
	if err != nil {
		return err
	}
	eng := dispatch.New(r.cfg)
	if state != nil {
		if eng, err = dispatch.Restore(r.cfg, state); err != nil {
			return fmt.Errorf("engine state at %d: %w", seq, err)
		}
	}
	// The client sees the engine after every message up to target, then the rest
	// paced from there.
	caught := false
	catchUp := func(seq uint64) {
		caught = true
		v := viewOf(eng, seq)
		v.T = target
		if r.c == nil {
			r.hub.Reset(v)
			r.c, r.first = r.hub.join(Subscription{View: "wall"})
			close(started)
		} else {
			r.hub.resetFor(r.c, v)
		}
		if r.ended { // a seek after the end plays again
			r.paused = false
		}
		r.simAt, r.wallAt, r.ended = target, time.Now(), false
		r.clock()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var dec eventDecoder
	return r.archive.Messages(ctx, seq, func(m Message) error {
		events, err := dec.decode(m.Body)
		if err != nil {
			return fmt.Errorf("message %d: %w", m.Seq, err)
		}
		if !caught && messageTime(eng, events).After(target) {
			catchUp(m.Seq - 1)
		}
		b := Batch{Seq: m.Seq}
		for _, ev := range events {
			changes := eng.Apply(ev)
			if caught {
				b.add(eng, ev, changes)
			}
		}
		if !caught {
			return nil
		}
		// The message is shown when its time comes.
		b.T = eng.Now()
		if err := r.wait(ctx, b.T); err != nil {
			return err
		}
		r.hub.Publish(b)
		if !r.to.IsZero() && !b.T.Before(r.to) {
			r.ended, r.paused = true, true
			r.hub.FlushUnits()
			r.clock()
			return r.wait(ctx, b.T) // until the client seeks or leaves
		}
		return nil
	})
}

// messageTime is the engine's time once it has applied events: it never goes back.
func messageTime(eng *dispatch.Engine, events []dispatch.Event) time.Time {
	t := eng.Now()
	for _, ev := range events {
		if ev.Time().After(t) {
			t = ev.Time()
		}
	}
	return t
}

// now is the replay's time: where the sim clock stands at this moment of wall time.
func (r *replay) now() time.Time {
	if r.paused {
		return r.simAt
	}
	return r.simAt.Add(time.Duration(float64(time.Since(r.wallAt)) * r.speed))
}

// wait lets wall time pass until the replay's clock reaches t, sending clock and unit
// frames meanwhile and obeying the client's controls.
func (r *replay) wait(ctx context.Context, t time.Time) error {
	for r.paused || r.now().Before(t) {
		d := replayFrame
		if !r.paused {
			d = min(d, time.Duration(float64(t.Sub(r.now()))/r.speed)+time.Millisecond)
		}
		timer := time.NewTimer(d)
		select {
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		case m := <-r.control:
			timer.Stop()
			now := r.now()
			switch m.Type {
			case "pause":
				r.paused = true
			case "play":
				if m.Speed != 0 {
					r.speed = m.Speed
				}
				r.paused = r.ended
			case "seek":
				return &seekTo{t: m.T.Time}
			}
			r.simAt, r.wallAt = now, time.Now()
			r.clock()
		case <-timer.C:
		}
		if time.Since(r.lastFrame) >= replayFrame {
			r.hub.FlushUnits()
			r.clock()
		}
	}
	return nil
}

// clock sends the client where the replay is.
func (r *replay) clock() {
	r.lastFrame = time.Now()
	r.hub.tellAt(r.c, "clock", r.now(), clockFrame{Incident: r.incident, From: dispatch.Millis{Time: r.from},
		To: dispatch.Millis{Time: r.to}, Speed: r.speed, Paused: r.paused, Ended: r.ended})
}
