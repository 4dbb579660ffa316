package gb28181

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func TestEventType(t *testing.T) {
	for _, tc := range []struct {
		method, typ int
		want        string
	}{
		{5, 1, EventOther},
		{5, 2, EventIntrusion},
		{5, 3, EventOther},
		{5, 4, EventOther},
		{5, 5, EventTripwire},
		{5, 6, EventIntrusion},
		{5, 7, EventTripwire},
		{5, 8, EventLoitering},
		{5, 9, EventCrowd},
		{5, 10, EventCrowd},
		{5, 11, EventOther},
		{5, 12, EventFight},
		{5, 0, EventOther},
		{5, 13, EventOther},
		{5, 99, EventOther},
		{1, 0, EventOther},
		{2, 1, EventOther},
		{2, 2, EventOther},
		{2, 5, EventOther},
		{3, 0, EventOther},
		{4, 0, EventOther},
		{6, 1, EventOther},
		{6, 2, EventOther},
		{7, 0, EventOther},
		{7, 6, EventOther}, // a video type under another method is not a video alarm
		{0, 6, EventOther},
		{8, 2, EventOther},
		{-1, -1, EventOther},
	} {
		if got := EventType(tc.method, tc.typ); got != tc.want {
			t.Errorf("EventType(%d, %d) = %q, want %q", tc.method, tc.typ, got, tc.want)
		}
	}
}

func TestConfidence(t *testing.T) {
	for _, tc := range []struct {
		priority int
		want     float64
	}{{1, 0.95}, {2, 0.85}, {3, 0.7}, {4, 0.5}, {0, 0.5}, {5, 0.5}, {-3, 0.5}} {
		if got := Confidence(tc.priority); got != tc.want {
			t.Errorf("Confidence(%d) = %v, want %v", tc.priority, got, tc.want)
		}
	}
}

var commanddTypes = map[string]bool{
	EventIntrusion: true, EventTripwire: true, EventLoitering: true, EventCrowd: true, EventFight: true,
	EventFire: true, EventFaceMatch: true, EventPlateMatch: true, EventOther: true,
}

// TestMappingMatchesDoc keeps the tables of docs/api.md's "GB/T 28181 camera
// platforms" section and the Go tables in step.
func TestMappingMatchesDoc(t *testing.T) {
	file, err := os.ReadFile("../../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	const heading = "\n## GB/T 28181 camera platforms\n"
	_, doc, ok := strings.Cut(string(file), heading)
	if !ok {
		t.Fatalf("docs/api.md has no %q section", strings.TrimSpace(heading))
	}
	if end := strings.Index(doc, "\n## "); end >= 0 {
		doc = doc[:end]
	}
	row := regexp.MustCompile("^\\| (\\d+) \\([^)]*\\) \\| ([^|]+) \\| [^|]* \\| `([a-z_]+)` \\|$")
	prio := regexp.MustCompile("^\\| (\\d) \\| [^|]* \\| ([0-9.]+) \\|$")
	rows, prios := 0, 0
	for _, line := range strings.Split(doc, "\n") {
		if m := row.FindStringSubmatch(line); m != nil {
			rows++
			method, _ := strconv.Atoi(m[1])
			typ, err := strconv.Atoi(strings.TrimSpace(m[2]))
			if err != nil {
				typ = 0 // "any", "other or absent"
			}
			if !commanddTypes[m[3]] {
				t.Errorf("docs/api.md: %q is not a commandd event type", m[3])
			}
			if got := EventType(method, typ); got != m[3] {
				t.Errorf("docs/api.md says %d/%s → %s, EventType gives %s", method, m[2], m[3], got)
			}
			if _, ok := alarmMapping[alarmKey{method, typ}]; !ok {
				t.Errorf("docs/api.md row %d/%s has no row in alarmMapping", method, m[2])
			}
		}
		if m := prio.FindStringSubmatch(line); m != nil {
			prios++
			p, _ := strconv.Atoi(m[1])
			c, _ := strconv.ParseFloat(m[2], 64)
			if Confidence(p) != c {
				t.Errorf("docs/api.md says priority %d → %v, Confidence gives %v", p, c, Confidence(p))
			}
		}
	}
	if rows != len(alarmMapping) {
		t.Errorf("docs/api.md has %d mapping rows, alarmMapping %d", rows, len(alarmMapping))
	}
	if prios != len(priorityConfidence) {
		t.Errorf("docs/api.md has %d priority rows, priorityConfidence %d", prios, len(priorityConfidence))
	}
	for k, v := range alarmMapping {
		if !commanddTypes[v] {
			t.Errorf("alarmMapping %v → %q is not a commandd event type", k, v)
		}
	}
}
