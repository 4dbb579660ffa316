package streams

import (
	"net/http/httptest"
	"testing"
)

// BenchmarkAuthenticate: what finding a request's principal costs, for a token of the
// tokens file and for one issued over the API (a hash and a look in the engine's
// table under its read lock).
func BenchmarkAuthenticate(b *testing.B) {
	s := newTestServer(b, 0)
	issued := s.must(201, "POST", "/api/v1/tokens", tokAdmin, `{"role":"operator"}`)["token"].(string)
	for _, bc := range []struct{ name, token string }{{"file", tokOperator}, {"issued", issued}} {
		b.Run(bc.name, func(b *testing.B) {
			r := httptest.NewRequest("GET", "/api/v1/incidents", nil)
			r.Header.Set("Authorization", "Bearer "+bc.token)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.srv.authenticate(r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
