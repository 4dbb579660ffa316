// Package ui holds the web pages commandd serves, embedded in the binary: the wall
// screen at / (map, incident queue with the three clocks, the selected incident with
// the operator's actions, units by status, today's figures), the officer's handheld at
// /handheld.html and the supervisor's replay at /replay.html. Their scripts are
// written in web/src and bundled by esbuild into static/dist (go generate ./ui); a
// binary built without them serves pages that say so.
package ui

//go:generate npm --prefix web ci --no-audit --no-fund
//go:generate npm --prefix web run build

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
)

//go:embed static
var static embed.FS

// Options are what the operator sets for the pages.
type Options struct {
	// Tiles is a raster tile URL template ({z}/{x}/{y}) of a street map to show under
	// everything, from a tile server of the command center's own; empty: none.
	Tiles string `json:"tiles"`
	// TZ is the district's time zone (an IANA name): the pages show its time, and
	// "today" begins at its midnight.
	TZ string `json:"tz"`
	// CoverageDeadlines are the deadlines (s) of the default plan's tiers, against
	// which the coverage layers colour the cells.
	CoverageDeadlines []float64 `json:"coverage_deadlines_s"`
	// CameraSnapshots is the origin (scheme://host[:port]) of the camera platform whose
	// snapshot images the pages show; empty: they link to them instead.
	CameraSnapshots string `json:"camera_snapshots"`
	// District, when set, gives TZ and CoverageDeadlines as they are now, in place of the
	// fields: the district in force changes with the log (PUT /api/v1/district), and a
	// page loaded after a change must see the new one.
	District func() (tz string, coverageDeadlines []float64) `json:"-"`
}

// origin checks that raw is an http(s) URL and returns its scheme://host.
func origin(what, raw, example string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%s: want an http(s) URL such as %s, got %q", what, example, raw)
	}
	return u.Scheme + "://" + u.Host, nil
}

// Handler serves the pages, and /config.json with what they need to know. The
// content security policy keeps them to this server (and the tile server, if any): no
// script, style, font or connection elsewhere. MapLibre runs its worker from a file of
// this server.
func Handler(opts Options) (http.Handler, error) {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		return nil, err
	}
	tiles, snapshots := "", ""
	if opts.Tiles != "" {
		o, err := origin("tiles", opts.Tiles, "https://tiles.example/{z}/{x}/{y}.png")
		if err != nil {
			return nil, err
		}
		tiles = " " + o
	}
	if opts.CameraSnapshots != "" {
		o, err := origin("camera snapshots", opts.CameraSnapshots, "https://video.example")
		if err != nil {
			return nil, err
		}
		opts.CameraSnapshots, snapshots = o, " "+o
	}
	if opts.TZ == "" {
		opts.TZ = "Asia/Shanghai"
	}
	if opts.CoverageDeadlines == nil {
		opts.CoverageDeadlines = []float64{}
	}
	// Only the command center's own tile and camera servers are let through, and no
	// page may be framed by another (a wall screen is not to be embedded elsewhere).
	csp := "default-src 'self'; connect-src 'self' ws: wss:" + tiles + "; img-src 'self' data: blob:" + tiles + snapshots +
		"; style-src 'self' 'unsafe-inline'; script-src 'self'; worker-src 'self' blob:; frame-ancestors 'none'"
	config := func() ([]byte, error) {
		o := opts
		if o.District != nil {
			if tz, deadlines := o.District(); tz != "" {
				o.TZ, o.CoverageDeadlines = tz, deadlines
			} else {
				o.CoverageDeadlines = deadlines
			}
		}
		return json.Marshal(o)
	}
	if _, err := config(); err != nil {
		return nil, err
	}
	files := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", csp)
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "no-referrer")
		if r.URL.Path == "/config.json" {
			b, err := config()
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.Write(b)
			return
		}
		files.ServeHTTP(w, r)
	}), nil
}

// Built reports whether the pages' scripts are in the binary.
func Built() bool {
	_, err := fs.Stat(static, "static/dist/wall.js")
	return err == nil
}
