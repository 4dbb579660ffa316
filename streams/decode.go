package streams

// Validating decoders for the JSON inputs of the wire contract (docs/api.md): the
// roster, fixes, alerts, camera events and operator commands. Every decoder returns
// either a complete, valid engine event or an *Error naming the offending field; a
// decoded event never needs checking again. Ingest may use the wall clock, so the
// decoders that read times take now and accept only times within
// [now-MaxPast, now+MaxFuture].

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"commandd/dispatch"
	"commandd/geo"
)

// The limits the decoders enforce.
const (
	// MaxFuture is how far after now a sender's time may be (clock skew).
	MaxFuture = 5 * time.Minute
	// MaxPast is how far before now a sender's time may be (buffered fixes).
	MaxPast = 7 * 24 * time.Hour
	// MaxString is the longest string field accepted, in bytes.
	MaxString = 4 << 10
	// MaxUnitID is the longest unit or camera id, in bytes.
	MaxUnitID = 64
	// MaxEventID is the longest alert, camera event or incident id, in bytes.
	MaxEventID = 128
	// MaxSpeed is the bound (exclusive) on a fix's speed in m/s (432 km/h).
	MaxSpeed = 120.0
	// MaxTier is the highest response tier a command may name.
	MaxTier = 8
)

// parallelFixes is the batch size above which DecodeFixes splits its work across
// goroutines; below it the goroutines cost more than they save.
const parallelFixes = 256

// ItemError reports one rejected item of a batch by its index (0-based, counting
// items: array elements, or non-blank NDJSON lines).
type ItemError struct {
	Index int    `json:"index"`
	Error *Error `json:"error"`
}

// WireTime is a time in a JSON body: RFC 3339 with any zone, or Unix milliseconds as
// a JSON number (fractions of a millisecond are kept). It is normalised to UTC. A
// missing or null value leaves Set false. It marshals as RFC 3339 UTC with
// milliseconds.
type WireTime struct {
	T   time.Time
	Set bool
}

// wireTimeError is the error of a time in the wrong form. The decoders know which
// field holds the time of their body and name it.
type wireTimeError struct{ msg string }

func (e *wireTimeError) Error() string { return e.msg }

// UnmarshalJSON implements json.Unmarshaler.
func (w *WireTime) UnmarshalJSON(b []byte) error {
	if len(b) == 0 || string(b) == "null" {
		return nil
	}
	if b[0] == '"' {
		var s string
		if bytes.IndexByte(b, '\\') < 0 && len(b) >= 2 {
			s = string(b[1 : len(b)-1])
		} else if err := json.Unmarshal(b, &s); err != nil {
			return &wireTimeError{"must be RFC 3339 or Unix milliseconds"}
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return &wireTimeError{fmt.Sprintf("must be RFC 3339 or Unix milliseconds, not %q", clipMsg(s, 40))}
		}
		w.T, w.Set = t.UTC(), true
		return nil
	}
	if b[0] == '-' || (b[0] >= '0' && b[0] <= '9') {
		t, ok := unixTime(string(b), time.Millisecond)
		if !ok {
			return &wireTimeError{"out of range"}
		}
		w.T, w.Set = t, true
		return nil
	}
	return &wireTimeError{"must be RFC 3339 or Unix milliseconds"}
}

// MarshalJSON implements json.Marshaler: RFC 3339 UTC with milliseconds, or null.
func (w WireTime) MarshalJSON() ([]byte, error) {
	if !w.Set {
		return []byte("null"), nil
	}
	return dispatch.Millis{Time: w.T}.MarshalJSON()
}

// Resolve returns the time, or now when it was not given, checked against the
// window around now; field names the time in errors.
// Times are kept to the millisecond, the precision the contract emits.
func (w WireTime) Resolve(now time.Time, field string) (time.Time, *Error) {
	if !w.Set {
		return stamp(now), nil
	}
	t := w.T.Truncate(time.Millisecond)
	return t, CheckTime(t, now, field)
}

// CheckTime rejects a sender's time more than MaxFuture after now or more than
// MaxPast before it.
func CheckTime(t, now time.Time, field string) *Error {
	if t.After(now.Add(MaxFuture)) {
		return Invalid(field, "%s is more than %v in the future", field, MaxFuture)
	}
	if t.Before(now.Add(-MaxPast)) {
		return Invalid(field, "%s is more than 7 days in the past", field)
	}
	return nil
}

// unixTime reads a decimal number of units since the Unix epoch (an integer, or a
// fraction which is kept to the nanosecond). Magnitudes beyond ±10^15 ms (year
// ~33000) are refused.
func unixTime(s string, unit time.Duration) (time.Time, bool) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) >= 1e15*float64(time.Millisecond)/float64(unit) {
		return time.Time{}, false
	}
	var whole int64
	var frac float64
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		whole = n
	} else {
		w := math.Floor(f)
		whole, frac = int64(w), f-w
	}
	per := int64(time.Second / unit)
	t := time.Unix(whole/per, (whole%per)*int64(unit))
	return t.Add(time.Duration(math.Round(frac * float64(unit)))).UTC(), true
}

// checkWireID validates an id chosen by a sender: non-empty, at most max bytes, UTF-8,
// printable, no spaces; path ids (units, cameras: they appear in URLs) also no '/'.
func checkWireID(field, id string, max int, path bool) *Error {
	if id == "" {
		return Invalid(field, "%s is required", field)
	}
	if len(id) > max {
		return Invalid(field, "%s is longer than %d bytes", field, max)
	}
	if !utf8.ValidString(id) {
		return Invalid(field, "%s is not valid UTF-8", field)
	}
	for _, r := range id {
		if r == ' ' || !unicode.IsPrint(r) {
			return Invalid(field, "%s may not contain spaces or control characters", field)
		}
		if path && r == '/' {
			return Invalid(field, "%s may not contain '/'", field)
		}
	}
	return nil
}

// checkStrings rejects strings longer than MaxString. Pairs are field, value.
func checkStrings(pairs ...string) *Error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if len(pairs[i+1]) > MaxString {
			return Invalid(pairs[i], "%s is longer than %d bytes", pairs[i], MaxString)
		}
	}
	return nil
}

// checkLatLng validates a position; NaN marks a missing coordinate.
func checkLatLng(lat, lng float64, latField, lngField string) *Error {
	switch {
	case math.IsNaN(lat):
		return Invalid(latField, "%s is required", latField)
	case math.IsNaN(lng):
		return Invalid(lngField, "%s is required", lngField)
	case math.IsInf(lat, 0) || lat < -90 || lat > 90:
		return Invalid(latField, "%s out of range", latField)
	case math.IsInf(lng, 0) || lng < -180 || lng > 180:
		return Invalid(lngField, "%s out of range", lngField)
	}
	return nil
}

// checkHeading validates a compass heading in [0, 360).
func checkHeading(h float64, field string) *Error {
	if !(h >= 0 && h < 360) {
		return Invalid(field, "%s out of range [0, 360)", field)
	}
	return nil
}

// checkInt validates a number that must be a whole number in [lo, hi]; NaN marks a
// missing value.
func checkInt(v float64, lo, hi int, field string) (int, *Error) {
	if math.IsNaN(v) {
		return 0, Invalid(field, "%s is required", field)
	}
	if v != math.Trunc(v) || v < float64(lo) || v > float64(hi) {
		return 0, Invalid(field, "%s must be a whole number from %d to %d", field, lo, hi)
	}
	return int(v), nil
}

// placeCell is the cell of a valid position at geo.DefaultRes.
func placeCell(lat, lng float64, field string) (geo.Cell, *Error) {
	c, err := geo.CellOf(geo.Point{Lat: lat, Lng: lng}, geo.DefaultRes)
	if err != nil {
		return 0, Invalid(field, "cannot place %.6f,%.6f on the grid", lat, lng)
	}
	return c, nil
}

// missingNum is the marker of a missing number: JSON cannot carry NaN, so a float that is
// still NaN after decoding was absent (or null).
var missingNum = math.NaN()

// jsonError turns an encoding/json error into a contract error. timeField names the
// field that holds the body's WireTime; what names the body ("fix", "body").
func jsonError(err error, timeField, what string) *Error {
	var te *wireTimeError
	var ue *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		return Invalid(timeField, "%s %s", timeField, te.msg)
	case errors.As(err, &ue):
		if ue.Field == "" {
			return Invalid("", "%s must be a JSON object", what)
		}
		if len(ue.Value) > 7 && ue.Value[:7] == "number " && wantedKind(ue.Type) == "a number" {
			return Invalid(ue.Field, "%s is not a valid number", ue.Field)
		}
		return Invalid(ue.Field, "%s must be %s, not %s", ue.Field, wantedKind(ue.Type), jsonKind(ue.Value))
	case errors.As(err, &se):
		return Invalid("", "malformed JSON at byte %d: %s", se.Offset, se.Error())
	}
	return Invalid("", "malformed JSON: %s", err.Error())
}

// wantedKind describes the JSON type a Go type wants.
func wantedKind(t reflect.Type) string {
	if t == nil {
		return "a value of another type"
	}
	switch t.Kind() {
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	}
	return "a value of another type"
}

// jsonKind names a JSON value kind as encoding/json reports it ("number 1.5").
func jsonKind(v string) string {
	v, _, _ = strings.Cut(v, " ")
	switch v {
	case "string", "number", "bool":
		return "a " + v
	case "array", "object":
		return "an " + v
	case "":
		return "this"
	}
	return v
}

// clipMsg shortens s for an error message.
func clipMsg(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// trimJSONSpace trims JSON whitespace and a UTF-8 byte order mark.
func trimJSONSpace(b []byte) []byte {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	for len(b) > 0 && isJSONSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isJSONSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// isJSONSpace reports whether c is JSON whitespace.
func isJSONSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n'
}

// decodeObject decodes a body that must be one JSON object into v. Unknown fields
// are ignored.
func decodeObject(body []byte, v any, timeField string) *Error {
	b := trimJSONSpace(body)
	if len(b) == 0 {
		return Invalid("", "empty body: expected a JSON object")
	}
	if b[0] != '{' {
		return Invalid("", "body must be a JSON object")
	}
	if err := json.Unmarshal(b, v); err != nil {
		return jsonError(err, timeField, "body")
	}
	return nil
}

// unitBody is the body of PUT /api/v1/units/{id}.
type unitBody struct {
	Callsign string `json:"callsign"`
	Force    string `json:"force"`
	Mode     string `json:"mode"`
	Status   string `json:"status"`
	// Secret is the device secret an OsmAnd client may present instead of a token.
	Secret *string `json:"secret"`
	// Terminal is the unit's JT/T 808 terminal phone number (absent: kept).
	Terminal *string `json:"terminal"`
}

// Device secrets are long enough not to be guessed, short enough for a URL.
const (
	minDeviceSecret = 16
	maxDeviceSecret = 128
)

// DecodeUnit reads the body of PUT /api/v1/units/{id}. Force and mode are required;
// status defaults to available. T is now.
func DecodeUnit(id string, body []byte, now time.Time) (*dispatch.UnitUpserted, *Error) {
	if err := checkWireID("id", id, MaxUnitID, true); err != nil {
		return nil, err
	}
	var in unitBody
	if err := decodeObject(body, &in, "t"); err != nil {
		return nil, err
	}
	if err := checkStrings("callsign", in.Callsign, "force", in.Force, "mode", in.Mode, "status", in.Status); err != nil {
		return nil, err
	}
	ev := &dispatch.UnitUpserted{T: stamp(now), ID: id, Callsign: in.Callsign, Status: dispatch.Available}
	if in.Force == "" {
		return nil, Invalid("force", "force is required (police, patrol, volunteer or guard)")
	}
	f, err := dispatch.ParseForce(in.Force)
	if err != nil {
		return nil, Invalid("force", "unknown force %q (want police, patrol, volunteer or guard)", clipMsg(in.Force, 40))
	}
	ev.Force = f
	if in.Mode == "" {
		return nil, Invalid("mode", "mode is required (car, motorbike, bike or foot)")
	}
	m, err := geo.ParseMode(in.Mode)
	if err != nil {
		return nil, Invalid("mode", "unknown mode %q (want car, motorbike, bike or foot)", clipMsg(in.Mode, 40))
	}
	ev.Mode = m
	if in.Status != "" {
		s, err := dispatch.ParseStatus(in.Status)
		if err != nil {
			return nil, Invalid("status", "unknown status %q", clipMsg(in.Status, 40))
		}
		ev.Status = s
	}
	if in.Secret != nil {
		if n := len(*in.Secret); n < minDeviceSecret || n > maxDeviceSecret || strings.ContainsAny(*in.Secret, " &#?%+") {
			return nil, Invalid("secret", "a device secret is %d to %d characters, without spaces or & # ? %% +", minDeviceSecret, maxDeviceSecret)
		}
		ev.Secret = tokenHash(*in.Secret)
	}
	if in.Terminal != nil {
		t, err := checkTerminal(*in.Terminal)
		if err != nil {
			return nil, err
		}
		ev.Terminal = t
	}
	return ev, nil
}

// cameraBody is the body of PUT /api/v1/cameras/{id}.
type cameraBody struct {
	Lat     float64 `json:"lat"`
	Lng     float64 `json:"lng"`
	Name    string  `json:"name"`
	Heading float64 `json:"heading"`
}

// DecodeCamera reads the body of PUT /api/v1/cameras/{id} and places the camera on
// the grid. Lat and lng are required; heading is optional, in [0, 360). T is now.
func DecodeCamera(id string, body []byte, now time.Time) (*dispatch.CameraUpserted, *Error) {
	if err := checkWireID("id", id, MaxUnitID, true); err != nil {
		return nil, err
	}
	in := cameraBody{Lat: missingNum, Lng: missingNum}
	if err := decodeObject(body, &in, "t"); err != nil {
		return nil, err
	}
	if err := checkLatLng(in.Lat, in.Lng, "lat", "lng"); err != nil {
		return nil, err
	}
	if err := checkHeading(in.Heading, "heading"); err != nil {
		return nil, err
	}
	if err := checkStrings("name", in.Name); err != nil {
		return nil, err
	}
	c, err := placeCell(in.Lat, in.Lng, "lat")
	if err != nil {
		return nil, err
	}
	return &dispatch.CameraUpserted{T: stamp(now), ID: id, Name: in.Name, Lat: in.Lat, Lng: in.Lng, Cell: c, Heading: in.Heading}, nil
}

// fixBody is one fix on the wire.
type fixBody struct {
	Unit     string   `json:"unit"`
	T        WireTime `json:"t"`
	Lat      float64  `json:"lat"`
	Lng      float64  `json:"lng"`
	Speed    float64  `json:"speed"`
	Heading  float64  `json:"heading"`
	Accuracy float64  `json:"accuracy"`
}

// fixItem is one item of a batch: its bytes and, for NDJSON, its line (1-based).
type fixItem struct {
	raw  []byte
	line int
}

// DecodeFixes reads the body of POST /api/v1/fixes: a JSON array of fix objects, or
// NDJSON (one object per line, blank lines ignored), told apart by a first
// non-space byte '['. A bad fix is reported in rejected by its index and the others
// are accepted, in the order sent, each with its cell at geo.DefaultRes. The whole
// request fails (err) when the body is empty or not well-formed JSON (in NDJSON: any
// line that is not a well-formed JSON object), or with too_large when it holds more
// than maxItems items (maxItems ≤ 0: no limit).
func DecodeFixes(body []byte, now time.Time, maxItems int) (fixes []dispatch.Fix, rejected []ItemError, err *Error) {
	return decodeFixes(body, now, maxItems, "")
}

// decodeFixes is DecodeFixes where a fix without a unit is unit's (a unit's own
// terminal may leave it out); unit "" requires it.
func decodeFixes(body []byte, now time.Time, maxItems int, unit string) (fixes []dispatch.Fix, rejected []ItemError, err *Error) {
	items, err := splitFixes(body, maxItems)
	if err != nil {
		return nil, nil, err
	}
	out := make([]dispatch.Fix, len(items))
	errs := make([]*Error, len(items))
	fatal := make([]bool, len(items))
	work := func(lo, hi int) {
		for i := lo; i < hi; i++ {
			errs[i], fatal[i] = decodeFix(items[i].raw, now, unit, &out[i])
		}
	}
	if n := len(items); n > parallelFixes {
		workers := min(runtime.GOMAXPROCS(0), (n+parallelFixes-1)/parallelFixes)
		chunk := (n + workers - 1) / workers
		var wg sync.WaitGroup
		for lo := 0; lo < n; lo += chunk {
			wg.Go(func() { work(lo, min(lo+chunk, n)) })
		}
		wg.Wait()
	} else {
		work(0, n)
	}
	fixes = out[:0]
	for i := range items {
		switch {
		case fatal[i]:
			return nil, nil, Invalid("", "line %d: %s", items[i].line, errs[i].Message)
		case errs[i] != nil:
			rejected = append(rejected, ItemError{Index: i, Error: errs[i]})
		default:
			fixes = append(fixes, out[i])
		}
	}
	return fixes, rejected, nil
}

// splitFixes cuts a fixes body into items, checking its top-level form and size.
func splitFixes(body []byte, maxItems int) ([]fixItem, *Error) {
	b := trimJSONSpace(body)
	if len(b) == 0 {
		return nil, Invalid("", "empty body: expected a JSON array or NDJSON of fixes")
	}
	tooMany := func() *Error {
		return Errorf("too_large", "", "more than %d fixes in one request", maxItems)
	}
	if b[0] == '[' {
		var raws []json.RawMessage
		if err := json.Unmarshal(b, &raws); err != nil {
			var se *json.SyntaxError
			if errors.As(err, &se) {
				return nil, Invalid("", "malformed JSON array at byte %d: %s", se.Offset, se.Error())
			}
			return nil, Invalid("", "malformed JSON array: %s", err.Error())
		}
		if maxItems > 0 && len(raws) > maxItems {
			return nil, tooMany()
		}
		items := make([]fixItem, len(raws))
		for i, r := range raws {
			items[i] = fixItem{raw: r}
		}
		return items, nil
	}
	items := make([]fixItem, 0, bytes.Count(b, []byte{'\n'})+1)
	for line := 1; len(b) > 0; line++ {
		var l []byte
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			l, b = b[:i], b[i+1:]
		} else {
			l, b = b, nil
		}
		l = trimJSONSpace(l)
		if len(l) == 0 {
			continue
		}
		if l[0] != '{' {
			return nil, Invalid("", "line %d: expected a JSON object (or a JSON array as the whole body)", line)
		}
		if maxItems > 0 && len(items) == maxItems {
			return nil, tooMany()
		}
		items = append(items, fixItem{raw: l, line: line})
	}
	return items, nil
}

// decodeFix decodes and validates one fix into f. fatal reports malformed JSON,
// which in NDJSON sinks the whole request.
func decodeFix(raw []byte, now time.Time, unit string, f *dispatch.Fix) (err *Error, fatal bool) {
	raw = trimJSONSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return Invalid("", "fix must be a JSON object"), false
	}
	in := fixBody{Lat: missingNum, Lng: missingNum}
	if !scanFix(raw, &in) {
		in = fixBody{Lat: missingNum, Lng: missingNum}
		if e := json.Unmarshal(raw, &in); e != nil {
			var se *json.SyntaxError
			if errors.As(e, &se) {
				return Invalid("", "malformed JSON at byte %d: %s", se.Offset, se.Error()), true
			}
			return jsonError(e, "t", "fix"), false
		}
	}
	if in.Unit == "" {
		in.Unit = unit
	}
	if err := checkWireID("unit", in.Unit, MaxUnitID, true); err != nil {
		return err, false
	}
	t, err := in.T.Resolve(now, "t")
	if err != nil {
		return err, false
	}
	if err := checkLatLng(in.Lat, in.Lng, "lat", "lng"); err != nil {
		return err, false
	}
	if !(in.Speed >= 0 && in.Speed < MaxSpeed) {
		return Invalid("speed", "speed out of range [0, %g) m/s", MaxSpeed), false
	}
	if err := checkHeading(in.Heading, "heading"); err != nil {
		return err, false
	}
	if !(in.Accuracy >= 0) {
		return Invalid("accuracy", "accuracy must not be negative"), false
	}
	c, err := placeCell(in.Lat, in.Lng, "lat")
	if err != nil {
		return err, false
	}
	*f = dispatch.Fix{Unit: in.Unit, T: t, Lat: in.Lat, Lng: in.Lng, Cell: c, Speed: in.Speed, Heading: in.Heading, Accuracy: in.Accuracy}
	return nil, false
}

// alertBody is a 110 alert on the wire.
type alertBody struct {
	ID       string   `json:"id"`
	T        WireTime `json:"t"`
	Lat      float64  `json:"lat"`
	Lng      float64  `json:"lng"`
	Address  string   `json:"address"`
	Category string   `json:"category"`
	Priority float64  `json:"priority"`
	Caller   string   `json:"caller"`
	Text     string   `json:"text"`
}

// DecodeAlert reads the body of POST /api/v1/alerts and places the alert on the grid.
// Id, lat, lng, category and priority (1–4) are required; a missing t is now.
func DecodeAlert(body []byte, now time.Time) (*dispatch.AlertReceived, *Error) {
	in := alertBody{Lat: missingNum, Lng: missingNum, Priority: missingNum}
	if err := decodeObject(body, &in, "t"); err != nil {
		return nil, err
	}
	if err := checkWireID("id", in.ID, MaxEventID, false); err != nil {
		return nil, err
	}
	t, err := in.T.Resolve(now, "t")
	if err != nil {
		return nil, err
	}
	if err := checkLatLng(in.Lat, in.Lng, "lat", "lng"); err != nil {
		return nil, err
	}
	if err := checkStrings("address", in.Address, "category", in.Category, "caller", in.Caller, "text", in.Text); err != nil {
		return nil, err
	}
	if in.Category == "" {
		return nil, Invalid("category", "category is required")
	}
	cat, perr := dispatch.ParseCategory(in.Category)
	if perr != nil {
		return nil, Invalid("category", "unknown category %q", clipMsg(in.Category, 40))
	}
	prio, err := checkInt(in.Priority, 1, 4, "priority")
	if err != nil {
		return nil, err
	}
	c, err := placeCell(in.Lat, in.Lng, "lat")
	if err != nil {
		return nil, err
	}
	return &dispatch.AlertReceived{ID: in.ID, T: t, Lat: in.Lat, Lng: in.Lng, Cell: c, Address: in.Address,
		Category: cat, Priority: prio, Caller: in.Caller, Text: in.Text}, nil
}

// cameraEventBody is a camera analytics alarm on the wire.
type cameraEventBody struct {
	ID         string   `json:"id"`
	Camera     string   `json:"camera"`
	T          WireTime `json:"t"`
	Type       string   `json:"type"`
	Confidence float64  `json:"confidence"`
	Snapshot   string   `json:"snapshot"`
}

// DecodeCameraEvent reads the body of POST /api/v1/camera-events. Id, camera, type and
// confidence (in [0, 1]) are required; a missing t is now; snapshot, when given, must
// be an http(s) URL.
func DecodeCameraEvent(body []byte, now time.Time) (*dispatch.CameraEventReceived, *Error) {
	in := cameraEventBody{Confidence: missingNum}
	if err := decodeObject(body, &in, "t"); err != nil {
		return nil, err
	}
	if err := checkWireID("id", in.ID, MaxEventID, false); err != nil {
		return nil, err
	}
	if err := checkWireID("camera", in.Camera, MaxUnitID, true); err != nil {
		return nil, err
	}
	t, err := in.T.Resolve(now, "t")
	if err != nil {
		return nil, err
	}
	if err := checkStrings("type", in.Type, "snapshot", in.Snapshot); err != nil {
		return nil, err
	}
	if in.Type == "" {
		return nil, Invalid("type", "type is required")
	}
	typ, perr := dispatch.ParseCameraEventType(in.Type)
	if perr != nil {
		var ok bool
		if typ, ok = onvifEventType(in.Type); !ok {
			return nil, Invalid("type", "unknown camera event type %q (want intrusion, tripwire, loitering, crowd, fight, fire, face_match, plate_match, other, or an ONVIF rule-engine topic)", clipMsg(in.Type, 60))
		}
	}
	if math.IsNaN(in.Confidence) {
		return nil, Invalid("confidence", "confidence is required")
	}
	if in.Confidence < 0 || in.Confidence > 1 {
		return nil, Invalid("confidence", "confidence out of range [0, 1]")
	}
	if in.Snapshot != "" {
		u, err := url.Parse(in.Snapshot)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, Invalid("snapshot", "snapshot must be an http or https URL")
		}
	}
	return &dispatch.CameraEventReceived{ID: in.ID, Camera: in.Camera, T: t, Type: typ, Confidence: in.Confidence, Snapshot: in.Snapshot}, nil
}

// DecodeAssign reads the body of POST /api/v1/incidents/{id}/assign: {"unit","tier"},
// tier 0–8 (0 or absent: the engine picks the first tier the unit may fill).
func DecodeAssign(incident string, body []byte, now time.Time, by string) (*dispatch.Assign, *Error) {
	if err := checkWireID("incident", incident, MaxEventID, true); err != nil {
		return nil, err
	}
	var in struct {
		Unit string  `json:"unit"`
		Tier float64 `json:"tier"`
	}
	if err := decodeObject(body, &in, "t"); err != nil {
		return nil, err
	}
	if err := checkWireID("unit", in.Unit, MaxUnitID, true); err != nil {
		return nil, err
	}
	tier, err := checkInt(in.Tier, 0, MaxTier, "tier")
	if err != nil {
		return nil, err
	}
	return &dispatch.Assign{T: stamp(now), Incident: incident, Unit: in.Unit, Tier: tier, By: by}, nil
}

// DecodeRelease reads the body of POST /api/v1/incidents/{id}/release: {"unit"}.
func DecodeRelease(incident string, body []byte, now time.Time, by string) (*dispatch.Release, *Error) {
	if err := checkWireID("incident", incident, MaxEventID, true); err != nil {
		return nil, err
	}
	var in struct {
		Unit string `json:"unit"`
	}
	if err := decodeObject(body, &in, "t"); err != nil {
		return nil, err
	}
	if err := checkWireID("unit", in.Unit, MaxUnitID, true); err != nil {
		return nil, err
	}
	return &dispatch.Release{T: stamp(now), Incident: incident, Unit: in.Unit, By: by}, nil
}

// DecodeClose reads the body of POST /api/v1/incidents/{id}/close: {"disposition"},
// optional; the body may be empty.
func DecodeClose(incident string, body []byte, now time.Time, by string) (*dispatch.Close, *Error) {
	if err := checkWireID("incident", incident, MaxEventID, true); err != nil {
		return nil, err
	}
	var in struct {
		Disposition string `json:"disposition"`
	}
	if len(trimJSONSpace(body)) > 0 {
		if err := decodeObject(body, &in, "t"); err != nil {
			return nil, err
		}
	}
	if err := checkStrings("disposition", in.Disposition); err != nil {
		return nil, err
	}
	return &dispatch.Close{T: stamp(now), Incident: incident, Disposition: in.Disposition, By: by}, nil
}

// DecodeNote reads the body of POST /api/v1/incidents/{id}/notes: {"text"}, required,
// trimmed, 1 to dispatch.MaxNoteLength characters.
func DecodeNote(incident string, body []byte, now time.Time, by string) (*dispatch.Note, *Error) {
	if err := checkWireID("incident", incident, MaxEventID, true); err != nil {
		return nil, err
	}
	var in struct {
		Text *string `json:"text"`
	}
	if err := decodeObject(body, &in, "t"); err != nil {
		return nil, err
	}
	if in.Text == nil {
		return nil, Invalid("text", "text is required")
	}
	text, ok := dispatch.NoteText(*in.Text)
	if !ok {
		if text == "" {
			return nil, Invalid("text", "text is empty")
		}
		return nil, Invalid("text", "text is longer than %d characters", dispatch.MaxNoteLength)
	}
	return &dispatch.Note{T: stamp(now), Incident: incident, Text: text, By: by}, nil
}

// DecodeStatus reads the body of POST /api/v1/units/{id}/status (and a handheld's
// {"type":"status",…} message): {"status","incident"}; status is required.
func DecodeStatus(unit string, body []byte, now time.Time, by string) (*dispatch.SetStatus, *Error) {
	if err := checkWireID("unit", unit, MaxUnitID, true); err != nil {
		return nil, err
	}
	var in struct {
		Status   string `json:"status"`
		Incident string `json:"incident"`
	}
	if err := decodeObject(body, &in, "t"); err != nil {
		return nil, err
	}
	if err := checkStrings("status", in.Status); err != nil {
		return nil, err
	}
	if in.Status == "" {
		return nil, Invalid("status", "status is required")
	}
	st, perr := dispatch.ParseStatus(in.Status)
	if perr != nil {
		return nil, Invalid("status", "unknown status %q", clipMsg(in.Status, 40))
	}
	if in.Incident != "" {
		if err := checkWireID("incident", in.Incident, MaxEventID, true); err != nil {
			return nil, err
		}
	}
	return &dispatch.SetStatus{T: stamp(now), Unit: unit, Status: st, Incident: in.Incident, By: by}, nil
}

// stamp is the server's time for an event: UTC, to the millisecond the contract emits.
func stamp(now time.Time) time.Time { return now.UTC().Truncate(time.Millisecond) }
