package gb28181

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/rs/zerolog"
)

// Server is the GB/T 28181 SIP server. Create it with New and serve with Run.
type Server struct {
	cfg    Config
	sink   Sink
	log    zerolog.Logger
	ua     *sipgo.UserAgent
	sip    *sipgo.Server
	client *sipgo.Client
	nonces *nonceStore
	reg    *registry
	sn     atomic.Uint32

	started atomic.Bool
	ready   chan struct{}
	addr    string // set before ready is closed
	port    int

	bgMu     sync.Mutex
	bgCtx    context.Context
	bgClosed bool
	bg       sync.WaitGroup
}

// New makes a Server; it does not listen until Run.
func New(cfg Config, sink Sink, logger zerolog.Logger) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if sink == nil {
		return nil, errors.New("gb28181: nil sink")
	}
	log := logger.With().Str("component", "gb28181").Logger()
	slogger := slog.New(zerolog.NewSlogHandler(log.With().Str("layer", "sipgo").Logger()))
	ua, err := sipgo.NewUA(
		sipgo.WithUserAgent(cfg.ID),
		sipgo.WithUserAgentHostname(cfg.Realm),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(slogger)),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(slogger)),
	)
	if err != nil {
		return nil, fmt.Errorf("gb28181: user agent: %w", err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(slogger))
	if err != nil {
		_ = ua.Close()
		return nil, fmt.Errorf("gb28181: sip server: %w", err)
	}
	client, err := sipgo.NewClient(ua, sipgo.WithClientLogger(slogger))
	if err != nil {
		_ = ua.Close()
		return nil, fmt.Errorf("gb28181: sip client: %w", err)
	}
	s := &Server{
		cfg:    cfg,
		sink:   sink,
		log:    log,
		ua:     ua,
		sip:    srv,
		client: client,
		nonces: newNonceStore(cfg.MaxNonces, cfg.NonceTTL, cfg.Now),
		reg:    newRegistry(cfg.MaxDevices, cfg.MaxChannels, cfg.KeepaliveTimeout),
		ready:  make(chan struct{}),
		bgCtx:  context.Background(),
	}
	srv.OnRegister(s.onRegister)
	srv.OnMessage(s.onMessage)
	srv.OnOptions(func(req *sip.Request, tx sip.ServerTransaction) {
		s.respond(req, tx, sip.StatusOK, "OK")
	})
	return s, nil
}

// Ready is closed once Run is listening.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// Addr is the HOST:PORT listened on (UDP and TCP), or "" before Run listens.
func (s *Server) Addr() string {
	select {
	case <-s.ready:
		return s.addr
	default:
		return ""
	}
}

// Devices lists the registered devices, sorted by id.
func (s *Server) Devices() []Device { return s.reg.list() }

// Run listens on Config.Listen over UDP and TCP and serves until ctx is
// done (then it returns nil) or a listener fails. A Server runs once.
func (s *Server) Run(ctx context.Context) error {
	if !s.started.CompareAndSwap(false, true) {
		return errors.New("gb28181: Run called twice")
	}
	defer s.ua.Close()
	tcpLn, udpConn, err := listenBoth(s.cfg.Listen)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	s.addr = tcpLn.Addr().String()
	s.port = tcpLn.Addr().(*net.TCPAddr).Port
	s.bgMu.Lock()
	s.bgCtx = ctx
	s.bgMu.Unlock()
	close(s.ready)
	s.log.Info().Str("addr", s.addr).Str("id", s.cfg.ID).Str("realm", s.cfg.Realm).Msg("gb28181 listening (udp, tcp)")

	errc := make(chan error, 2)
	go func() { errc <- s.sip.ServeUDP(udpConn) }()
	go func() { errc <- s.sip.ServeTCP(tcpLn) }()
	sweepDone := make(chan struct{})
	go func() {
		defer close(sweepDone)
		s.sweepLoop(ctx)
	}()

	var runErr error
	pending := 2
	select {
	case <-ctx.Done():
	case err := <-errc:
		pending--
		if ctx.Err() == nil {
			runErr = fmt.Errorf("gb28181: serve %s: %w", s.addr, err)
		}
	}
	cancel()
	_ = tcpLn.Close()
	_ = udpConn.Close()
	for ; pending > 0; pending-- {
		<-errc
	}
	<-sweepDone
	s.bgMu.Lock()
	s.bgClosed = true
	s.bgMu.Unlock()
	s.bg.Wait()
	s.log.Info().Str("addr", s.addr).Msg("gb28181 stopped")
	return runErr
}

// listenBoth listens on addr over TCP and UDP on the same port. With port 0
// it takes TCP's free port for UDP, retrying when that UDP port is taken.
func listenBoth(addr string) (*net.TCPListener, net.PacketConn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, fmt.Errorf("gb28181: listen %q: %w", addr, err)
	}
	tries := 1
	if port == "0" || port == "" {
		tries = 20
	}
	var lastErr error
	for range tries {
		ln, err := net.Listen("tcp", net.JoinHostPort(host, port))
		if err != nil {
			return nil, nil, fmt.Errorf("gb28181: listen tcp %s: %w", addr, err)
		}
		tcpLn := ln.(*net.TCPListener)
		p := tcpLn.Addr().(*net.TCPAddr).Port
		udpConn, err := net.ListenPacket("udp", net.JoinHostPort(host, strconv.Itoa(p)))
		if err == nil {
			return tcpLn, udpConn, nil
		}
		_ = tcpLn.Close()
		lastErr = fmt.Errorf("gb28181: listen udp %s: %w", net.JoinHostPort(host, strconv.Itoa(p)), err)
	}
	return nil, nil, lastErr
}

func (s *Server) sweepLoop(ctx context.Context) {
	t := time.NewTicker(s.cfg.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			for _, id := range s.reg.sweep(s.cfg.Now()) {
				s.log.Info().Str("device", id).Msg("gb28181 device expired")
			}
		}
	}
}

// background runs f in a goroutine that Run waits for; f's context ends
// when Run stops.
func (s *Server) background(f func(ctx context.Context)) {
	s.bgMu.Lock()
	defer s.bgMu.Unlock()
	if s.bgClosed {
		return
	}
	ctx := s.bgCtx
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		f(ctx)
	}()
}

func (s *Server) respond(req *sip.Request, tx sip.ServerTransaction, code int, reason string, hdrs ...sip.Header) {
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	if err := tx.Respond(res); err != nil {
		s.log.Warn().Err(err).Str("method", req.Method.String()).Int("status", code).
			Str("source", req.Source()).Msg("gb28181 respond failed")
	}
}

// isID reports whether s can be a device or channel id: GB/T 28181 ids are
// 20 digits; letters are tolerated, anything that could break a URI or an
// XML body is not.
func isID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

func fromUser(req *sip.Request) string {
	if f := req.From(); f != nil {
		return f.Address.User
	}
	return ""
}

func sourceHost(req *sip.Request) string {
	host, _, err := net.SplitHostPort(req.Source())
	if err != nil {
		return req.Source()
	}
	return host
}

// requestedExpires reads the registration lifetime from the Contact's
// expires parameter or the Expires header; ok is false if it is unreadable.
func (s *Server) requestedExpires(req *sip.Request) (time.Duration, bool) {
	text := ""
	if c := req.Contact(); c != nil {
		if v, ok := c.Params.Get("expires"); ok {
			text = v
		}
	}
	if text == "" {
		if h := req.GetHeader("Expires"); h != nil {
			text = h.Value()
		}
	}
	if text == "" {
		return s.cfg.DefaultExpires, true
	}
	n, err := strconv.ParseUint(strings.TrimSpace(text), 10, 32)
	if err != nil {
		return 0, false
	}
	d := time.Duration(n) * time.Second
	if d > s.cfg.MaxExpires {
		d = s.cfg.MaxExpires
	}
	return d, true
}

func (s *Server) challenge(req *sip.Request, tx sip.ServerTransaction, stale bool) {
	nonce, err := s.nonces.issue()
	if err != nil {
		s.log.Error().Err(err).Msg("gb28181 nonce")
		s.respond(req, tx, sip.StatusInternalServerError, "Server Internal Error")
		return
	}
	s.respond(req, tx, sip.StatusUnauthorized, "Unauthorized",
		sip.NewHeader("WWW-Authenticate", challenge(s.cfg.Realm, nonce, stale)))
}

func (s *Server) onRegister(req *sip.Request, tx sip.ServerTransaction) {
	id := fromUser(req)
	log := s.log.With().Str("device", id).Str("transport", req.Transport()).Str("source", req.Source()).Logger()
	if !isID(id) {
		log.Warn().Msg("gb28181 REGISTER without a usable device id")
		s.respond(req, tx, sip.StatusBadRequest, "Bad Request")
		return
	}
	lifetime, ok := s.requestedExpires(req)
	if !ok {
		log.Warn().Msg("gb28181 REGISTER with unreadable Expires")
		s.respond(req, tx, sip.StatusBadRequest, "Bad Request")
		return
	}
	h := req.GetHeader("Authorization")
	if h == nil {
		log.Debug().Msg("gb28181 REGISTER challenged")
		s.challenge(req, tx, false)
		return
	}
	cred, err := parseAuthorization(h.Value())
	if err != nil {
		log.Warn().Err(err).Msg("gb28181 REGISTER with unreadable Authorization")
		s.respond(req, tx, sip.StatusBadRequest, "Bad Request")
		return
	}
	log = log.With().Str("username", cred.Username).Logger()
	if cred.Realm != s.cfg.Realm {
		log.Info().Str("realm", cred.Realm).Msg("gb28181 REGISTER for another realm, challenged")
		s.challenge(req, tx, false)
		return
	}
	if !s.nonces.valid(cred.Nonce) {
		log.Info().Msg("gb28181 REGISTER with unknown or expired nonce, challenged")
		s.challenge(req, tx, true)
		return
	}
	good, err := verifyDigest(cred, req.Method.String(), s.cfg.Password)
	if err != nil {
		log.Warn().Err(err).Msg("gb28181 REGISTER with unsupported digest")
		s.respond(req, tx, sip.StatusBadRequest, "Bad Request")
		return
	}
	if !good {
		log.Warn().Msg("gb28181 REGISTER with wrong password")
		s.respond(req, tx, sip.StatusForbidden, "Forbidden")
		return
	}

	now := s.cfg.Now()
	date := sip.NewHeader("Date", now.In(s.cfg.Location).Format("2006-01-02T15:04:05.000"))
	if lifetime == 0 {
		was := s.reg.unregister(id)
		log.Info().Bool("was_registered", was).Msg("gb28181 device unregistered")
		s.respond(req, tx, sip.StatusOK, "OK", sip.NewHeader("Expires", "0"), date)
		return
	}
	fresh, err := s.reg.register(id, strings.ToUpper(req.Transport()), req.Source(), sourceHost(req), now, lifetime)
	if err != nil {
		log.Warn().Err(err).Msg("gb28181 REGISTER refused")
		s.respond(req, tx, sip.StatusServiceUnavailable, "Service Unavailable")
		return
	}
	granted := strconv.Itoa(int(lifetime / time.Second))
	hdrs := []sip.Header{sip.NewHeader("Expires", granted), date}
	if c := req.Contact(); c != nil && !c.Address.Wildcard {
		contact := &sip.ContactHeader{DisplayName: c.DisplayName, Address: c.Address, Params: c.Params.Clone()}
		if contact.Params.Has("expires") {
			contact.Params.Remove("expires")
			contact.Params.Add("expires", granted)
		}
		hdrs = append(hdrs, contact)
	}
	s.respond(req, tx, sip.StatusOK, "OK", hdrs...)
	log.Info().Bool("new", fresh).Dur("expires", lifetime).Msg("gb28181 device registered")
	if fresh {
		s.queryCatalog(id)
	}
}

// queryCatalog asks a device for its catalog, in the background.
func (s *Server) queryCatalog(id string) {
	s.background(func(ctx context.Context) {
		t, ok := s.reg.lookup(id)
		if !ok {
			return
		}
		sn := s.sn.Add(1)
		if err := s.send(ctx, t, catalogQuery(sn, t.id)); err != nil {
			s.log.Warn().Err(err).Str("device", id).Uint32("sn", sn).Msg("gb28181 catalog query failed")
			return
		}
		s.log.Info().Str("device", id).Uint32("sn", sn).Msg("gb28181 catalog queried")
	})
}

// send sends a MANSCDP MESSAGE to a registered device and waits for a 2xx.
func (s *Server) send(ctx context.Context, t target, body []byte) error {
	host, portText, err := net.SplitHostPort(t.addr)
	if err != nil {
		return fmt.Errorf("gb28181: device %s address %q: %w", t.id, t.addr, err)
	}
	port, _ := strconv.Atoi(portText)
	req := sip.NewRequest(sip.MESSAGE, sip.Uri{Scheme: "sip", User: t.id, Host: host, Port: port})
	req.SetTransport(t.transport)
	req.SetDestination(t.addr)
	via := &sip.ViaHeader{
		ProtocolName:    "SIP",
		ProtocolVersion: "2.0",
		Transport:       t.transport,
		Host:            s.viaHost(t.addr),
		Port:            s.port,
		Params:          sip.NewParams(),
	}
	via.Params.Add("branch", sip.GenerateBranchN(16))
	via.Params.Add("rport", "")
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: s.cfg.ID, Host: s.cfg.Realm}, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(16))
	to := &sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: t.id, Host: s.cfg.Realm}, Params: sip.NewParams()}
	req.AppendHeader(via)
	req.AppendHeader(from)
	req.AppendHeader(to)
	req.AppendHeader(sip.NewHeader("Content-Type", ContentType))
	req.SetBody(body)

	ctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	defer cancel()
	res, err := s.client.Do(ctx, req)
	if err != nil {
		return fmt.Errorf("gb28181: MESSAGE to %s (%s %s): %w", t.id, t.transport, t.addr, err)
	}
	if !res.IsSuccess() {
		return fmt.Errorf("gb28181: MESSAGE to %s (%s %s): %d %s", t.id, t.transport, t.addr, res.StatusCode, res.Reason)
	}
	return nil
}

// viaHost is the host this server puts in its Via: the listen host, or
// when that is a wildcard, the local address the system routes to dst from.
func (s *Server) viaHost(dst string) string {
	host, _, _ := net.SplitHostPort(s.addr)
	if ip := net.ParseIP(host); ip != nil && !ip.IsUnspecified() {
		return host
	}
	if host != "" && net.ParseIP(host) == nil {
		return host // a name
	}
	c, err := net.Dial("udp", dst) // no packet is sent
	if err != nil {
		return host
	}
	defer c.Close()
	lh, _, _ := net.SplitHostPort(c.LocalAddr().String())
	return lh
}

func (s *Server) onMessage(req *sip.Request, tx sip.ServerTransaction) {
	id := fromUser(req)
	log := s.log.With().Str("device", id).Str("transport", req.Transport()).Str("source", req.Source()).Logger()
	t, ok := s.reg.accept(id, sourceHost(req), s.cfg.Now())
	if !ok {
		log.Warn().Msg("gb28181 MESSAGE from an unregistered device")
		s.respond(req, tx, sip.StatusForbidden, "Forbidden")
		return
	}
	body := req.Body()
	if len(body) > s.cfg.MaxBody {
		log.Warn().Int("bytes", len(body)).Msg("gb28181 MESSAGE body too large")
		s.respond(req, tx, sip.StatusRequestEntityTooLarge, "Request Entity Too Large")
		return
	}
	m, err := decodeMANSCDP(body)
	if err != nil {
		log.Warn().Err(err).Int("bytes", len(body)).Msg("gb28181 MESSAGE with malformed body")
		s.respond(req, tx, sip.StatusBadRequest, "Bad Request")
		return
	}
	log = log.With().Str("root", m.XMLName.Local).Str("cmd", m.CmdType).Logger()
	switch {
	case m.XMLName.Local == "Notify" && strings.EqualFold(m.CmdType, "Keepalive"):
		log.Debug().Str("status", strings.TrimSpace(m.Status)).Msg("gb28181 keepalive")
		s.respond(req, tx, sip.StatusOK, "OK")
	case m.XMLName.Local == "Notify" && strings.EqualFold(m.CmdType, "Alarm"):
		s.onAlarm(req, tx, log, t, m)
	case (m.XMLName.Local == "Response" || m.XMLName.Local == "Notify") && strings.EqualFold(m.CmdType, "Catalog"):
		s.onCatalog(log, t, m)
		s.respond(req, tx, sip.StatusOK, "OK")
	default:
		log.Debug().Msg("gb28181 MESSAGE ignored")
		s.respond(req, tx, sip.StatusOK, "OK")
	}
}

func (s *Server) onCatalog(log zerolog.Logger, t target, m *message) {
	var items []catalogItem
	if m.DeviceList != nil {
		items = m.DeviceList.Items
	}
	reported, positioned, failed := 0, 0, 0
	for _, it := range items {
		ch := strings.TrimSpace(it.DeviceID)
		if !isID(ch) {
			log.Debug().Str("channel", clip(ch, 64)).Msg("gb28181 catalog item without a usable id")
			continue
		}
		lng, lat, ok := parsePosition(it.Longitude, it.Latitude)
		if !ok {
			continue
		}
		positioned++
		p := position{name: strings.TrimSpace(it.Name), lat: lat, lng: lng}
		if !s.reg.changed(t.id, ch, p) {
			continue
		}
		c := Camera{
			ID:           ch,
			DeviceID:     t.id,
			Name:         p.name,
			Lat:          lat,
			Lng:          lng,
			Manufacturer: strings.TrimSpace(it.Manufacturer),
			Model:        strings.TrimSpace(it.Model),
			Address:      strings.TrimSpace(it.Address),
			ParentID:     strings.TrimSpace(it.ParentID),
			Status:       strings.TrimSpace(it.Status),
		}
		if err := s.sink.Camera(c); err != nil {
			failed++
			log.Error().Err(err).Str("camera", ch).Msg("gb28181 sink camera failed")
			continue
		}
		s.reg.reported(t.id, ch, p)
		reported++
	}
	log.Info().Str("sn", strings.TrimSpace(m.SN)).Int("sum", parseInt(m.SumNum)).Int("items", len(items)).
		Int("positioned", positioned).Int("reported", reported).Int("failed", failed).Msg("gb28181 catalog")
}

func (s *Server) onAlarm(req *sip.Request, tx sip.ServerTransaction, log zerolog.Logger, t target, m *message) {
	camera := m.DeviceID
	if camera == "" {
		camera = t.id
	}
	if !isID(camera) {
		log.Warn().Str("camera", clip(camera, 64)).Msg("gb28181 alarm without a usable channel id")
		s.respond(req, tx, sip.StatusBadRequest, "Bad Request")
		return
	}
	a := Alarm{
		DeviceID:    t.id,
		CameraID:    camera,
		SN:          parseInt(m.SN),
		Priority:    parseInt(m.AlarmPriority),
		Method:      parseInt(m.AlarmMethod),
		Type:        parseInt(m.Info.AlarmType),
		Description: strings.TrimSpace(m.AlarmDescription),
	}
	if a.Priority < 1 || a.Priority > 4 {
		a.Priority = 0
	}
	if a.Method < 1 || a.Method > 7 {
		a.Method = 0
	}
	if at, ok := parseLocalTime(m.AlarmTime, s.cfg.Location); ok {
		a.Time = at
	} else {
		a.Time = s.cfg.Now()
		log.Debug().Str("alarm_time", clip(m.AlarmTime, 40)).Msg("gb28181 alarm time unreadable, using receive time")
	}
	if lng, lat, ok := parsePosition(m.Longitude, m.Latitude); ok {
		a.HasPosition, a.Lat, a.Lng = true, lat, lng
	}
	a.EventType = EventType(a.Method, a.Type)
	a.Confidence = Confidence(a.Priority)
	log = log.With().Str("camera", camera).Int("sn", a.SN).Int("priority", a.Priority).Int("method", a.Method).
		Int("type", a.Type).Str("event", a.EventType).Logger()
	if err := s.sink.Alarm(a); err != nil {
		log.Error().Err(err).Msg("gb28181 sink alarm failed")
		s.respond(req, tx, sip.StatusInternalServerError, "Server Internal Error")
		return
	}
	s.respond(req, tx, sip.StatusOK, "OK")
	log.Info().Msg("gb28181 alarm")
	// GB/T 28181 has the receiver acknowledge an alarm with a Response.
	s.background(func(ctx context.Context) {
		if err := s.send(ctx, t, alarmResponse(a.SN, camera)); err != nil {
			log.Debug().Err(err).Msg("gb28181 alarm response not delivered")
		}
	})
}
