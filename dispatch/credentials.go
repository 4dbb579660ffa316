package dispatch

import (
	"cmp"
	"slices"
	"time"
)

// The credentials the administrators manage live in the log like everything else, so
// every node and every restart agrees on who may do what: tokens issued and revoked,
// and the units' device secrets (on the roster, UnitUpserted.Secret). Only hashes of
// secrets ever reach the log. The engine keeps them and never reads them when it plans;
// the server asks it when a request comes in.

// TokenIssued is an API token an administrator created.
type TokenIssued struct {
	T    time.Time `json:"t"`
	ID   string    `json:"id"`
	Hash string    `json:"hash"` // hex SHA-256 of the token; the token itself is shown once and never stored
	Role string    `json:"role"`
	Unit string    `json:"unit,omitempty"`
	// Expires is when the token stops working; zero: never.
	Expires time.Time `json:"expires,omitzero"`
	By      string    `json:"by"`
}

// TokenRevoked ends a token at once: an issued one, or (File) one of the tokens file,
// which the engine otherwise never sees.
type TokenRevoked struct {
	T    time.Time `json:"t"`
	ID   string    `json:"id"`
	File bool      `json:"file,omitempty"`
	By   string    `json:"by"`
}

// Accessed records that someone looked at something the audit must know of, such as
// a supervisor opening an incident's replay. It changes nothing else.
type Accessed struct {
	T       time.Time `json:"t"`
	What    string    `json:"what"`
	Subject string    `json:"subject"`
	By      string    `json:"by"`
}

func (e *TokenIssued) Kind() string  { return "token" }
func (e *TokenRevoked) Kind() string { return "token_revoked" }
func (e *Accessed) Kind() string     { return "access" }

func (e *TokenIssued) Time() time.Time  { return e.T }
func (e *TokenRevoked) Time() time.Time { return e.T }
func (e *Accessed) Time() time.Time     { return e.T }

// TokenView is a token as administrators list it: never its secret or its hash.
type TokenView struct {
	ID      string `json:"id"`
	Role    string `json:"role"`
	Unit    string `json:"unit,omitempty"`
	Issued  Millis `json:"issued,omitzero"`
	Expires Millis `json:"expires,omitzero"`
	Revoked Millis `json:"revoked,omitzero"`
	By      string `json:"by,omitempty"`
	// File: the token comes from the tokens file (the engine knows it only once revoked).
	File bool `json:"file,omitempty"`

	hash string
}

// tokenState is a token in a snapshot.
type tokenState struct {
	ID      string    `json:"id"`
	Hash    string    `json:"hash,omitempty"`
	Role    string    `json:"role,omitempty"`
	Unit    string    `json:"unit,omitempty"`
	Issued  time.Time `json:"issued,omitzero"`
	Expires time.Time `json:"expires,omitzero"`
	Revoked time.Time `json:"revoked,omitzero"`
	By      string    `json:"by,omitempty"`
	File    bool      `json:"file,omitempty"`
}

func (e *Engine) issueToken(ev *TokenIssued) {
	switch {
	case ev.ID == "" || len(ev.Hash) != 64 || ev.Role == "":
		e.reject(Invalid, "token: id, hash and role are required")
		return
	case e.tokens[ev.ID] != nil:
		e.reject(Invalid, "token "+ev.ID+" exists")
		return
	}
	if _, ok := e.tokenHash[ev.Hash]; ok {
		e.reject(Invalid, "token "+ev.ID+": the same secret is already issued")
		return
	}
	e.tokens[ev.ID] = &TokenView{ID: ev.ID, Role: ev.Role, Unit: ev.Unit, Issued: Millis{ev.T},
		Expires: Millis{ev.Expires}, By: ev.By, hash: ev.Hash}
	e.tokenHash[ev.Hash] = ev.ID
	e.emit(Change{Kind: TokenChanged, Event: ev.ID})
}

func (e *Engine) revokeToken(ev *TokenRevoked) {
	t := e.tokens[ev.ID]
	switch {
	case t == nil && !ev.File:
		e.reject(NotFound, "unknown token "+ev.ID)
		return
	case t == nil:
		t = &TokenView{ID: ev.ID, File: true}
		e.tokens[ev.ID] = t
	case !t.Revoked.IsZero():
		return // revoked already: the first revocation stands
	}
	t.Revoked = Millis{ev.T}
	e.emit(Change{Kind: TokenChanged, Event: ev.ID})
}

// TokenByHash returns the issued token whose secret has the hash, revoked or not.
func (e *Engine) TokenByHash(hash string) (TokenView, bool) {
	id, ok := e.tokenHash[hash]
	if !ok {
		return TokenView{}, false
	}
	return *e.tokens[id], true
}

// TokenRevokedAt returns when the token with id was revoked, if it was.
func (e *Engine) TokenRevokedAt(id string) (time.Time, bool) {
	t := e.tokens[id]
	if t == nil || t.Revoked.IsZero() {
		return time.Time{}, false
	}
	return t.Revoked.Time, true
}

// Tokens returns the issued and revoked tokens, oldest first.
func (e *Engine) Tokens() []TokenView {
	out := make([]TokenView, 0, len(e.tokens))
	for _, t := range e.tokens {
		out = append(out, *t)
	}
	slices.SortFunc(out, func(a, b TokenView) int {
		return cmp.Or(a.Issued.Compare(b.Issued.Time), cmp.Compare(a.ID, b.ID))
	})
	return out
}

// DeviceSecret returns the hash of the unit's device secret ("" when it has none).
func (e *Engine) DeviceSecret(unit string) string {
	i, ok := e.unitIDs[unit]
	if !ok {
		return ""
	}
	return e.units[i].secret
}

func (e *Engine) tokenStates() []tokenState {
	var out []tokenState
	for _, t := range e.Tokens() {
		out = append(out, tokenState{ID: t.ID, Hash: t.hash, Role: t.Role, Unit: t.Unit, Issued: t.Issued.Time,
			Expires: t.Expires.Time, Revoked: t.Revoked.Time, By: t.By, File: t.File})
	}
	return out
}

func (e *Engine) restoreTokens(ts []tokenState) {
	for _, s := range ts {
		e.tokens[s.ID] = &TokenView{ID: s.ID, Role: s.Role, Unit: s.Unit, Issued: Millis{s.Issued},
			Expires: Millis{s.Expires}, Revoked: Millis{s.Revoked}, By: s.By, File: s.File, hash: s.Hash}
		if s.Hash != "" {
			e.tokenHash[s.Hash] = s.ID
		}
	}
}
