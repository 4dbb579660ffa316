package main

import (
	"crypto/tls"
	"fmt"
	"log"
	"net"
	"net/http"
	"time"

	"github.com/rs/zerolog"
)

// What a client may hold open without sending: a request's header must arrive within
// headerTimeout and its body within bodyTimeout (a 16 MB fix batch over a slow link
// fits), an idle keep-alive connection is closed after idleTimeout. A slow-loris
// client trickling bytes is cut off by the first two and costs one goroutine until then.
const (
	headerTimeout  = 10 * time.Second
	bodyTimeout    = 60 * time.Second
	idleTimeout    = 120 * time.Second
	maxHeaderBytes = 64 << 10
)

// newHTTPServer serves h with the limits above; net/http's own complaints (TLS
// handshakes that fail, mostly) go to the JSON log.
func newHTTPServer(h http.Handler, logger zerolog.Logger) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: headerTimeout, ReadTimeout: bodyTimeout,
		IdleTimeout: idleTimeout, MaxHeaderBytes: maxHeaderBytes,
		ErrorLog: log.New(logger.With().Str("part", "http").Logger(), "", 0)}
}

// tlsConfig loads --tls-cert and --tls-key; nil when they are not given.
func (c Config) tlsConfig() (*tls.Config, error) {
	if c.TLSCert == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey)
	if err != nil {
		return nil, fmt.Errorf("tls: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// listen listens on addr, over TLS when cfg is set.
func listen(addr string, cfg *tls.Config) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil || cfg == nil {
		return ln, err
	}
	return tls.NewListener(ln, cfg), nil
}
