package gb28181

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
)

func encode(t testing.TB, s string) []byte {
	t.Helper()
	b, err := simplifiedchinese.GB18030.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const catalogGB = `<?xml version="1.0" encoding="%s"?>
<Response>
<CmdType>Catalog</CmdType>
<SN>17</SN>
<DeviceID>34020000001320000001</DeviceID>
<SumNum>2</SumNum>
<DeviceList Num="2">
<Item><DeviceID>34020000001310000001</DeviceID><Name>南门入口</Name><Longitude>121.4737</Longitude><Latitude>31.2304</Latitude></Item>
<Item><DeviceID>34020000001310000002</DeviceID><Name>仓库&amp;后门</Name></Item>
</DeviceList>
</Response>`

func TestDecodeEncodings(t *testing.T) {
	for _, label := range []string{"GB2312", "gbk", "GB18030"} {
		body := encode(t, strings.Replace(catalogGB, "%s", label, 1))
		if utf8.Valid(body) {
			t.Fatal("test body should not be UTF-8")
		}
		m, err := decodeMANSCDP(body)
		if err != nil {
			t.Fatalf("%s: %v", label, err)
		}
		if m.XMLName.Local != "Response" || m.CmdType != "Catalog" || m.SN != "17" || parseInt(m.SumNum) != 2 {
			t.Fatalf("%s: %+v", label, m)
		}
		if m.DeviceList == nil || len(m.DeviceList.Items) != 2 || m.DeviceList.Num != "2" {
			t.Fatalf("%s: device list %+v", label, m.DeviceList)
		}
		if got := m.DeviceList.Items[0].Name; got != "南门入口" {
			t.Errorf("%s: name %q", label, got)
		}
		if got := m.DeviceList.Items[1].Name; got != "仓库&后门" {
			t.Errorf("%s: name %q", label, got)
		}
	}
	// UTF-8, declared or not.
	for _, body := range []string{strings.Replace(catalogGB, "%s", "UTF-8", 1), catalogGB[strings.Index(catalogGB, "<Response>"):]} {
		m, err := decodeMANSCDP([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		if m.DeviceList.Items[0].Name != "南门入口" {
			t.Errorf("utf-8 name %q", m.DeviceList.Items[0].Name)
		}
	}
	// GBK bytes without a declaration, or wrongly declared UTF-8.
	for _, body := range [][]byte{
		encode(t, catalogGB[strings.Index(catalogGB, "<Response>"):]),
		encode(t, strings.Replace(catalogGB, "%s", "utf-8", 1)),
	} {
		m, err := decodeMANSCDP(body)
		if err != nil {
			t.Fatal(err)
		}
		if m.DeviceList.Items[0].Name != "南门入口" {
			t.Errorf("undeclared GBK name %q", m.DeviceList.Items[0].Name)
		}
	}
}

func TestDecodeMalformed(t *testing.T) {
	for _, body := range []string{
		"",
		"   \r\n",
		"not xml",
		"<Notify>",
		"<Notify><CmdType>Keepalive</CmdType>",
		"<Notify><CmdType>  </CmdType></Notify>",
		"<Html><CmdType>Keepalive</CmdType></Html>",
		`<?xml version="1.0" encoding="ISO-2022-JP"?><Notify><CmdType>Keepalive</CmdType></Notify>`,
		`<Notify><CmdType>Keepalive</CmdType></Other>`,
	} {
		if m, err := decodeMANSCDP([]byte(body)); err == nil || !errors.Is(err, errMalformed) {
			t.Errorf("decode(%q) = %+v, %v; want errMalformed", body, m, err)
		}
	}
}

func TestDeclaredEncoding(t *testing.T) {
	for in, want := range map[string]string{
		`<?xml version="1.0" encoding="GB2312"?><a/>`:            "GB2312",
		`  <?xml version='1.0' encoding = 'gbk' ?><a/>`:          "gbk",
		"\xef\xbb\xbf<?xml version=\"1.0\" encoding=\"UTF-8\"?>": "UTF-8",
		`<?xml version="1.0"?><a/>`:                              "",
		`<a/>`:                                                   "",
		`<?xml version="1.0" encoding="GB2312"`:                  "",
		`<?xml version="1.0" encoding=GB2312?>`:                  "",
		`<?xml version="1.0" encoding?>`:                         "",
	} {
		if got := declaredEncoding([]byte(in)); got != want {
			t.Errorf("declaredEncoding(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParsePosition(t *testing.T) {
	for _, tc := range []struct {
		lng, lat string
		ok       bool
	}{
		{"116.397128", "39.903119", true},
		{" 116.39 ", "\n39.90\n", true},
		{"-73.98", "40.75", true},
		{"0", "39.9", false},
		{"116.3", "0.0", false},
		{"0", "0", false},
		{"", "", false},
		{"abc", "39.9", false},
		{"181", "39.9", false},
		{"116.3", "-91", false},
		{"NaN", "39.9", false},
		{"Inf", "39.9", false},
	} {
		_, _, ok := parsePosition(tc.lng, tc.lat)
		if ok != tc.ok {
			t.Errorf("parsePosition(%q, %q) ok = %v, want %v", tc.lng, tc.lat, ok, tc.ok)
		}
	}
}

func TestParseLocalTime(t *testing.T) {
	loc := time.FixedZone("CST", 8*3600)
	want := time.Date(2026, 3, 4, 5, 6, 7, 0, loc)
	for _, in := range []string{"2026-03-04T05:06:07", " 2026-03-04T05:06:07 ", "2026-03-04 05:06:07", "2026-03-04T05:06:07.000"} {
		got, ok := parseLocalTime(in, loc)
		if !ok || !got.Equal(want) {
			t.Errorf("parseLocalTime(%q) = %v, %v", in, got, ok)
		}
	}
	if got, _ := parseLocalTime("2026-03-04T05:06:07.250", loc); !got.Equal(want.Add(250 * time.Millisecond)) {
		t.Errorf("fractional: %v", got)
	}
	for _, in := range []string{"", "yesterday", "2026-03-04", "2026-03-04T05:06:07Z"} {
		if _, ok := parseLocalTime(in, loc); ok {
			t.Errorf("parseLocalTime(%q) accepted", in)
		}
	}
}

func TestOutgoingBodies(t *testing.T) {
	m, err := decodeMANSCDP(catalogQuery(12, "34020000001320000001"))
	if err != nil || m.XMLName.Local != "Query" || m.CmdType != "Catalog" || m.SN != "12" || m.DeviceID != "34020000001320000001" {
		t.Fatalf("catalog query decodes to %+v, %v", m, err)
	}
	m, err = decodeMANSCDP(alarmResponse(7, "34020000001310000001"))
	if err != nil || m.XMLName.Local != "Response" || m.CmdType != "Alarm" || m.SN != "7" {
		t.Fatalf("alarm response decodes to %+v, %v", m, err)
	}
}

// FuzzDecodeMANSCDP checks that no body makes the decoder (or what the
// server does with its result) panic.
func FuzzDecodeMANSCDP(f *testing.F) {
	f.Add([]byte(strings.Replace(catalogGB, "%s", "GB2312", 1)))
	f.Add(encode(f, strings.Replace(catalogGB, "%s", "GB2312", 1)))
	f.Add(encode(f, catalogGB[strings.Index(catalogGB, "<Response>"):]))
	f.Add([]byte(`<?xml version="1.0" encoding="GB2312"?><Notify><CmdType>Keepalive</CmdType><SN>1</SN><DeviceID>1</DeviceID><Status>OK</Status></Notify>`))
	f.Add(encode(f, `<?xml version="1.0" encoding="GBK"?><Notify><CmdType>Alarm</CmdType><SN>2</SN><DeviceID>34020000001310000001</DeviceID><AlarmPriority>1</AlarmPriority><AlarmMethod>5</AlarmMethod><AlarmTime>2026-03-04T05:06:07</AlarmTime><AlarmDescription>入侵</AlarmDescription><Longitude>116.1</Longitude><Latitude>39.2</Latitude><Info><AlarmType>6</AlarmType></Info></Notify>`))
	f.Add([]byte(`<?xml version="1.0" encoding="gb18030"?><Query><CmdType>Catalog</CmdType></Query>`))
	f.Add([]byte("<Notify><CmdType>\xff\xfe</CmdType></Notify>"))
	f.Add([]byte(`<?xml version="1.0" encoding="x"?><a/>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := decodeMANSCDP(body)
		if err != nil {
			if !errors.Is(err, errMalformed) {
				t.Fatalf("error %v is not errMalformed", err)
			}
			return
		}
		if !rootElements[m.XMLName.Local] || m.CmdType == "" {
			t.Fatalf("accepted %+v", m)
		}
		if !utf8.ValidString(m.CmdType) || !utf8.ValidString(m.DeviceID) {
			t.Fatalf("decoded text is not UTF-8: %q %q", m.CmdType, m.DeviceID)
		}
		// What the handlers do with a decoded message.
		parseInt(m.SN)
		parseInt(m.SumNum)
		parseInt(m.AlarmPriority)
		EventType(parseInt(m.AlarmMethod), parseInt(m.Info.AlarmType))
		parseLocalTime(m.AlarmTime, time.UTC)
		if lng, lat, ok := parsePosition(m.Longitude, m.Latitude); ok && (lng == 0 || lat == 0) {
			t.Fatal("zero position accepted")
		}
		if m.DeviceList != nil {
			for _, it := range m.DeviceList.Items {
				isID(it.DeviceID)
				parsePosition(it.Longitude, it.Latitude)
			}
		}
	})
}
