package streams

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// access is what one cell of docs/api.md's table of roles says.
type access int

const (
	denied  access = iota
	allowed        // ✓
	own            // only for its own unit, or the incidents it is on
)

// roleRow is one row of the table: the routes or socket view it is about and what each
// role may do there.
type roleRow struct {
	routes []string // "METHOD /path" patterns as the mux has them
	view   string   // a WebSocket view, instead of routes
	roles  map[Role]access
	text   string
}

// tableRoles are the table's role columns, in order.
var tableRoles = []Role{Admin, Operator, Supervisor, UnitRole, Volunteer, Ingest}

// readRoleTable reads the table of roles in docs/api.md. Rows name routes in
// backticks ("`GET /a`, `GET /b`", or "`POST /x/{id}/assign, /release`" for siblings)
// or a socket view ("WebSocket `wall` view"); rows of other shapes (/osmand, the
// probes) name their routes only.
func readRoleTable(t *testing.T) []roleRow {
	t.Helper()
	f, err := os.Open("../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []roleRow
	sc := bufio.NewScanner(f)
	inAuth := false // the table is in the Auth section
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "## ") {
			inAuth = line == "## Auth"
		}
		if !inAuth || !strings.HasPrefix(line, "| `") && !strings.HasPrefix(line, "| WebSocket `") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		row := roleRow{text: cells[0], roles: map[Role]access{}}
		quoted := backticked(cells[0])
		if strings.HasPrefix(cells[0], "WebSocket") {
			row.view = quoted[0]
		} else {
			for _, q := range quoted {
				method, p, ok := strings.Cut(q, " ")
				if !ok { // a path alone: served for GET and, for /osmand, POST
					method, p = "GET", q
				}
				if !strings.HasPrefix(p, "/") {
					continue // a flag the row mentions
				}
				for n, part := range strings.Split(p, ", ") {
					if n > 0 {
						part = path.Dir(strings.Split(p, ", ")[0]) + part
					}
					row.routes = append(row.routes, method+" "+part)
					if part == "/osmand" {
						row.routes = append(row.routes, "POST /osmand")
					}
				}
			}
		}
		if len(cells) == 1+len(tableRoles) {
			for i, r := range tableRoles {
				switch c := cells[1+i]; {
				case c == "":
					row.roles[r] = denied
				case strings.HasPrefix(c, "✓"):
					row.roles[r] = allowed
				default:
					row.roles[r] = own
				}
			}
		} else {
			row.roles = nil // not a row of role columns
		}
		rows = append(rows, row)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

// backticked returns the `…` spans of s.
func backticked(s string) []string {
	var out []string
	for {
		_, rest, ok := strings.Cut(s, "`")
		if !ok {
			return out
		}
		q, after, ok := strings.Cut(rest, "`")
		if !ok {
			return out
		}
		out, s = append(out, q), after
	}
}

// TestRoleTable: every route the server has and every socket view is in docs/api.md's
// table, and every role's token gets there what the table says: admitted (any answer
// but 401 and 403), or 403; a unit only for its own unit and the incidents it is on.
// Revoked and expired tokens get 401 everywhere, and no socket.
func TestRoleTable(t *testing.T) {
	s := newTestServer(t, 0)
	rows := readRoleTable(t)
	documented := map[string]bool{}
	views := map[string]bool{}
	for _, r := range rows {
		for _, p := range r.routes {
			documented[p] = true
		}
		if r.view != "" {
			views[r.view] = true
		}
	}
	for _, rt := range s.srv.routes() {
		if !documented[rt.pattern] {
			t.Errorf("route %s is not in docs/api.md's table of roles", rt.pattern)
		}
	}
	for _, rt := range s.srv.openRoutes() {
		if !documented[rt.pattern] && rt.pattern != "GET /ws" {
			t.Errorf("route %s is not in docs/api.md's table of roles", rt.pattern)
		}
	}
	for _, v := range []string{"wall", "unit", "volunteer", "ingest", "replay"} {
		if !views[v] {
			t.Errorf("the %s view is not in docs/api.md's table of roles", v)
		}
	}
	if err := allowView(Principal{Role: Admin}, &Subscription{View: "nonesuch"}); err == nil || !strings.Contains(err.Message, "want wall, unit, volunteer, ingest or replay") {
		t.Errorf("the views the server knows changed (%v): update the list above and the table", err)
	}

	// A world where P-17 is on INC-000001 and P-18 is not.
	s.must(200, "PUT", "/api/v1/units/P-17", tokOperator, `{"force":"police","mode":"car"}`)
	s.must(200, "PUT", "/api/v1/units/P-18", tokOperator, `{"force":"police","mode":"car"}`)
	now := time.Now().UnixMilli()
	s.must(202, "POST", "/api/v1/fixes", tokIngest, fmt.Sprintf(`[{"unit":"P-17","t":%d,"lat":24.5,"lng":118.1}]`, now))
	s.must(201, "POST", "/api/v1/alerts", tokIngest, fmt.Sprintf(`{"id":"A-1","t":%d,"lat":24.5005,"lng":118.1005,"category":"criminal","priority":1}`, now))
	s.settle()
	if u := s.must(200, "GET", "/api/v1/units/P-17", tokOperator, ""); u["incident"] != "INC-000001" {
		t.Fatalf("P-17 is not on the incident: %v", u)
	}
	s.must(200, "POST", "/api/v1/alerts", tokIngest, fmt.Sprintf(`{"id":"A-1","t":%d,"lat":24.5005,"lng":118.1005,"category":"criminal","priority":1}`, now))

	tokens := map[Role]string{Admin: tokAdmin, Operator: tokOperator, Supervisor: tokSupervisor, UnitRole: tokP17, Volunteer: tokVolunteer, Ingest: tokIngest}
	// target fills a pattern's {id}: the unit's own (or its incident) or another's.
	target := func(pattern string, mine bool) (method, url string) {
		method, url, _ = strings.Cut(pattern, " ")
		id := "P-18"
		switch {
		case strings.HasPrefix(url, "/api/v1/units/") && mine:
			id = "P-17"
		case strings.HasPrefix(url, "/api/v1/incidents/"):
			id = "INC-000001"
		case strings.HasPrefix(url, "/api/v1/tokens/"):
			id = "tk-none"
		}
		return method, strings.Replace(url, "{id}", id, 1)
	}
	// A body that no route takes, so nothing admitted changes anything.
	const inert = `[]`
	for _, row := range rows {
		if row.roles == nil {
			continue
		}
		for _, role := range tableRoles {
			want := row.roles[role]
			if row.view != "" {
				got := s.viewAdmits(tokens[role], row.view)
				if got != (want != denied) {
					t.Errorf("%s view, %s: admitted %v, the table says %v", row.view, role, got, want)
				}
				continue
			}
			for _, p := range row.routes {
				method, url := target(p, true)
				status, m := s.do(method, url, tokens[role], inert)
				admitted := status != 401 && status != 403
				if admitted != (want != denied) {
					t.Errorf("%s %s as %s: %d %v; the table says %v", method, url, role, status, m, want)
				}
				if want != own {
					continue
				}
				// Someone else's unit or an incident it is not on.
				if strings.Contains(p, "{id}") && strings.HasPrefix(url, "/api/v1/units/") {
					method, url = target(p, false)
				} else if strings.HasPrefix(url, "/api/v1/incidents/") {
					url = strings.Replace(url, "INC-000001", "INC-000002", 1)
					s.must(201, "POST", "/api/v1/alerts", tokIngest, fmt.Sprintf(`{"id":"A-2","t":%d,"lat":25.5,"lng":119.1,"category":"other","priority":3}`, now))
				} else if p == "POST /api/v1/fixes" {
					ans := s.must(202, method, url, tokens[role], fmt.Sprintf(`[{"unit":"P-18","t":%d,"lat":24.5,"lng":118.1}]`, now))
					if rj := ans["rejected"].([]any); len(rj) != 1 || rj[0].(map[string]any)["error"].(map[string]any)["code"] != "permission_denied" {
						t.Errorf("a unit's fix for another unit: %v", ans)
					}
					continue
				}
				if status, m := s.do(method, url, tokens[role], inert); status != 403 {
					t.Errorf("%s %s as %s (not its own): %d %v, want 403", method, url, role, status, m)
				}
			}
		}
	}

	// Revoked and expired tokens: 401 on every route, no socket.
	revoked := map[Role]string{}
	for _, role := range tableRoles {
		body := fmt.Sprintf(`{"role":%q}`, role)
		if role == UnitRole {
			body = `{"role":"unit","unit":"P-17"}`
		}
		m := s.must(201, "POST", "/api/v1/tokens", tokAdmin, body)
		revoked[role] = m["token"].(string)
		s.must(200, "DELETE", "/api/v1/tokens/"+m["id"].(string), tokAdmin, "")
	}
	expired := s.must(201, "POST", "/api/v1/tokens", tokAdmin,
		fmt.Sprintf(`{"role":"admin","expires":%d}`, time.Now().Add(300*time.Millisecond).UnixMilli()))["token"].(string)
	for until := time.Now().Add(400 * time.Millisecond); time.Now().Before(until); {
		time.Sleep(50 * time.Millisecond)
	}
	for _, rt := range s.srv.routes() {
		method, url := target(rt.pattern, true)
		for _, tc := range []struct{ what, token, message string }{
			{"revoked admin", revoked[Admin], "token revoked"}, {"revoked unit", revoked[UnitRole], "token revoked"},
			{"revoked volunteer", revoked[Volunteer], "token revoked"}, {"expired", expired, "token expired"},
		} {
			if status, m := s.do(method, url, tc.token, inert); status != 401 || errMessage(m) != tc.message {
				t.Errorf("%s %s with a %s token: %d %v, want 401 %q", method, url, tc.what, status, m, tc.message)
			}
		}
	}
	for _, tok := range []string{revoked[Operator], expired} {
		if _, resp, err := s.dial(s.dialer(), tok, nil); err == nil || resp == nil || resp.StatusCode != 401 {
			t.Errorf("a socket with a dead token: %v %v", err, resp)
		}
	}
}

// viewAdmits reports whether a socket with token may subscribe to view: it gets its
// first frame rather than a close for policy.
func (s *testServer) viewAdmits(token, view string) bool {
	s.t.Helper()
	conn, resp, err := s.dial(s.dialer(), token, nil)
	if err != nil {
		s.t.Fatalf("dial for the %s view: %v (%v)", view, err, resp)
	}
	defer conn.Close()
	sub := map[string]any{"type": "subscribe", "view": view}
	switch view {
	case "unit":
		sub["unit"] = "P-17"
	case "volunteer":
		sub["lat"], sub["lng"] = 24.5, 118.1
	case "replay":
		sub["incident"] = "INC-000001"
	}
	b, _ := json.Marshal(sub)
	if err := conn.WriteMessage(websocket.TextMessage, b); err != nil {
		s.t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, msg, err := conn.ReadMessage()
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		if ce.Code != websocket.ClosePolicyViolation || !strings.Contains(ce.Text, "may not see") {
			s.t.Errorf("%s view closed with %d %q", view, ce.Code, ce.Text)
		}
		return false
	}
	if err != nil {
		s.t.Fatalf("%s view: %v", view, err)
	}
	var m struct{ Type string }
	_ = json.Unmarshal(msg, &m)
	return slices.Contains([]string{"snapshot", "clock"}, m.Type)
}
