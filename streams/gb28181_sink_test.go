package streams

// GB/T 28181 end to end in process: the real Server (log, engine, API) behind httptest,
// a gb28181.Server feeding it through GB28181Sink, and a sipgo client on loopback
// playing a camera platform (REGISTER with digest, a GB2312 catalog, alarms).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/rs/zerolog"
	"golang.org/x/text/encoding/simplifiedchinese"

	"commandd/dispatch"
	"commandd/geo"
	"commandd/streams/gb28181"
)

const (
	gbPlatform = "35020000002000000001"
	gbRealm    = "3502000000"
	gbPassword = "gb-secret-2026"
	gbDeviceID = "35020000001180000001"
	gbWait     = 10 * time.Second
)

// gbDevice is a GB/T 28181 device (an NVR or a lower platform) played with sipgo.
type gbDevice struct {
	t         *testing.T
	id        string
	transport string
	platform  string // host:port of the platform
	contact   string // host:port the device is reached at
	cli       *sipgo.Client
	inbox     chan *sip.Request // MESSAGEs from the platform, answered 200
}

func newGBDevice(t *testing.T, transport, platform, id string) *gbDevice {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	ua, err := sipgo.NewUA(sipgo.WithUserAgent(id),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(quiet)),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(quiet)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ua.Close() })
	d := &gbDevice{t: t, id: id, transport: transport, platform: platform, inbox: make(chan *sip.Request, 64)}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	srv.OnMessage(func(req *sip.Request, tx sip.ServerTransaction) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil))
		d.inbox <- req
	})
	opts := []sipgo.ClientOption{sipgo.WithClientLogger(quiet)}
	switch transport {
	case "UDP":
		conn, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = conn.Close() })
		go func() { _ = srv.ServeUDP(conn) }()
		d.contact = conn.LocalAddr().String()
		// The device sends from the socket it listens on (the platform answers and
		// queries there), once the transport layer holds it.
		for deadline := time.Now().Add(gbWait); ; time.Sleep(2 * time.Millisecond) {
			if c, _ := ua.TransportLayer().GetConnection("udp", d.contact); c != nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("device UDP socket not taken by the transport layer")
			}
		}
		opts = append(opts, sipgo.WithClientConnectionAddr(d.contact))
	case "TCP":
		d.contact = "127.0.0.1:5060" // the platform talks back over the device's connection
	}
	if d.cli, err = sipgo.NewClient(ua, opts...); err != nil {
		t.Fatal(err)
	}
	return d
}

func (d *gbDevice) request(method sip.RequestMethod) *sip.Request {
	host, port, err := sip.ParseAddr(d.platform)
	if err != nil {
		d.t.Fatal(err)
	}
	req := sip.NewRequest(method, sip.Uri{Scheme: "sip", User: gbPlatform, Host: host, Port: port})
	req.SetTransport(d.transport)
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: d.id, Host: gbRealm}, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(10))
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: d.id, Host: gbRealm}, Params: sip.NewParams()})
	return req
}

// register REGISTERs, answering the platform's digest challenge with password.
func (d *gbDevice) register(password string) int {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), gbWait)
	defer cancel()
	req := d.request(sip.REGISTER)
	host, port, _ := sip.ParseAddr(d.contact)
	req.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: d.id, Host: host, Port: port}})
	req.AppendHeader(sip.NewHeader("Expires", "3600"))
	res, err := d.cli.Do(ctx, req)
	if err != nil {
		d.t.Fatalf("REGISTER: %v", err)
	}
	if res.StatusCode != sip.StatusUnauthorized {
		d.t.Fatalf("REGISTER without credentials: %d, want 401", res.StatusCode)
	}
	if res, err = d.cli.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: d.id, Password: password}); err != nil {
		d.t.Fatalf("REGISTER with digest: %v", err)
	}
	return res.StatusCode
}

// message sends a MANSCDP body (UTF-8 here, encoded to GB2312 when it says so) and
// returns the platform's status.
func (d *gbDevice) message(body string) int {
	d.t.Helper()
	raw := []byte(body)
	if strings.Contains(body, `encoding="GB2312"`) {
		var err error
		if raw, err = simplifiedchinese.GBK.NewEncoder().Bytes(raw); err != nil {
			d.t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), gbWait)
	defer cancel()
	req := d.request(sip.MESSAGE)
	req.AppendHeader(sip.NewHeader("Content-Type", gb28181.ContentType))
	req.SetBody(raw)
	res, err := d.cli.Do(ctx, req)
	if err != nil {
		d.t.Fatalf("MESSAGE: %v", err)
	}
	return res.StatusCode
}

var gbSN = regexp.MustCompile(`<SN>(\d+)</SN>`)

// catalogQuery waits for the platform's catalog query and returns its SN.
func (d *gbDevice) catalogQuery() string {
	d.t.Helper()
	for {
		select {
		case req := <-d.inbox:
			body := string(req.Body())
			if strings.Contains(body, "<Query>") && strings.Contains(body, "<CmdType>Catalog</CmdType>") {
				if m := gbSN.FindStringSubmatch(body); m != nil {
					return m[1]
				}
			}
		case <-time.After(gbWait):
			d.t.Fatal("no catalog query from the platform")
		}
	}
}

type gbChannel struct {
	id, name, lng, lat string
}

func gbCatalog(sn, device string, chans ...gbChannel) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<?xml version=\"1.0\" encoding=\"GB2312\"?>\n<Response>\n<CmdType>Catalog</CmdType>\n<SN>%s</SN>\n"+
		"<DeviceID>%s</DeviceID>\n<SumNum>%d</SumNum>\n<DeviceList Num=\"%d\">\n", sn, device, len(chans), len(chans))
	for _, c := range chans {
		fmt.Fprintf(&b, "<Item>\n<DeviceID>%s</DeviceID>\n<Name>%s</Name>\n<Manufacturer>Dahua</Manufacturer>\n<ParentID>%s</ParentID>\n<Status>ON</Status>\n",
			c.id, c.name, device)
		if c.lng != "" {
			fmt.Fprintf(&b, "<Longitude>%s</Longitude>\n<Latitude>%s</Latitude>\n", c.lng, c.lat)
		}
		b.WriteString("</Item>\n")
	}
	b.WriteString("</DeviceList>\n</Response>\n")
	return b.String()
}

// gbAlarm is a Notify/Alarm of channel at local time at (Asia/Shanghai, no zone).
func gbAlarm(sn int, channel string, priority, method, typ int, at time.Time) string {
	return fmt.Sprintf(`<?xml version="1.0" encoding="GB2312"?>
<Notify>
<CmdType>Alarm</CmdType>
<SN>%d</SN>
<DeviceID>%s</DeviceID>
<AlarmPriority>%d</AlarmPriority>
<AlarmMethod>%d</AlarmMethod>
<AlarmTime>%s</AlarmTime>
<AlarmDescription>周界告警</AlarmDescription>
<Info>
<AlarmType>%d</AlarmType>
</Info>
</Notify>
`, sn, channel, priority, method, at.In(gbShanghai).Format("2006-01-02T15:04:05"), typ)
}

var gbShanghai = time.FixedZone("CST", 8*3600)

func gbKeepalive(device string) string {
	return `<?xml version="1.0" encoding="GB2312"?>
<Notify><CmdType>Keepalive</CmdType><SN>7</SN><DeviceID>` + device + `</DeviceID><Status>OK</Status></Notify>`
}

// getList GETs a JSON array of the API.
func (s *testServer) getList(path string, into any) {
	s.t.Helper()
	req, _ := http.NewRequest("GET", s.http.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+tokOperator)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		s.t.Fatalf("GET %s: %d %s", path, resp.StatusCode, raw)
	}
	if err := json.Unmarshal(raw, into); err != nil {
		s.t.Fatalf("GET %s: %v: %s", path, err, raw)
	}
}

// startGB runs a gb28181.Server over ts through a GB28181Sink until the test ends.
func startGB(t *testing.T, ts *testServer) *gb28181.Server {
	t.Helper()
	gb, err := gb28181.New(gb28181.Config{Listen: "127.0.0.1:0", ID: gbPlatform, Password: gbPassword},
		NewGB28181Sink(ts.srv, zerolog.Nop()), zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- gb.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("gb28181 Run: %v", err)
		}
	})
	select {
	case <-gb.Ready():
	case err := <-done:
		t.Fatalf("gb28181 Run: %v", err)
	case <-time.After(gbWait):
		t.Fatal("gb28181 server not listening")
	}
	return gb
}

type apiIncident struct {
	ID           string `json:"id"`
	Category     string `json:"category"`
	Priority     int    `json:"priority"`
	CameraEvents []struct {
		ID         string  `json:"id"`
		Camera     string  `json:"camera"`
		Type       string  `json:"type"`
		Confidence float64 `json:"confidence"`
	} `json:"camera_events"`
}

// Channels of the test: A and its neighbour B at Xiamen's Huli, C 8 km away, D without
// a position.
const (
	chA = "35020000001310000001"
	chB = "35020000001310000002"
	chC = "35020000001310000003"
	chD = "35020000001310000004"
)

func TestGB28181EndToEnd(t *testing.T) {
	for _, transport := range []string{"UDP", "TCP"} {
		t.Run(transport, func(t *testing.T) {
			ts := newTestServer(t, 0)
			gb := startGB(t, ts)
			dev := newGBDevice(t, transport, gb.Addr(), gbDeviceID)

			if code := dev.register("not-the-password"); code != sip.StatusForbidden {
				t.Fatalf("REGISTER with a wrong password: %d, want 403", code)
			}
			if code := dev.register(gbPassword); code != sip.StatusOK {
				t.Fatalf("REGISTER: %d, want 200", code)
			}
			sn := dev.catalogQuery()

			// The catalog: two channels with coordinates (Chinese names, GB2312), one
			// without. The catalog is answered once its cameras are stored.
			if code := dev.message(gbCatalog(sn, dev.id,
				gbChannel{chA, "湖里区五缘湾大桥东", "118.1812", "24.5165"},
				gbChannel{chD, "无坐标通道", "", ""},
				gbChannel{chC, "思明区中山路步行街", "118.0823", "24.4561"})); code != 200 {
				t.Fatalf("catalog: %d", code)
			}
			var cams []dispatch.CameraView
			ts.getList("/api/v1/cameras", &cams)
			want := map[string]dispatch.CameraView{
				chA: {ID: chA, Name: "湖里区五缘湾大桥东", Lat: 24.5165, Lng: 118.1812},
				chC: {ID: chC, Name: "思明区中山路步行街", Lat: 24.4561, Lng: 118.0823},
			}
			if len(cams) != 2 {
				t.Fatalf("cameras = %+v, want %s and %s", cams, chA, chC)
			}
			for _, c := range cams {
				w, ok := want[c.ID]
				cell, err := geo.CellOf(geo.Point{Lat: w.Lat, Lng: w.Lng}, geo.DefaultRes)
				if !ok || err != nil || c.Name != w.Name || c.Lat != w.Lat || c.Lng != w.Lng || c.Cell != cell {
					t.Errorf("camera %+v, want %+v in cell %v", c, w, cell)
				}
			}

			// A channel that moves (and a new one, B) updates its camera; the same
			// catalog again changes nothing.
			moved := gbCatalog("901", dev.id, gbChannel{chC, "思明区中山路步行街", "118.0830", "24.4570"},
				gbChannel{chB, "湖里区五缘湾大桥西", "118.1790", "24.5160"})
			for range 2 {
				if code := dev.message(moved); code != 200 {
					t.Fatalf("moved catalog: %d", code)
				}
			}
			cams = nil
			ts.getList("/api/v1/cameras", &cams)
			if len(cams) != 3 {
				t.Fatalf("cameras after the move = %+v", cams)
			}
			for _, c := range cams {
				if c.ID == chC && (c.Lat != 24.4570 || c.Lng != 118.0830) {
					t.Errorf("moved camera = %+v", c)
				}
			}

			// Keepalives are answered.
			if code := dev.message(gbKeepalive(dev.id)); code != 200 {
				t.Fatalf("keepalive: %d, want 200", code)
			}

			now := time.Now()
			// A video intrusion alarm (AlarmMethod 5, AlarmType 6), priority 1: a
			// camera event of type intrusion, confidence 0.95. Intrusion is not among
			// the events that open an incident by themselves (dispatch/fusion.go,
			// strongCamera), and no incident is open: evidence of nothing yet.
			intrusion := gbAlarm(11, chA, 1, 5, 6, now.Add(-30*time.Second))
			if code := dev.message(intrusion); code != 200 {
				t.Fatalf("intrusion alarm: %d, want 200", code)
			}
			intrusionID := fmt.Sprintf("GB-%s-%s-11-%d", dev.id, chA, now.Add(-30*time.Second).Truncate(time.Second).UnixMilli())
			var seen, ok bool
			ts.srv.Loop.Read(func(e *dispatch.Engine) { _, seen = e.CameraEventIncident(intrusionID) })
			if !seen {
				t.Fatalf("intrusion alarm: the engine has no camera event %s", intrusionID)
			}
			var incs []apiIncident
			ts.getList("/api/v1/incidents", &incs)
			if len(incs) != 0 {
				t.Fatalf("an intrusion alone opened %+v", incs)
			}

			// Fast movement (AlarmType 12 → fight), priority 1 (0.95 ≥ the engine's
			// 0.8): strong enough to open an incident at the camera.
			fightAt := now.Add(-20 * time.Second)
			fight := gbAlarm(12, chA, 1, 5, 12, fightAt)
			if code := dev.message(fight); code != 200 {
				t.Fatalf("fight alarm: %d, want 200", code)
			}
			ts.getList("/api/v1/incidents", &incs)
			if len(incs) != 1 || incs[0].Category != "public_order" || len(incs[0].CameraEvents) != 1 {
				t.Fatalf("incidents after the fight alarm = %+v", incs)
			}
			ce := incs[0].CameraEvents[0]
			fightID := fmt.Sprintf("GB-%s-%s-12-%d", dev.id, chA, fightAt.Truncate(time.Second).UnixMilli())
			if ce.ID != fightID || ce.Camera != chA || ce.Type != "fight" || ce.Confidence != 0.95 {
				t.Fatalf("camera event = %+v, want %s of %s, fight 0.95", ce, fightID, chA)
			}

			// The same alarm again (a device that missed the answer): no second event.
			if code := dev.message(fight); code != 200 {
				t.Fatalf("fight alarm again: %d, want 200", code)
			}
			// An intrusion at the neighbouring camera B joins the open incident as
			// evidence.
			if code := dev.message(gbAlarm(13, chB, 2, 5, 6, now.Add(-10*time.Second))); code != 200 {
				t.Fatalf("intrusion at B: %d", code)
			}
			incs = nil
			ts.getList("/api/v1/incidents", &incs)
			if len(incs) != 1 || len(incs[0].CameraEvents) != 2 {
				t.Fatalf("incidents after the resend and B's intrusion = %+v", incs)
			}
			if e := incs[0].CameraEvents[1]; e.Camera != chB || e.Type != "intrusion" || e.Confidence != 0.85 {
				t.Errorf("B's event = %+v", e)
			}
			// A strong alarm at C, 8 km away, opens its own incident; priority 3 (0.7)
			// would not have.
			if code := dev.message(gbAlarm(14, chC, 3, 5, 12, now)); code != 200 {
				t.Fatalf("weak fight at C: %d", code)
			}
			if code := dev.message(gbAlarm(15, chC, 2, 5, 12, now)); code != 200 {
				t.Fatalf("fight at C: %d", code)
			}
			incs = nil
			ts.getList("/api/v1/incidents", &incs)
			if len(incs) != 2 || len(incs[1].CameraEvents) != 1 || incs[1].CameraEvents[0].Camera != chC ||
				incs[1].CameraEvents[0].Confidence != 0.85 {
				t.Fatalf("incidents after C's alarms = %+v", incs)
			}

			// An alarm of a channel no catalog has placed (D has no position): the
			// engine rejects the unknown camera and the device gets 500, to send it
			// again later.
			if code := dev.message(gbAlarm(16, chD, 1, 5, 12, now)); code != 500 {
				t.Fatalf("alarm of an unplaced channel: %d, want 500", code)
			}
			// A device with a wrong clock: the event takes the server's time.
			if code := dev.message(gbAlarm(17, chC, 1, 5, 6, now.AddDate(0, 0, -30))); code != 200 {
				t.Fatalf("alarm 30 days old: %d, want 200", code)
			}
			ts.srv.Loop.Read(func(e *dispatch.Engine) {
				_, ok = e.CameraEventIncident(fmt.Sprintf("GB-%s-%s-17-%d", dev.id, chC, now.AddDate(0, 0, -30).Truncate(time.Second).UnixMilli()))
			})
			if !ok {
				t.Error("the alarm with a wrong clock is not a camera event")
			}
		})
	}
}

// TestGB28181SinkCamera checks what the sink stores of a channel: by the device,
// heading kept, nothing for an unchanged channel, and the engine's refusals.
func TestGB28181SinkCamera(t *testing.T) {
	ts := newTestServer(t, 0)
	sink := NewGB28181Sink(ts.srv, zerolog.Nop())
	// A camera placed over the API, with a heading.
	ts.must(200, "PUT", "/api/v1/cameras/"+chA, tokAdmin, `{"lat":24.5,"lng":118.1,"name":"旧名","heading":90}`)

	errStop := errors.New("stop")
	last := func() (uint64, *dispatch.CameraUpserted) {
		seq, err := ts.srv.Log.Last(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var up *dispatch.CameraUpserted
		if err := ts.srv.Log.Read(context.Background(), seq, func(_ uint64, _ time.Time, evs []dispatch.Event) error {
			if c, ok := evs[0].(*dispatch.CameraUpserted); ok && len(evs) == 1 {
				cp := *c // the events are the reader's only until we return
				up = &cp
			}
			return errStop
		}); !errors.Is(err, errStop) {
			t.Fatal(err)
		}
		return seq, up
	}
	cam := gb28181.Camera{ID: chA, DeviceID: gbDeviceID, Name: "湖里区五缘湾大桥东", Lat: 24.5165, Lng: 118.1812}
	if err := sink.Camera(cam); err != nil {
		t.Fatal(err)
	}
	seq, up := last()
	if up == nil || up.By != "gb28181:"+gbDeviceID || up.Heading != 90 || up.Name != cam.Name || up.Cell == 0 {
		t.Fatalf("stored %#v", up)
	}
	// Unchanged: nothing is committed.
	if err := sink.Camera(cam); err != nil {
		t.Fatal(err)
	}
	if again, _ := last(); again != seq {
		t.Fatalf("an unchanged camera was committed again (%d → %d)", seq, again)
	}
	// A fresh sink (commandd restarted) knows the engine's cameras.
	if err := NewGB28181Sink(ts.srv, zerolog.Nop()).Camera(cam); err != nil {
		t.Fatal(err)
	}
	if again, _ := last(); again != seq {
		t.Fatalf("a restarted sink committed an unchanged camera (%d → %d)", seq, again)
	}
	// What the API refuses, the sink refuses, with the reason.
	bad := gb28181.Camera{ID: chB, DeviceID: gbDeviceID, Name: strings.Repeat("名", 2000), Lat: 24.5, Lng: 118.1}
	if err := sink.Camera(bad); err == nil || !strings.Contains(err.Error(), "name") || !strings.Contains(err.Error(), chB) {
		t.Fatalf("a 6 KB name: %v", err)
	}
	// An alarm of an unknown camera wraps the engine's rejection.
	err := sink.Alarm(gb28181.Alarm{DeviceID: gbDeviceID, CameraID: chD, SN: 1, Time: time.Now(), EventType: "fight", Confidence: 0.95})
	var apiErr *Error
	if err == nil || !errors.As(err, &apiErr) || apiErr.Code != "not_found" || !strings.Contains(err.Error(), "unknown camera") {
		t.Fatalf("alarm of an unknown camera: %v", err)
	}
}

func TestGB28181EventID(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, gbShanghai)
	a := gb28181.Alarm{DeviceID: gbDeviceID, CameraID: chA, SN: 42, Time: at}
	if got, want := GB28181EventID(a), "GB-"+gbDeviceID+"-"+chA+"-42-1772571967000"; got != want {
		t.Errorf("id %q, want %q", got, want)
	}
	long := gb28181.Alarm{DeviceID: strings.Repeat("7", 64), CameraID: strings.Repeat("8", 64), SN: 1, Time: at}
	id := GB28181EventID(long)
	if len(id) > MaxEventID || !strings.HasPrefix(id, "GB-") || id != GB28181EventID(long) {
		t.Errorf("long id %q", id)
	}
	long.SN = 2
	if GB28181EventID(long) == id {
		t.Error("two alarms of long ids share an event id")
	}
}
