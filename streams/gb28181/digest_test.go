package gb28181

import (
	"sync"
	"testing"
	"time"
)

func TestVerifyDigestRFC2617(t *testing.T) {
	// The worked example of RFC 2617 section 3.5 (qop=auth).
	c, err := parseAuthorization(`Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", qop=auth, nc=00000001, cnonce="0a4f113b", response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41"`)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := verifyDigest(c, "GET", "Circle Of Life"); err != nil || !ok {
		t.Fatalf("verify = %v, %v", ok, err)
	}
	if ok, _ := verifyDigest(c, "GET", "circle of life"); ok {
		t.Fatal("wrong password verified")
	}
	if ok, _ := verifyDigest(c, "POST", "Circle Of Life"); ok {
		t.Fatal("wrong method verified")
	}
}

func TestVerifyDigestNoQOP(t *testing.T) {
	c := credentials{Username: "34020000001320000001", Realm: "3402000000", Nonce: "abc", URI: "sip:34020000002000000001@3402000000"}
	c.Response = md5hex(md5hex(c.Username, c.Realm, "pw"), c.Nonce, md5hex("REGISTER", c.URI))
	if ok, err := verifyDigest(c, "REGISTER", "pw"); err != nil || !ok {
		t.Fatalf("verify = %v, %v", ok, err)
	}
	c.Algorithm = "SHA-512-256"
	if _, err := verifyDigest(c, "REGISTER", "pw"); err == nil {
		t.Fatal("unsupported algorithm accepted")
	}
	c.Algorithm, c.QOP = "MD5", "auth-int"
	if _, err := verifyDigest(c, "REGISTER", "pw"); err == nil {
		t.Fatal("unsupported qop accepted")
	}
}

func TestParseAuthorization(t *testing.T) {
	c, err := parseAuthorization(`digest USERNAME="a\"b",realm="r, with comma",nonce=n1,uri="sip:x@y",response="ABCDEF",algorithm=MD5`)
	if err != nil {
		t.Fatal(err)
	}
	if c.Username != `a"b` || c.Realm != "r, with comma" || c.Nonce != "n1" || c.URI != "sip:x@y" || c.Response != "abcdef" || c.Algorithm != "MD5" {
		t.Fatalf("parsed %+v", c)
	}
	for _, bad := range []string{
		``,
		`Basic dXNlcjpwYXNz`,
		`Digest username="a", realm="r"`,
		`Digest username="a, nonce=1`,
		`Digest username="a", username="b", nonce="n", uri="u", response="r"`,
		`Digest =x`,
		`Digest username`,
	} {
		if _, err := parseAuthorization(bad); err == nil {
			t.Errorf("parseAuthorization(%q) accepted", bad)
		}
	}
}

func TestNonceStore(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }

	n := newNonceStore(3, time.Minute, clock)
	a, _ := n.issue()
	b, _ := n.issue()
	if !n.valid(a) || !n.valid(b) || n.valid("nope") {
		t.Fatal("fresh nonces")
	}
	c, _ := n.issue()
	d, _ := n.issue() // over the bound: a goes
	if n.valid(a) || !n.valid(b) || !n.valid(c) || !n.valid(d) {
		t.Fatal("oldest nonce not evicted")
	}
	if n.len() != 3 {
		t.Fatalf("holding %d nonces, bound 3", n.len())
	}
	advance(61 * time.Second)
	if n.valid(b) {
		t.Fatal("expired nonce valid")
	}
	e, _ := n.issue() // issuing drops the expired ones
	if n.len() != 1 || !n.valid(e) {
		t.Fatalf("after expiry holding %d", n.len())
	}
	for range 10000 {
		if _, err := n.issue(); err != nil {
			t.Fatal(err)
		}
	}
	if n.len() != 3 || len(n.order) > 3*4+3 {
		t.Fatalf("after many: %d nonces, order %d", n.len(), len(n.order))
	}
}
