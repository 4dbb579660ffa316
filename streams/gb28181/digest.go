package gb28181

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Digest authentication of REGISTER (RFC 2617, RFC 7616 with MD5, the
// algorithm GB/T 28181 devices implement). The challenge offers no qop, as
// in the GB/T 28181 examples; responses computed with qop=auth are accepted
// as well.

// credentials are the parameters of an Authorization: Digest header.
type credentials struct {
	Username  string
	Realm     string
	Nonce     string
	URI       string
	Response  string
	Algorithm string
	QOP       string
	NC        string
	CNonce    string
}

var errNotDigest = errors.New("authorization is not Digest")

// parseAuthorization reads an Authorization header value.
func parseAuthorization(v string) (credentials, error) {
	var c credentials
	v = strings.TrimSpace(v)
	scheme, rest, _ := strings.Cut(v, " ")
	if !strings.EqualFold(scheme, "Digest") {
		return c, errNotDigest
	}
	params, err := parseAuthParams(rest)
	if err != nil {
		return c, err
	}
	c = credentials{
		Username:  params["username"],
		Realm:     params["realm"],
		Nonce:     params["nonce"],
		URI:       params["uri"],
		Response:  strings.ToLower(params["response"]),
		Algorithm: params["algorithm"],
		QOP:       params["qop"],
		NC:        params["nc"],
		CNonce:    params["cnonce"],
	}
	if c.Username == "" || c.Nonce == "" || c.URI == "" || c.Response == "" {
		return c, errors.New("authorization lacks username, nonce, uri or response")
	}
	return c, nil
}

// parseAuthParams splits `k=v, k="v, w", …` into a map with lower-case keys.
func parseAuthParams(s string) (map[string]string, error) {
	out := make(map[string]string)
	for {
		s = strings.TrimLeft(s, " \t,")
		if s == "" {
			return out, nil
		}
		eq := strings.IndexByte(s, '=')
		if eq <= 0 {
			return nil, fmt.Errorf("auth parameter without value near %q", clip(s, 20))
		}
		key := strings.ToLower(strings.TrimSpace(s[:eq]))
		s = strings.TrimLeft(s[eq+1:], " \t")
		var val string
		if strings.HasPrefix(s, `"`) {
			var b strings.Builder
			i := 1
			for ; i < len(s); i++ {
				if s[i] == '\\' && i+1 < len(s) {
					i++
					b.WriteByte(s[i])
					continue
				}
				if s[i] == '"' {
					break
				}
				b.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, errors.New("unterminated quoted auth parameter")
			}
			val = b.String()
			s = s[i+1:]
		} else {
			end := strings.IndexByte(s, ',')
			if end < 0 {
				end = len(s)
			}
			val = strings.TrimSpace(s[:end])
			s = s[end:]
		}
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("duplicate auth parameter %q", key)
		}
		out[key] = val
	}
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func md5hex(parts ...string) string {
	h := md5.Sum([]byte(strings.Join(parts, ":")))
	return hex.EncodeToString(h[:])
}

// expectedResponse computes the digest response for c.
func expectedResponse(c credentials, method, password string) (string, error) {
	var ha1 string
	switch strings.ToUpper(c.Algorithm) {
	case "", "MD5":
		ha1 = md5hex(c.Username, c.Realm, password)
	case "MD5-SESS":
		if c.CNonce == "" {
			return "", errors.New("MD5-sess without cnonce")
		}
		ha1 = md5hex(md5hex(c.Username, c.Realm, password), c.Nonce, c.CNonce)
	default:
		return "", fmt.Errorf("unsupported digest algorithm %q", c.Algorithm)
	}
	ha2 := md5hex(method, c.URI)
	switch strings.ToLower(c.QOP) {
	case "":
		return md5hex(ha1, c.Nonce, ha2), nil
	case "auth":
		if c.NC == "" || c.CNonce == "" {
			return "", errors.New("qop=auth without nc or cnonce")
		}
		return md5hex(ha1, c.Nonce, c.NC, c.CNonce, "auth", ha2), nil
	default:
		return "", fmt.Errorf("unsupported qop %q", c.QOP)
	}
}

// verifyDigest reports whether c proves knowledge of password.
func verifyDigest(c credentials, method, password string) (bool, error) {
	want, err := expectedResponse(c, method, password)
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare([]byte(want), []byte(c.Response)) == 1, nil
}

// challenge returns a WWW-Authenticate value.
func challenge(realm, nonce string, stale bool) string {
	v := fmt.Sprintf(`Digest realm="%s", nonce="%s", algorithm=MD5`, realm, nonce)
	if stale {
		v += ", stale=true"
	}
	return v
}

// nonceStore holds issued nonces: at most max of them, each valid for ttl
// after it was issued. When full, the oldest is dropped.
type nonceStore struct {
	mu    sync.Mutex
	ttl   time.Duration
	max   int
	now   func() time.Time
	at    map[string]time.Time
	order []string // issue order, oldest first; may hold already-dropped nonces
}

func newNonceStore(max int, ttl time.Duration, now func() time.Time) *nonceStore {
	return &nonceStore{ttl: ttl, max: max, now: now, at: make(map[string]time.Time, max)}
}

// issue makes and remembers a new nonce.
func (n *nonceStore) issue() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("gb28181: nonce: %w", err)
	}
	nonce := hex.EncodeToString(b[:])
	n.mu.Lock()
	defer n.mu.Unlock()
	now := n.now()
	n.expireLocked(now)
	for len(n.at) >= n.max && len(n.order) > 0 {
		delete(n.at, n.order[0])
		n.order = n.order[1:]
	}
	n.at[nonce] = now
	n.order = append(n.order, nonce)
	return nonce, nil
}

// valid reports whether nonce was issued here and has not expired.
func (n *nonceStore) valid(nonce string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	at, ok := n.at[nonce]
	if !ok {
		return false
	}
	if n.now().Sub(at) > n.ttl {
		delete(n.at, nonce)
		return false
	}
	return true
}

// expireLocked drops expired nonces from the front of the issue order.
func (n *nonceStore) expireLocked(now time.Time) {
	for len(n.order) > 0 {
		oldest := n.order[0]
		at, ok := n.at[oldest]
		if ok && now.Sub(at) <= n.ttl {
			break
		}
		delete(n.at, oldest)
		n.order = n.order[1:]
	}
	if cap(n.order) > 4*n.max && len(n.order) < n.max {
		n.order = append([]string(nil), n.order...)
	}
}

// len is the number of nonces held (for tests).
func (n *nonceStore) len() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.at)
}
