package dispatch

import (
	"reflect"
	"strings"
	"testing"
)

func TestEventRoundTrip(t *testing.T) {
	for _, ev := range randomStream(5, 10, 600) {
		b, err := MarshalEvent(ev)
		if err != nil {
			t.Fatal(err)
		}
		back, err := UnmarshalEvent(b)
		if err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if !reflect.DeepEqual(ev, back) {
			t.Fatalf("round trip changed the event:\n%#v\n%#v", ev, back)
		}
	}
}

func TestUnmarshalEventErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"kind":"teleport"}`, "unknown event type"},
		{`{"kind":"unit","force":"army"}`, "unknown force"},
		{`{"kind":"unit","mode":"hovercraft"}`, "unknown mode"},
		{`{"kind":"alert","category":"alien"}`, "unknown category"},
		{`{"kind":"camera_event","type":"ufo"}`, "unknown camera event type"},
		{`{"kind":"status","status":"asleep"}`, "unknown status"},
		{`not json`, "decode event"},
	} {
		_, err := UnmarshalEvent([]byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.in, err, tc.want)
		}
	}
}
