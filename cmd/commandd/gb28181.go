package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/rs/zerolog"

	"commandd/streams"
	"commandd/streams/gb28181"
)

// checkGB28181 checks the GB/T 28181 flags: all three, or none.
func (c Config) checkGB28181() error {
	if c.GB28181Listen == "" {
		if c.GB28181ID != "" || c.GB28181Password != "" {
			return fmt.Errorf("gb28181-id and gb28181-password need gb28181-listen (HOST:PORT, e.g. 0.0.0.0:5060)")
		}
		return nil
	}
	if _, _, err := net.SplitHostPort(c.GB28181Listen); err != nil {
		return fmt.Errorf("gb28181-listen: want HOST:PORT such as 0.0.0.0:5060, got %q", c.GB28181Listen)
	}
	if c.GB28181ID == "" {
		return fmt.Errorf("gb28181-listen needs gb28181-id: this platform's 20-digit SIP id (e.g. 35020000002000000001), the one the devices are configured to register to")
	}
	if len(c.GB28181ID) != 20 || strings.Trim(c.GB28181ID, "0123456789") != "" {
		return fmt.Errorf("gb28181-id: want the platform's 20-digit SIP id (e.g. 35020000002000000001), got %q", c.GB28181ID)
	}
	if c.GB28181Password == "" {
		return fmt.Errorf("gb28181-listen needs gb28181-password: the password the devices REGISTER with (or COMMANDD_GB28181_PASSWORD)")
	}
	return nil
}

// startGB28181 serves GB/T 28181 devices on --gb28181-listen, if given, until ctx
// ends; what they report goes into the log through streams.GB28181Sink. It listens
// once the engine has caught up with the log (devices that register earlier get no
// answer and retry, as they do when the platform is down), so that no catalog is
// offered to an engine that would refuse it. An address that cannot be listened on is
// an error now. The function returned waits for the server to stop.
func startGB28181(ctx context.Context, cfg Config, srv *streams.Server, logger zerolog.Logger) (wait func(), err error) {
	if cfg.GB28181Listen == "" {
		return func() {}, nil
	}
	log := logger.With().Str("component", "gb28181").Logger()
	// sipgo logs a few things (header parsing, connection references) through its
	// package-wide default logger; it must be set before sipgo is used.
	sip.SetDefaultLogger(slog.New(zerolog.NewSlogHandler(log.With().Str("layer", "sipgo").Logger())))
	gb, err := gb28181.New(gb28181.Config{Listen: cfg.GB28181Listen, ID: cfg.GB28181ID, Password: cfg.GB28181Password,
		Location: srv.Location}, streams.NewGB28181Sink(srv, logger), logger)
	if err != nil {
		return nil, fmt.Errorf("gb28181: %w", err)
	}
	if err := probeListen(cfg.GB28181Listen); err != nil {
		return nil, fmt.Errorf("gb28181 listen: %w", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(20 * time.Millisecond)
		for !srv.Loop.Ready() {
			select {
			case <-ctx.Done():
				tick.Stop()
				return
			case <-tick.C:
			}
		}
		tick.Stop()
		running := make(chan struct{})
		go func() {
			select {
			case <-gb.Ready():
				log.Info().Str("listen", gb.Addr()).Str("id", cfg.GB28181ID).Str("realm", cfg.GB28181ID[:10]).
					Msg("gb28181 serving")
			case <-running:
			}
		}()
		err := gb.Run(ctx)
		close(running)
		if err != nil {
			log.Error().Err(err).Str("listen", cfg.GB28181Listen).Msg("gb28181 stopped: cameras and alarms of GB/T 28181 devices no longer come in")
		}
	}()
	return func() { <-done }, nil
}

// probeListen tells at start whether addr can be listened on over TCP and UDP (taken,
// not this host's, a privileged port), where the server itself listens only once the
// engine is ready. Port 0 is always free.
func probeListen(addr string) error {
	if _, port, _ := net.SplitHostPort(addr); port == "0" {
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	_ = ln.Close()
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return err
	}
	return pc.Close()
}
