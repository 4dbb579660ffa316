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
	"time"

	"commandd/dispatch"
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
	id   string // the token's id: an issued token's own, or a short hash of a file token
	// expires is when the token stops working (zero: never): open sockets are closed then.
	expires time.Time
}

// Name is how the audit trail records the principal: "unit:P-17", or the role and the
// token's id (never the token itself).
func (p Principal) Name() string {
	if p.Role == UnitRole {
		return "unit:" + p.Unit
	}
	return string(p.Role) + ":" + p.id
}

// Is reports whether the principal has one of the roles.
func (p Principal) Is(rs ...Role) bool { return slices.Contains(rs, p.Role) }

// Tokens are the tokens of the tokens file: the bootstrap credentials, read at start.
// Tokens issued over the API live in the log (the engine's TokenByHash).
type Tokens struct {
	byToken map[string]Principal
	byHash  map[string]Principal
}

// tokenHash is what the log keeps of a token: its hex SHA-256.
func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// LoadTokens reads a tokens file: one `<token> <role> [<unit-id>]` per line, `#`
// starting a comment.
func LoadTokens(path string) (*Tokens, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	defer f.Close()
	t := &Tokens{byToken: map[string]Principal{}, byHash: map[string]Principal{}}
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
		h := tokenHash(fields[0])
		p.id = h[:8]
		t.byToken[fields[0]] = p
		t.byHash[h] = p
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

// bearer is the token a request carries: `Authorization: Bearer <token>`, or
// `?access_token=` (browsers cannot set headers on a WebSocket upgrade).
func bearer(r *http.Request) string {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		token = r.URL.Query().Get("access_token")
	}
	return strings.TrimSpace(token)
}

// hasBearer reports whether a request tries to present a token at all.
func hasBearer(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") || r.URL.Query().Has("access_token")
}

// authenticate finds the principal of a request's token: one of the tokens file, or
// one issued over the API; either works until it is revoked, an issued one until it
// expires too.
func (s *Server) authenticate(r *http.Request) (Principal, *Error) {
	token := bearer(r)
	if token == "" {
		return Principal{}, Errorf("unauthenticated", "", "missing bearer token")
	}
	h := tokenHash(token)
	p, file := s.Tokens.byHash[h]
	var issued dispatch.TokenView
	var known, revoked bool
	s.Loop.Read(func(e *dispatch.Engine) {
		if file {
			_, revoked = e.TokenRevokedAt(p.id)
			return
		}
		if issued, known = e.TokenByHash(h); known {
			revoked = !issued.Revoked.IsZero()
		}
	})
	switch {
	case !file && !known:
		return Principal{}, Errorf("unauthenticated", "", "unknown token")
	case revoked:
		return Principal{}, Errorf("unauthenticated", "", "token revoked")
	case !file:
		p = Principal{Role: Role(issued.Role), Unit: issued.Unit, id: issued.ID, expires: issued.Expires.Time}
	}
	if !p.expires.IsZero() && !time.Now().Before(p.expires) {
		return Principal{}, Errorf("unauthenticated", "", "token expired")
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
