package ui

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestHandler: every page and bundle is served with a type a browser runs, and no page
// refers to another server (command centers are often air-gapped).
func TestHandler(t *testing.T) {
	h, err := Handler(Options{Tiles: "https://tiles.example.net/{z}/{x}/{y}.png", TZ: "Asia/Urumqi",
		CoverageDeadlines: []float64{60, 120}, CameraSnapshots: "https://video.example.net:8443/snap"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	get := func(path string) (*http.Response, string) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, string(body)
	}
	for _, page := range []string{"/", "/handheld.html", "/replay.html", "/report.html"} {
		resp, body := get(page)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Errorf("GET %s: %d %s", page, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if strings.Contains(body, "https://") || strings.Contains(body, "http://") {
			t.Errorf("%s refers to another server", page)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") ||
			!strings.Contains(csp, "img-src 'self' data: blob: https://tiles.example.net https://video.example.net:8443;") ||
			!strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("%s: content security policy %q", page, csp)
		}
	}
	if _, body := get("/config.json"); body != `{"tiles":"https://tiles.example.net/{z}/{x}/{y}.png","tz":"Asia/Urumqi",`+
		`"coverage_deadlines_s":[60,120],"camera_snapshots":"https://video.example.net:8443"}` {
		t.Errorf("config.json: %s", body)
	}
	if _, err := Handler(Options{Tiles: "javascript:alert(1)"}); err == nil {
		t.Error("a tile URL that is not http(s) was taken")
	}
	if _, err := Handler(Options{CameraSnapshots: "ftp://video"}); err == nil {
		t.Error("a camera snapshot origin that is not http(s) was taken")
	}
	if !Built() {
		t.Skip("the scripts are not built (go generate ./ui)")
	}
	for _, js := range []string{"/dist/wall.js", "/dist/handheld.js", "/dist/replay.js", "/dist/report.js", "/dist/maplibre-gl-worker.mjs"} {
		if resp, _ := get(js); resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), "javascript") {
			t.Errorf("GET %s: %d %s", js, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	}
}

// TestConfigFollowsDistrict: /config.json tells a page the district in force at the
// time it loads, not the one the server started with.
func TestConfigFollowsDistrict(t *testing.T) {
	tz, deadlines := "", []float64{60, 180, 300}
	h, err := Handler(Options{TZ: "Asia/Shanghai", District: func() (string, []float64) { return tz, deadlines }})
	if err != nil {
		t.Fatal(err)
	}
	get := func() string {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/config.json", nil))
		return rec.Body.String()
	}
	if got := get(); !strings.Contains(got, `"tz":"Asia/Shanghai","coverage_deadlines_s":[60,180,300]`) {
		t.Errorf("before any district: %s", got)
	}
	tz, deadlines = "Asia/Urumqi", []float64{45, 120}
	if got := get(); !strings.Contains(got, `"tz":"Asia/Urumqi","coverage_deadlines_s":[45,120]`) {
		t.Errorf("after a district change: %s", got)
	}
}
