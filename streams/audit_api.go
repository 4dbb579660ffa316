package streams

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"commandd/dispatch"
)

// The audit answers an inquiry's "who did what": every command, roster, district and
// token change and every replay opened, from the history store (--pg), which keeps
// them all.

// AuditQuery is what GET /api/v1/audit asks: a time range and, optionally, who
// (an actor as the audit names it, "operator:ab12cd34" or "unit:P-17"), about which
// unit, about which incident.
type AuditQuery struct {
	From, To time.Time
	Actor    string
	Unit     string
	Incident string
	Limit    int
}

// AuditEntry is one audited event.
type AuditEntry struct {
	Seq     uint64          `json:"seq"`
	T       dispatch.Millis `json:"t"`
	Kind    string          `json:"kind"`
	Actor   string          `json:"actor"`
	Role    string          `json:"role"`
	Token   string          `json:"token,omitempty"` // the actor's token id (units are named by their unit)
	Unit    string          `json:"unit,omitempty"`  // the acting unit, for unit tokens
	Subject string          `json:"subject"`
	What    json.RawMessage `json:"what"`
}

// Auditor is a history store that answers audit queries.
type Auditor interface {
	Audit(ctx context.Context, q AuditQuery) ([]AuditEntry, error)
}

// ActorParts splits an audit actor into its role, token id and unit.
func ActorParts(actor string) (role, token, unit string) {
	role, rest, _ := strings.Cut(actor, ":")
	if role == string(UnitRole) {
		return role, "", rest
	}
	return role, rest, ""
}

// maxAuditEntries bounds one answer; a longer inquiry pages with from.
const maxAuditEntries = 10000

func (s *Server) getAudit(r *http.Request, _ Principal) (int, any, *Error) {
	a, ok := s.History.(Auditor)
	if s.History == nil || !ok {
		return 0, nil, Errorf("unavailable", "", "the audit is kept in the history store: start commandd with --pg")
	}
	v := r.URL.Query()
	now := s.now()
	q := AuditQuery{From: now.Add(-24 * time.Hour), To: now.Add(time.Minute), Actor: v.Get("actor"), Unit: v.Get("unit"),
		Incident: v.Get("incident"), Limit: 1000}
	for _, f := range []struct {
		name string
		t    *time.Time
	}{{"from", &q.From}, {"to", &q.To}} {
		if s := v.Get(f.name); s != "" {
			t, err := parseQueryTime(s)
			if err != nil {
				return 0, nil, Invalid(f.name, "want an RFC 3339 time such as 2026-11-30T00:00:00+08:00, or Unix milliseconds")
			}
			*f.t = t
		}
	}
	if !q.From.Before(q.To) {
		return 0, nil, Invalid("from", "from must be before to")
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxAuditEntries {
			return 0, nil, Invalid("limit", "limit must be 1 to %d", maxAuditEntries)
		}
		q.Limit = n
	}
	for _, f := range []struct{ name, v string }{{"actor", q.Actor}, {"unit", q.Unit}, {"incident", q.Incident}} {
		if len(f.v) > 200 {
			return 0, nil, Invalid(f.name, "%s is longer than 200 bytes", f.name)
		}
	}
	entries, err := a.Audit(r.Context(), q)
	if err != nil {
		s.Logger.Error().Err(err).Msg("audit query")
		return 0, nil, Errorf("unavailable", "", "the history database did not answer; retry")
	}
	if entries == nil {
		entries = []AuditEntry{}
	}
	return http.StatusOK, map[string]any{"entries": entries}, nil
}

// parseQueryTime reads a time in a query: RFC 3339 or Unix milliseconds.
func parseQueryTime(s string) (time.Time, error) {
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.UnixMilli(ms).UTC(), nil
	}
	return time.Parse(time.RFC3339, s)
}
