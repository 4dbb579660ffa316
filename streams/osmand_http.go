package streams

import (
	"bytes"
	"crypto/subtle"
	"net/http"
	"net/url"
	"time"

	"commandd/dispatch"
)

// OsmAnd serves the OsmAnd / Traccar Client protocol: GET or POST with the query form,
// or POST with the JSON form. A device is accepted with a token that may report for it
// (access_token, or a bearer header), or with its unit's device secret (secret, or the
// password of basic authentication), or, when the operator chose to trust device ids
// (TrustDeviceID: Traccar's own behaviour, for closed networks), by its id alone.
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
	q := r.URL.Query()
	if trimmed := bytes.TrimSpace(b); len(trimmed) > 0 && trimmed[0] == '{' {
		d, err = ParseOsmAndJSON(trimmed, now)
	} else {
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
	if err := s.deviceAllowed(r, q, d.Device); err != nil {
		return 0, err
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

// deviceAllowed checks that the request may report for the device's unit; q holds
// the query and form values.
func (s *Server) deviceAllowed(r *http.Request, q url.Values, device string) *Error {
	known := false
	secret := ""
	s.Loop.Read(func(e *dispatch.Engine) { known, secret = e.Known(device), e.DeviceSecret(device) })
	if hasBearer(r) {
		p, err := s.authenticate(r)
		if err != nil {
			return err
		}
		if !p.Is(Admin, Ingest) && !(p.Is(UnitRole) && p.Unit == device) {
			return Errorf("permission_denied", "id", "this token may not report for %q", device)
		}
	}
	if !known {
		return Errorf("not_found", "id", "unknown device %q: register it as a unit first", device)
	}
	if hasBearer(r) {
		return nil
	}
	given := q.Get("secret")
	if _, pw, ok := r.BasicAuth(); ok && given == "" {
		given = pw
	}
	switch {
	case given != "" && secret != "" && subtle.ConstantTimeCompare([]byte(tokenHash(given)), []byte(secret)) == 1:
		return nil
	case given != "":
		return Errorf("unauthenticated", "secret", "wrong device secret for %q", device)
	case s.TrustDeviceID:
		return nil
	}
	return Errorf("unauthenticated", "", "a device reports with a token (access_token) or its unit's device secret (secret); this server does not trust device ids alone")
}
