package streams

import (
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"commandd/dispatch"
)

// ExternalClock is a server clock that moves only when an admin sets it (commandd
// --clock external), and each setting is the engine's tick. A simulation that drives it
// step by step, sending one request at a time, gives the engine the same log on every
// run, so what it measures comes out the same every time (the engine itself reads no
// wall clock).
type ExternalClock struct {
	set sync.Mutex   // one setting at a time, so ticks reach the log in order
	ns  atomic.Int64 // the time, in Unix nanoseconds
}

// NewExternalClock returns a clock standing at t.
func NewExternalClock(t time.Time) *ExternalClock {
	c := &ExternalClock{}
	c.ns.Store(t.UnixNano())
	return c
}

// Now is where the clock stands.
func (c *ExternalClock) Now() time.Time { return time.Unix(0, c.ns.Load()).UTC() }

// clockAnswer is the answer of GET and POST /api/v1/clock.
type clockAnswer struct {
	T        dispatch.Millis `json:"t"`
	External bool            `json:"external"`
}

func (s *Server) getClock(r *http.Request, p Principal) (int, any, *Error) {
	return http.StatusOK, clockAnswer{T: dispatch.Millis{Time: stamp(s.now())}, External: s.External != nil}, nil
}

// setClock moves an external clock to the time sent and answers once the engine has
// ticked there: everything sent before is applied, with its consequences.
func (s *Server) setClock(r *http.Request, p Principal) (int, any, *Error) {
	if s.External == nil {
		return 0, nil, Errorf("conflict", "", "this server keeps its own time; only one started with --clock external is set from outside")
	}
	b, err := body(r, s.Limits.MaxBody)
	if err != nil {
		return 0, nil, err
	}
	var in struct {
		T WireTime `json:"t"`
	}
	if err := decodeObject(b, &in, "t"); err != nil {
		return 0, nil, err
	}
	if !in.T.Set {
		return 0, nil, Invalid("t", "t is required")
	}
	t := stamp(in.T.T)
	c := s.External
	c.set.Lock()
	defer c.set.Unlock()
	now := c.Now()
	s.Loop.Read(func(e *dispatch.Engine) { now = later(now, e.Now()) }) // after a restart, the log's time
	if t.Before(now) {
		return 0, nil, Invalid("t", "t is before the server's clock (%s): it only moves forward", now.Format(time.RFC3339Nano))
	}
	c.ns.Store(t.UnixNano())
	if _, _, err := s.commit(r.Context(), "", &dispatch.Tick{T: t}); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, clockAnswer{T: dispatch.Millis{Time: t}, External: true}, nil
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
