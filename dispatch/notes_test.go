package dispatch

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestNotes: a note goes on an open or closed incident, trimmed, with who wrote it and
// a timeline line; an unknown incident or a text empty or over 2000 characters is
// rejected and changes nothing; snapshots keep notes.
func TestNotes(t *testing.T) {
	long := strings.Repeat("湖", MaxNoteLength) // 2000 characters, 6000 bytes
	for _, tc := range []struct {
		name     string
		close    bool
		incident string
		text     string
		reject   string
		want     string // the note's text as kept
	}{
		{"open", false, "INC-000001", "suspect left north on foot", "", "suspect left north on foot"},
		{"trimmed", false, "INC-000001", " \n 嫌疑人向北逃离\t", "", "嫌疑人向北逃离"},
		{"closed", true, "INC-000001", "caller called back: all fine", "", "caller called back: all fine"},
		{"2000 characters", false, "INC-000001", long, "", long},
		{"2001 characters", false, "INC-000001", long + "湖", "note: text must be 1 to 2000 characters", ""},
		{"blank", false, "INC-000001", " \t\n", "note: text must be 1 to 2000 characters", ""},
		{"unknown incident", false, "INC-000009", "hello", "unknown incident INC-000009", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, t0 := acceptWorld(t)
			if tc.close {
				e.Apply(&Close{T: t0.Add(8 * time.Second), Incident: "INC-000001", Disposition: "done", By: "op:1"})
			}
			before, _ := e.Incident("INC-000001")
			changes := e.Apply(&Note{T: t0.Add(10 * time.Second), Incident: tc.incident, Text: tc.text, By: "operator:ab12"})
			v, _ := e.Incident("INC-000001")
			if tc.reject != "" {
				if len(changes) != 1 || changes[0].Kind != Rejected || changes[0].Reason != tc.reject {
					t.Fatalf("changes %+v, want the rejection %q", changes, tc.reject)
				}
				if len(v.Notes) != 0 || len(v.Timeline) != len(before.Timeline) {
					t.Fatalf("a rejected note changed the incident: %+v", v)
				}
				return
			}
			want := NoteView{T: Millis{t0.Add(10 * time.Second)}, By: "operator:ab12", Text: tc.want}
			if len(v.Notes) != 1 || v.Notes[0] != want {
				t.Fatalf("notes %+v, want [%+v]", v.Notes, want)
			}
			if l := v.Timeline[len(v.Timeline)-1]; l.What != "note: "+tc.want || l.By != "operator:ab12" {
				t.Errorf("last timeline line %+v", l)
			}
			if len(changes) != 1 || changes[0].Kind != IncidentUpdated || changes[0].Incident != "INC-000001" {
				t.Errorf("changes %+v, want one incident update", changes)
			}
			snap, _ := e.Snapshot()
			r, err := Restore(e.Config(), snap)
			if err != nil {
				t.Fatal(err)
			}
			if back, _ := r.Incident("INC-000001"); len(back.Notes) != 1 || back.Notes[0] != want {
				t.Errorf("restored notes %+v", back.Notes)
			}
		})
	}
}

// TestNotesNeverNull: an incident without notes writes "notes":[].
func TestNotesNeverNull(t *testing.T) {
	e, _ := acceptWorld(t)
	v, _ := e.Incident("INC-000001")
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"notes":[]`) {
		t.Errorf("no empty notes list in %s", b)
	}
	if b, _ := json.Marshal(IncidentView{}); !strings.Contains(string(b), `"notes":[]`) {
		t.Errorf("no empty notes list in %s", b)
	}
}
