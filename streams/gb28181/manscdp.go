package gb28181

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// ContentType is the content type of MANSCDP bodies.
const ContentType = "Application/MANSCDP+xml"

// errMalformed marks a body that is not a usable MANSCDP document.
var errMalformed = errors.New("gb28181: malformed MANSCDP body")

// message is a MANSCDP document (Query, Response, Notify or Control) with the
// fields this package reads. Every value is kept as text and parsed leniently
// afterwards, so that one odd field does not make a whole catalog unreadable.
type message struct {
	XMLName  xml.Name
	CmdType  string `xml:"CmdType"`
	SN       string `xml:"SN"`
	DeviceID string `xml:"DeviceID"`
	Status   string `xml:"Status"`

	// Catalog.
	SumNum     string      `xml:"SumNum"`
	DeviceList *deviceList `xml:"DeviceList"`

	// Alarm.
	AlarmPriority    string    `xml:"AlarmPriority"`
	AlarmMethod      string    `xml:"AlarmMethod"`
	AlarmTime        string    `xml:"AlarmTime"`
	AlarmDescription string    `xml:"AlarmDescription"`
	Longitude        string    `xml:"Longitude"`
	Latitude         string    `xml:"Latitude"`
	Info             alarmInfo `xml:"Info"`
}

type deviceList struct {
	Num   string        `xml:"Num,attr"`
	Items []catalogItem `xml:"Item"`
}

type catalogItem struct {
	DeviceID     string `xml:"DeviceID"`
	Name         string `xml:"Name"`
	Manufacturer string `xml:"Manufacturer"`
	Model        string `xml:"Model"`
	Address      string `xml:"Address"`
	ParentID     string `xml:"ParentID"`
	Status       string `xml:"Status"`
	Longitude    string `xml:"Longitude"`
	Latitude     string `xml:"Latitude"`
}

type alarmInfo struct {
	AlarmType string `xml:"AlarmType"`
}

// rootElements are the MANSCDP document types.
var rootElements = map[string]bool{"Query": true, "Response": true, "Notify": true, "Control": true}

// decodeMANSCDP reads one MANSCDP document. The XML declaration's encoding
// is honoured (GB2312, GBK and GB18030 are decoded as GB18030, their
// superset); a body without a declaration, or declared UTF-8, that is not
// valid UTF-8 is taken to be GB18030 as well, which is what devices that
// leave the declaration out actually send.
func decodeMANSCDP(body []byte) (*message, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, fmt.Errorf("%w: empty body", errMalformed)
	}
	if label := declaredEncoding(body); (label == "" || isUTF8Label(label)) && !utf8.Valid(body) {
		dec, err := simplifiedchinese.GB18030.NewDecoder().Bytes(body)
		if err != nil {
			return nil, fmt.Errorf("%w: transcode undeclared GB18030: %v", errMalformed, err)
		}
		body = dec
	}
	d := xml.NewDecoder(bytes.NewReader(body))
	d.CharsetReader = charsetReader
	var m message
	if err := d.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: %v", errMalformed, err)
	}
	if !rootElements[m.XMLName.Local] {
		return nil, fmt.Errorf("%w: root element %q", errMalformed, m.XMLName.Local)
	}
	m.CmdType = strings.TrimSpace(m.CmdType)
	if m.CmdType == "" {
		return nil, fmt.Errorf("%w: no CmdType", errMalformed)
	}
	m.DeviceID = strings.TrimSpace(m.DeviceID)
	return &m, nil
}

// charsetReader is the xml.Decoder's CharsetReader: it is asked only for
// labels other than UTF-8.
func charsetReader(label string, in io.Reader) (io.Reader, error) {
	switch strings.ToLower(strings.TrimSpace(label)) {
	case "gb2312", "gbk", "gb18030", "cp936", "euc-cn", "x-gbk", "csgb2312", "gb_2312-80":
		return simplifiedchinese.GB18030.NewDecoder().Reader(in), nil
	case "us-ascii", "ascii", "utf8":
		return in, nil
	}
	return nil, fmt.Errorf("unsupported XML encoding %q", label)
}

func isUTF8Label(label string) bool {
	l := strings.ToLower(label)
	return l == "utf-8" || l == "utf8"
}

// declaredEncoding returns the encoding named in the XML declaration, or "".
func declaredEncoding(body []byte) string {
	b := bytes.TrimLeft(body, " \t\r\n")
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	if !bytes.HasPrefix(b, []byte("<?xml")) {
		return ""
	}
	end := bytes.Index(b, []byte("?>"))
	if end < 0 {
		return ""
	}
	decl := b[:end]
	i := bytes.Index(decl, []byte("encoding"))
	if i < 0 {
		return ""
	}
	rest := bytes.TrimLeft(decl[i+len("encoding"):], " \t\r\n")
	if len(rest) == 0 || rest[0] != '=' {
		return ""
	}
	rest = bytes.TrimLeft(rest[1:], " \t\r\n")
	if len(rest) == 0 || (rest[0] != '"' && rest[0] != '\'') {
		return ""
	}
	q := rest[0]
	rest = rest[1:]
	j := bytes.IndexByte(rest, q)
	if j < 0 {
		return ""
	}
	return string(rest[:j])
}

// parseInt reads a small decimal field; "" or garbage gives 0.
func parseInt(s string) int {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 || n > math.MaxInt32 {
		return 0
	}
	return n
}

// parsePosition reads a longitude/latitude pair. It reports false unless both
// are finite, in range and non-zero (devices send 0 or 0.0 for "unknown").
func parsePosition(lngText, latText string) (lng, lat float64, ok bool) {
	lng, err1 := strconv.ParseFloat(strings.TrimSpace(lngText), 64)
	lat, err2 := strconv.ParseFloat(strings.TrimSpace(latText), 64)
	if err1 != nil || err2 != nil {
		return 0, 0, false
	}
	if math.IsNaN(lng) || math.IsNaN(lat) || math.IsInf(lng, 0) || math.IsInf(lat, 0) {
		return 0, 0, false
	}
	if lng == 0 || lat == 0 || lng < -180 || lng > 180 || lat < -90 || lat > 90 {
		return 0, 0, false
	}
	return lng, lat, true
}

// timeLayouts are the forms of GB/T 28181 times seen in the field: the
// standard's local "2006-01-02T15:04:05" with or without fractions, and a
// space instead of the T.
var timeLayouts = []string{
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
}

// parseLocalTime reads a zone-less GB/T 28181 time in loc.
func parseLocalTime(s string, loc *time.Location) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, layout := range timeLayouts {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// xmlText escapes s for an XML text node.
func xmlText(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// catalogQuery is the body of a catalog query to a device.
func catalogQuery(sn uint32, deviceID string) []byte {
	return fmt.Appendf(nil, "<?xml version=\"1.0\" encoding=\"GB2312\"?>\r\n<Query>\r\n<CmdType>Catalog</CmdType>\r\n<SN>%d</SN>\r\n<DeviceID>%s</DeviceID>\r\n</Query>\r\n",
		sn, xmlText(deviceID))
}

// alarmResponse is the body acknowledging an alarm notification.
func alarmResponse(sn int, deviceID string) []byte {
	return fmt.Appendf(nil, "<?xml version=\"1.0\" encoding=\"GB2312\"?>\r\n<Response>\r\n<CmdType>Alarm</CmdType>\r\n<SN>%d</SN>\r\n<DeviceID>%s</DeviceID>\r\n<Result>OK</Result>\r\n</Response>\r\n",
		sn, xmlText(deviceID))
}
