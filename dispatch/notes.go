package dispatch

import (
	"strings"
	"unicode/utf8"
)

// Operators' notes: what the people on an incident learnt or decided, in their words,
// kept on the incident (and its timeline) so the next shift and the supervisor's
// replay read it where it happened. Notes come as events through the log like every
// command, so a replay shows them at their moment.

// MaxNoteLength is the most characters (not bytes: notes are mostly Chinese) a note's
// text may have.
const MaxNoteLength = 2000

// NoteView is a note as it is kept on its incident.
type NoteView struct {
	T    Millis `json:"t"`
	By   string `json:"by"`
	Text string `json:"text"`
}

// NoteText is text as a note keeps it, trimmed, and whether a note may hold it: not
// empty, at most MaxNoteLength characters, valid UTF-8.
func NoteText(text string) (string, bool) {
	text = strings.TrimSpace(text)
	return text, text != "" && utf8.ValidString(text) && utf8.RuneCountInString(text) <= MaxNoteLength
}

// noteCommand adds a note to an incident, open or closed (until it retires).
func (e *Engine) noteCommand(ev *Note) {
	i, ok := e.incIDs[ev.Incident]
	if !ok {
		e.reject(NotFound, "unknown incident "+ev.Incident)
		return
	}
	text, ok := NoteText(ev.Text)
	if !ok {
		e.reject(Invalid, "note: text must be 1 to 2000 characters")
		return
	}
	inc := e.incs[i]
	inc.notes = append(inc.notes, NoteView{T: Millis{e.now}, By: ev.By, Text: text})
	e.logTimeline(i, "note: "+text, ev.By)
}
