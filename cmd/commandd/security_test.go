package main

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// selfSigned writes a certificate for 127.0.0.1 and its key into dir.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "commandd test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// TestTLS: with --tls-cert and --tls-key the API, the WebSocket and the OsmAnd port
// speak TLS only; without them the server says at start that it serves clear text.
func TestTLS(t *testing.T) {
	dir := t.TempDir()
	cert, key := selfSigned(t, dir)
	s := start(t, dir, "--tls-cert", cert, "--tls-key", key, "--osmand-listen", "127.0.0.1:0")
	if strings.Contains(s.logs.String(), "serving clear text") {
		t.Error("a TLS server says it serves clear text")
	}
	s.must(200, "PUT", "/api/v1/units/P-17", tokOperator, `{"force":"police","mode":"car"}`)
	if h := s.header("/api/v1/units", tokOperator, "Strict-Transport-Security"); h == "" {
		t.Error("no HSTS over TLS")
	}
	wall := s.subscribe(tokOperator, `{"type":"subscribe","view":"wall"}`)
	wall.expect("snapshot", nil)
	// Clear text to either port is refused.
	plain := strings.Replace(s.base, "https://", "http://", 1)
	if resp, err := http.Get(plain + "/readyz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Error("the API answered clear text")
		}
	}
	osm := s.osmandPort()
	resp, err := s.client.Get(fmt.Sprintf("https://%s/?id=P-17&lat=24.5&lon=118.1&access_token=%s", osm, tokIngest))
	if err != nil {
		t.Fatalf("OsmAnd port over TLS: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("OsmAnd port over TLS: %d", resp.StatusCode)
	}
	if resp, err := http.Get(fmt.Sprintf("http://%s/?id=P-17&lat=24.5&lon=118.1&access_token=%s", osm, tokIngest)); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Error("the OsmAnd port took clear text")
		}
	}
	s.stop()
	clear := start(t, t.TempDir())
	if !strings.Contains(clear.logs.String(), "serving clear text") {
		t.Error("a clear-text server does not say so")
	}
}

// header returns one header of a GET's answer.
func (s *server) header(path, token, name string) string {
	s.t.Helper()
	req, _ := http.NewRequest("GET", s.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := s.client.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.Header.Get(name)
}

// TestTokensLive: tokens issued over the API outlive a crash of the server, a
// revocation too; a handheld signed in with its unit's token is listed for the wall;
// no token ever appears in the server's log, whatever was asked with it.
func TestTokensLive(t *testing.T) {
	dir := t.TempDir()
	s := start(t, dir)
	s.must(200, "PUT", "/api/v1/units/P-17", tokOperator, `{"force":"police","mode":"car"}`)
	unit := s.must(201, "POST", "/api/v1/tokens", tokAdmin, `{"role":"unit","unit":"P-17"}`)
	op := s.must(201, "POST", "/api/v1/tokens", tokAdmin, `{"role":"operator","expires":"24h"}`)
	gone := s.must(201, "POST", "/api/v1/tokens", tokAdmin, `{"role":"supervisor"}`)
	s.must(200, "DELETE", "/api/v1/tokens/"+gone["id"].(string), tokAdmin, "")
	secrets := []string{unit["token"].(string), op["token"].(string), gone["token"].(string),
		tokAdmin, tokOperator, tokSupervisor, tokIngest, tokUnitP17, tokVolunteer}

	handheld := s.subscribe(secrets[0], `{"type":"subscribe","view":"unit"}`)
	handheld.expect("snapshot", nil)
	list, err := s.doList("/api/v1/handhelds")
	if err != nil || len(list) != 1 || list[0].(map[string]any)["unit"] != "P-17" || list[0].(map[string]any)["token"] != unit["id"] {
		t.Fatalf("handhelds %v %v", list, err)
	}
	// Requests that fail, with tokens in the URL, in headers, unknown: all logged
	// without them (debug level logs every rejected request).
	s.do("GET", "/api/v1/incidents/INC-404?access_token="+secrets[1], "", "")
	s.do("GET", "/api/v1/units/P-99", secrets[1], "")
	s.do("GET", "/api/v1/units", "a-token-nobody-issued-0123456789", "")
	s.do("GET", "/api/v1/units", secrets[2], "")
	s.kill()

	s = start(t, dir)
	s.must(200, "GET", "/api/v1/units/P-17", secrets[0], "")
	s.must(200, "GET", "/api/v1/incidents", secrets[1], "")
	if got, m := s.do("GET", "/api/v1/incidents", secrets[2], ""); got != 401 {
		t.Errorf("a token revoked before the crash: %d %v", got, m)
	}
	for _, sec := range secrets {
		if strings.Contains(s.logs.String(), sec) {
			t.Errorf("the log shows a token (%s…)", sec[:6])
			for _, l := range strings.Split(s.logs.String(), "\n") {
				if strings.Contains(l, sec) {
					t.Log(l)
				}
			}
		}
	}
}

// TestSlowAndOversized: clients that trickle a request, hold a socket without
// subscribing, or send more than the limits get their connection closed or a 413/431;
// the server's memory stays bounded and other clients are served meanwhile.
func TestSlowAndOversized(t *testing.T) {
	s := start(t, t.TempDir(), "--osmand-listen", "127.0.0.1:0")
	addr := strings.TrimPrefix(s.base, "http://")
	heapBefore := s.metric("go_memstats_heap_inuse_bytes")

	// 500 slow-loris connections on the API port and 100 on the OsmAnd port: a
	// request line and then a header byte every second, never finished.
	const loris = 600
	var wg sync.WaitGroup
	closed := make(chan time.Duration, loris)
	for n := range loris {
		target := addr
		if n >= 500 {
			target = s.osmandPort()
		}
		wg.Go(func() {
			conn, err := net.Dial("tcp", target)
			if err != nil {
				t.Errorf("dial: %v", err)
				return
			}
			defer conn.Close()
			began := time.Now()
			fmt.Fprintf(conn, "GET /api/v1/units HTTP/1.1\r\nHost: x\r\n")
			conn.SetReadDeadline(time.Now().Add(30 * time.Second))
			go func() {
				for range 30 {
					time.Sleep(time.Second)
					if _, err := conn.Write([]byte("X")); err != nil {
						return
					}
				}
			}()
			// Until the server closes it; the client's own deadline ending it instead
			// means the server kept it.
			_, err = io.Copy(io.Discard, conn)
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Errorf("a slow-loris connection was still open after %v", time.Since(began).Round(time.Second))
			}
			closed <- time.Since(began)
		})
	}
	// Meanwhile others are served.
	time.Sleep(500 * time.Millisecond)
	for range 20 {
		s.must(200, "GET", "/api/v1/units", tokOperator, "")
	}
	wall := s.subscribe(tokOperator, `{"type":"subscribe","view":"wall"}`)
	wall.expect("snapshot", nil)
	heapDuring := s.metric("go_memstats_heap_inuse_bytes")
	wg.Wait()
	close(closed)
	var longest time.Duration
	for d := range closed {
		longest = max(longest, d)
	}
	if grow := heapDuring - heapBefore; grow > 64<<20 {
		t.Errorf("%d slow connections grew the heap by %.0f MB", loris, grow/(1<<20))
	}
	t.Logf("%d slow connections: heap %+.1f MB, all closed within %v", loris, (heapDuring-heapBefore)/(1<<20), longest.Round(100*time.Millisecond))

	// A socket that never subscribes is closed; a socket message over the limit too.
	idle := s.dialRaw(tokOperator)
	idle.SetReadDeadline(time.Now().Add(20 * time.Second))
	if _, _, err := idle.ReadMessage(); !websocket.IsCloseError(err, websocket.ClosePolicyViolation) {
		t.Errorf("a socket that never subscribed: %v", err)
	}
	big := s.dialRaw(tokOperator)
	big.WriteMessage(websocket.TextMessage, []byte(`{"type":"subscribe","view":"wall"}`))
	// The server cuts the connection once the message passes its limit: the write may
	// fail on the way (a reset), or the close frame says why.
	if err := big.WriteMessage(websocket.TextMessage, make([]byte, 1<<20)); err == nil {
		big.SetReadDeadline(time.Now().Add(10 * time.Second))
		for {
			if _, _, err := big.ReadMessage(); err != nil {
				var ne net.Error
				if !websocket.IsCloseError(err, websocket.CloseMessageTooBig) && !errors.As(err, &ne) && !strings.Contains(err.Error(), "reset") {
					t.Errorf("an oversized socket message: %v", err)
				}
				break
			}
		}
	} else if !strings.Contains(err.Error(), "reset") && !strings.Contains(err.Error(), "broken pipe") {
		t.Errorf("writing an oversized socket message: %v", err)
	}
	// Oversized headers and bodies.
	req, _ := http.NewRequest("GET", s.base+"/api/v1/units", nil)
	req.Header.Set("Authorization", "Bearer "+tokOperator)
	req.Header.Set("X-Padding", strings.Repeat("x", 128<<10))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("a 128 KiB header: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	if got, _ := s.do("POST", "/api/v1/alerts", tokIngest, `{"text":"`+strings.Repeat("x", 100<<10)+`"}`); got != 413 {
		t.Errorf("a 100 KiB alert: %d, want 413", got)
	}
	resp, err := http.Post("http://"+s.osmandPort()+"/?access_token="+tokIngest, "text/plain", strings.NewReader(strings.Repeat("id=1&", 20<<10)))
	if err != nil || resp.StatusCode != 413 {
		t.Errorf("a 100 KiB OsmAnd body: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	s.must(200, "GET", "/api/v1/units", tokOperator, "")
	runtime.KeepAlive(wall)
}

// dialRaw opens a WebSocket without subscribing.
func (s *server) dialRaw(token string) *websocket.Conn {
	s.t.Helper()
	conn, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(s.base, "http")+"/ws?access_token="+token, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { conn.Close() })
	return conn
}

// metric reads one unlabelled gauge from /metrics.
func (s *server) metric(name string) float64 {
	s.t.Helper()
	resp, err := s.client.Get(s.base + "/metrics")
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		var v float64
		if _, err := fmt.Sscanf(sc.Text(), name+" %g", &v); err == nil {
			return v
		}
	}
	s.t.Fatalf("no %s in /metrics", name)
	return 0
}
