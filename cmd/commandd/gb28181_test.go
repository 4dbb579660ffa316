package main

// GB/T 28181 against the real binary: a sipgo client on loopback plays a camera
// platform registering to commandd (--gb28181-listen on port 0, the address read from
// the "gb28181 serving" log line).

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"golang.org/x/text/encoding/simplifiedchinese"
)

const (
	e2eGBPlatform = "35020000002000000001"
	e2eGBPassword = "gb-e2e-password"
	e2eGBDevice   = "35020000001180000009"
)

func TestGB28181Flags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // "" for no error
	}{
		{[]string{"--gb28181-listen", "127.0.0.1:5060", "--gb28181-id", e2eGBPlatform, "--gb28181-password", "x"}, ""},
		{nil, ""},
		{[]string{"--gb28181-listen", "127.0.0.1:5060", "--gb28181-password", "x"}, "needs gb28181-id"},
		{[]string{"--gb28181-listen", "127.0.0.1:5060", "--gb28181-id", "3502", "--gb28181-password", "x"}, "20-digit"},
		{[]string{"--gb28181-listen", "127.0.0.1:5060", "--gb28181-id", "3502000000200000000A", "--gb28181-password", "x"}, "20-digit"},
		{[]string{"--gb28181-listen", "127.0.0.1:5060", "--gb28181-id", e2eGBPlatform}, "needs gb28181-password"},
		{[]string{"--gb28181-listen", "5060", "--gb28181-id", e2eGBPlatform, "--gb28181-password", "x"}, "HOST:PORT"},
		{[]string{"--gb28181-id", e2eGBPlatform, "--gb28181-password", "x"}, "need gb28181-listen"},
	} {
		_, err := parseConfig(tc.args)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%v: %v", tc.args, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%v: error %v, want one saying %q", tc.args, err, tc.want)
		}
	}
}

// gbAddr waits for the "gb28181 serving" line and returns its listen address.
func (s *server) gbAddr() string {
	s.t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		for _, line := range strings.Split(s.logs.String(), "\n") {
			var m struct {
				Message string `json:"message"`
				Listen  string `json:"listen"`
			}
			if json.Unmarshal([]byte(line), &m) == nil && m.Message == "gb28181 serving" {
				return m.Listen
			}
		}
	}
	s.t.Fatalf("no \"gb28181 serving\" in the log:\n%s", s.logs)
	return ""
}

// list GETs a JSON array as an operator.
func (s *server) list(path string, into any) {
	s.t.Helper()
	m := s.must(200, "GET", path, tokOperator, "")
	raw, _ := m["_raw"].(string)
	if err := json.Unmarshal([]byte(raw), into); err != nil {
		s.t.Fatalf("GET %s: %v: %v", path, err, m)
	}
}

// udpDevice is a GB/T 28181 device over UDP, played with sipgo.
type udpDevice struct {
	t        *testing.T
	platform string
	contact  string
	cli      *sipgo.Client
	inbox    chan *sip.Request
}

func newUDPDevice(t *testing.T, platform string) *udpDevice {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	ua, err := sipgo.NewUA(sipgo.WithUserAgent(e2eGBDevice),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(quiet)),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(quiet)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ua.Close() })
	d := &udpDevice{t: t, platform: platform, inbox: make(chan *sip.Request, 16)}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	srv.OnMessage(func(req *sip.Request, tx sip.ServerTransaction) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil))
		d.inbox <- req
	})
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	go func() { _ = srv.ServeUDP(conn) }()
	d.contact = conn.LocalAddr().String()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(2 * time.Millisecond) {
		if c, _ := ua.TransportLayer().GetConnection("udp", d.contact); c != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("device socket not taken by sipgo's transport layer")
		}
	}
	if d.cli, err = sipgo.NewClient(ua, sipgo.WithClientLogger(quiet), sipgo.WithClientConnectionAddr(d.contact)); err != nil {
		t.Fatal(err)
	}
	return d
}

func (d *udpDevice) do(method sip.RequestMethod, body string, password string) int {
	d.t.Helper()
	host, port, err := sip.ParseAddr(d.platform)
	if err != nil {
		d.t.Fatal(err)
	}
	req := sip.NewRequest(method, sip.Uri{Scheme: "sip", User: e2eGBPlatform, Host: host, Port: port})
	req.SetTransport("UDP")
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: e2eGBDevice, Host: e2eGBPlatform[:10]}, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(10))
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: e2eGBDevice, Host: e2eGBPlatform[:10]}, Params: sip.NewParams()})
	if method == sip.REGISTER {
		h, p, _ := sip.ParseAddr(d.contact)
		req.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: e2eGBDevice, Host: h, Port: p}})
		req.AppendHeader(sip.NewHeader("Expires", "3600"))
	}
	if body != "" {
		raw, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(body))
		if err != nil {
			d.t.Fatal(err)
		}
		req.AppendHeader(sip.NewHeader("Content-Type", "Application/MANSCDP+xml"))
		req.SetBody(raw)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := d.cli.Do(ctx, req)
	if err != nil {
		d.t.Fatalf("%s: %v", method, err)
	}
	if res.StatusCode == sip.StatusUnauthorized && password != "" {
		if res, err = d.cli.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: e2eGBDevice, Password: password}); err != nil {
			d.t.Fatalf("%s with digest: %v", method, err)
		}
	}
	return res.StatusCode
}

func TestGB28181Binary(t *testing.T) {
	s := start(t, t.TempDir(), "--gb28181-listen", "127.0.0.1:0", "--gb28181-id", e2eGBPlatform,
		"--gb28181-password", e2eGBPassword)
	dev := newUDPDevice(t, s.gbAddr())

	if code := dev.do(sip.REGISTER, "", ""); code != sip.StatusUnauthorized {
		t.Fatalf("REGISTER without credentials: %d, want 401", code)
	}
	if code := dev.do(sip.REGISTER, "", "wrong"); code != sip.StatusForbidden {
		t.Fatalf("REGISTER with a wrong password: %d, want 403", code)
	}
	if code := dev.do(sip.REGISTER, "", e2eGBPassword); code != sip.StatusOK {
		t.Fatalf("REGISTER: %d, want 200", code)
	}
	var sn string
	select {
	case q := <-dev.inbox:
		m := regexp.MustCompile(`<SN>(\d+)</SN>`).FindStringSubmatch(string(q.Body()))
		if m == nil || !strings.Contains(string(q.Body()), "<CmdType>Catalog</CmdType>") {
			t.Fatalf("not a catalog query:\n%s", q.Body())
		}
		sn = m[1]
	case <-time.After(10 * time.Second):
		t.Fatal("no catalog query")
	}
	catalog := `<?xml version="1.0" encoding="GB2312"?>
<Response>
<CmdType>Catalog</CmdType>
<SN>` + sn + `</SN>
<DeviceID>` + e2eGBDevice + `</DeviceID>
<SumNum>2</SumNum>
<DeviceList Num="2">
<Item><DeviceID>35020000001310000021</DeviceID><Name>湖里万达广场北门</Name><Longitude>118.1780</Longitude><Latitude>24.5080</Latitude></Item>
<Item><DeviceID>35020000001310000022</DeviceID><Name>未定位</Name></Item>
</DeviceList>
</Response>`
	if code := dev.do(sip.MESSAGE, catalog, ""); code != 200 {
		t.Fatalf("catalog: %d", code)
	}
	var cams []struct {
		ID   string  `json:"id"`
		Name string  `json:"name"`
		Lat  float64 `json:"lat"`
		Lng  float64 `json:"lng"`
	}
	s.list("/api/v1/cameras", &cams)
	if len(cams) != 1 || cams[0].ID != "35020000001310000021" || cams[0].Name != "湖里万达广场北门" || cams[0].Lat != 24.508 || cams[0].Lng != 118.178 {
		t.Fatalf("cameras = %+v", cams)
	}

	keepalive := `<?xml version="1.0" encoding="GB2312"?><Notify><CmdType>Keepalive</CmdType><SN>3</SN><DeviceID>` +
		e2eGBDevice + `</DeviceID><Status>OK</Status></Notify>`
	if code := dev.do(sip.MESSAGE, keepalive, ""); code != 200 {
		t.Fatalf("keepalive: %d", code)
	}
	// Fast movement (AlarmType 12 → fight), priority 1 (confidence 0.95): the engine
	// opens an incident at the camera.
	atT := time.Now().In(time.FixedZone("CST", 8*3600)).Add(-5 * time.Second).Truncate(time.Second)
	at := atT.Format("2006-01-02T15:04:05")
	alarm := fmt.Sprintf(`<?xml version="1.0" encoding="GB2312"?>
<Notify><CmdType>Alarm</CmdType><SN>21</SN><DeviceID>35020000001310000021</DeviceID>
<AlarmPriority>1</AlarmPriority><AlarmMethod>5</AlarmMethod><AlarmTime>%s</AlarmTime>
<AlarmDescription>快速移动</AlarmDescription><Info><AlarmType>12</AlarmType></Info></Notify>`, at)
	for range 2 { // the second is a device resending: the same event
		if code := dev.do(sip.MESSAGE, alarm, ""); code != 200 {
			t.Fatalf("alarm: %d", code)
		}
	}
	var incs []struct {
		ID           string `json:"id"`
		Category     string `json:"category"`
		CameraEvents []struct {
			ID, Camera, Type string
			Confidence       float64
		} `json:"camera_events"`
	}
	s.list("/api/v1/incidents", &incs)
	if len(incs) != 1 || incs[0].Category != "public_order" || len(incs[0].CameraEvents) != 1 {
		t.Fatalf("incidents = %+v", incs)
	}
	if e := incs[0].CameraEvents[0]; e.Camera != "35020000001310000021" || e.Type != "fight" || e.Confidence != 0.95 ||
		e.ID != "GB-"+e2eGBDevice+"-35020000001310000021-21-"+fmt.Sprint(atT.UnixMilli()) {
		t.Fatalf("camera event = %+v", e)
	}
	// An alarm of a channel no catalog placed: 500, to be sent again later.
	if code := dev.do(sip.MESSAGE, strings.ReplaceAll(alarm, "35020000001310000021", "35020000001310000022"), ""); code != 500 {
		t.Fatalf("alarm of an unplaced channel: %d, want 500", code)
	}
	s.stop()
	if !strings.Contains(s.logs.String(), `"message":"gb28181 stopped"`) {
		t.Errorf("no clean gb28181 stop in the log:\n%s", s.logs)
	}
}
