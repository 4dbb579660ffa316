package streams

// The OsmAnd protocol as Traccar serves it (port 5055), spoken by the OsmAnd app,
// Traccar Client and many GPS gateways. Two forms reach the same decoder:
//
//   - the query form, GET or POST with form values:
//     ?id=123456&lat=60.0&lon=30.0&timestamp=1377177267&speed=10&bearing=90&altitude=12&accuracy=5&hdop=1.2&batt=87
//     (deviceid for id; location=lat,lon for lat and lon; heading for bearing; hacc
//     for accuracy). speed is in knots. timestamp is Unix seconds, Unix milliseconds
//     (told apart by size), or ISO 8601: RFC 3339 with a zone, or
//     "2014-06-04 09:10:11" / "2014-06-04T09:10:11" without one, taken as UTC.
//   - the JSON form of transistorsoft background-geolocation, which Traccar Client
//     (version 8 on) posts: {"device_id":"…","location":{"timestamp":"…","coords":
//     {"latitude","longitude","speed","heading","accuracy","altitude"},"battery":
//     {"level":0.79}}}. There speed is in m/s (the plugin reports the platform's
//     Location speed unchanged; Traccar's own decoder converts it from m/s to knots),
//     battery.level is a fraction 0–1, and -1 means unknown for speed, heading,
//     accuracy and battery.
//
// Device data is noisy, so unknowns and small oddities are normalised rather than
// refused: a negative speed, heading or accuracy means unknown and becomes 0, a
// heading is reduced modulo 360, a battery level outside 0–100 % becomes -1, and a
// malformed altitude, hdop or batt (which the engine never uses) is ignored. What
// cannot be trusted is refused: no id, no position, a position off the globe, a
// non-finite number, a speed of 120 m/s or more, a time outside the ingest window.

import (
	"encoding/json"
	"math"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	"commandd/dispatch"
	"commandd/geo"
)

// knot is one knot in m/s.
const knot = 1852.0 / 3600

// hdopMetres estimates horizontal accuracy from HDOP when a device sends no accuracy:
// HDOP times a typical civil GPS user-equivalent range error of about 5 m.
const hdopMetres = 5.0

// DeviceFix is a position report from a tracking device.
type DeviceFix struct {
	Device   string
	T        time.Time // UTC
	Lat, Lng float64
	Speed    float64 // m/s, 0 when unknown
	Heading  float64 // degrees [0, 360), 0 when unknown
	Altitude float64 // metres
	Accuracy float64 // metres, 0 when unknown
	Battery  float64 // percent, -1 unknown
}

// Fix is the engine's fix of the device's unit (Unit = Device), with its cell at
// geo.DefaultRes.
func (d DeviceFix) Fix() dispatch.Fix {
	f := dispatch.Fix{Unit: d.Device, T: d.T, Lat: d.Lat, Lng: d.Lng, Speed: d.Speed, Heading: d.Heading, Accuracy: d.Accuracy}
	if c, err := geo.CellOf(geo.Point{Lat: d.Lat, Lng: d.Lng}, geo.DefaultRes); err == nil {
		f.Cell = c
	}
	return f
}

// osmandNames are the field names one form uses, for error messages.
type osmandNames struct {
	id, lat, lng, t, speed, speedUnit string
	speedPerUnit                      float64 // m/s in one speedUnit
}

var (
	queryNames = osmandNames{id: "id", lat: "lat", lng: "lon", t: "timestamp", speed: "speed", speedUnit: "knots", speedPerUnit: knot}
	jsonNames  = osmandNames{id: "device_id", lat: "location.coords.latitude", lng: "location.coords.longitude",
		t: "location.timestamp", speed: "location.coords.speed", speedUnit: "m/s", speedPerUnit: 1}
)

// finish validates and normalises a decoded report. speed is in m/s already; a
// NaN lat or lng marks a missing position.
func (d *DeviceFix) finish(n osmandNames, now time.Time) *Error {
	if d.Device == "" {
		return Invalid(n.id, "missing device id (%s)", n.id)
	}
	if err := checkWireID(n.id, d.Device, MaxUnitID, true); err != nil {
		return err
	}
	if math.IsNaN(d.Lat) || math.IsNaN(d.Lng) {
		if n.id == "id" {
			return Invalid(n.lat, "missing position: give lat and lon, or location=lat,lon")
		}
		return Invalid(n.lat, "missing position: give location.coords.latitude and longitude")
	}
	if err := checkLatLng(d.Lat, d.Lng, n.lat, n.lng); err != nil {
		return err
	}
	if err := CheckTime(d.T, now, n.t); err != nil {
		return err
	}
	if d.Speed < 0 {
		d.Speed = 0
	}
	if d.Speed >= MaxSpeed {
		return Invalid(n.speed, "speed out of range (%g %s)", d.Speed/n.speedPerUnit, n.speedUnit)
	}
	if d.Heading < 0 {
		d.Heading = 0
	}
	d.Heading = math.Mod(d.Heading, 360)
	if d.Accuracy < 0 {
		d.Accuracy = 0
	}
	if !(d.Battery >= 0 && d.Battery <= 100) {
		d.Battery = -1
	}
	return nil
}

// queryNumber reads an optional finite number from a form; ok is false when absent.
func queryNumber(v url.Values, key string) (x float64, ok bool, err *Error) {
	s := strings.TrimSpace(v.Get(key))
	if s == "" {
		return 0, false, nil
	}
	x, perr := strconv.ParseFloat(s, 64)
	if perr != nil || math.IsNaN(x) || math.IsInf(x, 0) {
		return 0, false, Invalid(key, "%s is not a number: %q", key, clipMsg(s, 40))
	}
	return x, true, nil
}

// ParseOsmAndQuery reads the query form of the OsmAnd protocol (see the file comment).
// A missing timestamp is now.
func ParseOsmAndQuery(v url.Values, now time.Time) (DeviceFix, *Error) {
	d := DeviceFix{T: stamp(now), Lat: math.NaN(), Lng: math.NaN(), Battery: -1}
	d.Device = strings.TrimSpace(v.Get("id"))
	if d.Device == "" {
		d.Device = strings.TrimSpace(v.Get("deviceid"))
	}
	if d.Device == "" {
		return DeviceFix{}, Invalid("id", "missing device id (id or deviceid)")
	}
	if err := checkStrings("id", d.Device); err != nil {
		return DeviceFix{}, err
	}
	_, hasLat := v["lat"]
	_, hasLon := v["lon"]
	if hasLat || hasLon {
		var ok bool
		var err *Error
		if d.Lat, ok, err = queryNumber(v, "lat"); err != nil {
			return DeviceFix{}, err
		} else if !ok {
			return DeviceFix{}, Invalid("lat", "lat is required with lon")
		}
		if d.Lng, ok, err = queryNumber(v, "lon"); err != nil {
			return DeviceFix{}, err
		} else if !ok {
			return DeviceFix{}, Invalid("lon", "lon is required with lat")
		}
	} else if loc := strings.TrimSpace(v.Get("location")); loc != "" {
		a, b, found := strings.Cut(loc, ",")
		lat, err1 := strconv.ParseFloat(strings.TrimSpace(a), 64)
		lng, err2 := strconv.ParseFloat(strings.TrimSpace(b), 64)
		if !found || err1 != nil || err2 != nil || math.IsNaN(lat) || math.IsNaN(lng) {
			return DeviceFix{}, Invalid("location", "location must be lat,lon, not %q", clipMsg(loc, 40))
		}
		d.Lat, d.Lng = lat, lng
		if err := checkLatLng(lat, lng, "location", "location"); err != nil {
			return DeviceFix{}, err
		}
	}
	if s := strings.TrimSpace(v.Get("timestamp")); s != "" {
		t, ok := parseDeviceTime(s)
		if !ok {
			return DeviceFix{}, Invalid("timestamp", "timestamp must be Unix seconds or milliseconds or ISO 8601, not %q", clipMsg(s, 40))
		}
		d.T = t
	}
	if x, ok, err := queryNumber(v, "speed"); err != nil {
		return DeviceFix{}, err
	} else if ok {
		d.Speed = x * knot
	}
	for _, key := range []string{"bearing", "heading"} {
		if x, ok, err := queryNumber(v, key); err != nil {
			return DeviceFix{}, err
		} else if ok {
			d.Heading = x
			break
		}
	}
	// Altitude, HDOP and battery never reach the engine's decisions, so a malformed
	// one is ignored rather than costing the position.
	if x, ok, err := queryNumber(v, "altitude"); err == nil && ok {
		d.Altitude = x
	}
	accuracy := false
	for _, key := range []string{"accuracy", "hacc"} {
		if x, ok, err := queryNumber(v, key); err != nil {
			return DeviceFix{}, err
		} else if ok {
			d.Accuracy, accuracy = x, true
			break
		}
	}
	if x, ok, err := queryNumber(v, "hdop"); err == nil && ok && !accuracy && x > 0 {
		d.Accuracy = x * hdopMetres
	}
	if x, ok, err := queryNumber(v, "batt"); err == nil && ok {
		d.Battery = x
	}
	if err := d.finish(queryNames, now); err != nil {
		return DeviceFix{}, err
	}
	return d, nil
}

// deviceTimeLayouts are the ISO 8601 forms devices send; those without a zone are UTC.
var deviceTimeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
}

// parseDeviceTime reads a device's timestamp: a decimal number of Unix seconds (below
// 10^11, i.e. before the year 5138) or milliseconds, or one of deviceTimeLayouts.
func parseDeviceTime(s string) (time.Time, bool) {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return time.Time{}, false
		}
		if math.Abs(f) < 1e11 {
			return unixTime(s, time.Second)
		}
		return unixTime(s, time.Millisecond)
	}
	for _, layout := range deviceTimeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// deviceID is a device id in JSON, sent as a string or a number.
type deviceID string

// UnmarshalJSON implements json.Unmarshaler.
func (d *deviceID) UnmarshalJSON(b []byte) error {
	switch {
	case string(b) == "null":
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*d = deviceID(strings.TrimSpace(s))
		return nil
	case len(b) > 0 && (b[0] == '-' || (b[0] >= '0' && b[0] <= '9')):
		*d = deviceID(b)
		return nil
	}
	kind := "value"
	if len(b) > 0 {
		kind = map[byte]string{'t': "bool", 'f': "bool", '[': "array", '{': "object"}[b[0]]
	}
	return &json.UnmarshalTypeError{Value: kind, Type: reflect.TypeFor[string]()}
}

// osmandBody is the JSON form (transistorsoft background-geolocation).
type osmandBody struct {
	DeviceID deviceID `json:"device_id"`
	Location struct {
		Timestamp WireTime `json:"timestamp"`
		Coords    struct {
			Latitude  float64 `json:"latitude"`
			Longitude float64 `json:"longitude"`
			Speed     float64 `json:"speed"`
			Heading   float64 `json:"heading"`
			Accuracy  float64 `json:"accuracy"`
			Altitude  float64 `json:"altitude"`
		} `json:"coords"`
		Battery struct {
			Level float64 `json:"level"`
		} `json:"battery"`
	} `json:"location"`
}

// ParseOsmAndJSON reads the JSON form of the OsmAnd protocol (see the file comment).
// Speed there is in m/s; a missing location.timestamp is now.
func ParseOsmAndJSON(body []byte, now time.Time) (DeviceFix, *Error) {
	var in osmandBody
	in.Location.Coords.Latitude, in.Location.Coords.Longitude = missingNum, missingNum
	in.Location.Battery.Level = missingNum
	if err := decodeObject(body, &in, "location.timestamp"); err != nil {
		return DeviceFix{}, err
	}
	if err := checkStrings("device_id", string(in.DeviceID)); err != nil {
		return DeviceFix{}, err
	}
	c := in.Location.Coords
	d := DeviceFix{Device: string(in.DeviceID), T: stamp(now), Lat: c.Latitude, Lng: c.Longitude,
		Speed: c.Speed, Heading: c.Heading, Altitude: c.Altitude, Accuracy: c.Accuracy, Battery: -1}
	if in.Location.Timestamp.Set {
		d.T = in.Location.Timestamp.T
	}
	switch level := in.Location.Battery.Level; {
	case level >= 0 && level <= 1:
		d.Battery = level * 100
	case level > 1 && level <= 100: // a percentage, as some senders give
		d.Battery = level
	}
	if err := d.finish(jsonNames, now); err != nil {
		return DeviceFix{}, err
	}
	return d, nil
}
