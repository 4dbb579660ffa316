package streams

import (
	"cmp"
	"context"
	"net/http"
	"slices"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"commandd/dispatch"
)

// socket is an open WebSocket connection and who opened it: what closes it when its
// token is revoked or expires, and what tells the wall which handhelds are connected.
type socket struct {
	p      Principal
	since  time.Time
	remote string
	sub    atomic.Pointer[Subscription] // nil until the client subscribed
}

// credentialCheck is how often open sockets are checked against revocations and
// expiries (a revocation over this server also checks at once).
const credentialCheck = 250 * time.Millisecond

func (s *Server) track(conn *websocket.Conn, p Principal, r *http.Request) *socket {
	so := &socket{p: p, since: time.Now(), remote: r.RemoteAddr}
	s.sockets.Store(conn, so)
	return so
}

// WatchCredentials closes, until ctx ends, the sockets whose token was revoked (on any
// node: revocations come through the log) or has expired.
func (s *Server) WatchCredentials(ctx context.Context) {
	t := time.NewTicker(credentialCheck)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.closeRevoked()
		}
	}
}

// closeRevoked closes the sockets whose token no longer works.
func (s *Server) closeRevoked() {
	now := time.Now()
	revoked := map[string]bool{}
	s.Loop.Read(func(e *dispatch.Engine) {
		for _, t := range e.Tokens() {
			if !t.Revoked.IsZero() {
				revoked[t.ID] = true
			}
		}
	})
	s.sockets.Range(func(k, v any) bool {
		so := v.(*socket)
		why := ""
		switch {
		case revoked[so.p.id]:
			why = "token revoked"
		case !so.p.expires.IsZero() && !now.Before(so.p.expires):
			why = "token expired"
		}
		if why != "" {
			conn := k.(*websocket.Conn)
			closeWith(conn, websocket.ClosePolicyViolation, why)
			conn.Close()
			s.Logger.Info().Str("token", so.p.id).Str("role", string(so.p.Role)).Str("unit", so.p.Unit).Str("why", why).Msg("socket closed")
		}
		return true
	})
}

func (s *Server) socketsByToken() map[string]int {
	n := map[string]int{}
	s.sockets.Range(func(_, v any) bool {
		n[v.(*socket).p.id]++
		return true
	})
	return n
}

// handheld is a unit's terminal connected over a WebSocket.
type handheld struct {
	Unit   string          `json:"unit"`
	Token  string          `json:"token"`
	View   string          `json:"view"`
	Since  dispatch.Millis `json:"since"`
	Remote string          `json:"remote"`
}

// handhelds lists the sockets opened with unit tokens, by unit.
func (s *Server) handhelds() []handheld {
	out := []handheld{}
	s.sockets.Range(func(_, v any) bool {
		so := v.(*socket)
		sub := so.sub.Load()
		if so.p.Role != UnitRole || sub == nil {
			return true
		}
		out = append(out, handheld{Unit: so.p.Unit, Token: so.p.id, View: sub.View, Since: dispatch.Millis{Time: so.since.UTC()}, Remote: so.remote})
		return true
	})
	slices.SortFunc(out, func(a, b handheld) int { return cmp.Or(cmp.Compare(a.Unit, b.Unit), a.Since.Compare(b.Since.Time)) })
	return out
}

func (s *Server) getHandhelds(r *http.Request, _ Principal) (int, any, *Error) {
	return http.StatusOK, s.handhelds(), nil
}
