package streams

import (
	"bufio"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"commandd/geo"
)

// sampleLines reads a file of the shared Traccar protocol samples, skipping the test
// when the shared data is not there.
func sampleLines(t *testing.T, name string) []string {
	t.Helper()
	path := filepath.Join("..", "..", "shared", "data", "traccar_protocol_samples", name)
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		t.Skipf("no shared samples at %s", path)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			lines = append(lines, l)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

func osmNear(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// sameDeviceFix compares two reports, floats to 1e-9.
func sameDeviceFix(a, b DeviceFix) bool {
	return a.Device == b.Device && a.T.Equal(b.T) && a.T.Location() == time.UTC && osmNear(a.Lat, b.Lat) && osmNear(a.Lng, b.Lng) &&
		osmNear(a.Speed, b.Speed) && osmNear(a.Heading, b.Heading) && osmNear(a.Altitude, b.Altitude) &&
		osmNear(a.Accuracy, b.Accuracy) && osmNear(a.Battery, b.Battery)
}

// noTime marks a sample without a timestamp: it is taken at now.
var noTime = time.Time{}

func TestOsmAndQuerySamples(t *testing.T) {
	lines := sampleLines(t, "osmand_query_requests.txt")
	if len(lines) != 11 {
		t.Fatalf("%d query samples, want 11", len(lines))
	}
	type want struct {
		fix   DeviceFix // T zero: now
		field string    // non-empty: the sample must be rejected on this field
		msg   string
	}
	ts := time.Date(2013, 8, 22, 13, 14, 27, 0, time.UTC) // 1377177267
	wants := []want{
		{field: "lat", msg: "missing position"}, // cell towers and wifi only
		{field: "id", msg: "missing device id"}, // no id
		{fix: DeviceFix{Device: "902064", T: time.Date(2016, 1, 27, 18, 55, 47, 0, time.UTC), Lat: 42.06288, Lng: -88.23412,
			Altitude: 224, Accuracy: 6 * hdopMetres, Battery: -1}},
		{fix: DeviceFix{Device: "902064", T: time.Date(2015, 9, 12, 14, 38, 6, 579e6, time.UTC), Lat: 42.06288, Lng: -88.23412,
			Altitude: 224, Accuracy: 6 * hdopMetres, Battery: -1}},
		{fix: DeviceFix{Device: "353861053849681", T: time.Date(2014, 6, 4, 9, 10, 11, 0, time.UTC), Lat: 49.60688, Lng: 6.15788,
			Altitude: 384.7, Battery: -1}},
		{fix: DeviceFix{Device: "123456", T: ts, Lat: 60, Lng: 30, Battery: -1}},
		{fix: DeviceFix{Device: "123456", T: ts, Lat: 60, Lng: 30, Battery: -1}},
		{fix: DeviceFix{Device: "123456", T: noTime, Lat: 60, Lng: 30, Battery: -1}}, // deviceid=
		{fix: DeviceFix{Device: "861001000719969", T: noTime, Lat: 41.666667, Lng: -0.883333, Altitude: 350.059479, Battery: 87}},
		{fix: DeviceFix{Device: "123456", T: ts, Lat: 60, Lng: 30, Battery: -1}}, // location=60.0,30.0
		{fix: DeviceFix{Device: "123456789012345", T: time.Date(2017, 9, 7, 5, 56, 50, 0, time.UTC), Lat: 40.7232948571, Lng: -74.0061408571,
			Heading: 7.19889788244, Speed: 40 * 1852.0 / 3600, Battery: -1}},
	}
	wallClock := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	for i, line := range lines {
		w := wants[i]
		u, err := url.Parse(line)
		if err != nil {
			t.Fatalf("sample %d: %v", i+1, err)
		}
		// The samples are years old: put the server's clock a minute after each one.
		now := w.fix.T.Add(time.Minute)
		if w.fix.T.IsZero() {
			now = wallClock
			w.fix.T = wallClock
		}
		got, perr := ParseOsmAndQuery(u.Query(), now)
		if w.field != "" {
			if perr == nil {
				t.Errorf("sample %d %s: accepted %+v", i+1, line, got)
				continue
			}
			if perr.Code != "invalid_argument" || perr.Field != w.field || !strings.Contains(perr.Message, w.msg) {
				t.Errorf("sample %d: error %v, want %s on %q", i+1, perr, w.msg, w.field)
			}
			continue
		}
		if perr != nil {
			t.Errorf("sample %d %s: %v", i+1, line, perr)
			continue
		}
		if !sameDeviceFix(got, w.fix) {
			t.Errorf("sample %d %s:\n got %+v\nwant %+v", i+1, line, got, w.fix)
		}
		fx := got.Fix()
		if fx.Unit != w.fix.Device || fx.Cell != decCell(t, w.fix.Lat, w.fix.Lng) || !fx.T.Equal(w.fix.T) || fx.Speed != got.Speed {
			t.Errorf("sample %d: Fix() = %+v", i+1, fx)
		}
	}
	// The same samples against today's clock: every timestamped one is too old.
	u, _ := url.Parse(lines[2])
	if _, err := ParseOsmAndQuery(u.Query(), wallClock); err == nil || err.Field != "timestamp" || !strings.Contains(err.Message, "past") {
		t.Errorf("old sample: %v", err)
	}
}

func TestOsmAndJSONSamples(t *testing.T) {
	lines := sampleLines(t, "osmand_json_bodies.jsonl")
	if len(lines) != 4 {
		t.Fatalf("%d JSON samples, want 4", len(lines))
	}
	t1 := time.Date(2025, 6, 15, 13, 45, 12, 862e6, time.UTC)
	wants := []DeviceFix{
		// heading -1 (unknown) → 0; battery level 1 → 100 %.
		{Device: "48241179", T: t1, Lat: 37.4219983, Lng: -122.084, Accuracy: 5, Altitude: 5, Battery: 100},
		{Device: "48241179", T: t1, Lat: 37.4219983, Lng: -122.084, Accuracy: 5, Altitude: 5, Battery: 100},
		// speed -1, heading -1, battery -1: unknown.
		{Device: "658765", T: time.Date(2025, 5, 9, 4, 11, 30, 579e6, time.UTC), Lat: 37.785834000000001, Lng: -122.406417, Accuracy: 5, Battery: -1},
		// speed 18.67 m/s stays m/s; battery 0.79 → 79 %.
		{Device: "8737767034", T: time.Date(2021, 7, 21, 8, 6, 34, 444e6, time.UTC), Lat: -6.1148096, Lng: 106.6837015,
			Speed: 18.67, Heading: 63, Altitude: 35.7, Accuracy: 3.8, Battery: 79},
	}
	for i, line := range lines {
		got, err := ParseOsmAndJSON([]byte(line), wants[i].T.Add(2*time.Minute))
		if err != nil {
			t.Errorf("sample %d: %v", i+1, err)
			continue
		}
		if !sameDeviceFix(got, wants[i]) {
			t.Errorf("sample %d:\n got %+v\nwant %+v", i+1, got, wants[i])
		}
		if fx := got.Fix(); fx.Unit != wants[i].Device || fx.Cell != decCell(t, wants[i].Lat, wants[i].Lng) {
			t.Errorf("sample %d: Fix() = %+v", i+1, fx)
		}
	}
}

var osmNow = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func TestParseOsmAndQuery(t *testing.T) {
	q := func(s string) url.Values { v, _ := url.ParseQuery(s); return v }
	ok := []struct {
		name, query string
		want        DeviceFix
	}{
		{"seconds", "id=P-17&lat=24.5&lon=118.1&timestamp=1795341540", DeviceFix{Device: "P-17", T: osmNow.Add(-time.Minute), Lat: 24.5, Lng: 118.1, Battery: -1}},
		{"fractional seconds", "id=P&lat=1&lon=2&timestamp=1795341540.25", DeviceFix{Device: "P", T: osmNow.Add(-time.Minute + 250*time.Millisecond), Lat: 1, Lng: 2, Battery: -1}},
		{"milliseconds", "id=P&lat=1&lon=2&timestamp=1795341540123", DeviceFix{Device: "P", T: osmNow.Add(-time.Minute + 123*time.Millisecond), Lat: 1, Lng: 2, Battery: -1}},
		{"rfc3339 zone", "id=P&lat=1&lon=2&timestamp=2026-11-22T17:59:00%2B08:00", DeviceFix{Device: "P", T: osmNow.Add(-time.Minute), Lat: 1, Lng: 2, Battery: -1}},
		{"iso no zone", "id=P&lat=1&lon=2&timestamp=2026-11-22T09:59:00", DeviceFix{Device: "P", T: osmNow.Add(-time.Minute), Lat: 1, Lng: 2, Battery: -1}},
		{"space form", "id=P&lat=1&lon=2&timestamp=2026-11-22+09:59:00.5", DeviceFix{Device: "P", T: osmNow.Add(-59500 * time.Millisecond), Lat: 1, Lng: 2, Battery: -1}},
		{"no timestamp", "deviceid=P&lat=-90&lon=180", DeviceFix{Device: "P", T: osmNow, Lat: -90, Lng: 180, Battery: -1}},
		{"id wins over deviceid", "id=A&deviceid=B&lat=1&lon=2", DeviceFix{Device: "A", T: osmNow, Lat: 1, Lng: 2, Battery: -1}},
		{"knots", "id=P&lat=1&lon=2&speed=10&heading=90", DeviceFix{Device: "P", T: osmNow, Lat: 1, Lng: 2, Speed: 10 * knot, Heading: 90, Battery: -1}},
		{"bearing wraps", "id=P&lat=1&lon=2&bearing=360", DeviceFix{Device: "P", T: osmNow, Lat: 1, Lng: 2, Battery: -1}},
		{"unknowns", "id=P&lat=1&lon=2&speed=-1&bearing=-1&accuracy=-1&batt=-1", DeviceFix{Device: "P", T: osmNow, Lat: 1, Lng: 2, Battery: -1}},
		{"accuracy beats hdop", "id=P&lat=1&lon=2&accuracy=7&hdop=3", DeviceFix{Device: "P", T: osmNow, Lat: 1, Lng: 2, Accuracy: 7, Battery: -1}},
		{"hacc", "id=P&lat=1&lon=2&hacc=4", DeviceFix{Device: "P", T: osmNow, Lat: 1, Lng: 2, Accuracy: 4, Battery: -1}},
		{"hdop", "id=P&lat=1&lon=2&hdop=1.5", DeviceFix{Device: "P", T: osmNow, Lat: 1, Lng: 2, Accuracy: 1.5 * hdopMetres, Battery: -1}},
		{"battery", "id=P&lat=1&lon=2&batt=55.5&altitude=-12", DeviceFix{Device: "P", T: osmNow, Lat: 1, Lng: 2, Altitude: -12, Battery: 55.5}},
		{"battery over 100", "id=P&lat=1&lon=2&batt=250", DeviceFix{Device: "P", T: osmNow, Lat: 1, Lng: 2, Battery: -1}},
		{"bad extras ignored", "id=P&lat=1&lon=2&altitude=high&hdop=x&batt=full", DeviceFix{Device: "P", T: osmNow, Lat: 1, Lng: 2, Battery: -1}},
		{"location", "id=P&location=24.5,%20118.1", DeviceFix{Device: "P", T: osmNow, Lat: 24.5, Lng: 118.1, Battery: -1}},
	}
	for _, c := range ok {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseOsmAndQuery(q(c.query), osmNow)
			if err != nil {
				t.Fatal(err)
			}
			if !sameDeviceFix(got, c.want) {
				t.Fatalf("got %+v\nwant %+v", got, c.want)
			}
		})
	}
	bad := []struct{ name, query, field, msg string }{
		{"nothing", "", "id", "missing device id"},
		{"no position", "id=P&timestamp=1795341540", "lat", "missing position"},
		{"lat only", "id=P&lat=1", "lon", "lon is required"},
		{"lon only", "id=P&lon=1", "lat", "lat is required"},
		{"lat text", "id=P&lat=north&lon=1", "lat", "lat is not a number"},
		{"lat NaN", "id=P&lat=NaN&lon=1", "lat", "not a number"},
		{"lon Inf", "id=P&lat=1&lon=Inf", "lon", "not a number"},
		{"lat out of range", "id=P&lat=90.5&lon=1", "lat", "lat out of range"},
		{"lon out of range", "id=P&lat=1&lon=-180.1", "lon", "lon out of range"},
		{"location bad", "id=P&location=60.0", "location", "lat,lon"},
		{"location out of range", "id=P&location=60,190", "location", "out of range"},
		{"timestamp garbage", "id=P&lat=1&lon=2&timestamp=yesterday", "timestamp", "timestamp must be"},
		{"timestamp future", "id=P&lat=1&lon=2&timestamp=1795342000", "timestamp", "future"},
		{"timestamp old", "id=P&lat=1&lon=2&timestamp=1377177267", "timestamp", "past"},
		{"timestamp inf", "id=P&lat=1&lon=2&timestamp=inf", "timestamp", "timestamp must be"},
		{"speed too high", "id=P&lat=1&lon=2&speed=300", "speed", "300 knots"},
		{"speed text", "id=P&lat=1&lon=2&speed=fast", "speed", "not a number"},
		{"bearing text", "id=P&lat=1&lon=2&bearing=east", "bearing", "not a number"},
		{"accuracy text", "id=P&lat=1&lon=2&accuracy=good", "accuracy", "not a number"},
		{"id with slash", "id=a/b&lat=1&lon=2", "id", "'/'"},
		{"id too long", "id=" + strings.Repeat("9", 65) + "&lat=1&lon=2", "id", "64"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseOsmAndQuery(q(c.query), osmNow)
			if err == nil {
				t.Fatalf("accepted %+v", got)
			}
			wantDecErr(t, err, "invalid_argument", c.field, c.msg)
		})
	}
}

func TestParseOsmAndJSON(t *testing.T) {
	body := `{"device_id":17,"location":{"timestamp":1795341540000,"coords":{"latitude":24.5,"longitude":118.1,"speed":5,"heading":370,"accuracy":8,"altitude":3},"battery":{"level":45}}}`
	got, err := ParseOsmAndJSON([]byte(body), osmNow)
	if err != nil {
		t.Fatal(err)
	}
	want := DeviceFix{Device: "17", T: osmNow.Add(-time.Minute), Lat: 24.5, Lng: 118.1, Speed: 5, Heading: 10, Accuracy: 8, Altitude: 3, Battery: 45}
	if !sameDeviceFix(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	got, err = ParseOsmAndJSON([]byte(`{"device_id":"P","location":{"coords":{"latitude":1,"longitude":2}}}`), osmNow)
	if err != nil || !sameDeviceFix(got, DeviceFix{Device: "P", T: osmNow, Lat: 1, Lng: 2, Battery: -1}) {
		t.Fatalf("minimal: %+v %v", got, err)
	}
	for _, c := range []struct{ name, body, field, msg string }{
		{"empty", ``, "", "empty body"},
		{"malformed", `{"device_id":"P",`, "", "malformed JSON"},
		{"query string", `id=1&lat=2`, "", "JSON object"},
		{"no device", `{"location":{"coords":{"latitude":1,"longitude":2}}}`, "device_id", "missing device id"},
		{"device bool", `{"device_id":true,"location":{"coords":{"latitude":1,"longitude":2}}}`, "device_id", "device_id must be a string"},
		{"device slash", `{"device_id":"a/b","location":{"coords":{"latitude":1,"longitude":2}}}`, "device_id", "'/'"},
		{"no location", `{"device_id":"P"}`, "location.coords.latitude", "missing position"},
		{"location array", `{"device_id":"P","location":[{"coords":{"latitude":1,"longitude":2}}]}`, "location", "location must be an object, not an array"},
		{"no longitude", `{"device_id":"P","location":{"coords":{"latitude":1}}}`, "location.coords.latitude", "missing position"},
		{"latitude string", `{"device_id":"P","location":{"coords":{"latitude":"1","longitude":2}}}`, "location.coords.latitude", "must be a number"},
		{"latitude range", `{"device_id":"P","location":{"coords":{"latitude":100,"longitude":2}}}`, "location.coords.latitude", "out of range"},
		{"longitude range", `{"device_id":"P","location":{"coords":{"latitude":1,"longitude":-200}}}`, "location.coords.longitude", "out of range"},
		{"speed too high", `{"device_id":"P","location":{"coords":{"latitude":1,"longitude":2,"speed":150}}}`, "location.coords.speed", "150 m/s"},
		{"timestamp garbage", `{"device_id":"P","location":{"timestamp":"now","coords":{"latitude":1,"longitude":2}}}`, "location.timestamp", "RFC 3339"},
		{"timestamp old", `{"device_id":"P","location":{"timestamp":"2025-06-15T13:45:12.862Z","coords":{"latitude":1,"longitude":2}}}`, "location.timestamp", "past"},
		{"battery string", `{"device_id":"P","location":{"coords":{"latitude":1,"longitude":2},"battery":{"level":"full"}}}`, "location.battery.level", "must be a number"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseOsmAndJSON([]byte(c.body), osmNow)
			if err == nil {
				t.Fatalf("accepted %+v", got)
			}
			wantDecErr(t, err, "invalid_argument", c.field, c.msg)
		})
	}
}

// checkDeviceFix asserts that an accepted report is valid.
func checkDeviceFix(t *testing.T, d DeviceFix) {
	t.Helper()
	if d.Device == "" || checkWireID("id", d.Device, MaxUnitID, true) != nil {
		t.Fatalf("accepted device %q", d.Device)
	}
	if math.IsNaN(d.Altitude) || math.IsInf(d.Altitude, 0) || !(d.Battery == -1 || d.Battery >= 0 && d.Battery <= 100) {
		t.Fatalf("accepted %+v", d)
	}
	checkDecodedFix(t, d.Fix(), osmNow)
	if !(geo.Point{Lat: d.Lat, Lng: d.Lng}).Valid() {
		t.Fatalf("accepted %+v", d)
	}
}

func FuzzParseOsmAndQuery(f *testing.F) {
	f.Add("id=123456&timestamp=1795341540&lat=60.0&lon=30.0&speed=0.0&bearing=0.0&altitude=0&hdop=0.0")
	f.Add("id=902064&lat=42.06288&lon=-88.23412&timestamp=2026-11-22T09%3A55%3A47Z&hdop=6.0&altitude=224.0&speed=0.0")
	f.Add("lat=49.60688&lon=6.15788&timestamp=2026-11-22+09%3A10%3A11&altitude=384.7&speed=0.0&id=353861053849681")
	f.Add("id=861001000719969&lat=41.666667&lon=-0.883333&altitude=350.059479&speed=0.000000&batt=87")
	f.Add("id=123456&timestamp=1795341540000&location=60.0,30.0")
	f.Add("deviceid=1&lat=1&lon=2&speed=233&heading=-400&hacc=-1")
	f.Fuzz(func(t *testing.T, query string) {
		v, _ := url.ParseQuery(query)
		d, err := ParseOsmAndQuery(v, osmNow)
		if err != nil {
			if err.Code != "invalid_argument" || err.Message == "" {
				t.Fatalf("error %v", err)
			}
			return
		}
		checkDeviceFix(t, d)
	})
}

func FuzzParseOsmAndJSON(f *testing.F) {
	f.Add([]byte(`{"location":{"timestamp":"2026-11-22T09:58:12.862Z","coords":{"latitude":37.4219983,"longitude":-122.084,"accuracy":5,"speed":0,"heading":-1,"altitude":5},"battery":{"level":1,"is_charging":false}},"device_id":"48241179"}`))
	f.Add([]byte(`{"location":{"event":"motionchange","timestamp":1795341540000,"coords":{"latitude":-6.1148096,"longitude":106.6837015,"accuracy":3.8,"speed":18.67,"heading":63,"altitude":35.7},"battery":{"level":0.79}},"device_id":8737767034}`))
	f.Add([]byte(`{"device_id":"P","location":[{}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		d, err := ParseOsmAndJSON(body, osmNow)
		if err != nil {
			if err.Code != "invalid_argument" || err.Message == "" {
				t.Fatalf("error %v", err)
			}
			return
		}
		checkDeviceFix(t, d)
	})
}
