// Command commandd is the dispatch server: it takes alerts, GPS and camera events over
// HTTP and WebSocket, keeps them in a durable JetStream log, applies them to the
// dispatch engine in order and pushes live state to wall screens and handhelds.
//
//	commandd --listen 127.0.0.1:8080 --data DIR [--tokens FILE]
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"commandd/dispatch"
	"commandd/fixtures"
	"commandd/fixtures/city"
	"commandd/streams"
	"commandd/streams/history"
	"commandd/ui"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "district" {
		if err := districtCommand(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "commandd district:", err)
			os.Exit(1)
		}
		return
	}
	cfg, err := parseConfig(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "commandd:", err)
		os.Exit(2)
	}
	level, err := zerolog.ParseLevel(cfg.LogLevel)
	if err != nil {
		level = zerolog.InfoLevel
	}
	logger := zerolog.New(os.Stderr).Level(level).With().Timestamp().Str("service", "commandd").Logger()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, logger); err != nil {
		logger.Error().Err(err).Msg("commandd stopped")
		os.Exit(1)
	}
}

// run wires the one-way path — ingest → log → engine → hub → clients — and serves
// until ctx ends, then drains ingest, stops the loop (which writes a final snapshot) and
// closes the log.
func run(ctx context.Context, cfg Config, logger zerolog.Logger) error {
	if err := os.MkdirAll(cfg.Data, 0o750); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	tokensPath := cfg.Tokens
	if tokensPath == "" {
		path, created, err := streams.EnsureTokens(cfg.Data)
		if err != nil {
			return err
		}
		tokensPath = path
		if created {
			logger.Info().Str("file", path).Msg("wrote fresh tokens")
		}
	}
	tokens, err := streams.LoadTokens(tokensPath)
	if err != nil {
		return err
	}
	if cfg.Demo && tokens.Token(streams.Admin) == "" && (tokens.Token(streams.Operator) == "" || tokens.Token(streams.Ingest) == "") {
		return fmt.Errorf("--demo: the simulated city calls the API as an operator and as an ingest sender, and %s has "+
			"no token for one of them and no admin token: add lines such as \"<token> operator\" and \"<token> ingest\", "+
			"or leave out --tokens to have fresh ones written into --data", tokensPath)
	}
	zone, _ := time.LoadLocation(cfg.TZ) // checked by parseConfig; a district file's own zone wins below
	sync, err := cfg.logSync()
	if err != nil {
		return err
	}
	if cfg.ClusterListen != "" {
		logger.Info().Str("node", cfg.Node).Str("cluster_listen", cfg.ClusterListen).Str("peers", cfg.ClusterPeers).
			Msg("joining the cluster: the log opens once a majority of its nodes is up")
	}
	log, err := streams.OpenLog(ctx, streams.LogConfig{URL: cfg.NATS, Dir: cfg.Data, Region: cfg.Region, Sync: sync,
		Node: cfg.Node, ClusterListen: cfg.ClusterListen, ClusterPeers: cfg.clusterPeers(), ClusterSecret: cfg.ClusterSecret})
	if err != nil {
		return err
	}
	defer log.Close()
	if cfg.NATS != "" && log.Replicas() < 3 {
		logger.Warn().Int("replicas", log.Replicas()).Str("stream", log.Name()).
			Msg("the NATS server is not a cluster: the log is kept on one machine, and losing it loses the log")
	}

	// The district: from its file (--district), or the sample district written as one
	// and read back through the same code (--demo); none: the built-in plan, no zones.
	var engineCfg dispatch.Config
	var district *fixtures.District
	switch {
	case cfg.Demo:
		if district, err = fixtures.GenerateDistrict(fixtures.DefaultDistrict); err != nil {
			return err
		}
		file, err := district.File()
		if err != nil {
			return fmt.Errorf("demo district: %w", err)
		}
		if engineCfg, err = decodeDistrict("demo district", file); err != nil {
			return err
		}
	case cfg.District != "":
		if engineCfg, err = readDistrictFile(cfg.District); err != nil {
			return fmt.Errorf("district: %w", err)
		}
	}
	engineCfg.Recommend, engineCfg.Baseline, engineCfg.MoveUp = cfg.Recommend, cfg.Baseline, cfg.MoveUp
	switch {
	case cfg.RetireClosed > 0:
		engineCfg.RetireClosed = cfg.RetireClosed
	case cfg.PG != "":
		engineCfg.RetireClosed = time.Hour
	default:
		engineCfg.RetireClosed = 24 * time.Hour
	}
	hub := streams.NewHub(logger)
	loop, err := streams.NewLoop(log, engineCfg, hub, cfg.Data, cfg.SnapshotEvery, logger)
	if err != nil {
		return err
	}
	metrics := streams.NewMetrics(func() float64 {
		last, _ := log.Last(context.Background())
		return float64(last - min(last, loop.Applied()))
	}, func() float64 { return float64(hub.Dropped()) })
	loop.OnApply = metrics.ObserveApply
	metrics.EngineFigures(loop)
	var origins []string
	if cfg.Origins != "" {
		origins = strings.Split(cfg.Origins, ",")
	}
	limits := streams.DefaultLimits
	limits.Rate, limits.Burst = cfg.Rate, int(2*cfg.Rate)
	clock := time.Now
	if cfg.TimeScale != 1 {
		start := time.Now()
		clock = func() time.Time { return start.Add(time.Duration(float64(time.Since(start)) * cfg.TimeScale)) }
	}
	tz := cfg.TZ
	if engineCfg.TZ != "" {
		if z, err := time.LoadLocation(engineCfg.TZ); err == nil { // the district file says where it is
			tz, zone = engineCfg.TZ, z
		}
	}
	pages, err := ui.Handler(ui.Options{Tiles: cfg.Tiles, TZ: tz, CoverageDeadlines: coverageDeadlines(engineCfg),
		CameraSnapshots: cfg.CameraSnapshots, District: func() (string, []float64) {
			inForce := loop.Config() // the log's, which a PUT or an earlier start may have set
			return inForce.TZ, coverageDeadlines(inForce)
		}})
	if err != nil {
		return err
	}
	srv := &streams.Server{Log: log, Loop: loop, Hub: hub, Tokens: tokens, Logger: logger,
		Limits: limits, Origins: origins, Metrics: metrics, Clock: clock, UI: pages, Location: zone, TrustDeviceID: cfg.OsmAndTrustID}
	if cfg.Clock == "external" {
		srv.External = streams.NewExternalClock(time.Now())
	}
	var leaderJobs []func(context.Context) // what runs on the region's leader only
	if cfg.PG != "" {
		store, err := history.Open(ctx, cfg.PG)
		if err != nil {
			return err
		}
		defer store.Close()
		w := &history.Writer{Store: store, Log: log, Config: engineCfg, Logger: logger.With().Str("part", "history").Logger()}
		metrics.HistoryLag(func() float64 {
			last, _ := log.Last(context.Background())
			return float64(last - min(last, w.Position()))
		})
		srv.History, srv.Archive = store, store.Archive(log)
		// One history for the cluster: its leader writes it (the writer's position
		// commits with its rows, so a new leader carries on where the last stopped).
		leaderJobs = append(leaderJobs, func(ctx context.Context) {
			go every(ctx, time.Hour, func(time.Time) {
				if err := w.Maintain(ctx, cfg.PGRetain); err != nil && ctx.Err() == nil {
					logger.Error().Err(err).Msg("history maintenance")
				}
			})
			_ = w.Run(ctx)
		})
	}

	loopCtx, stopLoop := context.WithCancel(context.Background())
	defer stopLoop()
	loopDone := make(chan error, 1)
	go func() { loopDone <- loop.Run(loopCtx) }()
	leader := &streams.Leader{Log: log, Logger: logger, Lead: func(ctx context.Context, write func(context.Context, ...dispatch.Event) error) {
		for _, job := range leaderJobs {
			go job(ctx)
		}
		if srv.External != nil {
			<-ctx.Done()
			return
		}
		every(ctx, time.Duration(float64(cfg.Tick)/cfg.TimeScale), func(time.Time) {
			if err := write(ctx, &dispatch.Tick{T: clock().UTC().Truncate(time.Millisecond)}); err != nil && ctx.Err() == nil {
				logger.Error().Err(err).Msg("tick append failed")
			}
		})
	}}
	leadCtx, stopLeading := context.WithCancel(ctx)
	leaderDone := make(chan struct{})
	go func() { leader.Run(leadCtx); close(leaderDone) }()
	defer func() { stopLeading(); <-leaderDone }() // gives the lease up on a clean stop
	go log.Announce(ctx)
	go every(ctx, time.Duration(float64(time.Second)/cfg.FrameRate), func(time.Time) { hub.FlushUnits() })

	go srv.WatchCredentials(ctx)
	tlsConfig, err := cfg.tlsConfig()
	if err != nil {
		stopLoop()
		return err
	}
	scheme := "http"
	if tlsConfig != nil {
		scheme = "https"
	} else {
		logger.Warn().Msg("serving clear text: tokens cross the network readable; give --tls-cert and --tls-key, or put a TLS proxy in front")
	}
	ln, err := listen(cfg.Listen, tlsConfig)
	if err != nil {
		stopLoop()
		return fmt.Errorf("listen: %w", err)
	}
	httpSrv := newHTTPServer(srv.Handler(), logger)
	httpSrv.RegisterOnShutdown(srv.CloseSockets)
	serveErr := make(chan error, 1)
	go func() { serveErr <- httpSrv.Serve(ln) }()
	if cfg.OsmAndListen != "" {
		oln, err := listen(cfg.OsmAndListen, tlsConfig)
		if err != nil {
			return fmt.Errorf("osmand listen: %w", err)
		}
		osmSrv := newHTTPServer(srv.OsmAnd(), logger)
		go func() { _ = osmSrv.Serve(oln) }()
		defer osmSrv.Close()
		logger.Info().Str("listen", oln.Addr().String()).Msg("osmand serving")
	}
	stopGB28181, err := startGB28181(ctx, cfg, srv, logger)
	if err != nil {
		return err
	}
	defer stopGB28181()
	if err := startJT808(ctx, cfg.JT808Listen, srv, logger); err != nil {
		return err
	}
	if cfg.DebugListen != "" {
		dln, err := net.Listen("tcp", cfg.DebugListen)
		if err != nil {
			return fmt.Errorf("debug listen: %w", err)
		}
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		debugSrv := newHTTPServer(mux, logger)
		go func() { _ = debugSrv.Serve(dln) }()
		defer debugSrv.Close()
	}
	if district != nil {
		go runDemo(ctx, "http://"+ln.Addr().String(), tokens, district, cfg.DemoRate, cfg.TimeScale, logger)
	}
	abs, _ := filepath.Abs(tokensPath)
	logger.Info().Str("listen", ln.Addr().String()).Str("tokens", abs).Str("data", cfg.Data).Msg("commandd serving")
	printWelcome(scheme, ln.Addr().String(), abs, tokens)
	if !ui.Built() {
		fmt.Fprintln(os.Stderr, "  (the pages' scripts are not in this binary: go generate ./ui, then build again)")
	}
	if district != nil {
		fmt.Fprintf(os.Stderr, "  demo: %d units and %d cameras of the sample district coming on line, alerts at %gx Huli's rate\n",
			len(district.Units), len(district.Cameras), cfg.DemoRate)
	}
	fmt.Fprintln(os.Stderr)

	select {
	case <-ctx.Done():
	case err := <-serveErr:
		stopLoop()
		return fmt.Errorf("serve: %w", err)
	case err := <-loopDone:
		_ = httpSrv.Close()
		return fmt.Errorf("engine loop: %w", err)
	}
	logger.Info().Msg("shutting down: draining ingest")
	shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := httpSrv.Shutdown(shutCtx); err != nil {
		logger.Warn().Err(err).Msg("http shutdown")
	}
	stopLoop()
	if err := <-loopDone; err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("engine loop: %w", err)
	}
	logger.Info().Msg("stopped")
	return nil
}

// printWelcome tells the person who started commandd where to go. The login links
// carry tokens, so they are printed only to a terminal: a log collector reading stderr
// gets the addresses and where the tokens are, never a token.
func printWelcome(scheme, addr, tokensFile string, tokens *streams.Tokens) {
	op, sup := tokens.Token(streams.Operator), tokens.Token(streams.Supervisor)
	if st, err := os.Stderr.Stat(); err != nil || st.Mode()&os.ModeCharDevice == 0 {
		op, sup = "<operator token>", "<supervisor token>"
	}
	fmt.Fprintf(os.Stderr, "\ncommandd is up on %[1]s://%[2]s\n  API token for operators: %[3]s\n  tokens file: %[4]s\n"+
		"  wall screen: %[1]s://%[2]s/?access_token=%[3]s\n  replays: %[1]s://%[2]s/replay.html?access_token=%[5]s\n",
		scheme, addr, op, tokensFile, sup)
}

// runDemo lives the sample district against this server, through its API like any
// outside system, until ctx ends.
func runDemo(ctx context.Context, base string, tokens *streams.Tokens, d *fixtures.District, rate, speed float64, logger zerolog.Logger) {
	s, err := city.Connect(base, map[string]string{"admin": tokens.Token(streams.Admin),
		"operator": tokens.Token(streams.Operator), "ingest": tokens.Token(streams.Ingest)})
	if err == nil {
		err = s.WaitReady(ctx)
	}
	if err == nil {
		_, err = city.Run(ctx, s, city.Options{District: d, Seed: d.Seed, Busier: rate, Speed: speed, Lively: true,
			Logf: func(format string, args ...any) { logger.Info().Str("from", "demo").Msgf(format, args...) }})
	}
	if err != nil && ctx.Err() == nil {
		logger.Error().Err(err).Msg("demo city stopped")
	}
}

// coverageDeadlines are the deadlines (s) of the plan the coverage layers are kept
// for: the default plan's (the rule matching any category and priority).
func coverageDeadlines(c dispatch.Config) []float64 {
	tiers := c.CoverageTiers()
	out := make([]float64, len(tiers))
	for i, t := range tiers {
		out[i] = t.Deadline.Seconds()
	}
	return out
}

// every calls fn every d until ctx ends.
func every(ctx context.Context, d time.Duration, fn func(time.Time)) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			fn(now)
		}
	}
}
