package dispatch

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"commandd/geo"
)

// TestCredentials: tokens are issued once per id and per secret, revoked once (the
// first revocation stands), file tokens are revocable by id, device secrets stay until
// replaced, and a snapshot keeps all of it.
func TestCredentials(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 1, 0, 0, 0, time.UTC)
	hash := func(c byte) string { return strings.Repeat(string(c), 64) }
	e := New(Config{})
	steps := []struct {
		ev     Event
		reject string
	}{
		{&TokenIssued{T: t0, ID: "tk-1", Hash: hash('a'), Role: "operator", By: "admin:x"}, ""},
		{&TokenIssued{T: t0, ID: "tk-1", Hash: hash('b'), Role: "operator"}, "token tk-1 exists"},
		{&TokenIssued{T: t0, ID: "tk-2", Hash: hash('a'), Role: "operator"}, "token tk-2: the same secret is already issued"},
		{&TokenIssued{T: t0, ID: "tk-3", Hash: "short", Role: "operator"}, "token: id, hash and role are required"},
		{&TokenIssued{T: t0.Add(time.Second), ID: "tk-4", Hash: hash('c'), Role: "unit", Unit: "P-1", Expires: t0.Add(time.Hour)}, ""},
		{&TokenRevoked{T: t0.Add(2 * time.Second), ID: "tk-1", By: "admin:x"}, ""},
		{&TokenRevoked{T: t0.Add(3 * time.Second), ID: "tk-1", By: "admin:x"}, ""},
		{&TokenRevoked{T: t0.Add(3 * time.Second), ID: "tk-9"}, "unknown token tk-9"},
		{&TokenRevoked{T: t0.Add(4 * time.Second), ID: "0badf00d", File: true}, ""},
		{&UnitUpserted{T: t0, ID: "P-1", Force: Police, Mode: geo.Car, Secret: hash('d')}, ""},
		{&UnitUpserted{T: t0, ID: "P-1", Force: Police, Mode: geo.Car, Callsign: "湖里巡1"}, ""},
		{&Accessed{T: t0.Add(5 * time.Second), What: "replay", Subject: "INC-000001", By: "supervisor:y"}, ""},
	}
	for n, s := range steps {
		changes := e.Apply(s.ev)
		var got string
		for _, c := range changes {
			if c.Kind == Rejected {
				got = c.Reason
			}
		}
		if got != s.reject {
			t.Fatalf("step %d (%s): rejection %q, want %q", n, s.ev.Kind(), got, s.reject)
		}
	}
	check := func(t *testing.T, e *Engine) {
		if v, ok := e.TokenByHash(hash('a')); !ok || v.ID != "tk-1" || v.Revoked.Time != t0.Add(2*time.Second) {
			t.Errorf("tk-1 by hash: %+v %v", v, ok)
		}
		if _, ok := e.TokenByHash(hash('b')); ok {
			t.Error("a refused token is known by its hash")
		}
		if at, ok := e.TokenRevokedAt("0badf00d"); !ok || at != t0.Add(4*time.Second) {
			t.Errorf("file token revoked at %v %v", at, ok)
		}
		if _, ok := e.TokenRevokedAt("tk-4"); ok {
			t.Error("tk-4 revoked")
		}
		var ids []string
		for _, v := range e.Tokens() {
			ids = append(ids, v.ID)
		}
		if want := []string{"0badf00d", "tk-1", "tk-4"}; !reflect.DeepEqual(ids, want) {
			t.Errorf("tokens %v, want %v", ids, want)
		}
		if e.DeviceSecret("P-1") != hash('d') {
			t.Errorf("device secret %q: a roster change without one must keep it", e.DeviceSecret("P-1"))
		}
		if u, _ := e.Unit("P-1"); !u.Secret || u.Callsign != "湖里巡1" {
			t.Errorf("unit %+v", u)
		}
	}
	check(t, e)
	snap, err := e.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(snap), `"secret":true`) {
		t.Error("snapshot carries a view")
	}
	r, err := Restore(e.Config(), snap)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("restored", func(t *testing.T) { check(t, r) })
}
