package streams

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"commandd/dispatch"
	"commandd/geo"
)

// decNow is the wall clock of the decoder tests.
var decNow = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// wantDecErr checks that err has the code and field wanted (and, when given, a message
// containing msg).
func wantDecErr(t *testing.T, err *Error, code, field, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s on %q", code, field)
	}
	if err.Code != code || err.Field != field {
		t.Fatalf("error %v (status %d), want %s on %q", err, err.Status, code, field)
	}
	if msg != "" && !strings.Contains(err.Message, msg) {
		t.Fatalf("message %q does not contain %q", err.Message, msg)
	}
	if err.Message == "" {
		t.Fatal("empty message")
	}
	if code == "invalid_argument" && err.Status != 400 || code == "too_large" && err.Status != 413 {
		t.Fatalf("status %d for %s", err.Status, code)
	}
}

func decCell(t testing.TB, lat, lng float64) geo.Cell {
	t.Helper()
	c, err := geo.CellOf(geo.Point{Lat: lat, Lng: lng}, geo.DefaultRes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type decErrCase struct {
	name, body, field, msg string
}

func TestWireTime(t *testing.T) {
	cases := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{`"2026-11-22T18:00:00+08:00"`, time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC), true},
		{`"2026-11-22T10:00:00Z"`, decNow, true},
		{`"2026-11-22T09:59:59.123456789-00:30"`, time.Date(2026, 11, 22, 10, 29, 59, 123456789, time.UTC), true},
		{`1795341600000`, time.UnixMilli(1795341600000).UTC(), true},
		{`1795341600000.5`, time.UnixMilli(1795341600000).Add(500 * time.Microsecond).UTC(), true},
		{`1.7953416e12`, time.UnixMilli(1795341600000).UTC(), true},
		{`-1000`, time.Unix(-1, 0).UTC(), true},
		{`"2026-11-22T10:00:00\u005a"`, decNow, true},
		{`"2026-11-22 10:00:00"`, time.Time{}, false},
		{`"1795341600000"`, time.Time{}, false},
		{`"yesterday"`, time.Time{}, false},
		{`true`, time.Time{}, false},
		{`{}`, time.Time{}, false},
		{`1e300`, time.Time{}, false},
	}
	for _, c := range cases {
		var w WireTime
		err := json.Unmarshal([]byte(c.in), &w)
		if (err == nil) != c.ok {
			t.Errorf("%s: err %v, want ok=%v", c.in, err, c.ok)
			continue
		}
		if c.ok && (!w.Set || !w.T.Equal(c.want) || w.T.Location() != time.UTC) {
			t.Errorf("%s: got %v (set %v), want %v UTC", c.in, w.T, w.Set, c.want)
		}
	}
	var w WireTime
	if err := json.Unmarshal([]byte(`null`), &w); err != nil || w.Set {
		t.Errorf("null: %v %v", err, w.Set)
	}
	if got, _ := w.Resolve(decNow.In(time.FixedZone("CST", 8*3600)), "t"); !got.Equal(decNow) || got.Location() != time.UTC {
		t.Errorf("missing time resolves to %v, want now in UTC", got)
	}
	b, _ := json.Marshal(WireTime{T: time.Date(2026, 11, 22, 18, 0, 0, 123456789, time.FixedZone("CST", 8*3600)), Set: true})
	if string(b) != `"2026-11-22T10:00:00.123Z"` {
		t.Errorf("marshal: %s", b)
	}
	for _, c := range []struct {
		t  time.Time
		ok bool
	}{
		{decNow.Add(5 * time.Minute), true},
		{decNow.Add(5*time.Minute + time.Millisecond), false},
		{decNow.Add(-7 * 24 * time.Hour), true},
		{decNow.Add(-7*24*time.Hour - time.Millisecond), false},
	} {
		if err := CheckTime(c.t, decNow, "t"); (err == nil) != c.ok {
			t.Errorf("CheckTime(%v): %v, want ok=%v", c.t, err, c.ok)
		} else if err != nil && err.Field != "t" {
			t.Errorf("CheckTime field %q", err.Field)
		}
	}
}

func TestDecodeUnit(t *testing.T) {
	ev, err := DecodeUnit("P-17", []byte(`{"callsign":"湖里巡1","force":"patrol","mode":"motorbike","extra":[1,2]}`), decNow)
	if err != nil {
		t.Fatal(err)
	}
	want := dispatch.UnitUpserted{T: decNow, ID: "P-17", Callsign: "湖里巡1", Force: dispatch.Patrol, Mode: geo.Motorbike, Status: dispatch.Available}
	if *ev != want {
		t.Fatalf("got %+v, want %+v", *ev, want)
	}
	ev, err = DecodeUnit("湖里-3", []byte(`{"force":"volunteer","mode":"foot","status":"offduty"}`), decNow)
	if err != nil || ev.Status != dispatch.OffDuty || ev.Force != dispatch.Volunteer || ev.Mode != geo.Foot {
		t.Fatalf("got %+v, %v", ev, err)
	}
	long := strings.Repeat("x", MaxString+1)
	for _, c := range []struct {
		name, id, body, field, msg string
	}{
		{"empty id", "", `{"force":"police","mode":"car"}`, "id", "required"},
		{"id with slash", "a/b", `{"force":"police","mode":"car"}`, "id", "'/'"},
		{"id with space", "a b", `{"force":"police","mode":"car"}`, "id", "spaces"},
		{"id with control", "a\x01", `{"force":"police","mode":"car"}`, "id", "control"},
		{"id too long", strings.Repeat("a", 65), `{"force":"police","mode":"car"}`, "id", "64"},
		{"empty body", "P-1", ``, "", "empty body"},
		{"not an object", "P-1", `["police"]`, "", "JSON object"},
		{"malformed", "P-1", `{"force":"police",`, "", "malformed JSON"},
		{"trailing garbage", "P-1", `{"force":"police","mode":"car"} x`, "", "malformed JSON"},
		{"missing force", "P-1", `{"mode":"car"}`, "force", "force is required"},
		{"unknown force", "P-1", `{"force":"army","mode":"car"}`, "force", `unknown force "army"`},
		{"force wrong type", "P-1", `{"force":5,"mode":"car"}`, "force", "force must be a string"},
		{"missing mode", "P-1", `{"force":"guard"}`, "mode", "mode is required"},
		{"unknown mode", "P-1", `{"force":"guard","mode":"horse"}`, "mode", `unknown mode "horse"`},
		{"unknown status", "P-1", `{"force":"guard","mode":"car","status":"asleep"}`, "status", `unknown status "asleep"`},
		{"callsign too long", "P-1", `{"force":"guard","mode":"car","callsign":"` + long + `"}`, "callsign", "longer than 4096"},
		{"callsign wrong type", "P-1", `{"force":"guard","mode":"car","callsign":{}}`, "callsign", "callsign must be a string"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ev, err := DecodeUnit(c.id, []byte(c.body), decNow)
			if ev != nil {
				t.Fatalf("accepted %+v", ev)
			}
			wantDecErr(t, err, "invalid_argument", c.field, c.msg)
		})
	}
}

func TestDecodeCamera(t *testing.T) {
	ev, err := DecodeCamera("CAM-1", []byte(`{"lat":24.51,"lng":118.15,"name":"湖滨南路","heading":90}`), decNow)
	if err != nil {
		t.Fatal(err)
	}
	want := dispatch.CameraUpserted{T: decNow, ID: "CAM-1", Name: "湖滨南路", Lat: 24.51, Lng: 118.15, Cell: decCell(t, 24.51, 118.15), Heading: 90}
	if *ev != want {
		t.Fatalf("got %+v, want %+v", *ev, want)
	}
	for _, c := range []struct{ name, id, body, field, msg string }{
		{"bad id", "CAM/1", `{"lat":1,"lng":2}`, "id", ""},
		{"missing lat", "C", `{"lng":2}`, "lat", "lat is required"},
		{"null lng", "C", `{"lat":1,"lng":null}`, "lng", "lng is required"},
		{"lat out of range", "C", `{"lat":-90.0001,"lng":2}`, "lat", "lat out of range"},
		{"lng out of range", "C", `{"lat":1,"lng":180.5}`, "lng", "lng out of range"},
		{"lat string", "C", `{"lat":"24.5","lng":2}`, "lat", "lat must be a number"},
		{"lat huge", "C", `{"lat":1e400,"lng":2}`, "lat", "not a valid number"},
		{"heading 360", "C", `{"lat":1,"lng":2,"heading":360}`, "heading", "heading out of range"},
		{"heading negative", "C", `{"lat":1,"lng":2,"heading":-1}`, "heading", ""},
		{"name too long", "C", `{"lat":1,"lng":2,"name":"` + strings.Repeat("n", MaxString+1) + `"}`, "name", ""},
		{"garbage", "C", `lat=1`, "", "JSON object"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ev, err := DecodeCamera(c.id, []byte(c.body), decNow)
			if ev != nil {
				t.Fatalf("accepted %+v", ev)
			}
			wantDecErr(t, err, "invalid_argument", c.field, c.msg)
		})
	}
}

func TestDecodeFixesForms(t *testing.T) {
	lines := []string{
		`{"unit":"P-17","t":"2026-11-22T17:59:00+08:00","lat":24.4798,"lng":118.0894,"speed":8.5,"heading":271.5,"accuracy":6}`,
		`{"unit":"P-18","t":1795341540000,"lat":24.5,"lng":118.1,"extra":{"sats":9}}`,
		`{"unit":"P-19","lat":24.51,"lng":118.11}`,
	}
	want := []dispatch.Fix{
		{Unit: "P-17", T: decNow.Add(-time.Minute), Lat: 24.4798, Lng: 118.0894, Cell: decCell(t, 24.4798, 118.0894), Speed: 8.5, Heading: 271.5, Accuracy: 6},
		{Unit: "P-18", T: time.UnixMilli(1795341540000).UTC(), Lat: 24.5, Lng: 118.1, Cell: decCell(t, 24.5, 118.1)},
		{Unit: "P-19", T: decNow, Lat: 24.51, Lng: 118.11, Cell: decCell(t, 24.51, 118.11)},
	}
	bodies := map[string]string{
		"ndjson":              strings.Join(lines, "\n"),
		"ndjson crlf + blank": "\r\n" + strings.Join(lines, "\r\n\r\n  \n") + "\r\n\n",
		"array":               "[" + strings.Join(lines, ",") + "]",
		"array spaced":        " \n\t[\n" + strings.Join(lines, ",\n") + "\n]\n",
		"bom":                 "\xef\xbb\xbf" + strings.Join(lines, "\n"),
	}
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			fixes, rejected, err := DecodeFixes([]byte(body), decNow, 10)
			if err != nil || len(rejected) != 0 {
				t.Fatalf("err %v, rejected %v", err, rejected)
			}
			if len(fixes) != len(want) {
				t.Fatalf("%d fixes, want %d", len(fixes), len(want))
			}
			for i := range want {
				if fixes[i] != want[i] || fixes[i].T.Location() != time.UTC {
					t.Errorf("fix %d: got %+v, want %+v", i, fixes[i], want[i])
				}
			}
		})
	}
	fixes, rejected, err := DecodeFixes([]byte(`[]`), decNow, 10)
	if err != nil || len(fixes) != 0 || len(rejected) != 0 {
		t.Errorf("empty array: %v %v %v", fixes, rejected, err)
	}
}

func TestDecodeFixesPartial(t *testing.T) {
	good := `{"unit":"P-1","lat":24.5,"lng":118.1}`
	for _, form := range []string{"ndjson", "array"} {
		t.Run(form, func(t *testing.T) {
			items := []string{good, `{"unit":"P-2","lat":124.5,"lng":118.1}`, good, `"not a fix"`, good}
			if form == "ndjson" {
				items[3] = `{"unit":"P-4","lat":24.5,"lng":118.1,"speed":"fast"}`
			}
			var body string
			if form == "array" {
				body = "[" + strings.Join(items, ",") + "]"
			} else {
				body = strings.Join(items, "\n\n")
			}
			fixes, rejected, err := DecodeFixes([]byte(body), decNow, 5)
			if err != nil {
				t.Fatal(err)
			}
			if len(fixes) != 3 || len(rejected) != 2 {
				t.Fatalf("%d accepted, %v rejected", len(fixes), rejected)
			}
			if rejected[0].Index != 1 || rejected[0].Error.Field != "lat" || rejected[0].Error.Message != "lat out of range" {
				t.Errorf("rejected[0] = %+v %+v", rejected[0], rejected[0].Error)
			}
			if rejected[1].Index != 3 {
				t.Errorf("rejected[1] = %+v", rejected[1])
			}
			if form == "ndjson" && rejected[1].Error.Field != "speed" {
				t.Errorf("rejected[1] field %q", rejected[1].Error.Field)
			}
			if form == "array" && !strings.Contains(rejected[1].Error.Message, "JSON object") {
				t.Errorf("rejected[1] message %q", rejected[1].Error.Message)
			}
			b, _ := json.Marshal(rejected[0])
			if string(b) != `{"index":1,"error":{"code":"invalid_argument","message":"lat out of range","field":"lat"}}` {
				t.Errorf("wire form %s", b)
			}
		})
	}
}

func TestDecodeFixesItemErrors(t *testing.T) {
	const pos = `"lat":24.5,"lng":118.1`
	for _, c := range []decErrCase{
		{"lat wrong type", `{"unit":"P","lat":"x","lng":118.1}`, "lat", "lat must be a number, not a string"},
		{"lng wrong type", `{"unit":"P","lat":24.5,"lng":[1]}`, "lng", "lng must be a number"},
		{"missing lat", `{"unit":"P","lng":118.1}`, "lat", "lat is required"},
		{"missing lng", `{"unit":"P","lat":24.5}`, "lng", "lng is required"},
		{"lat 91", `{"unit":"P","lat":91,"lng":118.1}`, "lat", "lat out of range"},
		{"lng -181", `{"unit":"P","lat":1,"lng":-181}`, "lng", "lng out of range"},
		{"speed negative", `{"unit":"P",` + pos + `,"speed":-0.1}`, "speed", "speed out of range"},
		{"speed 120", `{"unit":"P",` + pos + `,"speed":120}`, "speed", "speed out of range"},
		{"heading 360", `{"unit":"P",` + pos + `,"heading":360}`, "heading", "heading out of range"},
		{"heading negative", `{"unit":"P",` + pos + `,"heading":-5}`, "heading", "heading out of range"},
		{"accuracy negative", `{"unit":"P",` + pos + `,"accuracy":-1}`, "accuracy", "negative"},
		{"accuracy bool", `{"unit":"P",` + pos + `,"accuracy":true}`, "accuracy", "accuracy must be a number, not a bool"},
		{"t future", `{"unit":"P",` + pos + `,"t":"2026-11-22T10:05:01Z"}`, "t", "future"},
		{"t old", `{"unit":"P",` + pos + `,"t":"2026-11-15T09:59:59Z"}`, "t", "past"},
		{"t old ms", `{"unit":"P",` + pos + `,"t":0}`, "t", "past"},
		{"t bad string", `{"unit":"P",` + pos + `,"t":"22/11/2026"}`, "t", "RFC 3339"},
		{"t bool", `{"unit":"P",` + pos + `,"t":false}`, "t", "RFC 3339"},
		{"unit missing", `{` + pos + `}`, "unit", "unit is required"},
		{"unit number", `{"unit":17,` + pos + `}`, "unit", "unit must be a string, not a number"},
		{"unit with slash", `{"unit":"P/1",` + pos + `}`, "unit", "'/'"},
		{"unit with space", `{"unit":"P 1",` + pos + `}`, "unit", "spaces"},
		{"unit too long", `{"unit":"` + strings.Repeat("u", 65) + `",` + pos + `}`, "unit", "64"},
		{"unit huge", `{"unit":"` + strings.Repeat("u", MaxString+10) + `",` + pos + `}`, "unit", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			good := `{"unit":"OK",` + pos + `}`
			fixes, rejected, err := DecodeFixes([]byte(good+"\n"+c.body+"\n"+good), decNow, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(fixes) != 2 || len(rejected) != 1 || rejected[0].Index != 1 {
				t.Fatalf("fixes %v rejected %+v", fixes, rejected)
			}
			wantDecErr(t, rejected[0].Error, "invalid_argument", c.field, c.msg)
		})
	}
	// Times within the window, in any zone, are kept to the millisecond and in UTC.
	fixes, _, _ := DecodeFixes([]byte(`{"unit":"P",`+pos+`,"t":"2026-11-22T18:04:59.999999999+08:00"}`), decNow, 0)
	if len(fixes) != 1 || !fixes[0].T.Equal(decNow.Add(5*time.Minute-time.Millisecond)) || fixes[0].T.Location() != time.UTC {
		t.Errorf("got %+v", fixes)
	}
}

func TestDecodeFixesWholeRequest(t *testing.T) {
	good := `{"unit":"P","lat":24.5,"lng":118.1}`
	for _, c := range []struct{ name, body, code, msg string }{
		{"empty", "", "invalid_argument", "empty body"},
		{"blank", " \n\r\n ", "invalid_argument", "empty body"},
		{"garbage", "hello", "invalid_argument", "line 1"},
		{"string", `"fix"`, "invalid_argument", "expected a JSON object"},
		{"number", `42`, "invalid_argument", "expected a JSON object"},
		{"truncated array", "[" + good + "," + good, "invalid_argument", "malformed JSON array"},
		{"array then garbage", "[" + good + "] x", "invalid_argument", "malformed JSON array"},
		{"bad ndjson line", good + "\n{\"unit\":\"P\",\"lat\":\n" + good, "invalid_argument", "line 2: malformed JSON"},
		{"ndjson line not object", good + "\n\n[1]\n", "invalid_argument", "line 3"},
		{"two objects on a line", good + " " + good, "invalid_argument", "line 1: malformed JSON"},
		{"too many ndjson", strings.Repeat(good+"\n", 4), "too_large", "more than 3"},
		{"too many array", "[" + strings.Repeat(good+",", 3) + good + "]", "too_large", "more than 3"},
		{"too many with bad line last", strings.Repeat(good+"\n", 4) + "garbage", "too_large", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			fixes, rejected, err := DecodeFixes([]byte(c.body), decNow, 3)
			if fixes != nil || rejected != nil {
				t.Fatalf("partial result %v %v", fixes, rejected)
			}
			wantDecErr(t, err, c.code, "", c.msg)
		})
	}
	// Exactly maxItems is fine; maxItems ≤ 0 is no limit.
	if fixes, _, err := DecodeFixes([]byte(strings.Repeat(good+"\n", 3)), decNow, 3); err != nil || len(fixes) != 3 {
		t.Errorf("3 of 3: %v %v", len(fixes), err)
	}
	if fixes, _, err := DecodeFixes([]byte(strings.Repeat(good+"\n", 300)), decNow, 0); err != nil || len(fixes) != 300 {
		t.Errorf("no limit: %v %v", len(fixes), err)
	}
}

// TestDecodeFixesParallel checks that the parallel path keeps order, indexes and
// cells exactly as a serial decode would.
func TestDecodeFixesParallel(t *testing.T) {
	const n = 5000
	var b strings.Builder
	type exp struct {
		ok       bool
		lat, lng float64
	}
	wants := make([]exp, n)
	for i := range n {
		lat := 24.3 + float64(i%997)*0.0003
		lng := 118.0 + float64(i%991)*0.0004
		if i%7 == 3 {
			fmt.Fprintf(&b, `{"unit":"U%d","lat":%g,"lng":%g,"heading":400}`+"\n", i, lat, lng)
			continue
		}
		wants[i] = exp{true, lat, lng}
		fmt.Fprintf(&b, `{"unit":"U%d","t":%d,"lat":%g,"lng":%g,"speed":%g}`+"\n", i, decNow.Add(-time.Duration(i)*time.Second).UnixMilli(), lat, lng, float64(i%100)/10)
	}
	for _, form := range []string{"ndjson", "array"} {
		body := b.String()
		if form == "array" {
			body = "[" + strings.ReplaceAll(strings.TrimSpace(body), "\n", ",") + "]"
		}
		fixes, rejected, err := DecodeFixes([]byte(body), decNow, n)
		if err != nil {
			t.Fatal(err)
		}
		k, r := 0, 0
		for i, w := range wants {
			if !w.ok {
				if r >= len(rejected) || rejected[r].Index != i || rejected[r].Error.Field != "heading" {
					t.Fatalf("%s: item %d should be rejected; rejected[%d] = %+v", form, i, r, rejected[min(r, len(rejected)-1)])
				}
				r++
				continue
			}
			f := fixes[k]
			k++
			if f.Unit != fmt.Sprintf("U%d", i) || f.Lat != w.lat || f.Lng != w.lng || f.Cell != decCell(t, w.lat, w.lng) ||
				!f.T.Equal(decNow.Add(-time.Duration(i)*time.Second)) {
				t.Fatalf("%s: item %d decoded as %+v", form, i, f)
			}
		}
		if k != len(fixes) || r != len(rejected) {
			t.Fatalf("%s: %d/%d fixes, %d/%d rejected", form, k, len(fixes), r, len(rejected))
		}
	}
}

func TestDecodeAlert(t *testing.T) {
	body := `{"id":"110-20261122-0001","t":"2026-11-22T17:58:00+08:00","lat":24.4798,"lng":118.0894,
		"address":"思明区湖滨南路","category":"dispute","priority":2,"caller":"138****0000","text":"两人争吵","source":"cad"}`
	ev, err := DecodeAlert([]byte(body), decNow)
	if err != nil {
		t.Fatal(err)
	}
	want := dispatch.AlertReceived{ID: "110-20261122-0001", T: decNow.Add(-2 * time.Minute), Lat: 24.4798, Lng: 118.0894,
		Cell: decCell(t, 24.4798, 118.0894), Address: "思明区湖滨南路", Category: dispatch.Dispute, Priority: 2, Caller: "138****0000", Text: "两人争吵"}
	if *ev != want {
		t.Fatalf("got %+v\nwant %+v", *ev, want)
	}
	ev, err = DecodeAlert([]byte(`{"id":"2026/11/22-7","lat":0,"lng":0,"category":"other","priority":4.0}`), decNow)
	if err != nil || !ev.T.Equal(decNow) || ev.Priority != 4 || ev.Category != dispatch.OtherCategory {
		t.Fatalf("minimal alert: %+v %v", ev, err)
	}
	const base = `"id":"A1","lat":24.5,"lng":118.1,"category":"fire","priority":1`
	for _, c := range []decErrCase{
		{"malformed", `{"id":"A1",`, "", "malformed JSON"},
		{"array", `[{"id":"A1"}]`, "", "JSON object"},
		{"empty", ``, "", "empty body"},
		{"missing id", `{"lat":24.5,"lng":118.1,"category":"fire","priority":1}`, "id", "id is required"},
		{"id too long", `{` + base + `,"id":"` + strings.Repeat("9", 129) + `"}`, "id", "128"},
		{"id number", `{` + base + `,"id":110}`, "id", "id must be a string"},
		{"unknown category", `{` + base + `,"category":"alien"}`, "category", `unknown category "alien"`},
		{"missing category", `{"id":"A1","lat":24.5,"lng":118.1,"priority":1}`, "category", "category is required"},
		{"priority 0", `{` + base + `,"priority":0}`, "priority", "1 to 4"},
		{"priority 5", `{` + base + `,"priority":5}`, "priority", "1 to 4"},
		{"priority 1.5", `{` + base + `,"priority":1.5}`, "priority", "whole number"},
		{"priority string", `{` + base + `,"priority":"1"}`, "priority", "priority must be a number"},
		{"missing priority", `{"id":"A1","lat":24.5,"lng":118.1,"category":"fire"}`, "priority", "priority is required"},
		{"lat string", `{` + base + `,"lat":"x"}`, "lat", "lat must be a number"},
		{"lat out of range", `{` + base + `,"lat":-91}`, "lat", "lat out of range"},
		{"missing lng", `{"id":"A1","lat":24.5,"category":"fire","priority":1}`, "lng", "lng is required"},
		{"t future", `{` + base + `,"t":1795342000000}`, "t", "future"},
		{"t old", `{` + base + `,"t":"2026-10-01T00:00:00Z"}`, "t", "past"},
		{"t garbage", `{` + base + `,"t":"now"}`, "t", "RFC 3339"},
		{"text too long", `{` + base + `,"text":"` + strings.Repeat("字", MaxString/3+1) + `"}`, "text", "longer than 4096"},
		{"address too long", `{` + base + `,"address":"` + strings.Repeat("a", MaxString+1) + `"}`, "address", ""},
		{"caller wrong type", `{` + base + `,"caller":13800000000}`, "caller", "caller must be a string"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ev, err := DecodeAlert([]byte(c.body), decNow)
			if ev != nil {
				t.Fatalf("accepted %+v", ev)
			}
			wantDecErr(t, err, "invalid_argument", c.field, c.msg)
		})
	}
}

func TestDecodeCameraEvent(t *testing.T) {
	body := `{"id":"EV-9","camera":"CAM-3","t":1795341570000,"type":"fight","confidence":0.93,"snapshot":"https://cam.example/s/9.jpg","bbox":[1,2,3,4]}`
	ev, err := DecodeCameraEvent([]byte(body), decNow)
	if err != nil {
		t.Fatal(err)
	}
	want := dispatch.CameraEventReceived{ID: "EV-9", Camera: "CAM-3", T: decNow.Add(-30 * time.Second), Type: dispatch.Fight, Confidence: 0.93, Snapshot: "https://cam.example/s/9.jpg"}
	if *ev != want {
		t.Fatalf("got %+v, want %+v", *ev, want)
	}
	ev, err = DecodeCameraEvent([]byte(`{"id":"E","camera":"C","type":"fire","confidence":0}`), decNow)
	if err != nil || ev.Type != dispatch.FireSmoke || !ev.T.Equal(decNow) {
		t.Fatalf("minimal: %+v %v", ev, err)
	}
	// ONVIF rule-engine topics, as platforms write them.
	for _, c := range []struct {
		topic string
		want  dispatch.CameraEventType
	}{
		{"tns1:RuleEngine/FieldDetector/ObjectsInside", dispatch.Intrusion},
		{"tns1:RuleEngine/LineDetector/Crossed", dispatch.Tripwire},
		{"RuleEngine/LoiteringDetector/ObjectIsLoitering", dispatch.Loitering},
		{"tns1:ruleengine/recognition/face", dispatch.FaceMatch},
		{"tns1:RuleEngine/Recognition/LicensePlate", dispatch.PlateMatch},
		{"tns1:RuleEngine/CountAggregation/Counter", dispatch.Crowd},
		{"http://www.onvif.org/ver10/topics/RuleEngine/CellMotionDetector/Motion", dispatch.Intrusion},
		{"tns1:RuleEngine/MyVendor/SomethingElse", dispatch.OtherCameraEvent},
	} {
		ev, err := DecodeCameraEvent([]byte(`{"id":"E","camera":"C","confidence":0.9,"type":"`+c.topic+`"}`), decNow)
		if err != nil || ev.Type != c.want {
			t.Errorf("ONVIF topic %s: %+v %v, want %v", c.topic, ev, err, c.want)
		}
	}
	const base = `"id":"E","camera":"C","type":"crowd","confidence":0.5`
	for _, c := range []decErrCase{
		{"not a rule-engine topic", `{` + base + `,"type":"tns1:VideoSource/MotionAlarm"}`, "type", "unknown camera event type"},
		{"a rule engine in a name", `{` + base + `,"type":"myruleengine/x"}`, "type", "unknown camera event type"},
		{"malformed", `{`, "", "malformed JSON"},
		{"missing id", `{"camera":"C","type":"crowd","confidence":0.5}`, "id", "id is required"},
		{"missing camera", `{"id":"E","type":"crowd","confidence":0.5}`, "camera", "camera is required"},
		{"camera with slash", `{` + base + `,"camera":"C/1"}`, "camera", "'/'"},
		{"missing type", `{"id":"E","camera":"C","confidence":0.5}`, "type", "type is required"},
		{"unknown type", `{` + base + `,"type":"ufo"}`, "type", `unknown camera event type "ufo"`},
		{"missing confidence", `{"id":"E","camera":"C","type":"crowd"}`, "confidence", "confidence is required"},
		{"confidence above 1", `{` + base + `,"confidence":1.01}`, "confidence", "out of range"},
		{"confidence negative", `{` + base + `,"confidence":-0.01}`, "confidence", "out of range"},
		{"confidence string", `{` + base + `,"confidence":"high"}`, "confidence", "confidence must be a number"},
		{"snapshot scheme", `{` + base + `,"snapshot":"javascript:alert(1)"}`, "snapshot", "http"},
		{"snapshot relative", `{` + base + `,"snapshot":"/s/1.jpg"}`, "snapshot", "http"},
		{"snapshot too long", `{` + base + `,"snapshot":"https://x/` + strings.Repeat("a", MaxString) + `"}`, "snapshot", "4096"},
		{"t future", `{` + base + `,"t":"2026-11-22T11:00:00Z"}`, "t", "future"},
		{"t wrong type", `{` + base + `,"t":[]}`, "t", "RFC 3339"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ev, err := DecodeCameraEvent([]byte(c.body), decNow)
			if ev != nil {
				t.Fatalf("accepted %+v", ev)
			}
			wantDecErr(t, err, "invalid_argument", c.field, c.msg)
		})
	}
}

func TestDecodeCommands(t *testing.T) {
	as, err := DecodeAssign("INC-7", []byte(`{"unit":"P-17","tier":2}`), decNow, "op1")
	if err != nil || *as != (dispatch.Assign{T: decNow, Incident: "INC-7", Unit: "P-17", Tier: 2, By: "op1"}) {
		t.Fatalf("assign: %+v %v", as, err)
	}
	as, err = DecodeAssign("INC-7", []byte(`{"unit":"P-17"}`), decNow, "op1")
	if err != nil || as.Tier != 0 {
		t.Fatalf("assign without tier: %+v %v", as, err)
	}
	rel, err := DecodeRelease("INC-7", []byte(`{"unit":"P-17"}`), decNow, "op2")
	if err != nil || *rel != (dispatch.Release{T: decNow, Incident: "INC-7", Unit: "P-17", By: "op2"}) {
		t.Fatalf("release: %+v %v", rel, err)
	}
	for _, body := range []string{"", "  \n", "{}"} {
		cl, err := DecodeClose("INC-7", []byte(body), decNow, "sup")
		if err != nil || *cl != (dispatch.Close{T: decNow, Incident: "INC-7", By: "sup"}) {
			t.Fatalf("close %q: %+v %v", body, cl, err)
		}
	}
	cl, err := DecodeClose("INC-7", []byte(`{"disposition":"resolved on scene"}`), decNow, "sup")
	if err != nil || cl.Disposition != "resolved on scene" {
		t.Fatalf("close: %+v %v", cl, err)
	}
	st, err := DecodeStatus("P-17", []byte(`{"type":"status","status":"onscene","incident":"INC-7"}`), decNow, "unit:P-17")
	if err != nil || *st != (dispatch.SetStatus{T: decNow, Unit: "P-17", Status: dispatch.OnScene, Incident: "INC-7", By: "unit:P-17"}) {
		t.Fatalf("status: %+v %v", st, err)
	}

	type cmd func(id, body string) *Error
	assign := func(id, body string) *Error { _, err := DecodeAssign(id, []byte(body), decNow, "x"); return err }
	release := func(id, body string) *Error { _, err := DecodeRelease(id, []byte(body), decNow, "x"); return err }
	closeInc := func(id, body string) *Error { _, err := DecodeClose(id, []byte(body), decNow, "x"); return err }
	status := func(id, body string) *Error { _, err := DecodeStatus(id, []byte(body), decNow, "x"); return err }
	for _, c := range []struct {
		name      string
		f         cmd
		id, body  string
		field, ms string
	}{
		{"assign no incident", assign, "", `{"unit":"P"}`, "incident", "required"},
		{"assign missing unit", assign, "I", `{"tier":1}`, "unit", "unit is required"},
		{"assign tier 9", assign, "I", `{"unit":"P","tier":9}`, "tier", "0 to 8"},
		{"assign tier -1", assign, "I", `{"unit":"P","tier":-1}`, "tier", "0 to 8"},
		{"assign tier 1.5", assign, "I", `{"unit":"P","tier":1.5}`, "tier", "whole number"},
		{"assign tier string", assign, "I", `{"unit":"P","tier":"2"}`, "tier", "tier must be a number"},
		{"assign malformed", assign, "I", `{"unit":`, "", "malformed JSON"},
		{"assign empty", assign, "I", ``, "", "empty body"},
		{"release missing unit", release, "I", `{}`, "unit", "unit is required"},
		{"release unit type", release, "I", `{"unit":true}`, "unit", "unit must be a string"},
		{"close malformed", closeInc, "I", `{"disposition"`, "", "malformed JSON"},
		{"close not object", closeInc, "I", `"done"`, "", "JSON object"},
		{"close disposition too long", closeInc, "I", `{"disposition":"` + strings.Repeat("d", MaxString+1) + `"}`, "disposition", "4096"},
		{"close disposition type", closeInc, "I", `{"disposition":1}`, "disposition", "string"},
		{"status bad unit", status, "P 1", `{"status":"busy"}`, "unit", "spaces"},
		{"status missing", status, "P", `{}`, "status", "status is required"},
		{"status unknown", status, "P", `{"status":"lunch"}`, "status", `unknown status "lunch"`},
		{"status incident bad", status, "P", `{"status":"onscene","incident":"a b"}`, "incident", "spaces"},
		{"status incident type", status, "P", `{"status":"onscene","incident":7}`, "incident", "string"},
	} {
		t.Run(c.name, func(t *testing.T) { wantDecErr(t, c.f(c.id, c.body), "invalid_argument", c.field, c.ms) })
	}
}

// checkDecodedFix asserts that an accepted fix is valid.
func checkDecodedFix(t *testing.T, f dispatch.Fix, now time.Time) {
	t.Helper()
	if !(geo.Point{Lat: f.Lat, Lng: f.Lng}).Valid() || math.IsNaN(f.Lat) || math.IsNaN(f.Lng) {
		t.Fatalf("accepted position %v,%v", f.Lat, f.Lng)
	}
	if CheckTime(f.T, now, "t") != nil || f.T.Location() != time.UTC {
		t.Fatalf("accepted time %v", f.T)
	}
	if !(f.Speed >= 0 && f.Speed < MaxSpeed && f.Heading >= 0 && f.Heading < 360 && f.Accuracy >= 0) {
		t.Fatalf("accepted %+v", f)
	}
	if f.Cell != decCell(t, f.Lat, f.Lng) {
		t.Fatalf("cell %v for %v,%v", f.Cell, f.Lat, f.Lng)
	}
	if checkWireID("unit", f.Unit, MaxUnitID, true) != nil {
		t.Fatalf("accepted unit %q", f.Unit)
	}
}

func FuzzDecodeFixes(f *testing.F) {
	f.Add([]byte(`{"unit":"P-17","t":"2026-11-22T17:59:00+08:00","lat":24.4798,"lng":118.0894,"speed":8.5,"heading":271.5,"accuracy":6}`))
	f.Add([]byte(`[{"unit":"P-1","lat":24.5,"lng":118.1},{"unit":"P-2","lat":91,"lng":0},"x"]`))
	f.Add([]byte("{\"unit\":\"a\",\"lat\":0,\"lng\":0}\n\n{\"unit\":\"b\",\"t\":1795341600000,\"lat\":-90,\"lng\":180}\n"))
	f.Add([]byte(`{"unit":"P","lat":1e400,"lng":"x","t":-1}`))
	f.Add([]byte(`[`))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, body []byte) {
		fixes, rejected, err := DecodeFixes(body, decNow, 100)
		if err != nil {
			if fixes != nil || rejected != nil || err.Code == "" || err.Message == "" {
				t.Fatalf("error %v with results %v %v", err, fixes, rejected)
			}
			return
		}
		if len(fixes)+len(rejected) > 100 {
			t.Fatalf("%d items over the limit", len(fixes)+len(rejected))
		}
		for _, fx := range fixes {
			checkDecodedFix(t, fx, decNow)
		}
		last := -1
		for _, r := range rejected {
			if r.Index <= last || r.Index >= len(fixes)+len(rejected) || r.Error == nil || r.Error.Code != "invalid_argument" {
				t.Fatalf("bad rejection %+v after %d", r, last)
			}
			last = r.Index
		}
	})
}

func FuzzDecodeAlert(f *testing.F) {
	f.Add([]byte(`{"id":"110-20261122-0001","t":"2026-11-22T17:58:00+08:00","lat":24.4798,"lng":118.0894,"address":"x","category":"dispute","priority":2}`))
	f.Add([]byte(`{"id":"A","t":1795341600000,"lat":-90,"lng":-180,"category":"other","priority":4.0,"text":"\u0000"}`))
	f.Add([]byte(`{"id":"A","lat":"1","lng":2,"category":"alien","priority":1.5}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := DecodeAlert(body, decNow)
		if (ev == nil) == (err == nil) {
			t.Fatalf("event %v and error %v", ev, err)
		}
		if ev == nil {
			return
		}
		checkDecodedFix(t, dispatch.Fix{Unit: "x", T: ev.T, Lat: ev.Lat, Lng: ev.Lng, Cell: ev.Cell}, decNow)
		if ev.Priority < 1 || ev.Priority > 4 || ev.ID == "" || len(ev.ID) > MaxEventID ||
			len(ev.Text) > MaxString || len(ev.Address) > MaxString || len(ev.Caller) > MaxString {
			t.Fatalf("accepted %+v", ev)
		}
		if _, e := ev.Category.MarshalText(); e != nil {
			t.Fatal(e)
		}
	})
}

func FuzzDecodeCameraEvent(f *testing.F) {
	f.Add([]byte(`{"id":"EV-9","camera":"CAM-3","t":1795341570000,"type":"fight","confidence":0.93,"snapshot":"https://cam.example/s/9.jpg"}`))
	f.Add([]byte(`{"id":"E","camera":"C","type":"fire","confidence":0,"t":"2026-11-22T10:04:00Z"}`))
	f.Add([]byte(`{"id":"E","camera":"C/","type":"x","confidence":2,"snapshot":"ftp://x"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := DecodeCameraEvent(body, decNow)
		if (ev == nil) == (err == nil) {
			t.Fatalf("event %v and error %v", ev, err)
		}
		if ev == nil {
			return
		}
		if CheckTime(ev.T, decNow, "t") != nil || !(ev.Confidence >= 0 && ev.Confidence <= 1) || ev.ID == "" || ev.Camera == "" ||
			len(ev.Snapshot) > MaxString {
			t.Fatalf("accepted %+v", ev)
		}
		if _, e := ev.Type.MarshalText(); e != nil {
			t.Fatal(e)
		}
	})
}

// BenchmarkDecodeFixes decodes bodies of 10,000 NDJSON fixes, cells included.
func BenchmarkDecodeFixes(b *testing.B) {
	const n = 10000
	var sb strings.Builder
	for i := range n {
		fmt.Fprintf(&sb, `{"unit":"P-%d","t":%d,"lat":%.6f,"lng":%.6f,"speed":%.1f,"heading":%.1f,"accuracy":5}`+"\n",
			i%2000, decNow.Add(-time.Duration(i)*time.Millisecond).UnixMilli(), 24.3+float64(i%997)*0.0003, 118.0+float64(i%991)*0.0004,
			float64(i%150)/10, float64(i%3600)/10)
	}
	body := []byte(sb.String())
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	for b.Loop() {
		fixes, rejected, err := DecodeFixes(body, decNow, n)
		if err != nil || len(fixes) != n || len(rejected) != 0 {
			b.Fatalf("%d fixes, %v, %v", len(fixes), rejected, err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "fixes/s")
}

// FuzzScanFix holds the fast fix reader to encoding/json: whatever it accepts,
// json.Unmarshal accepts too, with the same result.
func FuzzScanFix(f *testing.F) {
	f.Add([]byte(`{"unit":"P-17","t":"2026-11-22T17:59:00+08:00","lat":24.4798,"lng":118.0894,"speed":8.5,"heading":271.5,"accuracy":6}`))
	f.Add([]byte(`{ "unit" : "a" , "t" : 1795341600000 , "lat" : -0.5e-3 , "lng" : 0 }`))
	f.Add([]byte(`{"lat":01,"lng":1.,"speed":+1,"heading":.5,"Unit":"x","unit":"\u0041"}`))
	f.Add([]byte(`{"unit":"a","unit":"b","lat":1e400}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		raw = trimJSONSpace(raw)
		fast := fixBody{Lat: missingNum, Lng: missingNum}
		if !scanFix(raw, &fast) {
			return
		}
		slow := fixBody{Lat: missingNum, Lng: missingNum}
		if err := json.Unmarshal(raw, &slow); err != nil {
			t.Fatalf("scanFix accepted what encoding/json refuses (%v): %q", err, raw)
		}
		same := func(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }
		if fast.Unit != slow.Unit || fast.T.Set != slow.T.Set || !fast.T.T.Equal(slow.T.T) || !same(fast.Lat, slow.Lat) ||
			!same(fast.Lng, slow.Lng) || fast.Speed != slow.Speed || fast.Heading != slow.Heading || fast.Accuracy != slow.Accuracy {
			t.Fatalf("scanFix %+v, encoding/json %+v for %q", fast, slow, raw)
		}
	})
}
