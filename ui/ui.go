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
	Tiles string
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
	tiles := ""
	if opts.Tiles != "" {
		u, err := url.Parse(opts.Tiles)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("tiles: want an http(s) URL template such as https://tiles.example/{z}/{x}/{y}.png, got %q", opts.Tiles)
		}
		tiles = " " + u.Scheme + "://" + u.Host
	}
	csp := "default-src 'self'; connect-src 'self' ws: wss:" + tiles + "; img-src 'self' data: blob:" + tiles +
		"; style-src 'self' 'unsafe-inline'; script-src 'self'; worker-src 'self' blob:"
	config, err := json.Marshal(map[string]string{"tiles": opts.Tiles})
	if err != nil {
		return nil, err
	}
	files := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", csp)
		w.Header().Set("Cache-Control", "no-cache")
		if r.URL.Path == "/config.json" {
			w.Header().Set("Content-Type", "application/json")
			w.Write(config)
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
