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
	"io/fs"
	"net/http"
)

//go:embed static
var static embed.FS

// csp keeps the pages to this server: no script, style, font, tile or connection
// elsewhere (a street map's tile server, when configured, is the one exception the
// operator adds with ?tiles=). MapLibre runs its worker from a file of this server.
const csp = "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data: blob:; " +
	"style-src 'self' 'unsafe-inline'; script-src 'self'; worker-src 'self' blob:"

// Handler serves the pages.
func Handler() http.Handler {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	files := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", csp)
		w.Header().Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})
}

// Built reports whether the pages' scripts are in the binary.
func Built() bool {
	_, err := fs.Stat(static, "static/dist/wall.js")
	return err == nil
}
