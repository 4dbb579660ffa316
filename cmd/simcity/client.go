package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// server is commandd as simcity sees it: its public HTTP and WebSocket contract, and
// nothing else.
type server struct {
	base   string            // http://host:port
	tokens map[string]string // role → a token of that role
	http   *http.Client
}

func newServer(base, tokensFile string) (*server, error) {
	s := &server{base: strings.TrimRight(base, "/"), tokens: map[string]string{},
		http: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}}
	f, err := os.Open(tokensFile)
	if err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(line)
		if len(fields) >= 2 && s.tokens[fields[1]] == "" && fields[1] != "unit" {
			s.tokens[fields[1]] = fields[0]
		}
	}
	for _, role := range []string{"operator", "ingest"} {
		if s.tokens[role] == "" {
			if s.tokens["admin"] == "" {
				return nil, fmt.Errorf("tokens file %s has no %s or admin token", tokensFile, role)
			}
			s.tokens[role] = s.tokens["admin"]
		}
	}
	return s, nil
}

// call sends a request as role and decodes a JSON answer into out (if not nil); a
// status other than want is an error.
func (s *server) call(ctx context.Context, role, method, path string, body []byte, want int, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, s.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+s.tokens[role])
	resp, err := s.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, bytes.TrimSpace(raw))
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return nil
}

// waitReady waits for /readyz.
func (s *server) waitReady(ctx context.Context) error {
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", s.base+"/readyz", nil)
		if resp, err := s.http.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("server at %s not ready: %w", s.base, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// unit is a unit simcity registers.
type unit struct {
	ID       string
	Force    string
	Mode     string
	Lat, Lng float64
}

// register puts units on the roster and places each with a first fix, concurrently.
func (s *server) register(ctx context.Context, units []unit) error {
	work := make(chan unit)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for u := range work {
				body := fmt.Sprintf(`{"callsign":%q,"force":%q,"mode":%q,"status":"available"}`, u.ID, u.Force, u.Mode)
				if err := s.call(ctx, "operator", "PUT", "/api/v1/units/"+u.ID, []byte(body), 200, nil); err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		})
	}
	for _, u := range units {
		select {
		case work <- u:
		case err := <-errs:
			close(work)
			wg.Wait()
			return err
		}
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
	}
	// Place them: one batch of fixes per 5,000 units.
	now := time.Now().UnixMilli()
	for lo := 0; lo < len(units); lo += 5000 {
		var buf bytes.Buffer
		for _, u := range units[lo:min(lo+5000, len(units))] {
			fmt.Fprintf(&buf, `{"unit":%q,"t":%d,"lat":%.6f,"lng":%.6f}`+"\n", u.ID, now, u.Lat, u.Lng)
		}
		var ans struct{ Accepted int }
		if err := s.call(ctx, "ingest", "POST", "/api/v1/fixes", buf.Bytes(), 202, &ans); err != nil {
			return err
		}
	}
	return nil
}

// dial opens a WebSocket as role and subscribes.
func (s *server) dial(ctx context.Context, role string, sub any) (*websocket.Conn, error) {
	u := "ws" + strings.TrimPrefix(s.base, "http") + "/ws?access_token=" + url.QueryEscape(s.tokens[role])
	d := websocket.Dialer{HandshakeTimeout: 30 * time.Second, ReadBufferSize: 4096, WriteBufferSize: 4096}
	conn, _, err := d.DialContext(ctx, u, nil)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", s.base, err)
	}
	if err := conn.WriteJSON(sub); err != nil {
		conn.Close()
		return nil, fmt.Errorf("subscribe: %w", err)
	}
	return conn, nil
}

// rss reads the server's resident memory from its /metrics.
func (s *server) rss(ctx context.Context) (float64, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", s.base+"/metrics", nil)
	resp, err := s.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "process_resident_memory_bytes "); ok {
			var f float64
			_, err := fmt.Sscan(v, &f)
			return f, err
		}
	}
	return 0, fmt.Errorf("no process_resident_memory_bytes in /metrics")
}
