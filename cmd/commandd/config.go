package main

import (
	"flag"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // --tz works on a machine without a zone database
)

// Config is commandd's whole configuration. Every field is a flag and an environment
// variable (COMMANDD_ and the flag's name in capitals, dashes as underscores); a flag
// given on the command line wins.
type Config struct {
	Listen          string        `flag:"listen" help:"HTTP and WebSocket address"`
	Data            string        `flag:"data" help:"data directory: the embedded log, snapshots, generated tokens"`
	Tokens          string        `flag:"tokens" help:"tokens file (<token> <role> [<unit-id>] per line); empty: generate one in --data"`
	NATS            string        `flag:"nats" help:"URL of an external NATS JetStream server or cluster; empty: embedded"`
	Region          string        `flag:"region" help:"region of this engine: the log is the stream events.<region>"`
	Node            string        `flag:"node" help:"this process's name in a cluster (letters, digits, - and _; unique in it): its embedded NATS server's name and the holder of the regions it leads; empty: the host's name"`
	ClusterListen   string        `flag:"cluster-listen" help:"HOST:PORT where the embedded NATS server takes routes from the cluster's other nodes; with --cluster-peers, three commandd processes form one JetStream cluster (the log's stream kept on all three)"`
	ClusterPeers    string        `flag:"cluster-peers" help:"comma-separated HOST:PORT of the other nodes' --cluster-listen"`
	ClusterSecret   string        `flag:"cluster-secret" help:"with --cluster-listen: a password shared by the cluster's nodes, without which no server joins it (routes are clear TCP: keep them on the nodes' private network); prefer the environment variable to the command line"`
	LogSync         string        `flag:"log-sync" help:"how the embedded log syncs to disk: always, or an interval such as 1s (see docs/durability.md)"`
	SnapshotEvery   time.Duration `flag:"snapshot-every" help:"how often the engine's state is written to --data"`
	Tick            time.Duration `flag:"tick" help:"engine clock tick: deadlines, coverage and re-planning advance with it"`
	FrameRate       float64       `flag:"frame-rate" help:"unit position frames per second sent to clients"`
	Baseline        bool          `flag:"baseline" help:"plan without the engine's planning, to measure what it buys: straight-line nearest free unit, incidents one by one as they come, no duplicate merging (docs/engine.md)"`
	Recommend       bool          `flag:"recommend" help:"recommend units and wait for operators to confirm, instead of assigning at once"`
	MoveUp          string        `flag:"moveup" help:"what the engine does with free units that would cover more of the calls to come elsewhere: off, recommend (to operators, who confirm; GET /api/v1/moveups) or auto (sent to the units at once)"`
	Origins         string        `flag:"origins" help:"comma-separated extra origins allowed to open WebSockets"`
	OsmAndListen    string        `flag:"osmand-listen" help:"extra address serving the OsmAnd / Traccar Client protocol at / (Traccar's port is 5055); empty: only /osmand"`
	OsmAndTrustID   bool          `flag:"osmand-trust-device-id" help:"accept OsmAnd reports by their device id alone, as Traccar does, for closed networks; otherwise a device needs a token (access_token) or its unit's device secret (secret)"`
	JT808Listen     string        `flag:"jt808-listen" help:"TCP address serving JT/T 808 vehicle terminals (registration, authentication, locations, emergency alarm; clear TCP, keep it on the terminals' private network); empty: off"`
	TLSCert         string        `flag:"tls-cert" help:"TLS certificate (PEM) for HTTP, WebSocket and the OsmAnd port; with --tls-key. Empty: clear text, said at start"`
	TLSKey          string        `flag:"tls-key" help:"TLS private key (PEM) of --tls-cert"`
	Rate            float64       `flag:"rate" help:"requests per second allowed per token (and per OsmAnd device); bursts of twice that"`
	LogLevel        string        `flag:"log-level" help:"debug, info, warn or error"`
	Demo            bool          `flag:"demo" help:"a living city to look at: the sample district (Huli, generated) for the engine, and a simulated city inside driving it over the API"`
	DemoRate        float64       `flag:"demo-rate" help:"with --demo: alerts and camera events at this many times the district's real rate"`
	Clock           string        `flag:"clock" help:"wall: the server keeps time and ticks by itself; external: time stands until an admin sets it (POST /api/v1/clock), each setting a tick, so a simulation stepping it gets the same answers on every run"`
	TimeScale       float64       `flag:"time-scale" help:"run the server's clock this many times faster than the wall clock (1 to 100), for simulations on a throwaway --data: ticks and the times of events sent without one follow it"`
	PG              string        `flag:"pg" help:"PostgreSQL (with PostGIS) URL for the history: incidents, alerts, assignments, fixes, audit, and replays beyond the log's 7 days; empty: no history"`
	PGRetain        time.Duration `flag:"pg-retain" help:"with --pg: drop whole days of fixes and archived log messages older than this (e.g. 8760h); 0: keep everything"`
	RetireClosed    time.Duration `flag:"retire-closed" help:"how long a closed incident stays in the engine (readable live, its alert ids remembered) before it is dropped to keep memory and snapshots bounded; 0: 1h with --pg (the history keeps it and answers for it), 24h without"`
	Tiles           string        `flag:"tiles" help:"raster tile URL template ({z}/{x}/{y}) of a street map for the wall and replay maps, from a tile server of your own; empty: no street map (nothing leaves the server)"`
	District        string        `flag:"district" help:"district file (boundary, management grids, zones, response plans; docs/api.md) the engine starts with on a new data directory; commandd district generate writes the sample one"`
	TZ              string        `flag:"tz" help:"the district's time zone (IANA name), unless its district file names one: the pages show its time, \"today\" in figures begins at its midnight, history days default to it; the API keeps emitting UTC"`
	CameraSnapshots string        `flag:"camera-snapshots" help:"origin (https://host[:port]) of the camera platform whose snapshot images the pages show with the evidence; empty: the pages link to snapshots instead (nothing else is let through)"`
	DebugListen     string        `flag:"debug-listen" help:"address serving Go's /debug/pprof profiles for the engineer on call; empty: off (keep it on loopback)"`
	GB28181Listen   string        `flag:"gb28181-listen" help:"HOST:PORT serving GB/T 28181 camera platforms and devices, SIP over UDP and TCP on the same port (usually 5060); empty: off"`
	GB28181ID       string        `flag:"gb28181-id" help:"with --gb28181-listen: this platform's 20-digit SIP id (its first 10 digits are the SIP domain and digest realm), as configured on the devices"`
	GB28181Password string        `flag:"gb28181-password" help:"with --gb28181-listen: the password devices REGISTER with (digest); prefer the environment variable to the command line"`
}

func defaults() Config {
	return Config{Listen: "127.0.0.1:8080", Data: "data", Region: "default", LogSync: "always",
		SnapshotEvery: 30 * time.Second, Tick: time.Second, FrameRate: 10, Rate: 500, LogLevel: "info", DemoRate: 20, Clock: "wall", MoveUp: "recommend", TimeScale: 1, TZ: "Asia/Shanghai"}
}

// parseConfig reads flags over environment over defaults. The flags come from the
// struct tags, so the tags are the documentation (`commandd -h` prints them).
func parseConfig(args []string) (Config, error) {
	c := defaults()
	fs := flag.NewFlagSet("commandd", flag.ContinueOnError)
	v := reflect.ValueOf(&c).Elem()
	for i := range v.NumField() {
		f, field := v.Type().Field(i), v.Field(i)
		name, help := f.Tag.Get("flag"), f.Tag.Get("help")
		envName := "COMMANDD_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
		help += " (env " + envName + ")"
		if s, ok := os.LookupEnv(envName); ok {
			if err := setField(field, s); err != nil {
				return c, fmt.Errorf("%s: %w", envName, err)
			}
		}
		switch p := field.Addr().Interface().(type) {
		case *string:
			fs.StringVar(p, name, *p, help)
		case *time.Duration:
			fs.DurationVar(p, name, *p, help)
		case *float64:
			fs.Float64Var(p, name, *p, help)
		case *bool:
			fs.BoolVar(p, name, *p, help)
		default:
			return c, fmt.Errorf("config field %s: unsupported type %s", f.Name, f.Type)
		}
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if c.FrameRate <= 0 || c.Tick <= 0 || c.SnapshotEvery <= 0 || c.Rate <= 0 {
		return c, fmt.Errorf("frame-rate, tick, snapshot-every and rate must be positive")
	}
	if c.TimeScale < 1 || c.TimeScale > 100 {
		return c, fmt.Errorf("time-scale must be from 1 to 100")
	}
	if _, err := time.LoadLocation(c.TZ); err != nil || c.TZ == "" {
		return c, fmt.Errorf("tz: want an IANA time zone such as Asia/Shanghai, got %q", c.TZ)
	}
	switch {
	case c.Clock != "wall" && c.Clock != "external":
		return c, fmt.Errorf("clock must be wall or external")
	case c.MoveUp != "off" && c.MoveUp != "recommend" && c.MoveUp != "auto":
		return c, fmt.Errorf("moveup must be off, recommend or auto")
	case (c.TLSCert == "") != (c.TLSKey == ""):
		return c, fmt.Errorf("tls-cert and tls-key go together")
	case c.Demo && c.TLSCert != "":
		return c, fmt.Errorf("demo is a first look on this machine: not with tls-cert")
	case c.Demo && c.District != "":
		return c, fmt.Errorf("demo lives the sample district: not with district")
	case c.Clock == "external" && (c.Demo || c.TimeScale != 1):
		return c, fmt.Errorf("clock external is driven from outside: not with demo or time-scale")
	}
	if err := c.checkCluster(); err != nil {
		return c, err
	}
	if err := c.checkGB28181(); err != nil {
		return c, err
	}
	return c, nil
}

// setField sets a config field from an environment variable's text.
func setField(field reflect.Value, s string) error {
	switch p := field.Addr().Interface().(type) {
	case *string:
		*p = s
	case *time.Duration:
		d, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		*p = d
	case *float64:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return err
		}
		*p = f
	case *bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return err
		}
		*p = b
	}
	return nil
}

// logSync turns --log-sync into the log's sync interval (0: every write).
func (c Config) logSync() (time.Duration, error) {
	if c.LogSync == "always" {
		return 0, nil
	}
	d, err := time.ParseDuration(c.LogSync)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("log-sync: want always or a positive interval, got %q", c.LogSync)
	}
	return d, nil
}

// checkCluster checks the cluster flags and names the node.
func (c *Config) checkCluster() error {
	if c.Node == "" {
		host, err := os.Hostname()
		if err != nil || host == "" {
			host = "commandd"
		}
		c.Node = strings.Map(func(r rune) rune {
			if nodeNameRune(r) {
				return r
			}
			return '-'
		}, host)
	}
	for _, r := range c.Node {
		if !nodeNameRune(r) {
			return fmt.Errorf("node: letters, digits, - and _ only, got %q", c.Node)
		}
	}
	switch {
	case (c.ClusterListen == "") != (c.ClusterPeers == ""):
		return fmt.Errorf("cluster-listen and cluster-peers go together")
	case c.ClusterListen != "" && c.NATS != "":
		return fmt.Errorf("cluster-listen makes the embedded NATS server a node of a cluster: not with nats, which uses another")
	}
	return nil
}

func nodeNameRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_'
}

// clusterPeers is --cluster-peers as a list.
func (c Config) clusterPeers() []string {
	var out []string
	for _, p := range strings.Split(c.ClusterPeers, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
