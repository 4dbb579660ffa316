package streams

import (
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"commandd/dispatch"
)

// Tokens an administrator manages: POST /api/v1/tokens issues one (its secret shown
// once, only its hash kept, in the log), GET lists them without secrets, DELETE revokes
// one at once (the next request is 401; its sockets close within a second). The tokens
// file's tokens are listed and revocable the same way.

// tokenBody is the body of POST /api/v1/tokens.
type tokenBody struct {
	Role string `json:"role"`
	Unit string `json:"unit"`
	// Expires is a time (RFC 3339 or Unix ms) or a duration from now ("720h").
	Expires json.RawMessage `json:"expires"`
}

// issuedToken is the answer to POST /api/v1/tokens: the only time the token is shown.
type issuedToken struct {
	dispatch.TokenView
	Token string `json:"token"`
}

// maxTokenLife bounds an expiry: a credential meant to last forever is issued without one.
const maxTokenLife = 10 * 365 * 24 * time.Hour

// DecodeToken reads the body of POST /api/v1/tokens into a token to issue, with a
// fresh id and secret; it returns the secret, which only the answer carries.
func DecodeToken(body []byte, now time.Time, by string) (*dispatch.TokenIssued, string, *Error) {
	var in tokenBody
	if err := decodeObject(body, &in, ""); err != nil {
		return nil, "", err
	}
	role := Role(in.Role)
	switch {
	case in.Role == "":
		return nil, "", Invalid("role", "role is required (%s)", roleList())
	case !slices.Contains(roles, role):
		return nil, "", Invalid("role", "unknown role %q (want %s)", clipMsg(in.Role, 40), roleList())
	case role == UnitRole && in.Unit == "":
		return nil, "", Invalid("unit", "a unit token needs the unit it acts for")
	case in.Unit != "" && role != UnitRole && role != Volunteer:
		return nil, "", Invalid("unit", "only unit and volunteer tokens name a unit")
	}
	if in.Unit != "" {
		if err := checkWireID("unit", in.Unit, MaxUnitID, true); err != nil {
			return nil, "", err
		}
	}
	ev := &dispatch.TokenIssued{T: stamp(now), Role: in.Role, Unit: in.Unit, By: by}
	if len(in.Expires) > 0 && string(in.Expires) != "null" {
		var d string
		if json.Unmarshal(in.Expires, &d) == nil && d != "" && !strings.ContainsAny(d, "-:T") {
			dur, err := time.ParseDuration(d)
			if err != nil {
				return nil, "", Invalid("expires", "expires must be a time (RFC 3339 or Unix milliseconds) or a duration such as 720h")
			}
			ev.Expires = stamp(now.Add(dur))
		} else {
			var w WireTime
			if err := json.Unmarshal(in.Expires, &w); err != nil {
				return nil, "", Invalid("expires", "expires must be a time (RFC 3339 or Unix milliseconds) or a duration such as 720h")
			}
			ev.Expires = w.T.UTC().Truncate(time.Millisecond)
		}
		switch {
		case !ev.Expires.After(now):
			return nil, "", Invalid("expires", "expires is not in the future")
		case ev.Expires.After(now.Add(maxTokenLife)):
			return nil, "", Invalid("expires", "expires is more than ten years away; leave it out for a token that does not expire")
		}
	}
	raw := make([]byte, 32+4)
	_, _ = rand.Read(raw) // crypto/rand never fails on the platforms Go supports
	secret := hex.EncodeToString(raw[:32])
	ev.ID, ev.Hash = "tk-"+hex.EncodeToString(raw[32:]), tokenHash(secret)
	return ev, secret, nil
}

func roleList() string {
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = string(r)
	}
	return strings.Join(names, ", ")
}

func (s *Server) postToken(r *http.Request, p Principal) (int, any, *Error) {
	b, err := body(r, s.Limits.MaxBody)
	if err != nil {
		return 0, nil, err
	}
	ev, secret, err := DecodeToken(b, time.Now(), p.Name())
	if err != nil {
		return 0, nil, err
	}
	if ev.Unit != "" && ev.Role == string(UnitRole) {
		known := false
		s.Loop.Read(func(e *dispatch.Engine) { known = e.Known(ev.Unit) })
		if !known {
			return 0, nil, Errorf("not_found", "unit", "no unit %q on the roster", ev.Unit)
		}
	}
	if _, _, err := s.commit(r.Context(), "", ev); err != nil {
		return 0, nil, err
	}
	var v dispatch.TokenView
	s.Loop.Read(func(e *dispatch.Engine) { v, _ = e.TokenByHash(ev.Hash) })
	s.Logger.Info().Str("token", v.ID).Str("role", v.Role).Str("unit", v.Unit).Str("by", p.Name()).Msg("token issued")
	return http.StatusCreated, issuedToken{TokenView: v, Token: secret}, nil
}

// tokenList is every token: the file's and the issued ones, oldest first (the file's
// first), each with whether it works now.
func (s *Server) tokenList() []tokenEntry {
	now := time.Now()
	var issued []dispatch.TokenView
	s.Loop.Read(func(e *dispatch.Engine) { issued = e.Tokens() })
	byID := map[string]dispatch.TokenView{}
	for _, t := range issued {
		byID[t.ID] = t
	}
	var out []tokenEntry
	for _, p := range s.Tokens.byHash {
		v := dispatch.TokenView{ID: p.id, Role: string(p.Role), Unit: p.Unit, File: true, Revoked: byID[p.id].Revoked}
		out = append(out, tokenEntry{TokenView: v, Active: v.Revoked.IsZero()})
	}
	slices.SortFunc(out, func(a, b tokenEntry) int { return cmp.Compare(a.ID, b.ID) })
	for _, t := range issued {
		if t.File {
			continue
		}
		out = append(out, tokenEntry{TokenView: t, Active: t.Revoked.IsZero() && (t.Expires.IsZero() || now.Before(t.Expires.Time))})
	}
	sockets := s.socketsByToken()
	for i := range out {
		out[i].Sockets = sockets[out[i].ID]
	}
	if out == nil {
		out = []tokenEntry{}
	}
	return out
}

// tokenEntry is a token as GET /api/v1/tokens lists it.
type tokenEntry struct {
	dispatch.TokenView
	Active  bool `json:"active"`
	Sockets int  `json:"sockets"` // WebSockets open with it
}

func (s *Server) getTokens(r *http.Request, _ Principal) (int, any, *Error) {
	return http.StatusOK, s.tokenList(), nil
}

func (s *Server) deleteToken(r *http.Request, p Principal) (int, any, *Error) {
	id := r.PathValue("id")
	var found *tokenEntry
	for _, t := range s.tokenList() {
		if t.ID == id {
			found = &t
			break
		}
	}
	if found == nil {
		return 0, nil, Errorf("not_found", "id", "no token %q", clipMsg(id, 40))
	}
	ev := &dispatch.TokenRevoked{T: stamp(time.Now()), ID: id, File: found.File, By: p.Name()}
	if _, _, err := s.commit(r.Context(), "", ev); err != nil {
		return 0, nil, err
	}
	// Its sockets close now, not at the watcher's next look.
	s.closeRevoked()
	s.Logger.Info().Str("token", id).Str("by", p.Name()).Msg("token revoked")
	for _, t := range s.tokenList() {
		if t.ID == id {
			return http.StatusOK, t, nil
		}
	}
	return http.StatusOK, found, nil
}
