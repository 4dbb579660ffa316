package streams

import (
	"bufio"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Role is what a token may do.
type Role string

// The roles of the wire contract.
const (
	Admin      Role = "admin"
	Operator   Role = "operator"
	Supervisor Role = "supervisor"
	UnitRole   Role = "unit"
	Volunteer  Role = "volunteer"
	Ingest     Role = "ingest"
)

var roles = []Role{Admin, Operator, Supervisor, UnitRole, Volunteer, Ingest}

// Principal is who a request comes from.
type Principal struct {
	Role Role
	Unit string // the unit a unit token acts for
	id   string // a short hash of the token, for the audit trail
}

// Name is how the audit trail records the principal: "unit:P-17", or the role and a
// hash of the token (never the token itself).
func (p Principal) Name() string {
	if p.Role == UnitRole {
		return "unit:" + p.Unit
	}
	return string(p.Role) + ":" + p.id
}

// Is reports whether the principal has one of the roles.
func (p Principal) Is(rs ...Role) bool { return slices.Contains(rs, p.Role) }

// Tokens maps bearer tokens to principals.
type Tokens struct {
	byToken map[string]Principal
}

// LoadTokens reads a tokens file: one `<token> <role> [<unit-id>]` per line, `#`
// starting a comment.
func LoadTokens(path string) (*Tokens, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	defer f.Close()
	t := &Tokens{byToken: map[string]Principal{}}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if len(fields) < 2 || len(fields) > 3 {
			return nil, fmt.Errorf("tokens %s:%d: want `<token> <role> [<unit-id>]`", path, n)
		}
		p := Principal{Role: Role(fields[1])}
		if !slices.Contains(roles, p.Role) {
			return nil, fmt.Errorf("tokens %s:%d: unknown role %q", path, n, fields[1])
		}
		switch {
		case p.Role == UnitRole && len(fields) != 3:
			return nil, fmt.Errorf("tokens %s:%d: a unit token needs its unit id", path, n)
		case len(fields) == 3 && p.Role != UnitRole && p.Role != Volunteer:
			return nil, fmt.Errorf("tokens %s:%d: only unit and volunteer tokens name a unit", path, n)
		case len(fields) == 3:
			p.Unit = fields[2] // a volunteer's own unit, when volunteers are units on the roster
		}
		if len(fields[0]) < 16 {
			return nil, fmt.Errorf("tokens %s:%d: token shorter than 16 characters", path, n)
		}
		sum := sha256.Sum256([]byte(fields[0]))
		p.id = hex.EncodeToString(sum[:4])
		t.byToken[fields[0]] = p
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("tokens %s: %w", path, err)
	}
	return t, nil
}

// EnsureTokens returns the tokens file in dir, writing one with a fresh random token
// for each staff role the first time, so a new user can log in.
func EnsureTokens(dir string) (path string, created bool, err error) {
	path = filepath.Join(dir, "tokens")
	if _, err := os.Stat(path); err == nil {
		return path, false, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", false, fmt.Errorf("tokens: %w", err)
	}
	var b strings.Builder
	b.WriteString("# commandd tokens: <token> <role> [<unit-id>]. Keep this file secret.\n")
	for _, r := range []Role{Admin, Operator, Supervisor, Ingest} {
		raw := make([]byte, 24)
		if _, err := rand.Read(raw); err != nil {
			return "", false, fmt.Errorf("tokens: %w", err)
		}
		fmt.Fprintf(&b, "%s %s\n", hex.EncodeToString(raw), r)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return "", false, fmt.Errorf("tokens: %w", err)
	}
	return path, true, nil
}

// Authenticate finds the principal of a request: `Authorization: Bearer <token>`, or
// `?access_token=` (browsers cannot set headers on a WebSocket upgrade).
func (t *Tokens) Authenticate(r *http.Request) (Principal, *Error) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		token = r.URL.Query().Get("access_token")
	}
	if token == "" {
		return Principal{}, Errorf("unauthenticated", "", "missing bearer token")
	}
	p, ok := t.byToken[strings.TrimSpace(token)]
	if !ok {
		return Principal{}, Errorf("unauthenticated", "", "unknown token")
	}
	return p, nil
}

// Token returns a token of the role, for printing a login URL.
func (t *Tokens) Token(r Role) string {
	var out []string
	for tok, p := range t.byToken {
		if p.Role == r {
			out = append(out, tok)
		}
	}
	slices.Sort(out)
	if len(out) == 0 {
		return ""
	}
	return out[0]
}
