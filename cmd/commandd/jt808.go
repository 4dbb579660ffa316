package main

import (
	"context"
	"fmt"
	"net"

	"github.com/rs/zerolog"

	"commandd/streams"
)

// startJT808 serves JT/T 808 terminals on addr (--jt808-listen; empty: off) until ctx
// ends. The protocol has no TLS: the port belongs on the terminals' private APN or VPN.
func startJT808(ctx context.Context, addr string, srv *streams.Server, logger zerolog.Logger) error {
	if addr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("jt808 listen: %w", err)
	}
	go func() {
		if err := srv.ServeJT808(ctx, ln); err != nil {
			logger.Error().Err(err).Msg("jt808 stopped")
		}
	}()
	logger.Info().Str("listen", ln.Addr().String()).Msg("jt808 serving")
	return nil
}
