package streams

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/gorilla/websocket"

	"commandd/dispatch"
)

const (
	writeWait  = 10 * time.Second
	pongWait   = 60 * time.Second
	pingPeriod = 25 * time.Second
)

var upgrader = websocket.Upgrader{ReadBufferSize: 1024, WriteBufferSize: 4096}

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
	return u.Host == r.Host || slices.Contains(s.Origins, origin)
}

// serveWS upgrades a client, reads its subscription and serves it until it leaves.
func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	p, aerr := s.Tokens.Authenticate(r)
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
	defer conn.Close()
	conn.SetReadLimit(64 << 10)
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	var sub Subscription
	if err := conn.ReadJSON(&sub); err != nil || sub.Type != "subscribe" {
		closeWith(conn, websocket.ClosePolicyViolation, "first message must be a subscribe")
		return
	}
	if e := allowView(p, &sub); e != nil {
		closeWith(conn, websocket.ClosePolicyViolation, e.Message)
		return
	}
	c := s.Hub.join(sub)
	defer s.Hub.leave(c)
	s.Metrics.clients.Inc()
	defer s.Metrics.clients.Dec()
	go s.writePump(conn, c)
	s.readPump(r.Context(), conn, p)
	close(c.done)
}

// allowView checks that p may see the subscription's view.
func allowView(p Principal, sub *Subscription) *Error {
	switch sub.View {
	case "wall":
		if p.Is(Admin, Operator, Supervisor) {
			return nil
		}
	case "unit":
		if sub.Unit == "" && p.Is(UnitRole) {
			sub.Unit = p.Unit
		}
		if p.Is(Admin, Operator, Supervisor) || p.Is(UnitRole) && p.Unit == sub.Unit {
			return nil
		}
	case "volunteer", "replay":
		return Errorf("unavailable", "view", "the %s view is not available yet", sub.View)
	default:
		return Invalid("view", "unknown view %q (want wall or unit)", sub.View)
	}
	return Errorf("permission_denied", "view", "role %s may not see the %s view", p.Role, sub.View)
}

func closeWith(conn *websocket.Conn, code int, reason string) {
	_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(writeWait))
}

// writePump sends the client's queue; after the client fell behind it sends a fresh
// snapshot instead of the frames it lost.
func (s *Server) writePump(conn *websocket.Conn, c *client) {
	ping := time.NewTicker(pingPeriod)
	defer ping.Stop()
	defer conn.Close()
	for {
		select {
		case msg := <-c.send:
			if c.resync.Load() {
				msg = s.Hub.resyncFrame(c)
				s.Metrics.resyncs.Inc()
			}
			conn.SetWriteDeadline(time.Now().Add(writeWait))
			if err := conn.WritePreparedMessage(msg); err != nil {
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

// clientMessage is what a handheld may send: its fixes and status changes.
type clientMessage struct {
	Type     string          `json:"type"`
	Status   string          `json:"status"`
	Incident string          `json:"incident"`
	Raw      json.RawMessage `json:"-"`
}

// readPump reads a unit's fixes and status reports until the connection ends.
func (s *Server) readPump(ctx context.Context, conn *websocket.Conn, p Principal) {
	conn.SetReadDeadline(time.Now().Add(pongWait))
	conn.SetPongHandler(func(string) error { return conn.SetReadDeadline(time.Now().Add(pongWait)) })
	for {
		_, b, err := conn.ReadMessage()
		if err != nil {
			return
		}
		conn.SetReadDeadline(time.Now().Add(pongWait))
		var m clientMessage
		if json.Unmarshal(b, &m) != nil || !p.Is(UnitRole) {
			continue // only a unit's own terminal reports over its socket
		}
		var ev dispatch.Event
		switch m.Type {
		case "fix":
			fixes, rejected, err := DecodeFixes(b, time.Now(), 1)
			if err != nil || len(rejected) > 0 || len(fixes) != 1 || fixes[0].Unit != p.Unit {
				continue
			}
			ev = &fixes[0]
		case "status":
			st, err := DecodeStatus(p.Unit, b, time.Now(), p.Name())
			if err != nil {
				continue
			}
			ev = st
		default:
			continue
		}
		if _, err := s.Log.Append(ctx, "", ev); err != nil {
			s.Logger.Error().Err(err).Str("unit", p.Unit).Msg("log append from socket failed")
		}
	}
}
