package ui

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHandlerServesTheBoard(t *testing.T) {
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{`view: "wall"`, "sub.seq = seq", "access_token"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("the board lacks %q", want)
		}
	}
	if strings.Contains(string(body), "https://") || strings.Contains(string(body), "http://") {
		t.Error("the board refers to another server (command centers are air-gapped)")
	}
}
