package streams

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
)

const (
	writeWait  = 10 * time.Second
	pongWait   = 60 * time.Second
	pingPeriod = 25 * time.Second
)

// upgrader keeps an idle connection small: a 1 KiB read buffer (big messages are read
// past it, straight into place), and write buffers lent from a pool only while a frame
// is written.
var upgrader = websocket.Upgrader{ReadBufferSize: 1024, WriteBufferPool: &sync.Pool{}}

// checkOrigin allows clients without an Origin (terminals, tests), pages served by this
// server, and the configured origins; a page elsewhere may not ride an operator's token.
func (s *Server) checkOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	return strings.EqualFold(u.Host, r.Host) || slices.Contains(s.Origins, origin)
}

// serveWS upgrades a client and reads its subscription. The client is then served by
// two goroutines of its own (reading, writing) and the request's goroutine returns, so
// that what net/http keeps per connection (its buffered writer, its grown stack) goes:
// an idle client costs little.
func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	p, aerr := s.authenticate(r)
	if aerr != nil {
		WriteError(w, aerr)
		return
	}
	if !s.checkOrigin(r) {
		WriteError(w, Errorf("permission_denied", "", "origin %q not allowed", r.Header.Get("Origin")))
		return
	}
	up := upgrader
	up.CheckOrigin = func(*http.Request) bool { return true } // checked above
	conn, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	so := s.track(conn, p, r)
	sub, since, ok := s.readSubscription(conn, p)
	if !ok {
		s.sockets.Delete(conn)
		conn.Close()
		return
	}
	so.sub.Store(&sub)
	if sub.View == "replay" {
		go s.serveReplay(context.WithoutCancel(r.Context()), conn, sub, p)
		return
	}
	c, snap := s.Hub.resume(sub, since)
	s.Metrics.clients.Inc()
	// Commands a client sends outlive this request; shutdown closes the sockets.
	go s.serveClient(context.WithoutCancel(r.Context()), conn, p, c, snap)
}

// readSubscription reads the first message, which must be a subscription p may make,
// with the last seq the client saw if it is coming back; the connection is told why
// when it is not.
func (s *Server) readSubscription(conn *websocket.Conn, p Principal) (_ Subscription, since *uint64, ok bool) {
	conn.SetReadLimit(s.Limits.MaxBody)
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	var m struct {
		Subscription
		Seq *uint64 `json:"seq"`
	}
	if err := conn.ReadJSON(&m); err != nil || m.Type != "subscribe" {
		closeWith(conn, websocket.ClosePolicyViolation, "first message must be a subscribe")
		return m.Subscription, nil, false
	}
	if e := allowView(p, &m.Subscription); e != nil {
		closeWith(conn, websocket.ClosePolicyViolation, e.Message)
		return m.Subscription, nil, false
	}
	if p.Is(UnitRole, Ingest, Admin) { // may send fix batches
		conn.SetReadLimit(s.Limits.MaxFixBody)
	}
	return m.Subscription, m.Seq, true
}

// serveClient reads what the client sends until it leaves, while its writer sends it
// the snapshot and then its frames.
func (s *Server) serveClient(ctx context.Context, conn *websocket.Conn, p Principal, c *client, snap *websocket.PreparedMessage) {
	defer s.Metrics.clients.Dec()
	defer s.sockets.Delete(conn)
	writer := make(chan struct{})
	go func() {
		defer close(writer)
		s.writePump(conn, s.Hub, c, snap)
	}()
	s.readPump(ctx, conn, p, c)
	// Stop queuing for the client, stop its writer (closing the connection unblocks a
	// write to a client that stopped reading) and wait for it, so nothing outlives the
	// connection.
	s.Hub.leave(c)
	close(c.done)
	conn.Close()
	<-writer
}

// CloseSockets tells every WebSocket client the server is going away and closes its
// connection; clients reconnect and resume. http.Server.Shutdown does not see hijacked
// connections, so the server calls this on shutdown.
func (s *Server) CloseSockets() {
	s.sockets.Range(func(k, _ any) bool {
		conn := k.(*websocket.Conn)
		closeWith(conn, websocket.CloseGoingAway, "server shutting down")
		conn.Close()
		return true
	})
}

// allowView checks that p may see the subscription's view, and checks and tidies the
// subscription (fields another view does not use are cleared, so clients of one view
// share frames).
func allowView(p Principal, sub *Subscription) *Error {
	switch sub.View {
	case "wall":
		if !p.Is(Admin, Operator, Supervisor) {
			break
		}
		if sub.BBox != [4]float64{} {
			b := sub.BBox
			if !(b[0] >= -180 && b[2] <= 180 && b[1] >= -90 && b[3] <= 90 && b[0] <= b[2] && b[1] <= b[3]) {
				return Invalid("bbox", "bbox must be [minLng,minLat,maxLng,maxLat] in range")
			}
		}
		*sub = Subscription{Type: sub.Type, View: sub.View, BBox: sub.BBox}
		return nil
	case "unit":
		if sub.Unit == "" && p.Is(UnitRole) {
			sub.Unit = p.Unit
		}
		if !(p.Is(Admin, Operator, Supervisor) || p.Is(UnitRole) && p.Unit == sub.Unit) {
			break
		}
		if sub.Unit == "" {
			return Invalid("unit", "the unit view needs a unit")
		}
		*sub = Subscription{Type: sub.Type, View: sub.View, Unit: sub.Unit}
		return nil
	case "ingest":
		if !p.Is(Ingest, Admin) {
			break
		}
		*sub = Subscription{Type: sub.Type, View: sub.View}
		return nil
	case "volunteer":
		if sub.Unit == "" && p.Is(UnitRole, Volunteer) {
			sub.Unit = p.Unit
		}
		if !(p.Is(Admin, Operator, Supervisor) || p.Is(UnitRole, Volunteer) && p.Unit == sub.Unit) {
			break
		}
		if sub.Unit == "" {
			if sub.Lat < -90 || sub.Lat > 90 || sub.Lng < -180 || sub.Lng > 180 || sub.Lat == 0 && sub.Lng == 0 {
				return Invalid("lat", "the volunteer view needs lat and lng in range, or a unit to follow")
			}
			*sub = Subscription{Type: sub.Type, View: sub.View, Lat: sub.Lat, Lng: sub.Lng}
		} else {
			*sub = Subscription{Type: sub.Type, View: sub.View, Unit: sub.Unit}
		}
		return nil
	case "replay":
		if !p.Is(Admin, Operator, Supervisor) {
			break
		}
		if sub.Incident == "" {
			return Invalid("incident", "the replay view needs an incident")
		}
		if sub.Speed == 0 {
			sub.Speed = 1
		}
		if sub.Speed < 1 || sub.Speed > replayMaxSpeed {
			return Invalid("speed", "speed must be 1 to %d", replayMaxSpeed)
		}
		*sub = Subscription{Type: sub.Type, View: sub.View, Incident: sub.Incident, Speed: sub.Speed}
		return nil
	default:
		return Invalid("view", "unknown view %q (want wall, unit, volunteer, ingest or replay)", sub.View)
	}
	return Errorf("permission_denied", "view", "role %s may not see the %s view", p.Role, sub.View)
}

// maxCloseReason is the longest reason a close frame can carry (125 bytes of control
// payload less the 2-byte code); a longer one would make the close frame fail to send.
const maxCloseReason = 123

func closeWith(conn *websocket.Conn, code int, reason string) {
	if len(reason) > maxCloseReason {
		cut := maxCloseReason
		for cut > 0 && !utf8.RuneStart(reason[cut]) {
			cut--
		}
		reason = reason[:cut]
	}
	_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(writeWait))
}

// writePump sends the client its first snapshot, then its queue; after the client fell
// behind it sends a fresh snapshot instead of the frames it lost.
func (s *Server) writePump(conn *websocket.Conn, hub *Hub, c *client, first *websocket.PreparedMessage) {
	ping := time.NewTicker(pingPeriod)
	defer ping.Stop()
	defer conn.Close()
	write := func(msg *websocket.PreparedMessage) bool {
		if msg == nil {
			return true
		}
		conn.SetWriteDeadline(time.Now().Add(writeWait))
		return conn.WritePreparedMessage(msg) == nil
	}
	if !write(first) {
		return
	}
	for {
		select {
		case msg := <-c.send:
			if c.resync.Load() {
				msg = hub.resyncFrame(c)
				s.Metrics.resyncs.Inc()
			}
			if !write(msg) {
				return
			}
		case <-ping.C:
			if err := conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeWait)); err != nil {
				return
			}
		case <-c.done:
			return
		}
	}
}

// clientMessage is the envelope of what a client sends in a text message.
type clientMessage struct {
	Type string `json:"type"`
}

// readPump reads what a client sends until the connection ends. A unit's terminal
// sends its fixes and status changes as text messages ({"type":"fix",…},
// {"type":"status",…}); a refused one is answered by an `error` frame. A unit, or a GPS
// gateway on the ingest view, may send a batch of fixes as a binary message holding
// what POST /api/v1/fixes takes (a JSON array or NDJSON); each batch is answered, in
// order, by an `ack` frame once stored, or an `error` frame.
func (s *Server) readPump(ctx context.Context, conn *websocket.Conn, p Principal, c *client) {
	conn.SetReadDeadline(time.Now().Add(pongWait))
	conn.SetPongHandler(func(string) error { return conn.SetReadDeadline(time.Now().Add(pongWait)) })
	var buf []byte // messages are handled one at a time, and nothing keeps their bytes
	for {
		typ, rd, err := conn.NextReader()
		if err != nil {
			return
		}
		b, err := readAll(rd, buf, 0)
		if err != nil {
			return
		}
		buf = b
		conn.SetReadDeadline(time.Now().Add(pongWait))
		if typ == websocket.BinaryMessage {
			if e := s.admit(p, []Role{UnitRole, Ingest}); e != nil {
				s.Hub.tell(c, "error", errorBody{e})
				continue
			}
			if ans, e := s.ingestFixes(ctx, b, p); e != nil {
				s.Hub.tell(c, "error", errorBody{e})
			} else {
				s.Hub.tell(c, "ack", ans)
			}
			continue
		}
		var m clientMessage
		if err := json.Unmarshal(b, &m); err != nil {
			s.Hub.tell(c, "error", errorBody{Invalid("", "a message must be a JSON object with a type")})
			continue
		}
		if !p.Is(UnitRole) || m.Type != "fix" && m.Type != "status" {
			s.Hub.tell(c, "error", errorBody{Errorf("permission_denied", "type", "%q is not a message this socket takes", clipMsg(m.Type, 40))})
			continue
		}
		if e := s.admit(p, []Role{UnitRole}); e != nil {
			s.Hub.tell(c, "error", errorBody{e})
			continue
		}
		if e := s.unitMessage(ctx, m.Type, b, p); e != nil {
			s.Hub.tell(c, "error", errorBody{e})
		}
	}
}

// errorBody is the body of an `error` frame, as of an HTTP error.
type errorBody struct {
	Error *Error `json:"error"`
}

// unitMessage takes a fix or a status change from a unit's own terminal.
func (s *Server) unitMessage(ctx context.Context, typ string, b []byte, p Principal) *Error {
	if typ == "fix" {
		ans, err := s.ingestFixes(ctx, b, p)
		if err == nil && len(ans.Rejected) > 0 {
			err = ans.Rejected[0].Error
		}
		return err
	}
	st, err := DecodeStatus(p.Unit, b, s.now(), p.Name())
	if err != nil {
		return err
	}
	_, _, err = s.commit(ctx, "", st)
	return err
}
