package streams

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// closedWith waits for the socket to be closed by the server and returns the close
// frame's code and reason.
func closedWith(t *testing.T, c *wsClient, within time.Duration) (int, string) {
	t.Helper()
	deadline := time.After(within)
	for {
		c.mu.Lock()
		err := c.err
		c.mu.Unlock()
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				return ce.Code, ce.Text
			}
			t.Fatalf("socket ended without a close frame: %v", err)
		}
		select {
		case <-c.signal:
		case <-deadline:
			t.Fatalf("socket still open after %v", within)
		}
	}
}

// TestTokens: an administrator issues a token (shown once, listed without its secret),
// it works for its role, and revoking it makes the next request 401 and closes its
// sockets within a second; a unit token acts only for its unit; an expired token stops
// working and its sockets close; a file token is revocable too; bad requests change
// nothing.
func TestTokens(t *testing.T) {
	s := newTestServer(t, 0)
	s.must(200, "PUT", "/api/v1/units/P-17", tokOperator, `{"force":"police","mode":"car"}`)
	s.must(200, "PUT", "/api/v1/units/P-18", tokOperator, `{"force":"police","mode":"car"}`)

	issued := s.must(201, "POST", "/api/v1/tokens", tokAdmin, `{"role":"operator","expires":"1h"}`)
	id, secret := issued["id"].(string), issued["token"].(string)
	if !strings.HasPrefix(id, "tk-") || len(secret) != 64 || issued["role"] != "operator" || issued["expires"] == nil {
		t.Fatalf("issued %v", issued)
	}
	s.must(200, "GET", "/api/v1/incidents", secret, "")

	// The list names every token, the file's too, and never a secret.
	raw := s.raw("GET", "/api/v1/tokens", tokAdmin)
	if strings.Contains(raw, secret) || strings.Contains(raw, tokOperator) || strings.Contains(raw, tokenHash(secret)) || strings.Contains(raw, `"hash"`) {
		t.Fatalf("the token list shows secrets: %s", raw)
	}
	var entries []tokenEntry
	if err := json.Unmarshal([]byte(raw), &entries); err != nil {
		t.Fatal(err)
	}
	file := 0
	var mine *tokenEntry
	for i, e := range entries {
		if e.File {
			file++
		}
		if e.ID == id {
			mine = &entries[i]
		}
	}
	if file != 6 || mine == nil || !mine.Active || mine.Role != "operator" || mine.By != "admin:"+tokenHash(tokAdmin)[:8] {
		t.Fatalf("tokens %+v", entries)
	}

	// Revocation: the open wall socket closes within a second, the next request is 401.
	wall := s.subscribe(secret, `{"type":"subscribe","view":"wall"}`)
	wall.expect("snapshot", nil)
	revokedAt := time.Now()
	s.must(200, "DELETE", "/api/v1/tokens/"+id, tokAdmin, "")
	if code, why := closedWith(t, wall, time.Second); code != websocket.ClosePolicyViolation || why != "token revoked" {
		t.Errorf("closed with %d %q", code, why)
	}
	t.Logf("socket closed %v after the revocation was asked", time.Since(revokedAt).Round(time.Millisecond))
	if got, m := s.do("GET", "/api/v1/incidents", secret, ""); got != 401 || errMessage(m) != "token revoked" {
		t.Errorf("a revoked token: %d %v", got, m)
	}
	s.must(200, "DELETE", "/api/v1/tokens/"+id, tokAdmin, "") // again: the first revocation stands

	// A unit token acts for its own unit only.
	unit := s.must(201, "POST", "/api/v1/tokens", tokAdmin, `{"role":"unit","unit":"P-17"}`)["token"].(string)
	s.must(200, "POST", "/api/v1/units/P-17/status", unit, `{"status":"busy"}`)
	s.must(403, "POST", "/api/v1/units/P-18/status", unit, `{"status":"busy"}`)
	s.must(403, "GET", "/api/v1/units/P-18", unit, "")
	handheld := s.subscribe(unit, `{"type":"subscribe","view":"unit"}`)
	handheld.expect("snapshot", nil)
	hh := s.rawList("GET", "/api/v1/handhelds", tokOperator)
	if len(hh) != 1 || hh[0]["unit"] != "P-17" || hh[0]["view"] != "unit" {
		t.Errorf("handhelds %v", hh)
	}

	// Expiry: the token stops at its time, and its socket closes.
	exp := s.must(201, "POST", "/api/v1/tokens", tokAdmin,
		fmt.Sprintf(`{"role":"supervisor","expires":%d}`, time.Now().Add(1500*time.Millisecond).UnixMilli()))["token"].(string)
	s.must(200, "GET", "/api/v1/incidents", exp, "")
	sup := s.subscribe(exp, `{"type":"subscribe","view":"wall"}`)
	sup.expect("snapshot", nil)
	if code, why := closedWith(t, sup, 3*time.Second); code != websocket.ClosePolicyViolation || why != "token expired" {
		t.Errorf("closed with %d %q", code, why)
	}
	if got, m := s.do("GET", "/api/v1/incidents", exp, ""); got != 401 || errMessage(m) != "token expired" {
		t.Errorf("an expired token: %d %v", got, m)
	}

	// A file token is revoked by its id.
	vid := tokenHash(tokVolunteer)[:8]
	s.must(200, "GET", "/api/v1/clock", tokVolunteer, "")
	s.must(200, "DELETE", "/api/v1/tokens/"+vid, tokAdmin, "")
	if got, _ := s.do("GET", "/api/v1/clock", tokVolunteer, ""); got != 401 {
		t.Errorf("a revoked file token: %d", got)
	}

	// Bad requests: a clear error, nothing issued.
	before := len(s.rawList("GET", "/api/v1/tokens", tokAdmin))
	for _, tc := range []struct {
		token, body string
		status      int
		field       string
	}{
		{tokAdmin, `{"role":"king"}`, 400, "role"},
		{tokAdmin, `{}`, 400, "role"},
		{tokAdmin, `{"role":"unit"}`, 400, "unit"},
		{tokAdmin, `{"role":"operator","unit":"P-17"}`, 400, "unit"},
		{tokAdmin, `{"role":"unit","unit":"P-99"}`, 404, "unit"},
		{tokAdmin, `{"role":"operator","expires":"2020-01-01T00:00:00Z"}`, 400, "expires"},
		{tokAdmin, `{"role":"operator","expires":"soon"}`, 400, "expires"},
		{tokAdmin, `{"role":"operator","expires":"-1h"}`, 400, "expires"},
		{tokAdmin, `{"role":"operator","expires":"876000h"}`, 400, "expires"},
		{tokOperator, `{"role":"admin"}`, 403, ""},
		{"", `{"role":"admin"}`, 401, ""},
	} {
		got, m := s.do("POST", "/api/v1/tokens", tc.token, tc.body)
		if got != tc.status || errField(m) != tc.field {
			t.Errorf("POST %s: %d %v, want %d on %q", tc.body, got, m, tc.status, tc.field)
		}
	}
	if after := len(s.rawList("GET", "/api/v1/tokens", tokAdmin)); after != before {
		t.Errorf("refused requests issued tokens: %d → %d", before, after)
	}
	s.must(404, "DELETE", "/api/v1/tokens/tk-nope", tokAdmin, "")
	s.must(403, "DELETE", "/api/v1/tokens/"+vid, tokOperator, "")
	s.must(403, "GET", "/api/v1/tokens", tokSupervisor, "")
}

// TestOsmAndCredentials: a device reports with a token that may report for it, or
// its unit's device secret (query or basic authentication); by its id alone only when
// the server trusts device ids.
func TestOsmAndCredentials(t *testing.T) {
	s := newTestServer(t, 0)
	s.must(200, "PUT", "/api/v1/units/P-17", tokOperator, `{"force":"police","mode":"car","secret":"s3cret-of-p17-device"}`)
	s.must(200, "PUT", "/api/v1/units/P-18", tokOperator, `{"force":"police","mode":"car"}`)
	if u := s.must(200, "GET", "/api/v1/units/P-17", tokOperator, ""); u["secret"] != true {
		t.Fatalf("unit %v: want secret:true", u)
	}
	raw := s.raw("GET", "/api/v1/units", tokOperator)
	if strings.Contains(raw, "s3cret") || strings.Contains(raw, tokenHash("s3cret-of-p17-device")) {
		t.Fatalf("the roster shows the secret: %s", raw)
	}
	fix := func(id string) string {
		return fmt.Sprintf("/osmand?id=%s&lat=24.5&lon=118.1&timestamp=%d", id, time.Now().Unix())
	}
	send := func(path, token, user, pass string) (int, map[string]any) {
		req, _ := http.NewRequest("GET", s.http.URL+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		if pass != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	for _, tc := range []struct {
		name             string
		path             string
		token, user, pwd string
		want             int
	}{
		{"id alone", fix("P-17"), "", "", "", 401},
		{"id alone, no secret set", fix("P-18"), "", "", "", 401},
		{"secret", fix("P-17") + "&secret=s3cret-of-p17-device", "", "", "", 200},
		{"wrong secret", fix("P-17") + "&secret=not-the-secret-at-all", "", "", "", 401},
		{"secret of a unit without one", fix("P-18") + "&secret=s3cret-of-p17-device", "", "", "", 401},
		{"basic auth", fix("P-17"), "", "P-17", "s3cret-of-p17-device", 200},
		{"own unit token", fix("P-17"), tokP17, "", "", 200},
		{"unit token of another", fix("P-18"), tokP17, "", "", 403},
		{"ingest token", fix("P-18"), tokIngest, "", "", 200},
		{"access_token", fix("P-18") + "&access_token=" + url.QueryEscape(tokIngest), "", "", "", 200},
		{"unknown token", fix("P-17"), "nobody-knows-this-token", "", "", 401},
		{"unknown device", fix("P-99") + "&secret=s3cret-of-p17-device", "", "", "", 404},
	} {
		if got, m := send(tc.path, tc.token, tc.user, tc.pwd); got != tc.want {
			t.Errorf("%s: %d %v, want %d", tc.name, got, m, tc.want)
		}
	}
	s.srv.TrustDeviceID = true
	if got, m := send(fix("P-18"), "", "", ""); got != 200 {
		t.Errorf("trusting device ids, id alone: %d %v", got, m)
	}
	if got, _ := send(fix("P-17")+"&secret=not-the-secret-at-all", "", "", ""); got != 401 {
		t.Errorf("trusting device ids, a wrong secret is still wrong: %d", got)
	}
	// A bad secret on the roster is refused and changes nothing.
	if got, m := s.do("PUT", "/api/v1/units/P-17", tokOperator, `{"force":"police","mode":"car","secret":"short"}`); got != 400 || errField(m) != "secret" {
		t.Errorf("a short secret: %d %v", got, m)
	}
	s.srv.TrustDeviceID = false
	if got, _ := send(fix("P-17")+"&secret=s3cret-of-p17-device", "", "", ""); got != 200 {
		t.Errorf("the secret changed after a refused PUT: %d", got)
	}
}

// TestSocketMessagesAdmitted: messages a socket sends pass the same rate limit as
// requests do.
func TestSocketMessagesAdmitted(t *testing.T) {
	s := newTestServer(t, 0)
	s.srv.Limits.Rate, s.srv.Limits.Burst = 0.001, 3
	s.must(200, "PUT", "/api/v1/units/P-17", tokOperator, `{"force":"police","mode":"car"}`) // the operator's own limiter
	c := s.subscribe(tokP17, `{"type":"subscribe","view":"unit","unit":"P-17"}`)
	c.expect("snapshot", nil)
	for range 5 {
		if err := c.conn.WriteMessage(websocket.TextMessage, []byte(`{"type":"status","status":"busy"}`)); err != nil {
			t.Fatal(err)
		}
	}
	e := c.expect("error", nil)
	if code := e["error"].(map[string]any)["code"]; code != "rate_limited" {
		t.Errorf("error frame %v, want rate_limited", e)
	}
}

func errMessage(m map[string]any) string {
	e, _ := m["error"].(map[string]any)
	msg, _ := e["message"].(string)
	return msg
}

// raw sends a GET and returns the answer's body.
func (s *testServer) raw(method, path, token string) string {
	s.t.Helper()
	req, _ := http.NewRequest(method, s.http.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		s.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	return string(b)
}

// rawList sends a GET whose answer is a JSON array.
func (s *testServer) rawList(method, path, token string) []map[string]any {
	s.t.Helper()
	var out []map[string]any
	if err := json.Unmarshal([]byte(s.raw(method, path, token)), &out); err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	return out
}
