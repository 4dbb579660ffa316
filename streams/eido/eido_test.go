package eido

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"commandd/dispatch"
)

const testIssuer = "commandd.test.example"

var t0 = time.Date(2026, 11, 22, 9, 30, 0, 0, time.UTC)

func ms(d time.Duration) dispatch.Millis { return dispatch.Millis{Time: t0.Add(d)} }

// incident is a synthetic incident with three alerts, two tiers of units in every
// state, and operator notes.
func incident() dispatch.IncidentView {
	return dispatch.IncidentView{
		ID: "INC-000042", Status: "open", Priority: 1, Category: dispatch.Criminal,
		Lat: 31.230416, Lng: 121.473701, Cell: 0x8a309a6b4c4ffff, Address: "人民广场 Renmin Square",
		Zone: "Huangpu", ZoneID: "Z-1", Grid: &dispatch.GridRef{ID: "G-7", Name: "Grid 7"},
		Received: ms(0),
		Alerts: []dispatch.AlertView{
			{ID: "110-20261122-0001", T: ms(0), Lat: 31.230416, Lng: 121.473701, Address: "人民广场 Renmin Square",
				Category: dispatch.Criminal, Priority: 1, Caller: "138****9597", Text: "Man with a knife <near> the \"metro\" exit & shouting\nsecond line"},
			{ID: "110-20261122-0002", T: ms(37*time.Second + 250*time.Millisecond), Lat: 31.2311, Lng: 121.4741,
				Category: dispatch.Help, Priority: 2, Caller: "+86 21 5555 0101 (front desk)", Text: "Someone hurt"},
			{ID: "110-20261122-0003", T: ms(2 * time.Minute), Lat: -0.5, Lng: -179.999999, Category: dispatch.Dispute, Priority: 3},
		},
		CameraEvents: []dispatch.CameraEventView{},
		Tiers: []dispatch.TierView{
			{Tier: 1, Name: "first", Deadline: 180, Due: ms(3 * time.Minute), Needed: 2, State: dispatch.TierState(0), Units: []dispatch.TierUnitView{
				{Unit: "P-101", ETA: 95.5, Assigned: ms(5 * time.Second), Accepted: ms(9 * time.Second), Enroute: ms(12 * time.Second), Arrived: ms(100 * time.Second), Lat: 31.23, Lng: 121.47},
				{Unit: "P-102", ETA: 140, Assigned: ms(6 * time.Second), Lat: 31.23, Lng: 121.47},
			}},
			{Tier: 2, Deadline: 600, Due: ms(10 * time.Minute), Needed: 1, Units: []dispatch.TierUnitView{
				{Unit: "P-201", ETA: 300, Assigned: ms(7 * time.Second), Enroute: ms(20 * time.Second), Arrived: ms(200 * time.Second), Cleared: ms(400 * time.Second)},
			}},
		},
		Notes: []dispatch.NoteView{
			{T: ms(30 * time.Second), By: "op.zhang", Text: "Caller says <two> suspects & a car"},
			{T: ms(90 * time.Second), By: "op.li", Text: "Perimeter set"},
		},
		Timeline: []dispatch.TimelineEntry{{T: ms(401 * time.Second), What: "unit P-201 cleared", By: "P-201"}},
	}
}

type exportCase struct {
	name string
	v    dispatch.IncidentView
}

func exportCases() []exportCase {
	full := incident()
	closed := incident()
	closed.Status, closed.Closed, closed.Disposition = "closed", ms(20*time.Minute), "resolved"
	bare := dispatch.IncidentView{ID: "INC-000001", Status: "open", Priority: 2, Category: dispatch.OtherCategory,
		Received: ms(0), Alerts: []dispatch.AlertView{{ID: "a1", T: ms(0), Category: dispatch.OtherCategory, Priority: 2}}}
	nilLists := dispatch.IncidentView{ID: "INC-000002", Status: "open", Category: dispatch.Fire, Received: ms(0)}
	each := incident()
	each.Alerts = nil
	for c := dispatch.Criminal; c <= dispatch.OtherCategory; c++ {
		for p := 1; p <= 4; p++ {
			each.Alerts = append(each.Alerts, dispatch.AlertView{ID: fmt.Sprintf("a-%s-%d", c, p), T: ms(time.Duration(p) * time.Second),
				Lat: 10, Lng: 20, Category: c, Priority: p, Caller: "110", Text: c.String()})
		}
	}
	return []exportCase{{"full", full}, {"closed", closed}, {"bare", bare}, {"nil lists", nilLists}, {"every category and priority", each}}
}

var stampRE = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)

func TestExportShape(t *testing.T) {
	for _, tc := range exportCases() {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Export(tc.v, testIssuer)
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			want := "urn:emergency:uid:incidentid:" + tc.v.ID + ":" + testIssuer
			if m["$id"] != want || m["eidoVersion"] != "1.0" || m["issuingElementIdentification"] != testIssuer {
				t.Errorf("head: $id %v, eidoVersion %v, issuing %v", m["$id"], m["eidoVersion"], m["issuingElementIdentification"])
			}
			if ctx, _ := m["@context"].(map[string]any); ctx["@vocab"] != contextVocab {
				t.Errorf("@context %v", m["@context"])
			}
			for _, k := range []string{"callComponent", "callbackComponent", "notesComponent", "emergencyResourceComponent",
				"agencyComponent", "agentComponent", "locationComponent", "personComponent"} {
				if _, ok := m[k].([]any); !ok {
					t.Errorf("%s is %v, want a list", k, m[k])
				}
			}
			if calls := m["callComponent"].([]any); len(calls) != len(tc.v.Alerts) {
				t.Errorf("%d call components for %d alerts", len(calls), len(tc.v.Alerts))
			}
			// No null anywhere; every time is RFC 3339 UTC with milliseconds.
			var walk func(path string, v any)
			walk = func(path string, v any) {
				switch v := v.(type) {
				case nil:
					t.Errorf("%s is null", path)
				case map[string]any:
					for k, e := range v {
						walk(path+"."+k, e)
					}
				case []any:
					for i, e := range v {
						walk(fmt.Sprintf("%s[%d]", path, i), e)
					}
				case string:
					if k := path[strings.LastIndexByte(path, '.')+1:]; k == "lastUpdateTimeStamp" || k == "callStartTimestamp" || k == "eta" {
						if !stampRE.MatchString(v) {
							t.Errorf("%s = %q is not RFC 3339 UTC with milliseconds", path, v)
						}
					}
				}
			}
			walk("", m)
			inc := m["incidentComponent"].(map[string]any)
			if inc["internalIncidentId"] != tc.v.ID || inc["incidentTypeInternalCode"] != tc.v.Category.String() {
				t.Errorf("incident component %v", inc)
			}
			status := "Open"
			if tc.v.Status == "closed" {
				status = "Closed"
			}
			if s := inc["incidentStatusCommonRegistryText"].([]any); s[0] != status {
				t.Errorf("status %v, want %s", s, status)
			}
			units := 0
			for _, tier := range tc.v.Tiers {
				units += len(tier.Units)
			}
			if r := m["emergencyResourceComponent"].([]any); len(r) != units {
				t.Errorf("%d resources for %d units", len(r), units)
			}
			if n := m["notesComponent"].([]any); len(n) < len(tc.v.Notes) {
				t.Errorf("%d notes for %d operator notes", len(n), len(tc.v.Notes))
			}
		})
	}
}

func TestExportDetails(t *testing.T) {
	b, err := Export(incident(), testIssuer)
	if err != nil {
		t.Fatal(err)
	}
	var doc document
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.LastUpdate != "2026-11-22T09:36:41.000Z" {
		t.Errorf("lastUpdateTimeStamp %s, want the timeline's last entry", doc.LastUpdate)
	}
	if c := doc.Calls[0]; c.ID != "urn:emergency:uid:callid:110-20261122-0001:"+testIssuer || c.Start != "2026-11-22T09:30:00.000Z" || c.Priority != "high" {
		t.Errorf("call 0: %+v", c)
	}
	if c := doc.Calls[1]; c.Start != "2026-11-22T09:30:37.250Z" {
		t.Errorf("call 1 starts %s", c.Start)
	}
	r := doc.Resources[0]
	if r.Name != "P-101" || r.PrimaryStatus != "OnScene" || r.ETA != "" ||
		strings.Join(r.StatusInternal, "|") != "arrived|tier 1|assigned 2026-11-22T09:30:05.000Z|accepted 2026-11-22T09:30:09.000Z|enroute 2026-11-22T09:30:12.000Z|arrived 2026-11-22T09:31:40.000Z" {
		t.Errorf("resource 0: %+v", r)
	}
	if r := doc.Resources[1]; r.PrimaryStatus != "Dispatched" || r.ETA != "2026-11-22T09:32:26.000Z" {
		t.Errorf("resource 1: %+v", r)
	}
	if r := doc.Resources[2]; r.PrimaryStatus != "Available" {
		t.Errorf("resource 2: %+v", r)
	}
	var notes []string
	for _, n := range doc.Notes {
		notes = append(notes, n.Comments)
	}
	if !strings.Contains(strings.Join(notes, "|"), "Caller says &lt;two&gt; suspects &amp; a car") {
		t.Errorf("notes %q", notes)
	}
	if _, err := Export(dispatch.IncidentView{}, testIssuer); err == nil {
		t.Error("an incident without id exports")
	}
	if _, err := Export(incident(), ""); err == nil {
		t.Error("an empty issuer exports")
	}
	again, _ := Export(incident(), testIssuer)
	if !bytes.Equal(b, again) {
		t.Error("two exports of one incident differ")
	}
}

func TestRoundTrip(t *testing.T) {
	for _, tc := range exportCases() {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Export(tc.v, testIssuer)
			if err != nil {
				t.Fatal(err)
			}
			calls, err := Import(b)
			if len(tc.v.Alerts) == 0 {
				var e *Error
				if !errors.As(err, &e) || e.Field != "callComponent" {
					t.Fatalf("an incident without alerts imports: %v %v", calls, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(calls) != len(tc.v.Alerts) {
				t.Fatalf("%d calls for %d alerts", len(calls), len(tc.v.Alerts))
			}
			docID := "urn:emergency:uid:incidentid:" + tc.v.ID + ":" + testIssuer
			for i, a := range tc.v.Alerts {
				src := "urn:emergency:uid:callid:" + a.ID + ":" + testIssuer
				want := Call{ID: CallID(docID, src), Source: src, T: a.T.Time, Lat: a.Lat, Lng: a.Lng, Address: a.Address,
					Category: a.Category, Priority: min(a.Priority, 3), Caller: a.Caller, Text: a.Text}
				if calls[i] != want {
					t.Errorf("call %d:\n got %+v\nwant %+v", i, calls[i], want)
				}
				al := calls[i].Alert()
				if al.ID != want.ID || !al.T.Equal(a.T.Time) || al.Lat != a.Lat || al.Text != a.Text {
					t.Errorf("alert %d: %+v", i, al)
				}
			}
			again, err := Import(b)
			if err != nil || fmt.Sprint(again) != fmt.Sprint(calls) {
				t.Errorf("a second import differs: %v", err)
			}
		})
	}
}

func TestCallIDs(t *testing.T) {
	a, b := CallID("doc", "call1"), CallID("doc", "call2")
	if a == b || a != CallID("doc", "call1") || CallID("doc1", "call") == CallID("doc", "1call") {
		t.Error("call ids are not stable and distinct")
	}
	if !regexp.MustCompile(`^EIDO-[0-9a-f]{24}$`).MatchString(a) {
		t.Errorf("call id %q", a)
	}
}

// withPoint adds a WGS 84 point to the sample's first location, the civic-only one.
func withPoint(t *testing.T, sample []byte, pos string) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(sample, &m); err != nil {
		t.Fatal(err)
	}
	loc := m["locationComponent"].([]any)[0].(map[string]any)
	v := loc["locationByValue"].(string)
	point := `<gp:location-info><gml:Point xmlns:gml="http://www.opengis.net/gml" srsName="urn:ogc:def:crs:EPSG::4326"><gml:pos>` + pos + `</gml:pos></gml:Point>`
	if !strings.Contains(v, "<gp:location-info>") {
		t.Fatal("the sample's location has changed")
	}
	loc["locationByValue"] = strings.Replace(v, "<gp:location-info>", point, 1)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestImportSample(t *testing.T) {
	sample := readShared(t, "sample_call_transfer_EIDO.json")
	t.Run("civic address only", func(t *testing.T) {
		calls, err := Import(sample)
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("the sample imports: %v, %v", calls, err)
		}
		if e.Field != "callComponent[0].locationReference" || !strings.Contains(e.Message, "only a civic address and no coordinates") {
			t.Errorf("error %q at %q", e.Message, e.Field)
		}
		t.Logf("the sample: %v", e)
	})
	t.Run("coordinates added", func(t *testing.T) {
		b := withPoint(t, sample, "39.7459 -75.5466")
		calls, err := Import(b)
		if err != nil {
			t.Fatal(err)
		}
		src := "urn:emergency:uid:callid:a56e556d871:bcf.state.pa.us"
		want := []Call{{ID: CallID("urn:emergency:uid:incidentid:a56e556d871:bcf.state.pa.us", src), Source: src,
			T: time.Date(2021, 4, 30, 18, 40, 0, 0, time.UTC), Lat: 39.7459, Lng: -75.5466,
			Address: "42 W Cellular Street, Wilmington, DE, US", Category: dispatch.OtherCategory, Priority: 2, Caller: "8195551212"}}
		if fmt.Sprint(calls) != fmt.Sprint(want) {
			t.Errorf("\n got %+v\nwant %+v", calls, want)
		}
		again, _ := Import(b)
		if fmt.Sprint(again) != fmt.Sprint(calls) {
			t.Error("re-importing the same document gives other calls")
		}
	})
}

// mutateDoc exports the synthetic incident, lets f change it as a map, and encodes it.
func mutateDoc(t *testing.T, f func(m map[string]any)) []byte {
	t.Helper()
	b, err := Export(incident(), testIssuer)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func call0(m map[string]any) map[string]any { return m["callComponent"].([]any)[0].(map[string]any) }

// locOf is the location component call 0 refers to.
func locOf(m map[string]any) map[string]any {
	id := call0(m)["locationReference"].([]any)[0].(map[string]any)["$ref"]
	for _, l := range m["locationComponent"].([]any) {
		if l.(map[string]any)["$id"] == id {
			return l.(map[string]any)
		}
	}
	panic("no location")
}

func pidf(inner string) string {
	return `<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:gp="urn:ietf:params:xml:ns:pidf:geopriv10" xmlns:gml="http://www.opengis.net/gml" xmlns:gs="http://www.opengis.net/pidflo/1.0" xmlns:ca="urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr" entity="pres:x@example.com"><tuple id="t"><status><gp:geopriv><gp:location-info>` +
		inner + `</gp:location-info></gp:geopriv></status></tuple></presence>`
}

func TestImportErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		doc   []byte
		field string
		msg   string
	}{
		{"too big", append([]byte(`{"x":"`), bytes.Repeat([]byte("a"), MaxDocument)...), "", "longer than"},
		{"empty", []byte(""), "", "not a JSON object"},
		{"array", []byte(`[]`), "", "not a JSON object"},
		{"bad JSON", []byte(`{"$id":`), "", "not valid JSON"},
		{"no $id", mutateDoc(t, func(m map[string]any) { delete(m, "$id") }), "$id", "no $id"},
		{"no eidoVersion", mutateDoc(t, func(m map[string]any) { delete(m, "eidoVersion") }), "eidoVersion", "required"},
		{"eidoVersion 2.0", mutateDoc(t, func(m map[string]any) { m["eidoVersion"] = "2.0" }), "eidoVersion", "not supported"},
		{"no calls", mutateDoc(t, func(m map[string]any) { delete(m, "callComponent") }), "callComponent", "no call components"},
		{"empty calls", mutateDoc(t, func(m map[string]any) { m["callComponent"] = []any{} }), "callComponent", "no call components"},
		{"calls not a list", mutateDoc(t, func(m map[string]any) { m["callComponent"] = "x" }), "callComponent", "JSON string"},
		{"call without $id", mutateDoc(t, func(m map[string]any) { delete(call0(m), "$id") }), "callComponent[0].$id", "no $id"},
		{"duplicate call", mutateDoc(t, func(m map[string]any) {
			m["callComponent"].([]any)[1].(map[string]any)["$id"] = call0(m)["$id"]
		}), "callComponent[1].$id", "callComponent[0]"},
		{"no start", mutateDoc(t, func(m map[string]any) { delete(call0(m), "callStartTimestamp") }), "callComponent[0].callStartTimestamp", "required"},
		{"bad start", mutateDoc(t, func(m map[string]any) { call0(m)["callStartTimestamp"] = "2026-11-22 09:30" }), "callComponent[0].callStartTimestamp", "RFC 3339"},
		{"start not a string", mutateDoc(t, func(m map[string]any) { call0(m)["callStartTimestamp"] = 5 }), "callComponent.callStartTimestamp", "JSON number"},
		{"no location anywhere", mutateDoc(t, func(m map[string]any) {
			delete(call0(m), "locationReference")
			delete(m["incidentComponent"].(map[string]any), "locationReference")
		}), "callComponent[0].locationReference", "no location"},
		{"civic only", mutateDoc(t, func(m map[string]any) {
			locOf(m)["locationByValue"] = pidf(`<ca:civicAddress><ca:country>CN</ca:country><ca:A1>Shanghai</ca:A1></ca:civicAddress>`)
		}), "callComponent[0].locationReference", "only a civic address and no coordinates"},
		{"by reference only", mutateDoc(t, func(m map[string]any) {
			l := locOf(m)
			delete(l, "locationByValue")
			l["locationByReferenceUrl"] = "https://lis.example.com/loc/1"
		}), "callComponent[0].locationReference", "only by reference"},
		{"dangling reference", mutateDoc(t, func(m map[string]any) {
			call0(m)["locationReference"] = []any{map[string]any{"$ref": "nowhere"}}
		}), "callComponent[0].locationReference", `"nowhere"`},
		{"not XML", mutateDoc(t, func(m map[string]any) { locOf(m)["locationByValue"] = "<presence" }), "locationComponent[1].locationByValue", "not well-formed"},
		{"not PIDF", mutateDoc(t, func(m map[string]any) { locOf(m)["locationByValue"] = "<kml/>" }), "locationComponent[1].locationByValue", "not a PIDF-LO"},
		{"bad pos", mutateDoc(t, func(m map[string]any) {
			locOf(m)["locationByValue"] = pidf(`<gml:Point><gml:pos>north east</gml:pos></gml:Point>`)
		}), "locationComponent[1].locationByValue", "latitude longitude"},
		{"pos out of range", mutateDoc(t, func(m map[string]any) {
			locOf(m)["locationByValue"] = pidf(`<gml:Point><gml:pos>91 10</gml:pos></gml:Point>`)
		}), "locationComponent[1].locationByValue", "out of range"},
		{"other CRS", mutateDoc(t, func(m map[string]any) {
			locOf(m)["locationByValue"] = pidf(`<gml:Point srsName="urn:ogc:def:crs:EPSG::3857"><gml:pos>1 2</gml:pos></gml:Point>`)
		}), "locationComponent[1].locationByValue", "srsName"},
		{"location too long", mutateDoc(t, func(m map[string]any) {
			locOf(m)["locationByValue"] = pidf(strings.Repeat("<x/>", MaxLocationValue/4))
		}), "locationComponent[1].locationByValue", "longer than"},
		{"too deep", mutateDoc(t, func(m map[string]any) {
			locOf(m)["locationByValue"] = pidf(strings.Repeat("<x>", 100) + strings.Repeat("</x>", 100))
		}), "locationComponent[1].locationByValue", "deeper"},
		{"text too long", mutateDoc(t, func(m map[string]any) {
			for _, n := range m["notesComponent"].([]any) {
				n.(map[string]any)["notesActionComments"] = strings.Repeat("a", MaxText+1)
			}
		}), "callComponent[0]", "longer than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls, err := Import(tc.doc)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("imports: %v, %v", calls, err)
			}
			if calls != nil {
				t.Errorf("calls %v with an error", calls)
			}
			if e.Field != tc.field || !strings.Contains(e.Message, tc.msg) {
				t.Errorf("error %q at %q; want %q at %q", e.Message, e.Field, tc.msg, tc.field)
			}
		})
	}
}

func TestImportReads(t *testing.T) {
	for _, tc := range []struct {
		name string
		doc  []byte
		want func(c Call) bool
	}{
		{"unknown fields ignored", mutateDoc(t, func(m map[string]any) {
			m["somethingNew"] = map[string]any{"x": []any{1, 2}}
			call0(m)["verstat"] = "TN-Validation-Passed"
			m["vehicleComponent"] = []any{map[string]any{"weird": true}}
		}), func(c Call) bool { return c.Lat == 31.230416 }},
		{"circle centre", mutateDoc(t, func(m map[string]any) {
			locOf(m)["locationByValue"] = pidf(`<gs:Circle srsName="urn:ogc:def:crs:EPSG::4326"><gml:pos>45.5 -73.6</gml:pos><gs:radius uom="urn:ogc:def:uom:EPSG::9001">50</gs:radius></gs:Circle>`)
		}), func(c Call) bool { return c.Lat == 45.5 && c.Lng == -73.6 }},
		{"point and civic address", mutateDoc(t, func(m map[string]any) {
			l := locOf(m)
			delete(l, "locationDescriptionText")
			l["locationByValue"] = pidf(`<gml:Point><gml:pos>1.5 2.5 30</gml:pos></gml:Point><ca:civicAddress><ca:country>CN</ca:country><ca:A1>Shanghai</ca:A1><ca:RD>Nanjing</ca:RD><ca:STS>Road</ca:STS><ca:HNO>100</ca:HNO></ca:civicAddress>`)
		}), func(c Call) bool {
			return c.Lat == 1.5 && c.Lng == 2.5 && c.Address == "100 Nanjing Road, Shanghai, CN"
		}},
		{"incident location when the call has none", mutateDoc(t, func(m map[string]any) { delete(call0(m), "locationReference") }),
			func(c Call) bool { return c.Lat == 31.230416 && c.Address == "人民广场 Renmin Square" }},
		{"priority from the incident", mutateDoc(t, func(m map[string]any) {
			delete(call0(m), "priorityIdentifier")
			m["incidentComponent"].(map[string]any)["incidentCommonPriorityNumber"] = 7
		}), func(c Call) bool { return c.Priority == 3 }},
		{"priority highest", mutateDoc(t, func(m map[string]any) { call0(m)["priorityIdentifier"] = "highest" }), func(c Call) bool { return c.Priority == 1 }},
		{"priority default", mutateDoc(t, func(m map[string]any) {
			delete(call0(m), "priorityIdentifier")
			delete(m["incidentComponent"].(map[string]any), "incidentCommonPriorityNumber")
		}), func(c Call) bool { return c.Priority == 2 }},
		{"category from the incident type", mutateDoc(t, func(m map[string]any) {
			delete(call0(m), "localCallType")
			inc := m["incidentComponent"].(map[string]any)
			delete(inc, "incidentTypeInternalCode")
			delete(inc, "incidentTypeInternalText")
			inc["incidentTypeCommonRegistryText"] = "Fire: Structure"
		}), func(c Call) bool { return c.Category == dispatch.Fire }},
		{"category from the internal code", mutateDoc(t, func(m map[string]any) { delete(call0(m), "localCallType") }),
			func(c Call) bool { return c.Category == dispatch.Criminal }},
		{"HTML note", mutateDoc(t, func(m map[string]any) {
			for _, n := range m["notesComponent"].([]any) {
				n.(map[string]any)["notesActionComments"] = " <p>Two <b>men</b> &amp; a dog</p> "
			}
		}), func(c Call) bool { return c.Text == "Two men & a dog" }},
		{"sip caller", mutateDoc(t, func(m map[string]any) {
			m["callbackComponent"].([]any)[0].(map[string]any)["callBackInformationUri"] = []any{"sip:alice@example.com"}
		}), func(c Call) bool { return c.Caller == "sip:alice@example.com" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls, err := Import(tc.doc)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.want(calls[0]) {
				t.Errorf("call 0: %+v", calls[0])
			}
		})
	}
}

func TestErrorText(t *testing.T) {
	e := &Error{Field: "callComponent[0].locationReference", Message: "no coordinates"}
	if e.Error() != "eido: callComponent[0].locationReference: no coordinates" {
		t.Error(e.Error())
	}
	if (&Error{Message: "x"}).Error() != "eido: x" {
		t.Error("document error text")
	}
}

func FuzzImport(f *testing.F) {
	for _, tc := range exportCases() {
		if b, err := Export(tc.v, testIssuer); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"$id":"d","eidoVersion":"1.0","callComponent":[{"$id":"c","callStartTimestamp":"2021-04-30T14:40:00.0-04:00","locationReference":[{"$ref":"l"}]}],"locationComponent":[{"$id":"l","locationByValue":"` +
		strings.ReplaceAll(pidf(`<gml:Point><gml:pos>1 2</gml:pos></gml:Point>`), `"`, `\"`) + `"}]}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))
	if b, err := readSample(); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		calls, err := Import(b)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T %v is not an *Error", err, err)
			}
			if calls != nil {
				t.Fatal("calls with an error")
			}
			return
		}
		if len(calls) == 0 {
			t.Fatal("no calls and no error")
		}
		for _, c := range calls {
			if !strings.HasPrefix(c.ID, "EIDO-") || c.Priority < 1 || c.Priority > 3 || c.Category > dispatch.OtherCategory ||
				c.Lat < -90 || c.Lat > 90 || c.Lng < -180 || c.Lng > 180 || c.T.Location() != time.UTC {
				t.Fatalf("bad call %+v", c)
			}
		}
	})
}

func TestImportErrorMessageBounded(t *testing.T) {
	b := mutateDoc(t, func(m map[string]any) {
		var refs []any
		for i := range 5000 {
			refs = append(refs, map[string]any{"$ref": fmt.Sprintf("missing-%d", i)})
		}
		call0(m)["locationReference"] = refs
	})
	_, err := Import(b)
	var e *Error
	if !errors.As(err, &e) || e.Field != "callComponent[0].locationReference" {
		t.Fatalf("error %v", err)
	}
	if len(e.Message) > 600 || !strings.Contains(e.Message, "…") {
		t.Errorf("a %d-byte message: %s", len(e.Message), e.Message)
	}
}
