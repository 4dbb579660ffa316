package eido

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"commandd/dispatch"
)

// MaxDocument is the largest EIDO document Import reads, in bytes.
const MaxDocument = 1 << 20

// MaxCalls is the most call components Import takes from one document.
const MaxCalls = 1000

// MaxText is the longest text Import keeps in a Call's Address, Caller or Text, in
// bytes; longer ones are errors.
const MaxText = 4 << 10

// Error is a problem with an EIDO document: Field is the JSON path of the element at
// fault ("callComponent[0].locationReference"; "" for the document as a whole) and
// Message says what is wrong, for an API's invalid_argument answer.
type Error struct {
	Field   string
	Message string
}

func (e *Error) Error() string {
	if e.Field == "" {
		return "eido: " + e.Message
	}
	return "eido: " + e.Field + ": " + e.Message
}

func fail(field, format string, args ...any) *Error {
	return &Error{Field: field, Message: fmt.Sprintf(format, args...)}
}

// Call is one call of an EIDO document, as it becomes a commandd alert.
type Call struct {
	// ID is the alert's id, derived from the document's $id and the call's $id:
	// "EIDO-" and 24 hex digits. The same call of the same document always gets it.
	ID string
	// Source is the call component's $id.
	Source string
	// T is the call's start, in UTC, cut to the millisecond.
	T        time.Time
	Lat      float64
	Lng      float64
	Address  string
	Category dispatch.Category
	// Priority is 1 (most urgent) to 3; 2 when the document gives none.
	Priority int
	Caller   string
	Text     string
}

// Alert is the call as an alert event. Its Cell is left for the server to place.
func (c Call) Alert() dispatch.AlertReceived {
	return dispatch.AlertReceived{ID: c.ID, T: c.T, Lat: c.Lat, Lng: c.Lng, Address: c.Address,
		Category: c.Category, Priority: c.Priority, Caller: c.Caller, Text: c.Text}
}

// CallID is the alert id Import gives the call with $id callID in the document with
// $id docID.
func CallID(docID, callID string) string {
	h := sha256.New()
	h.Write([]byte(docID))
	h.Write([]byte{0})
	h.Write([]byte(callID))
	return "EIDO-" + hex.EncodeToString(h.Sum(nil))[:24]
}

// The members Import reads; decoding ignores all others.
type inRef struct {
	Ref string `json:"$ref"`
}

type inDoc struct {
	ID          string       `json:"$id"`
	EIDOVersion *string      `json:"eidoVersion"`
	Incident    *inIncident  `json:"incidentComponent"`
	Calls       []inCall     `json:"callComponent"`
	Callbacks   []inCallback `json:"callbackComponent"`
	Notes       []inNote     `json:"notesComponent"`
	Locations   []inLocation `json:"locationComponent"`
}

type inIncident struct {
	TypeInternalCode  string   `json:"incidentTypeInternalCode"`
	TypeInternalText  string   `json:"incidentTypeInternalText"`
	TypeCommon        string   `json:"incidentTypeCommonRegistryText"`
	LocationReference []inRef  `json:"locationReference"`
	CommonPriority    *float64 `json:"incidentCommonPriorityNumber"`
}

type inCall struct {
	ID                string  `json:"$id"`
	LocalCallType     string  `json:"localCallType"`
	Priority          string  `json:"priorityIdentifier"`
	Start             *string `json:"callStartTimestamp"`
	CallBackReference *inRef  `json:"callBackReference"`
	LocationReference []inRef `json:"locationReference"`
	NotesReference    []inRef `json:"notesReference"`
}

type inCallback struct {
	ID   string   `json:"$id"`
	URIs []string `json:"callBackInformationUri"`
}

type inNote struct {
	ID       string `json:"$id"`
	Comments string `json:"notesActionComments"`
}

type inLocation struct {
	ID          string `json:"$id"`
	ByValue     string `json:"locationByValue"`
	ByReference string `json:"locationByReferenceUrl"`
	Description string `json:"locationDescriptionText"`
}

// Import reads an EIDO 1.0 JSON document and returns its calls, in document order,
// as alerts to be. Every error is an *Error.
//
// A call's location is the first of its locationReference entries (or, when it has
// none, the incident's) whose PIDF-LO locationByValue holds a gml:Point or circle
// centre in WGS 84; its address is that location's civic address or description, or
// else another referenced location's. A call none of whose locations has coordinates
// is an error. The category is the call's localCallType or the incident's internal
// code when either is a commandd category name, else it is read from the incident
// type's text; the priority is the call's priorityIdentifier (highest and high 1,
// normal 2, low and lowest 3), else the incident's common priority number cut to
// 1–3, else 2. The caller is the call-back component's first URI (the number of a
// tel: URI); the text is the call's notes, without HTML.
func Import(b []byte) ([]Call, error) {
	calls, err := importDoc(b)
	if err != nil {
		return nil, err
	}
	return calls, nil
}

func importDoc(b []byte) ([]Call, *Error) {
	if len(b) > MaxDocument {
		return nil, fail("", "the document is longer than %d bytes", MaxDocument)
	}
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return nil, fail("", "the document is not a JSON object")
	}
	if !utf8.Valid(b) {
		return nil, fail("", "the document is not valid UTF-8")
	}
	var doc inDoc
	if err := json.Unmarshal(b, &doc); err != nil {
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &te):
			return nil, fail(te.Field, "%s is a JSON %s, not the type the schema gives it", te.Field, te.Value)
		case errors.As(err, &se):
			return nil, fail("", "the document is not valid JSON (at byte %d)", se.Offset)
		}
		return nil, fail("", "the document is not valid JSON")
	}
	if doc.ID == "" {
		return nil, fail("$id", "the document has no $id")
	}
	if doc.EIDOVersion == nil {
		return nil, fail("eidoVersion", "eidoVersion is required")
	}
	if *doc.EIDOVersion != Version {
		return nil, fail("eidoVersion", "eidoVersion %q is not supported: want %q", clip(*doc.EIDOVersion, 20), Version)
	}
	if len(doc.Calls) == 0 {
		return nil, fail("callComponent", "the document has no call components: there is no call to make an alert of")
	}
	if len(doc.Calls) > MaxCalls {
		return nil, fail("callComponent", "the document has more than %d call components", MaxCalls)
	}
	r := resolver{doc: &doc, locs: index(doc.Locations, func(l inLocation) string { return l.ID }),
		notes: index(doc.Notes, func(n inNote) string { return n.ID }), cbs: index(doc.Callbacks, func(c inCallback) string { return c.ID }),
		parsed: map[int]parsedLoc{}}
	seen := map[string]int{}
	out := make([]Call, 0, len(doc.Calls))
	for i, c := range doc.Calls {
		path := fmt.Sprintf("callComponent[%d]", i)
		if c.ID == "" {
			return nil, fail(path+".$id", "the call has no $id")
		}
		if j, dup := seen[c.ID]; dup {
			return nil, fail(path+".$id", "the call's $id is that of callComponent[%d]", j)
		}
		seen[c.ID] = i
		call, err := r.call(path, c)
		if err != nil {
			return nil, err
		}
		call.ID, call.Source = CallID(doc.ID, c.ID), c.ID
		out = append(out, call)
	}
	return out, nil
}

func index[T any](list []T, id func(T) string) map[string]int {
	m := make(map[string]int, len(list))
	for i, v := range list {
		if k := id(v); k != "" {
			if _, dup := m[k]; !dup {
				m[k] = i
			}
		}
	}
	return m
}

type parsedLoc struct {
	loc pidfLocation
	err *Error
}

type resolver struct {
	doc              *inDoc
	locs, notes, cbs map[string]int
	parsed           map[int]parsedLoc
}

// location parses locationComponent[j] once.
func (r *resolver) location(j int) (pidfLocation, *Error) {
	if p, ok := r.parsed[j]; ok {
		return p.loc, p.err
	}
	var p parsedLoc
	if l := r.doc.Locations[j]; l.ByValue != "" {
		loc, err := parsePIDF(l.ByValue)
		if err != nil {
			p.err = fail(fmt.Sprintf("locationComponent[%d].locationByValue", j), "%v", err)
		}
		p.loc = loc
	}
	r.parsed[j] = p
	return p.loc, p.err
}

func (r *resolver) call(path string, c inCall) (Call, *Error) {
	var out Call
	if c.Start == nil {
		return out, fail(path+".callStartTimestamp", "callStartTimestamp is required")
	}
	t, err := time.Parse(time.RFC3339Nano, *c.Start)
	if err != nil {
		return out, fail(path+".callStartTimestamp", "callStartTimestamp %q is not an RFC 3339 date-time", clip(*c.Start, 40))
	}
	out.T = t.UTC().Truncate(time.Millisecond)

	if err := r.place(path, c, &out); err != nil {
		return out, err
	}
	out.Category = r.category(c)
	out.Priority = r.priority(c)

	if c.CallBackReference != nil {
		if j, ok := r.cbs[c.CallBackReference.Ref]; ok {
			out.Caller = callerOf(r.doc.Callbacks[j].URIs)
		}
	}
	var texts []string
	for _, ref := range c.NotesReference {
		if j, ok := r.notes[ref.Ref]; ok {
			if s := plainText(r.doc.Notes[j].Comments); s != "" {
				texts = append(texts, s)
			}
		}
	}
	out.Text = strings.Join(texts, "\n")
	for _, f := range []struct{ name, v string }{{"the address", out.Address}, {"the caller", out.Caller}, {"the text", out.Text}} {
		if len(f.v) > MaxText {
			return out, fail(path, "%s of the call is longer than %d bytes", f.name, MaxText)
		}
	}
	return out, nil
}

// place finds the call's coordinates and address.
func (r *resolver) place(path string, c inCall, out *Call) *Error {
	refs, field := c.LocationReference, path+".locationReference"
	if len(refs) == 0 && r.doc.Incident != nil && len(r.doc.Incident.LocationReference) > 0 {
		refs = r.doc.Incident.LocationReference
	}
	if len(refs) == 0 {
		return fail(field, "the call has no location (neither it nor the incident has a locationReference)")
	}
	found := false
	var civicOnly, byRef, missing []string
	pointAddr, otherAddr := "", ""
	for _, ref := range refs {
		j, ok := r.locs[ref.Ref]
		if !ok {
			missing = addListed(missing, fmt.Sprintf("%q", clip(ref.Ref, 60)))
			continue
		}
		loc, err := r.location(j)
		if err != nil {
			return err
		}
		l := r.doc.Locations[j]
		addr := loc.civic
		if addr == "" {
			addr = strings.TrimSpace(l.Description)
		}
		switch {
		case loc.hasPoint && !found:
			found = true
			out.Lat, out.Lng, pointAddr = loc.lat, loc.lng, addr
		case otherAddr == "":
			otherAddr = addr
		}
		switch {
		case loc.hasPoint:
		case loc.hasCivic:
			civicOnly = addListed(civicOnly, fmt.Sprintf("locationComponent[%d]", j))
		case l.ByReference != "":
			byRef = addListed(byRef, fmt.Sprintf("locationComponent[%d]", j))
		}
	}
	if !found {
		var why []string
		if len(civicOnly) > 0 {
			why = append(why, "a location with only a civic address and no coordinates ("+strings.Join(civicOnly, ", ")+")")
		}
		if len(byRef) > 0 {
			why = append(why, "a location given only by reference, which is not dereferenced ("+strings.Join(byRef, ", ")+")")
		}
		if len(missing) > 0 {
			why = append(why, "references to no location component ("+strings.Join(missing, ", ")+")")
		}
		if len(why) == 0 {
			why = append(why, "no location by value")
		}
		return fail(field, "the call has no coordinates: it has %s; send a PIDF-LO locationByValue with a gml:Point (WGS 84 latitude and longitude)", strings.Join(why, "; and "))
	}
	out.Address = pointAddr
	if out.Address == "" {
		out.Address = otherAddr
	}
	return nil
}

func (r *resolver) category(c inCall) dispatch.Category {
	if cat, err := dispatch.ParseCategory(c.LocalCallType); err == nil {
		return cat
	}
	inc := r.doc.Incident
	if inc == nil {
		return dispatch.OtherCategory
	}
	if cat, err := dispatch.ParseCategory(inc.TypeInternalCode); err == nil {
		return cat
	}
	for _, s := range []string{inc.TypeCommon, inc.TypeInternalText} {
		if cat, ok := categoryFromText(s); ok {
			return cat
		}
	}
	return dispatch.OtherCategory
}

// categoryFromText reads a category from an incident type's words.
func categoryFromText(s string) (dispatch.Category, bool) {
	s = strings.ToLower(s)
	has := func(words ...string) bool {
		for _, w := range words {
			if strings.Contains(s, w) {
				return true
			}
		}
		return false
	}
	switch {
	case s == "":
		return 0, false
	case has("fire", "smoke", "burn", "explosion"):
		return dispatch.Fire, true
	case has("traffic", "vehicle", "crash", "collision", "accident", "road"):
		return dispatch.Traffic, true
	case has("public order", "riot", "crowd", "noise", "protest"):
		return dispatch.PublicOrder, true
	case has("dispute", "disturbance", "domestic", "fight", "quarrel"):
		return dispatch.Dispute, true
	case has("assist", "help", "welfare", "medical", "ems", "rescue", "missing"):
		return dispatch.Help, true
	case has("crime", "criminal", "law", "police", "theft", "robbery", "burglary", "assault", "shooting", "weapon", "fraud"):
		return dispatch.Criminal, true
	}
	return 0, false
}

func (r *resolver) priority(c inCall) int {
	switch strings.ToLower(strings.TrimSpace(c.Priority)) {
	case "highest", "high":
		return 1
	case "normal":
		return 2
	case "low", "lowest":
		return 3
	}
	if inc := r.doc.Incident; inc != nil && inc.CommonPriority != nil {
		if p := *inc.CommonPriority; p >= 1 && !math.IsInf(p, 0) {
			return int(min(math.Floor(p), 3))
		}
	}
	return 2
}

// plainText is a note's HTML as text: entities decoded; when it has tags, the tags
// dropped and the space around the text trimmed.
func plainText(s string) string {
	if strings.ContainsRune(s, '<') {
		var b strings.Builder
		in := false
		for _, r := range s {
			switch {
			case r == '<':
				in = true
			case r == '>' && in:
				in = false
			case !in:
				b.WriteRune(r)
			}
		}
		s = strings.TrimSpace(b.String())
	}
	return html.UnescapeString(s)
}

// callerOf is the caller that call-back URIs name: the number of the first tel: URI,
// else the first URI as it is.
func callerOf(uris []string) string {
	first := ""
	for _, u := range uris {
		u = strings.TrimSpace(u)
		if len(u) > 4 && strings.EqualFold(u[:4], "tel:") {
			return u[4:]
		}
		if first == "" {
			first = u
		}
	}
	return first
}

// maxListed bounds how many locations an error message names.
const maxListed = 4

// addListed appends s to list unless it is there already, and names at most
// maxListed entries, then "…".
func addListed(list []string, s string) []string {
	if slices.Contains(list, s) || (len(list) > 0 && list[len(list)-1] == "…") {
		return list
	}
	if len(list) == maxListed {
		return append(list, "…")
	}
	return append(list, s)
}
