package gb28181

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// Config configures a Server. Listen, ID and Password are required; the
// rest have defaults.
type Config struct {
	// Listen is the HOST:PORT for SIP over UDP and TCP (the same port for
	// both). Port 0 picks a free port; see Server.Addr.
	Listen string
	// ID is the platform's 20-digit SIP id.
	ID string
	// Realm is the digest realm and SIP domain. Default: the first 10 digits
	// of ID (its administrative-division code), as GB/T 28181 does.
	Realm string
	// Password is the shared password devices authenticate REGISTER with.
	Password string

	// Location is the time zone of the zone-less GB/T 28181 times in
	// bodies (AlarmTime) and of the Date header sent. Default Asia/Shanghai.
	Location *time.Location

	// DefaultExpires is the registration lifetime when a REGISTER names none
	// (default 3600 s); MaxExpires caps what devices ask for (default 24 h).
	DefaultExpires time.Duration
	MaxExpires     time.Duration
	// KeepaliveTimeout drops a device that has sent no keepalive (nor any
	// other accepted request) for this long, even if its registration is
	// still running. Default 180 s (three missed keepalives at the usual
	// 60 s interval); negative disables it.
	KeepaliveTimeout time.Duration
	// SweepInterval is how often expired devices are dropped (default 5 s).
	SweepInterval time.Duration

	// NonceTTL is how long a digest nonce can be used (default 5 min);
	// MaxNonces bounds the nonces held (default 1024, oldest dropped).
	NonceTTL  time.Duration
	MaxNonces int

	// MaxDevices bounds the registered devices (default 10000; more get 503).
	MaxDevices int
	// MaxChannels bounds the positioned channels remembered per device
	// (default 10000); channels past it are still reported, but not
	// de-duplicated.
	MaxChannels int
	// MaxBody bounds a MESSAGE body (default 64 KiB; larger get 413).
	MaxBody int

	// RequestTimeout bounds each request sent to a device (default 10 s).
	RequestTimeout time.Duration

	// Now is the clock (default time.Now); for tests.
	Now func() time.Time
}

func (c Config) withDefaults() (Config, error) {
	if c.Listen == "" {
		return c, errors.New("gb28181: config: Listen is required")
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return c, fmt.Errorf("gb28181: config: Listen %q: %w", c.Listen, err)
	}
	if len(c.ID) != 20 || strings.Trim(c.ID, "0123456789") != "" {
		return c, fmt.Errorf("gb28181: config: ID %q is not a 20-digit SIP id", c.ID)
	}
	if c.Password == "" {
		return c, errors.New("gb28181: config: Password is required")
	}
	if c.Realm == "" {
		c.Realm = c.ID[:10]
	}
	if strings.ContainsAny(c.Realm, "\"\\\r\n") {
		return c, fmt.Errorf("gb28181: config: Realm %q has quotes, backslashes or line breaks", c.Realm)
	}
	if c.Location == nil {
		loc, err := time.LoadLocation("Asia/Shanghai")
		if err != nil {
			// No zoneinfo on this machine: China has kept UTC+8 without
			// daylight saving since 1991.
			loc = time.FixedZone("CST", 8*60*60)
		}
		c.Location = loc
	}
	setDur := func(d *time.Duration, def time.Duration) {
		if *d == 0 {
			*d = def
		}
	}
	setDur(&c.DefaultExpires, time.Hour)
	setDur(&c.MaxExpires, 24*time.Hour)
	setDur(&c.KeepaliveTimeout, 180*time.Second)
	setDur(&c.SweepInterval, 5*time.Second)
	setDur(&c.NonceTTL, 5*time.Minute)
	setDur(&c.RequestTimeout, 10*time.Second)
	setInt := func(n *int, def int) {
		if *n <= 0 {
			*n = def
		}
	}
	setInt(&c.MaxNonces, 1024)
	setInt(&c.MaxDevices, 10000)
	setInt(&c.MaxChannels, 10000)
	setInt(&c.MaxBody, 64<<10)
	if c.DefaultExpires < 0 || c.MaxExpires < 0 || c.SweepInterval < 0 || c.NonceTTL < 0 || c.RequestTimeout < 0 {
		return c, errors.New("gb28181: config: negative duration")
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c, nil
}
