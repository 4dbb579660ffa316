package streams

import (
	"bytes"
	"net/http"
	"net/url"
	"time"

	"commandd/dispatch"
)

// OsmAnd serves the OsmAnd / Traccar Client protocol: GET or POST with the query form,
// or POST with the JSON form. A device is accepted when its id is a known unit (that
// is how these clients are set up), or with a token that may report for it.
func (s *Server) OsmAnd() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		status, err := s.osmand(r)
		if err != nil {
			status = err.Status
			WriteError(w, err)
		} else {
			w.WriteHeader(status)
		}
		s.Metrics.request("osmand", status, time.Since(start))
	}
}

func (s *Server) osmand(r *http.Request) (int, *Error) {
	b, err := body(r, s.Limits.MaxBody)
	if err != nil {
		return 0, err
	}
	now := s.now()
	var d DeviceFix
	if trimmed := bytes.TrimSpace(b); len(trimmed) > 0 && trimmed[0] == '{' {
		d, err = ParseOsmAndJSON(trimmed, now)
	} else {
		q := r.URL.Query()
		if len(trimmed) > 0 {
			if form, perr := url.ParseQuery(string(trimmed)); perr == nil {
				for k, vs := range form {
					q[k] = append(q[k], vs...)
				}
			}
		}
		d, err = ParseOsmAndQuery(q, now)
	}
	if err != nil {
		return 0, err
	}
	if r.Header.Get("Authorization") != "" || r.URL.Query().Has("access_token") {
		p, aerr := s.Tokens.Authenticate(r)
		if aerr != nil {
			return 0, aerr
		}
		if !p.Is(Admin, Ingest) && !(p.Is(UnitRole) && p.Unit == d.Device) {
			return 0, Errorf("permission_denied", "id", "this token may not report for %q", d.Device)
		}
	}
	known := false
	s.Loop.Read(func(e *dispatch.Engine) { known = e.Known(d.Device) })
	if !known {
		return 0, Errorf("not_found", "id", "unknown device %q: register it as a unit first", d.Device)
	}
	if !s.limiter(Principal{Role: UnitRole, Unit: d.Device}).Allow() {
		return 0, Errorf("rate_limited", "", "too many reports from %q", d.Device)
	}
	if err := s.Log.AppendFixes(r.Context(), []dispatch.Fix{d.Fix()}); err != nil {
		s.Logger.Error().Err(err).Str("device", d.Device).Msg("log append failed")
		return 0, Errorf("unavailable", "", "the event log did not take the fix; retry")
	}
	s.Metrics.fixes(1, 0)
	return http.StatusOK, nil
}
