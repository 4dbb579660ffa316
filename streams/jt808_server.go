package streams

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"math"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"golang.org/x/time/rate"

	"commandd/dispatch"
	"commandd/streams/jt808"
)

// JT/T 808 terminals (docs/api.md, "JT/T 808 terminals"): patrol-car terminals connect
// over TCP, register (0x0100) by the terminal phone number a unit's roster entry names,
// get an authentication code (a unit token issued through the log, so it survives
// restarts and is listed and revoked like any token), present it (0x0102) on every
// connection, and then report positions (0x0200, 0x0704) that become the unit's fixes.
// The emergency alarm bit opens a priority-1 help incident at the unit, once per
// rising edge. Nothing but registration and authentication is taken before the code.

// JT808Limits bound the JT/T 808 terminal connections; a zero field takes its value
// in DefaultJT808Limits.
type JT808Limits struct {
	MaxFrame int           // unescaped bytes of one frame, check code included
	MaxConns int           // open connections; more are closed at once
	Rate     float64       // frames per second per connection
	Burst    int           // frames in a burst; over Rate and Burst frames are dropped
	Idle     time.Duration // a connection that sends nothing this long is closed
	// RegisterEvery: a terminal is given a new authentication code at most this often;
	// registering again sooner answers the code it was given.
	RegisterEvery time.Duration
}

// DefaultJT808Limits admit every legal frame, a terminal reporting every second with
// room for blind-area uploads, and close connections that bad networks leave dangling.
var DefaultJT808Limits = JT808Limits{MaxFrame: jt808.DefaultMaxFrame, MaxConns: 20000, Rate: 50, Burst: 100,
	Idle: 3 * time.Minute, RegisterEvery: 10 * time.Second}

func (l JT808Limits) withDefaults() JT808Limits {
	d := DefaultJT808Limits
	if l.MaxFrame <= 0 {
		l.MaxFrame = d.MaxFrame
	}
	if l.MaxConns <= 0 {
		l.MaxConns = d.MaxConns
	}
	if l.Rate <= 0 {
		l.Rate = d.Rate
	}
	if l.Burst <= 0 {
		l.Burst = d.Burst
	}
	if l.Idle <= 0 {
		l.Idle = d.Idle
	}
	if l.RegisterEvery <= 0 {
		l.RegisterEvery = d.RegisterEvery
	}
	return l
}

// jt808State is the server's memory of JT/T 808: open connections and, per terminal,
// what outlives a connection (the alarm edge, the last registration).
type jt808State struct {
	conns     atomic.Int64
	mu        sync.Mutex
	terminals map[string]*jt808Terminal
}

// jt808Terminal is one terminal's state across its connections.
type jt808Terminal struct {
	mu sync.Mutex
	// sos: the emergency bit was set in the last report, and its alert is committed.
	sos bool
	// registered is when the terminal was last given a code, and code that code, kept
	// for RegisterEvery: a terminal that registers again at once (it lost the answer)
	// gets the same one, rather than a new token each time.
	registered time.Time
	code       string
}

func (st *jt808State) terminal(t string) *jt808Terminal {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.terminals == nil {
		st.terminals = map[string]*jt808Terminal{}
	}
	x := st.terminals[t]
	if x == nil {
		x = &jt808Terminal{}
		st.terminals[t] = x
	}
	return x
}

// jt808Metrics count what the JT/T 808 port refuses, by reason, and its connections.
type jt808Metrics struct {
	rejects *prometheus.CounterVec
	conns   prometheus.Gauge
	alarms  prometheus.Counter
}

// jt808Reasons are the reject reasons of commandd_jt808_rejects_total.
var jt808Reasons = []string{
	"checksum", "escape", "frame_too_large", // frames lost by the scanner; the connection goes on
	"bad_message", "reassembly", "unsupported", // frames answered 2 or 3
	"rate", "flood", "connections", "idle", // limits: frame dropped, connection closed
	"not_ready", "unauthenticated", "auth_failed", "unknown_terminal", "terminal_mismatch", "revoked",
	"unpositioned", "time", "position", "speed", // locations refused (answered 2)
	"store", "alarm_unplaced", "alarm_failed", // the log or the engine did not take it
}

func (m *Metrics) registerJT808() {
	m.jt808.rejects = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "commandd_jt808_rejects_total",
		Help: "JT/T 808 frames, messages and connections refused, by reason."}, []string{"reason"})
	m.jt808.conns = prometheus.NewGauge(prometheus.GaugeOpts{Name: "commandd_jt808_connections",
		Help: "Open JT/T 808 terminal connections."})
	m.jt808.alarms = prometheus.NewCounter(prometheus.CounterOpts{Name: "commandd_jt808_alarms_total",
		Help: "JT/T 808 emergency alarms that opened (or joined) an incident."})
	for _, r := range jt808Reasons {
		m.jt808.rejects.WithLabelValues(r)
	}
	m.reg.MustRegister(m.jt808.rejects, m.jt808.conns, m.jt808.alarms)
}

func (m *Metrics) jt808Reject(reason string) { m.jt808.rejects.WithLabelValues(reason).Inc() }

// checkTerminal validates a roster entry's terminal: 1 to 20 decimal digits (a 2019
// header holds 20), kept without leading zeros.
func checkTerminal(t string) (string, *Error) {
	if len(t) == 0 || len(t) > 20 || strings.Trim(t, "0123456789") != "" {
		return "", Invalid("terminal", "a JT/T 808 terminal is its phone number: 1 to 20 decimal digits")
	}
	return dispatch.TerminalName(t), nil
}

// ServeJT808 serves JT/T 808 terminals on ln, one goroutine a connection, until ctx
// ends (then every connection is closed) or ln fails.
func (s *Server) ServeJT808(ctx context.Context, ln net.Listener) error {
	lim := s.JT808.withDefaults()
	var handlers sync.WaitGroup
	defer handlers.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var mu sync.Mutex
	open := map[net.Conn]struct{}{}
	go func() {
		<-ctx.Done()
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for c := range open {
			c.Close()
		}
	}()
	var backoff time.Duration
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			// Out of file descriptors, a connection reset before it was taken: wait and
			// go on, as net/http does.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.Logger.Warn().Err(err).Dur("retry", backoff).Msg("jt808 accept")
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
				return nil
			}
			continue
		}
		backoff = 0
		if s.jt808.conns.Add(1) > int64(lim.MaxConns) {
			s.jt808.conns.Add(-1)
			s.Metrics.jt808Reject("connections")
			s.Logger.Warn().Str("remote", conn.RemoteAddr().String()).Int("max", lim.MaxConns).Msg("jt808 connection refused: too many")
			conn.Close()
			continue
		}
		s.Metrics.jt808.conns.Inc()
		mu.Lock()
		open[conn] = struct{}{}
		mu.Unlock()
		if ctx.Err() != nil {
			conn.Close() // the closer may have run before it was listed
		}
		handlers.Go(func() {
			defer func() {
				mu.Lock()
				delete(open, conn)
				mu.Unlock()
				s.jt808.conns.Add(-1)
				s.Metrics.jt808.conns.Dec()
			}()
			s.serveJT808Conn(ctx, conn, lim)
		})
	}
}

// jt808Conn is one terminal connection.
type jt808Conn struct {
	s      *Server
	conn   net.Conn
	lim    JT808Limits
	log    zerolog.Logger
	remote string

	// Set by authentication.
	terminal, unit, token string
	expires               time.Time // of the token; zero: never
	state                 *jt808Terminal
	checked               time.Time // when the credentials were last looked at

	serial        uint16 // the platform's message serial
	rate, strikes *rate.Limiter
	readBy        time.Time // the read deadline set
	dead          bool      // a write failed: the connection is gone
	fixes         []dispatch.Fix
	fixOf         []int32 // batch: location index → index in fixes, -1 for none
}

// credentialCheck is how often an authenticated connection looks again at its code:
// a revoked code, or a terminal moved to another unit, closes it within this.
const jt808CredentialCheck = time.Second

func (s *Server) serveJT808Conn(ctx context.Context, conn net.Conn, lim JT808Limits) {
	defer conn.Close()
	c := &jt808Conn{s: s, conn: conn, lim: lim, remote: conn.RemoteAddr().String(),
		rate: rate.NewLimiter(rate.Limit(lim.Rate), lim.Burst), strikes: rate.NewLimiter(rate.Limit(lim.Rate), lim.Burst)}
	c.log = s.Logger.With().Str("remote", c.remote).Logger()
	c.log.Debug().Msg("jt808 connection")
	sc := jt808.NewScanner(conn, lim.MaxFrame)
	ra := jt808.NewReassembler(jt808.ReassemblyLimits{})
	dropped := 0
	for !c.dead {
		if now := time.Now(); now.Add(c.lim.Idle - time.Second).After(c.readBy) {
			c.readBy = now.Add(c.lim.Idle)
			_ = conn.SetReadDeadline(c.readBy)
		}
		payload, err := sc.Next()
		if err != nil && !errors.Is(err, jt808.ErrBadFrame) {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && ctx.Err() == nil {
				s.Metrics.jt808Reject("idle")
				c.log.Info().Str("terminal", c.terminal).Str("unit", c.unit).Dur("idle", lim.Idle).Msg("jt808 connection idle: closed")
				return
			}
			c.log.Debug().Err(err).Str("terminal", c.terminal).Msg("jt808 connection closed")
			return
		}
		// Every frame counts against the rate, good or bad: a flood of garbage costs
		// the sender its connection as a flood of reports does.
		if !c.rate.Allow() {
			s.Metrics.jt808Reject("rate")
			if !c.strikes.Allow() {
				s.Metrics.jt808Reject("flood")
				c.log.Warn().Str("terminal", c.terminal).Str("unit", c.unit).Float64("rate", lim.Rate).
					Msg("jt808 connection closed: frames over the rate for too long")
				return
			}
			continue
		}
		if err != nil {
			switch {
			case errors.Is(err, jt808.ErrChecksum):
				s.Metrics.jt808Reject("checksum")
			case errors.Is(err, jt808.ErrFrameTooLarge):
				s.Metrics.jt808Reject("frame_too_large")
			default:
				s.Metrics.jt808Reject("escape")
			}
			c.log.Debug().Err(err).Str("terminal", c.terminal).Msg("jt808 frame dropped")
			continue
		}
		m, err := jt808.Parse(payload)
		if err != nil {
			s.Metrics.jt808Reject("bad_message")
			c.log.Debug().Err(err).Str("terminal", c.terminal).Msg("jt808 message unreadable")
			if errors.Is(err, jt808.ErrBodyLength) && c.admitted(m.Header) {
				c.reply(m.Header, jt808.ResultBadMessage)
			}
			continue
		}
		if !c.admitted(m.Header) {
			continue
		}
		whole, complete, err := ra.Add(m.Header, m.Body)
		if n := ra.Dropped(); n > dropped {
			s.Metrics.jt808.rejects.WithLabelValues("reassembly").Add(float64(n - dropped))
			dropped = n
		}
		switch {
		case err != nil:
			c.log.Debug().Err(err).Str("terminal", c.terminal).Msg("jt808 package refused")
			c.reply(m.Header, jt808.ResultBadMessage)
			continue
		case !complete:
			c.reply(m.Header, jt808.ResultOK) // every package is answered; the message once whole
			continue
		}
		if !c.handle(ctx, whole) {
			return
		}
	}
}

// admitted reports whether a message may go further, answering it when not: before
// authentication only registration and authentication are, and afterwards only
// messages of the terminal that authenticated.
func (c *jt808Conn) admitted(h jt808.Header) bool {
	switch {
	case h.MsgID == jt808.MsgRegister || h.MsgID == jt808.MsgAuth:
		return true
	case h.MsgID == jt808.MsgTerminalReply:
		return false // an answer is never answered, and this server asks nothing
	case c.terminal == "":
		c.s.Metrics.jt808Reject("unauthenticated")
		c.log.Debug().Str("terminal", h.Terminal).Uint16("msg", h.MsgID).Msg("jt808 message before authentication refused")
		c.reply(h, jt808.ResultFail)
		return false
	case h.Terminal != c.terminal:
		c.s.Metrics.jt808Reject("terminal_mismatch")
		c.log.Warn().Str("terminal", c.terminal).Str("unit", c.unit).Str("sent_as", h.Terminal).
			Msg("jt808 message of another terminal refused")
		c.reply(h, jt808.ResultFail)
		return false
	}
	return true
}

// handle acts on a whole message and answers it; false closes the connection.
func (c *jt808Conn) handle(ctx context.Context, m jt808.Message) bool {
	h := m.Header
	if h.Encryption != 0 {
		c.s.Metrics.jt808Reject("unsupported")
		c.reply(h, jt808.ResultUnsupported)
		return true
	}
	switch h.MsgID {
	case jt808.MsgRegister:
		c.register(ctx, m)
		return true
	case jt808.MsgAuth:
		return c.authenticate(m)
	}
	if !c.stillValid() {
		c.reply(h, jt808.ResultFail)
		return false
	}
	switch h.MsgID {
	case jt808.MsgHeartbeat:
		c.reply(h, jt808.ResultOK)
	case jt808.MsgLogout:
		c.reply(h, jt808.ResultOK)
		c.log.Info().Str("terminal", c.terminal).Str("unit", c.unit).Msg("jt808 terminal logged out")
		return false
	case jt808.MsgLocation:
		c.location(ctx, m)
	case jt808.MsgBatch:
		c.batch(ctx, m)
	default:
		c.s.Metrics.jt808Reject("unsupported")
		c.log.Debug().Str("terminal", c.terminal).Uint16("msg", h.MsgID).Msg("jt808 message not supported")
		c.reply(h, jt808.ResultUnsupported)
	}
	return true
}

// ready answers h with a failure while the engine replays the log: until it has caught
// up, a registered terminal would look unknown.
func (c *jt808Conn) ready(h jt808.Header) bool {
	if c.s.Loop.Ready() {
		return true
	}
	c.s.Metrics.jt808Reject("not_ready")
	c.reply(h, jt808.ResultFail)
	return false
}

// register answers a registration: an unknown terminal gets result 4, a known one a
// fresh authentication code, stored (hashed) through the log as a unit token before
// it is sent. The terminal's earlier codes are revoked: it keeps the newest.
func (c *jt808Conn) register(ctx context.Context, m jt808.Message) {
	h := m.Header
	reg, err := jt808.DecodeRegister(m.Body, h.Version)
	if err != nil {
		c.s.Metrics.jt808Reject("bad_message")
		c.log.Debug().Err(err).Str("terminal", h.Terminal).Msg("jt808 registration unreadable")
		c.reply(h, jt808.ResultBadMessage)
		return
	}
	if !c.ready(h) {
		return
	}
	log := c.log.With().Str("terminal", h.Terminal).Logger()
	var unit string
	var known bool
	c.s.Loop.Read(func(e *dispatch.Engine) { unit, known = e.UnitByTerminal(h.Terminal) })
	if !known {
		c.s.Metrics.jt808Reject("unknown_terminal")
		log.Info().Str("device", reg.TerminalID).Msg("jt808 registration of a terminal no unit has: refused")
		c.registerReply(h, jt808.RegisterNoTerminal, "")
		return
	}
	log = log.With().Str("unit", unit).Logger()
	st := c.s.jt808.terminal(h.Terminal)
	now := time.Now()
	st.mu.Lock()
	again := ""
	if !st.registered.IsZero() && now.Sub(st.registered) < c.lim.RegisterEvery {
		again = st.code
	}
	st.mu.Unlock()
	if again != "" {
		log.Info().Dur("within", c.lim.RegisterEvery).Msg("jt808 terminal registered again at once: the same code")
		c.registerReply(h, jt808.RegisterOK, again)
		return
	}
	raw := make([]byte, 8+4)
	_, _ = rand.Read(raw) // crypto/rand never fails on the platforms Go supports
	code := hex.EncodeToString(raw[:8])
	by := "jt808:" + h.Terminal
	ev := &dispatch.TokenIssued{T: stamp(now), ID: "jt-" + h.Terminal + "-" + hex.EncodeToString(raw[8:]),
		Hash: tokenHash(code), Role: string(UnitRole), Unit: unit, By: by}
	if _, _, err := c.s.commit(ctx, "", ev); err != nil {
		c.s.Metrics.jt808Reject("store")
		log.Error().Str("reason", err.Message).Msg("jt808 registration: the code was not stored")
		c.reply(h, jt808.ResultFail)
		return
	}
	st.mu.Lock()
	st.registered, st.code = now, code
	st.mu.Unlock()
	var older []string
	c.s.Loop.Read(func(e *dispatch.Engine) {
		for _, t := range e.Tokens() {
			if t.By == by && t.ID != ev.ID && t.Revoked.IsZero() {
				older = append(older, t.ID)
			}
		}
	})
	for _, id := range older {
		if _, _, err := c.s.commit(ctx, "", &dispatch.TokenRevoked{T: stamp(time.Now()), ID: id, By: by}); err != nil {
			log.Error().Str("token", id).Str("reason", err.Message).Msg("jt808 registration: an older code was not revoked")
		}
	}
	plate, _ := reg.PlateText()
	log.Info().Str("token", ev.ID).Str("device", reg.TerminalID).Str("plate", plate).Int("revoked", len(older)).
		Msg("jt808 terminal registered")
	c.registerReply(h, jt808.RegisterOK, code)
}

// authenticate checks the code a terminal presents: the hash of an issued unit token,
// unrevoked and unexpired, of the unit whose terminal this is. A wrong one closes the
// connection.
func (c *jt808Conn) authenticate(m jt808.Message) bool {
	h := m.Header
	a, err := jt808.DecodeAuth(m.Body, h.Version)
	if err != nil {
		c.s.Metrics.jt808Reject("auth_failed")
		c.log.Info().Err(err).Str("terminal", h.Terminal).Msg("jt808 authentication unreadable: closed")
		c.reply(h, jt808.ResultFail)
		return false
	}
	if !c.ready(h) {
		return false
	}
	unit, tok, why := c.check(h.Terminal, tokenHash(a.Code))
	id := tok.ID
	if why != "" {
		c.s.Metrics.jt808Reject("auth_failed")
		c.log.Info().Str("terminal", h.Terminal).Str("unit", unit).Str("token", id).Str("reason", why).Msg("jt808 authentication failed: closed")
		c.reply(h, jt808.ResultFail)
		return false
	}
	first := c.terminal == ""
	c.terminal, c.unit, c.token, c.expires, c.checked = h.Terminal, unit, id, tok.Expires.Time, time.Now()
	c.state = c.s.jt808.terminal(c.terminal)
	c.reply(h, jt808.ResultOK)
	if first {
		c.log = c.log.With().Str("terminal", c.terminal).Str("unit", c.unit).Logger()
		c.log.Info().Str("token", id).Str("version", h.Version.String()).Str("imei", a.IMEI).Msg("jt808 terminal authenticated")
	}
	return true
}

// check finds the unit whose terminal this is and the token whose secret has hash,
// and says why they do not go together ("" when they do).
func (c *jt808Conn) check(terminal, hash string) (unit string, t dispatch.TokenView, why string) {
	var known, issued bool
	c.s.Loop.Read(func(e *dispatch.Engine) {
		unit, known = e.UnitByTerminal(terminal)
		t, issued = e.TokenByHash(hash)
	})
	switch {
	case !known:
		return "", t, "no unit has this terminal"
	case !issued:
		return unit, t, "unknown code"
	case !t.Revoked.IsZero():
		return unit, t, "code revoked"
	case !t.Expires.IsZero() && !time.Now().Before(t.Expires.Time):
		return unit, t, "code expired"
	case t.Role != string(UnitRole) || t.Unit != unit:
		return unit, t, "the code is not one of this terminal's unit"
	}
	return unit, t, ""
}

// stillValid looks again, at most every jt808CredentialCheck, at the code the
// connection authenticated with.
func (c *jt808Conn) stillValid() bool {
	now := time.Now()
	if now.Sub(c.checked) < jt808CredentialCheck {
		return true
	}
	// The code's hash is not kept: the token's id names it as well.
	var why string
	c.s.Loop.Read(func(e *dispatch.Engine) {
		unit, ok := e.UnitByTerminal(c.terminal)
		_, revoked := e.TokenRevokedAt(c.token)
		switch {
		case !ok || unit != c.unit:
			why = "the terminal is no longer this unit's"
		case revoked:
			why = "code revoked"
		case !c.expires.IsZero() && !now.Before(c.expires):
			why = "code expired"
		}
	})
	if why != "" {
		c.s.Metrics.jt808Reject("revoked")
		c.log.Info().Str("reason", why).Msg("jt808 connection closed")
		return false
	}
	c.checked = now
	return true
}

// fix is the engine's fix of a location report, or why it is refused (a reject reason).
func (c *jt808Conn) fix(l *jt808.Location, now time.Time) (dispatch.Fix, string) {
	switch {
	case !l.Positioned():
		return dispatch.Fix{}, "unpositioned"
	case l.Time.IsZero() || CheckTime(l.Time, now, "t") != nil:
		return dispatch.Fix{}, "time"
	case l.Lat == 0 && l.Lng == 0, checkLatLng(l.Lat, l.Lng, "lat", "lng") != nil:
		return dispatch.Fix{}, "position"
	}
	speed := l.SpeedKmh() / 3.6
	if speed >= MaxSpeed {
		return dispatch.Fix{}, "speed"
	}
	cell, err := placeCell(l.Lat, l.Lng, "lat")
	if err != nil {
		return dispatch.Fix{}, "position"
	}
	f := dispatch.Fix{Unit: c.unit, T: l.Time.UTC().Truncate(time.Millisecond), Lat: l.Lat, Lng: l.Lng, Cell: cell,
		Speed: speed, Heading: math.Mod(float64(l.Direction), 360), Alarm: l.Alarm}
	if km, ok := l.MileageKm(); ok {
		f.Mileage = uint32(math.Round(km * 10))
	}
	return f, ""
}

// store appends the connection's fixes to the log and returns once they are stored.
func (c *jt808Conn) store(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := c.s.Log.AppendFixes(ctx, c.fixes); err != nil {
		c.fixes = nil // the group commit may still read it: never reuse it
		c.s.Metrics.jt808Reject("store")
		c.log.Error().Err(err).Msg("jt808 fixes not stored")
		return false
	}
	c.s.Metrics.fixes(len(c.fixes), 0)
	return true
}

// location takes a 0x0200 report: its fix stored, then its alarm, then the answer.
func (c *jt808Conn) location(ctx context.Context, m jt808.Message) {
	l, err := jt808.DecodeLocation(m.Body)
	if err != nil {
		c.s.Metrics.jt808Reject("bad_message")
		c.log.Debug().Err(err).Msg("jt808 location unreadable")
		c.reply(m.Header, jt808.ResultBadMessage)
		return
	}
	now := c.s.now()
	f, why := c.fix(&l, now)
	result := jt808.ResultOK
	if why != "" {
		c.s.Metrics.jt808Reject(why)
		c.s.Metrics.fixes(0, 1)
		c.log.Debug().Str("reason", why).Time("t", l.Time).Msg("jt808 location refused")
		result = jt808.ResultBadMessage
		if !c.alarm(ctx, &l, nil, now) {
			result = jt808.ResultFail
		}
		c.reply(m.Header, result)
		return
	}
	c.fixes = append(c.fixes[:0], f)
	if !c.store(ctx) || !c.alarm(ctx, &l, &f, now) {
		result = jt808.ResultFail // the terminal sends it again; a repeated fix moves nothing
	}
	c.reply(m.Header, result)
}

// batch takes a 0x0704 upload: its positioned locations stored as fixes together, the
// emergency bit of a normal (not blind-area) batch followed in order, one answer.
func (c *jt808Conn) batch(ctx context.Context, m jt808.Message) {
	b, err := jt808.DecodeBatch(m.Body)
	if err != nil {
		c.s.Metrics.jt808Reject("bad_message")
		c.log.Debug().Err(err).Msg("jt808 batch unreadable")
		c.reply(m.Header, jt808.ResultBadMessage)
		return
	}
	now := c.s.now()
	c.fixes, c.fixOf = c.fixes[:0], c.fixOf[:0]
	refused := 0
	for i := range b.Locations {
		f, why := c.fix(&b.Locations[i], now)
		if why != "" {
			c.s.Metrics.jt808Reject(why)
			c.fixOf = append(c.fixOf, -1)
			refused++
			continue
		}
		c.fixOf = append(c.fixOf, int32(len(c.fixes)))
		c.fixes = append(c.fixes, f)
	}
	c.s.Metrics.fixes(0, refused)
	result := jt808.ResultOK
	if len(c.fixes) > 0 && !c.store(ctx) {
		result = jt808.ResultFail
	} else if b.Type == jt808.BatchNormal {
		for i := range b.Locations {
			var f *dispatch.Fix
			if j := c.fixOf[i]; j >= 0 {
				f = &c.fixes[j]
			}
			if !c.alarm(ctx, &b.Locations[i], f, now) {
				result = jt808.ResultFail
				break
			}
		}
	}
	c.log.Debug().Int("locations", len(b.Locations)).Int("refused", refused).Uint8("type", b.Type).Msg("jt808 batch")
	c.reply(m.Header, result)
}

// jt808AlarmText is the text of the alert an emergency alarm raises.
const jt808AlarmText = "民警一键报警 (JT/T 808 紧急报警) — officer raised the emergency alarm"

// alarm follows the terminal's emergency bit: on a rising edge it commits a priority-1
// help alert at the unit (f's position, or the unit's last one when the report has
// none). The alert id is the terminal and the time of the report that raised it, so
// that the same report sent again — after a restart too — is the same alert. false:
// the alert was not stored (the terminal should send the report again).
func (c *jt808Conn) alarm(ctx context.Context, l *jt808.Location, f *dispatch.Fix, now time.Time) bool {
	st := c.state
	st.mu.Lock()
	defer st.mu.Unlock()
	if l.Alarm&jt808.AlarmSOS == 0 {
		st.sos = false
		return true
	}
	if st.sos {
		return true // the same alarm, still on
	}
	var v dispatch.UnitView
	c.s.Loop.Read(func(e *dispatch.Engine) { v, _ = e.Unit(c.unit) })
	lat, lng, cell := v.Lat, v.Lng, v.Cell
	if f != nil {
		lat, lng, cell = f.Lat, f.Lng, f.Cell
	}
	if cell == 0 {
		c.s.Metrics.jt808Reject("alarm_unplaced")
		c.log.Error().Time("t", l.Time).Msg("jt808 emergency alarm of a unit with no position yet: no incident until a positioned report")
		return true
	}
	at := l.Time
	if at.IsZero() {
		at = now // no clock on the terminal: the id is this frame's arrival
	}
	id := "jt808-" + c.terminal + "-" + at.UTC().Format("20060102T150405Z")
	t := at
	if CheckTime(t, now, "t") != nil {
		t = now
	}
	caller := v.Callsign
	if caller == "" {
		caller = c.unit
	}
	ev := &dispatch.AlertReceived{ID: id, T: stamp(t), Lat: lat, Lng: lng, Cell: cell, Category: dispatch.Help, Priority: 1,
		Caller: caller, Text: jt808AlarmText}
	ans, fresh, err := c.s.commit(ctx, "alert:"+id, ev)
	if err != nil {
		c.s.Metrics.jt808Reject("alarm_failed")
		c.log.Error().Str("alert", id).Str("reason", err.Message).Msg("jt808 emergency alarm not stored")
		return false
	}
	st.sos = true
	incident, dup, repeat := "", false, !fresh
	for _, ch := range ans {
		if ch.Kind == dispatch.AlertAccepted && ch.Alert == id {
			incident, dup, repeat = ch.Incident, ch.Duplicate, repeat || ch.Repeat
		}
	}
	if incident == "" {
		c.s.Loop.Read(func(e *dispatch.Engine) {
			a, _ := e.Alert(id)
			incident, dup = a.Incident, a.Duplicate
		})
	}
	if !repeat {
		c.s.Metrics.jt808.alarms.Inc()
	}
	c.log.Warn().Str("alert", id).Str("incident", incident).Bool("duplicate", dup).Bool("repeat", repeat).
		Float64("lat", lat).Float64("lng", lng).Msg("jt808 emergency alarm")
	return true
}

func (c *jt808Conn) next() uint16 {
	c.serial++
	return c.serial
}

func (c *jt808Conn) reply(h jt808.Header, r jt808.Result) {
	b, err := jt808.EncodeGeneralReply(h, c.next(), r)
	if err != nil {
		c.log.Error().Err(err).Msg("jt808 answer not encoded")
		return
	}
	c.write(b)
}

func (c *jt808Conn) registerReply(h jt808.Header, r jt808.RegisterResult, code string) {
	b, err := jt808.EncodeRegisterReply(h, c.next(), r, code)
	if err != nil {
		c.log.Error().Err(err).Msg("jt808 registration answer not encoded")
		return
	}
	c.write(b)
}

// jt808WriteTimeout bounds one answer's write: a terminal that reads nothing loses
// its connection rather than holding a goroutine.
const jt808WriteTimeout = 10 * time.Second

func (c *jt808Conn) write(b []byte) {
	if c.dead {
		return
	}
	_ = c.conn.SetWriteDeadline(time.Now().Add(jt808WriteTimeout))
	if _, err := c.conn.Write(b); err != nil {
		c.dead = true
		c.log.Debug().Err(err).Msg("jt808 answer not sent: closed")
	}
}
