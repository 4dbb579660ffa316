package gb28181

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/rs/zerolog"
	"golang.org/x/text/encoding/simplifiedchinese"
)

const (
	testPlatformID = "34020000002000000001"
	testRealm      = "3402000000"
	testPassword   = "12345678"
	waitFor        = 5 * time.Second
)

// testSink records what the server reports; every call is also signalled on
// a channel so tests can wait without sleeping.
type testSink struct {
	mu       sync.Mutex
	cameras  []Camera
	alarms   []Alarm
	camerasC chan Camera
	alarmsC  chan Alarm
	fail     bool
}

func newTestSink() *testSink {
	return &testSink{camerasC: make(chan Camera, 100), alarmsC: make(chan Alarm, 100)}
}

func (s *testSink) Camera(c Camera) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail {
		return errors.New("sink down")
	}
	s.cameras = append(s.cameras, c)
	s.camerasC <- c
	return nil
}

func (s *testSink) Alarm(a Alarm) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail {
		return errors.New("sink down")
	}
	s.alarms = append(s.alarms, a)
	s.alarmsC <- a
	return nil
}

func (s *testSink) snapshot() ([]Camera, []Alarm) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Camera(nil), s.cameras...), append([]Alarm(nil), s.alarms...)
}

func (s *testSink) setFail(f bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = f
}

// testClock is a settable clock.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func testLogger(t *testing.T) zerolog.Logger {
	if os.Getenv("GB28181_TEST_LOG") != "" {
		return zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.DebugLevel)
	}
	return zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
}

// startServer runs a Server on a free loopback port until the test ends.
func startServer(t *testing.T, sink Sink, mod func(*Config)) *Server {
	t.Helper()
	cfg := Config{Listen: "127.0.0.1:0", ID: testPlatformID, Password: testPassword, SweepInterval: 20 * time.Millisecond}
	if mod != nil {
		mod(&cfg)
	}
	s, err := New(cfg, sink, testLogger(t))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	select {
	case <-s.Ready():
	case err := <-done:
		t.Fatalf("Run: %v", err)
	case <-time.After(waitFor):
		t.Fatal("server not ready")
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run returned %v", err)
			}
		case <-time.After(waitFor):
			t.Error("Run did not return")
		}
	})
	return s
}

// testDevice plays a GB/T 28181 device with sipgo: a client that registers
// and sends MESSAGEs, and a server side that answers the platform's MESSAGEs
// with 200 and hands them to the test.
type testDevice struct {
	t         *testing.T
	id        string
	transport string // "UDP" or "TCP"
	server    string // platform host:port
	ua        *sipgo.UserAgent
	cli       *sipgo.Client
	contact   string
	inbox     chan *sip.Request
}

func newTestDevice(t *testing.T, transport, server, id string) *testDevice {
	t.Helper()
	return newTestDeviceAt(t, transport, "127.0.0.1", server, id)
}

// newTestDeviceAt is newTestDevice with the device's UDP socket on host.
func newTestDeviceAt(t *testing.T, transport, host, server, id string) *testDevice {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("GB28181_TEST_LOG") != "" {
		quiet = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("side", "device")
	}
	ua, err := sipgo.NewUA(sipgo.WithUserAgent(id),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(quiet)),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(quiet)))
	if err != nil {
		t.Fatal(err)
	}
	d := &testDevice{t: t, id: id, transport: transport, server: server, ua: ua, inbox: make(chan *sip.Request, 100)}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	srv.OnMessage(func(req *sip.Request, tx sip.ServerTransaction) {
		if err := tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil)); err != nil {
			t.Errorf("device respond: %v", err)
		}
		d.inbox <- req
	})
	var opts []sipgo.ClientOption
	switch transport {
	case "UDP":
		conn, err := net.ListenPacket("udp", host+":0")
		if err != nil {
			t.Skipf("cannot listen on %s: %v", host, err)
		}
		go func() { _ = srv.ServeUDP(conn) }()
		t.Cleanup(func() { _ = conn.Close() })
		d.contact = conn.LocalAddr().String()
		// Requests must leave from the listening socket, which is usable
		// once the transport has taken it.
		deadline := time.Now().Add(waitFor)
		for {
			if c, _ := ua.TransportLayer().GetConnection("udp", d.contact); c != nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("device UDP listener not ready")
			}
			time.Sleep(time.Millisecond)
		}
		opts = append(opts, sipgo.WithClientConnectionAddr(d.contact))
	case "TCP":
		d.contact = "127.0.0.1:5060" // nominal: the platform answers over the connection
	default:
		t.Fatalf("transport %q", transport)
	}
	opts = append(opts, sipgo.WithClientLogger(quiet))
	d.cli, err = sipgo.NewClient(ua, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ua.Close() })
	return d
}

func (d *testDevice) request(method sip.RequestMethod) *sip.Request {
	host, port, err := sip.ParseAddr(d.server)
	if err != nil {
		d.t.Fatal(err)
	}
	req := sip.NewRequest(method, sip.Uri{Scheme: "sip", User: testPlatformID, Host: host, Port: port})
	req.SetTransport(d.transport)
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: d.id, Host: testRealm}, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(8))
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: d.id, Host: testRealm}, Params: sip.NewParams()})
	return req
}

// register sends REGISTER; with a password it answers a 401 challenge.
func (d *testDevice) register(expires int, password string) *sip.Response {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	req := d.request(sip.REGISTER)
	h, p, _ := sip.ParseAddr(d.contact)
	req.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: d.id, Host: h, Port: p}})
	req.AppendHeader(sip.NewHeader("Expires", fmt.Sprint(expires)))
	res, err := d.cli.Do(ctx, req)
	if err != nil {
		d.t.Fatalf("REGISTER: %v", err)
	}
	if res.StatusCode == 401 && password != "" {
		res, err = d.cli.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: d.id, Password: password})
		if err != nil {
			d.t.Fatalf("REGISTER with digest: %v", err)
		}
	}
	return res
}

// message sends a MANSCDP MESSAGE and returns the status code.
func (d *testDevice) message(body []byte) int {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	req := d.request(sip.MESSAGE)
	req.AppendHeader(sip.NewHeader("Content-Type", ContentType))
	req.SetBody(body)
	res, err := d.cli.Do(ctx, req)
	if err != nil {
		d.t.Fatalf("MESSAGE: %v", err)
	}
	return res.StatusCode
}

// next waits for the platform's next MESSAGE to the device.
func (d *testDevice) next() *sip.Request {
	d.t.Helper()
	select {
	case req := <-d.inbox:
		return req
	case <-time.After(waitFor):
		d.t.Fatal("no MESSAGE from the platform")
		return nil
	}
}

func gb2312(t *testing.T, s string) []byte {
	t.Helper()
	b, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func catalogBody(sn string, device string, sum int, items ...string) string {
	return `<?xml version="1.0" encoding="GB2312"?>
<Response>
<CmdType>Catalog</CmdType>
<SN>` + sn + `</SN>
<DeviceID>` + device + `</DeviceID>
<SumNum>` + fmt.Sprint(sum) + `</SumNum>
<DeviceList Num="` + fmt.Sprint(len(items)) + `">
` + strings.Join(items, "\n") + `
</DeviceList>
</Response>
`
}

func itemXML(id, name, lng, lat string) string {
	s := "<Item>\n<DeviceID>" + id + "</DeviceID>\n<Name>" + name + "</Name>\n<Manufacturer>Hikvision</Manufacturer>\n<Status>ON</Status>\n"
	if lng != "" {
		s += "<Longitude>" + lng + "</Longitude>\n<Latitude>" + lat + "</Latitude>\n"
	}
	return s + "</Item>"
}

var snRe = regexp.MustCompile(`<SN>(\d+)</SN>`)

func waitCamera(t *testing.T, sink *testSink) Camera {
	t.Helper()
	select {
	case c := <-sink.camerasC:
		return c
	case <-time.After(waitFor):
		t.Fatal("no camera reported")
		return Camera{}
	}
}

func TestDeviceSession(t *testing.T) {
	for _, transport := range []string{"UDP", "TCP"} {
		t.Run(transport, func(t *testing.T) {
			sink := newTestSink()
			srv := startServer(t, sink, nil)
			dev := newTestDevice(t, transport, srv.Addr(), "34020000001320000001")

			keepalive := []byte(`<?xml version="1.0" encoding="GB2312"?>
<Notify><CmdType>Keepalive</CmdType><SN>1</SN><DeviceID>34020000001320000001</DeviceID><Status>OK</Status></Notify>`)

			// Not registered yet: refused.
			if code := dev.message(keepalive); code != 403 {
				t.Fatalf("MESSAGE before REGISTER: %d, want 403", code)
			}

			// Challenge.
			res := dev.register(3600, "")
			if res.StatusCode != 401 {
				t.Fatalf("REGISTER without auth: %d, want 401", res.StatusCode)
			}
			h := res.GetHeader("WWW-Authenticate")
			if h == nil || !strings.Contains(h.Value(), `realm="`+testRealm+`"`) || !strings.Contains(h.Value(), `nonce="`) {
				t.Fatalf("WWW-Authenticate = %v", h)
			}
			// Wrong password.
			if res := dev.register(3600, "wrong"); res.StatusCode != 403 {
				t.Fatalf("REGISTER with wrong password: %d, want 403", res.StatusCode)
			}
			if n := len(srv.Devices()); n != 0 {
				t.Fatalf("%d devices after failed REGISTER", n)
			}
			// Right password.
			if res := dev.register(3600, testPassword); res.StatusCode != 200 {
				t.Fatalf("REGISTER with password: %d, want 200", res.StatusCode)
			} else if e := res.GetHeader("Expires"); e == nil || e.Value() != "3600" {
				t.Errorf("200 Expires = %v, want 3600", e)
			}
			devs := srv.Devices()
			if len(devs) != 1 || devs[0].ID != dev.id || devs[0].Transport != transport {
				t.Fatalf("Devices() = %+v", devs)
			}
			if left := time.Until(devs[0].Expires); left <= 0 || left > time.Hour {
				t.Errorf("device expires in %v", left)
			}

			// The platform asks for the catalog.
			q := dev.next()
			if ct := q.ContentType(); ct == nil || !strings.EqualFold(ct.Value(), ContentType) {
				t.Errorf("catalog query Content-Type = %v", ct)
			}
			body := string(q.Body())
			if !strings.Contains(body, "<Query>") || !strings.Contains(body, "<CmdType>Catalog</CmdType>") ||
				!strings.Contains(body, "<DeviceID>"+dev.id+"</DeviceID>") || !snRe.MatchString(body) {
				t.Fatalf("catalog query body:\n%s", body)
			}
			if f := q.From(); f == nil || f.Address.User != testPlatformID {
				t.Errorf("catalog query From = %v", f)
			}
			sn := snRe.FindStringSubmatch(body)[1]

			// The device answers in two MESSAGEs, GB2312, Chinese names,
			// one channel without a position.
			part1 := catalogBody(sn, dev.id, 3,
				itemXML("34020000001310000001", "前门广场东侧", "116.397128", "39.903119"),
				itemXML("34020000001310000002", "无坐标通道", "", ""))
			part2 := catalogBody(sn, dev.id, 3,
				itemXML("34020000001310000003", "天安门西", "116.391", "39.9075"))
			for i, p := range []string{part1, part2} {
				if code := dev.message(gb2312(t, p)); code != 200 {
					t.Fatalf("catalog part %d: %d, want 200", i+1, code)
				}
			}
			// The sink is called before the MESSAGE is answered, so the
			// cameras are all there now.
			cams, _ := sink.snapshot()
			if len(cams) != 2 {
				t.Fatalf("cameras = %+v, want 2", cams)
			}
			want := map[string]Camera{
				"34020000001310000001": {ID: "34020000001310000001", DeviceID: dev.id, Name: "前门广场东侧", Lat: 39.903119, Lng: 116.397128},
				"34020000001310000003": {ID: "34020000001310000003", DeviceID: dev.id, Name: "天安门西", Lat: 39.9075, Lng: 116.391},
			}
			for _, c := range cams {
				w, ok := want[c.ID]
				if !ok || c.Name != w.Name || c.Lat != w.Lat || c.Lng != w.Lng || c.DeviceID != w.DeviceID {
					t.Errorf("camera %+v, want %+v", c, w)
				}
				if c.Manufacturer != "Hikvision" || c.Status != "ON" {
					t.Errorf("camera %s info %q %q", c.ID, c.Manufacturer, c.Status)
				}
				delete(want, c.ID)
			}
			// The same catalog again reports nothing new; a moved channel is
			// reported again.
			if code := dev.message(gb2312(t, part2)); code != 200 {
				t.Fatalf("repeated catalog: %d", code)
			}
			if cams, _ := sink.snapshot(); len(cams) != 2 {
				t.Fatalf("repeated catalog reported again: %+v", cams[2:])
			}
			moved := catalogBody("77", dev.id, 1, itemXML("34020000001310000003", "天安门西", "116.392", "39.9076"))
			if code := dev.message(gb2312(t, moved)); code != 200 {
				t.Fatalf("moved catalog: %d", code)
			}
			cams, _ = sink.snapshot()
			if len(cams) != 3 || cams[2].ID != "34020000001310000003" || cams[2].Lng != 116.392 || cams[2].Lat != 39.9076 {
				t.Fatalf("after move cameras = %+v", cams)
			}
			if n := srv.Devices()[0].Channels; n != 2 {
				t.Errorf("Devices()[0].Channels = %d, want 2", n)
			}

			// A refresh REGISTER does not query the catalog again (the next
			// MESSAGE the device gets is the alarm response below).
			if res := dev.register(3600, testPassword); res.StatusCode != 200 {
				t.Fatalf("refresh REGISTER: %d, want 200", res.StatusCode)
			}

			// Keepalive.
			before := srv.Devices()[0].LastSeen
			if code := dev.message(keepalive); code != 200 {
				t.Fatalf("keepalive: %d, want 200", code)
			}
			if after := srv.Devices()[0].LastSeen; after.Before(before) {
				t.Errorf("LastSeen went back: %v → %v", before, after)
			}

			// Alarm: video alarm, intrusion, priority 1.
			alarm := `<?xml version="1.0" encoding="GB2312"?>
<Notify>
<CmdType>Alarm</CmdType>
<SN>42</SN>
<DeviceID>34020000001310000001</DeviceID>
<AlarmPriority>1</AlarmPriority>
<AlarmMethod>5</AlarmMethod>
<AlarmTime>2026-03-04T05:06:07</AlarmTime>
<AlarmDescription>区域入侵</AlarmDescription>
<Longitude>116.397128</Longitude>
<Latitude>39.903119</Latitude>
<Info>
<AlarmType>6</AlarmType>
</Info>
</Notify>`
			if code := dev.message(gb2312(t, alarm)); code != 200 {
				t.Fatalf("alarm: %d, want 200", code)
			}
			var a Alarm
			select {
			case a = <-sink.alarmsC:
			case <-time.After(waitFor):
				t.Fatal("no alarm reported")
			}
			wantTime := time.Date(2026, 3, 4, 5, 6, 7, 0, time.FixedZone("CST", 8*3600))
			if a.DeviceID != dev.id || a.CameraID != "34020000001310000001" || a.SN != 42 ||
				a.Priority != 1 || a.Method != 5 || a.Type != 6 || a.EventType != EventIntrusion ||
				a.Confidence != 0.95 || a.Description != "区域入侵" || !a.Time.Equal(wantTime) ||
				!a.HasPosition || a.Lat != 39.903119 || a.Lng != 116.397128 {
				t.Fatalf("alarm = %+v", a)
			}
			// The platform acknowledges the alarm with a Response.
			ack := string(dev.next().Body())
			if !strings.Contains(ack, "<CmdType>Alarm</CmdType>") || !strings.Contains(ack, "<SN>42</SN>") || !strings.Contains(ack, "<Result>OK</Result>") {
				t.Errorf("alarm response body:\n%s", ack)
			}

			// Malformed XML: 400, nothing reported.
			for _, bad := range []string{
				`<Notify><CmdType>Alarm</CmdType><SN>43</SN>`,
				`<Notify><SN>44</SN></Notify>`,
				`<Bogus><CmdType>Alarm</CmdType></Bogus>`,
			} {
				if code := dev.message([]byte(bad)); code != 400 {
					t.Errorf("malformed %q: %d, want 400", bad, code)
				}
			}
			if cams, alarms := sink.snapshot(); len(cams) != 3 || len(alarms) != 1 {
				t.Errorf("after malformed bodies: %d cameras, %d alarms", len(cams), len(alarms))
			}

			// Another device that never registered is refused.
			other := newTestDevice(t, transport, srv.Addr(), "34020000001320000099")
			if code := other.message(keepalive); code != 403 {
				t.Errorf("unregistered device MESSAGE: %d, want 403", code)
			}

			// Expires: 0 unregisters.
			if res := dev.register(0, testPassword); res.StatusCode != 200 {
				t.Fatalf("unREGISTER: %d, want 200", res.StatusCode)
			}
			if devs := srv.Devices(); len(devs) != 0 {
				t.Fatalf("Devices() after unregister = %+v", devs)
			}
			if code := dev.message(keepalive); code != 403 {
				t.Errorf("MESSAGE after unregister: %d, want 403", code)
			}
		})
	}
}

func TestDeviceExpiry(t *testing.T) {
	clock := &testClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	sink := newTestSink()
	srv := startServer(t, sink, func(c *Config) { c.Now = clock.Now; c.KeepaliveTimeout = time.Minute })
	dev := newTestDevice(t, "UDP", srv.Addr(), "34020000001320000002")
	keepalive := []byte(`<Notify><CmdType>Keepalive</CmdType><SN>1</SN><DeviceID>34020000001320000002</DeviceID></Notify>`)

	if res := dev.register(120, testPassword); res.StatusCode != 200 {
		t.Fatalf("REGISTER: %d", res.StatusCode)
	}
	dev.next() // catalog query
	if got := srv.Devices()[0].Expires; !got.Equal(clock.Now().Add(time.Minute)) {
		t.Errorf("Expires = %v, want keepalive deadline", got)
	}
	// Keepalives keep it alive past one keepalive timeout…
	clock.Add(50 * time.Second)
	if code := dev.message(keepalive); code != 200 {
		t.Fatalf("keepalive: %d", code)
	}
	clock.Add(50 * time.Second)
	if code := dev.message(keepalive); code != 200 {
		t.Fatalf("keepalive: %d", code)
	}
	// …but not past the registration.
	clock.Add(25 * time.Second)
	if code := dev.message(keepalive); code != 403 {
		t.Fatalf("keepalive after registration ended: %d, want 403", code)
	}
	deadline := time.Now().Add(waitFor)
	for len(srv.Devices()) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("expired device not swept")
		}
		time.Sleep(5 * time.Millisecond)
	}

	// Re-registering after expiry queries the catalog again.
	if res := dev.register(120, testPassword); res.StatusCode != 200 {
		t.Fatalf("REGISTER again: %d", res.StatusCode)
	}
	if body := string(dev.next().Body()); !strings.Contains(body, "<CmdType>Catalog</CmdType>") {
		t.Fatalf("second catalog query: %s", body)
	}
	// Silent for longer than the keepalive timeout: dropped.
	clock.Add(61 * time.Second)
	if code := dev.message(keepalive); code != 403 {
		t.Fatalf("keepalive after keepalive timeout: %d, want 403", code)
	}
}

func TestSinkFailure(t *testing.T) {
	sink := newTestSink()
	srv := startServer(t, sink, nil)
	dev := newTestDevice(t, "TCP", srv.Addr(), "34020000001320000003")
	if res := dev.register(3600, testPassword); res.StatusCode != 200 {
		t.Fatalf("REGISTER: %d", res.StatusCode)
	}
	dev.next()
	sink.setFail(true)
	alarm := []byte(`<Notify><CmdType>Alarm</CmdType><SN>9</SN><DeviceID>34020000001310000001</DeviceID><AlarmPriority>2</AlarmPriority><AlarmMethod>2</AlarmMethod><Info><AlarmType>1</AlarmType></Info></Notify>`)
	if code := dev.message(alarm); code != 500 {
		t.Fatalf("alarm with failing sink: %d, want 500", code)
	}
	cat := []byte(catalogBody("1", dev.id, 1, itemXML("34020000001310000001", "cam", "120.1", "30.2")))
	if code := dev.message(cat); code != 200 {
		t.Fatalf("catalog with failing sink: %d, want 200", code)
	}
	// The channel was not remembered: the next catalog offers it again.
	sink.setFail(false)
	if code := dev.message(cat); code != 200 {
		t.Fatalf("catalog: %d", code)
	}
	if c := waitCamera(t, sink); c.ID != "34020000001310000001" {
		t.Fatalf("camera = %+v", c)
	}
	if code := dev.message(alarm); code != 200 {
		t.Fatalf("alarm: %d", code)
	}
	a := <-sink.alarmsC
	if a.EventType != EventOther || a.Confidence != 0.85 || a.Method != 2 || a.Type != 1 {
		t.Fatalf("device alarm = %+v", a)
	}
	if a.Time.IsZero() || a.HasPosition {
		t.Errorf("alarm without AlarmTime/position: time %v, position %v", a.Time, a.HasPosition)
	}
	dev.next() // the platform's acknowledgement of the alarm, taken before the device goes
}

func TestNewValidates(t *testing.T) {
	sink := newTestSink()
	for name, cfg := range map[string]Config{
		"no listen":   {ID: testPlatformID, Password: "x"},
		"bad listen":  {Listen: "nope", ID: testPlatformID, Password: "x"},
		"short id":    {Listen: ":0", ID: "3402", Password: "x"},
		"letter id":   {Listen: ":0", ID: "3402000000200000000X", Password: "x"},
		"no password": {Listen: ":0", ID: testPlatformID},
		"quote realm": {Listen: ":0", ID: testPlatformID, Password: "x", Realm: `a"b`},
	} {
		if _, err := New(cfg, sink, zerolog.Nop()); err == nil {
			t.Errorf("%s: New accepted %+v", name, cfg)
		}
	}
	if _, err := New(Config{Listen: ":0", ID: testPlatformID, Password: "x"}, nil, zerolog.Nop()); err == nil {
		t.Error("New accepted a nil sink")
	}
	s, err := New(Config{Listen: ":0", ID: testPlatformID, Password: "x"}, sink, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if s.cfg.Realm != testRealm {
		t.Errorf("default realm %q", s.cfg.Realm)
	}
	if s.Addr() != "" {
		t.Errorf("Addr before Run = %q", s.Addr())
	}
	if _, off := time.Date(2026, 7, 1, 0, 0, 0, 0, s.cfg.Location).Zone(); off != 8*3600 {
		t.Errorf("default location offset %d", off)
	}
}

func TestRegisterStaleNonce(t *testing.T) {
	srv := startServer(t, newTestSink(), nil)
	dev := newTestDevice(t, "UDP", srv.Addr(), "34020000001320000004")
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	req := dev.request(sip.REGISTER)
	req.AppendHeader(sip.NewHeader("Expires", "3600"))
	req.AppendHeader(sip.NewHeader("Authorization", `Digest username="34020000001320000004", realm="`+testRealm+`", nonce="0123456789abcdef", uri="sip:`+testPlatformID+`@`+testRealm+`", response="00000000000000000000000000000000", algorithm=MD5`))
	res, err := dev.cli.Do(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if h := res.GetHeader("WWW-Authenticate"); res.StatusCode != 401 || h == nil || !strings.Contains(h.Value(), "stale=true") {
		t.Fatalf("unknown nonce: %d %v, want 401 stale", res.StatusCode, h)
	}
	if n := len(srv.Devices()); n != 0 {
		t.Fatalf("%d devices", n)
	}
}

func TestMessageChecks(t *testing.T) {
	srv := startServer(t, newTestSink(), func(c *Config) { c.MaxBody = 300; c.MaxExpires = 10 * time.Minute })
	dev := newTestDevice(t, "UDP", srv.Addr(), "34020000001320000005")
	res := dev.register(7200, testPassword)
	if res.StatusCode != 200 {
		t.Fatalf("REGISTER: %d", res.StatusCode)
	}
	if e := res.GetHeader("Expires"); e == nil || e.Value() != "600" {
		t.Errorf("granted Expires = %v, want 600 (MaxExpires)", e)
	}
	if d := res.GetHeader("Date"); d == nil || len(d.Value()) != len("2006-01-02T15:04:05.000") {
		t.Errorf("Date = %v", d)
	}
	dev.next()
	big := []byte("<Notify><CmdType>Keepalive</CmdType><SN>1</SN><Status>" + strings.Repeat("OK", 200) + "</Status></Notify>")
	if code := dev.message(big); code != 413 {
		t.Errorf("large body: %d, want 413", code)
	}
	// The same id from another host is not the registered device.
	impostor := newTestDeviceAt(t, "UDP", "127.0.0.2", srv.Addr(), dev.id)
	keepalive := []byte("<Notify><CmdType>Keepalive</CmdType><SN>2</SN></Notify>")
	if code := impostor.message(keepalive); code != 403 {
		t.Errorf("MESSAGE from another host: %d, want 403", code)
	}
	if code := dev.message(keepalive); code != 200 {
		t.Errorf("keepalive: %d, want 200", code)
	}
}
