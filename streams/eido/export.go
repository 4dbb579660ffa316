package eido

import (
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"time"

	"commandd/dispatch"
)

// Export writes the incident v as an EIDO 1.0 JSON document issued by issuer (the
// issuing element's and agency's identifier, such as "commandd.example.org"). The
// document is a function of v alone: its lastUpdateTimeStamp is the latest time v
// holds, not the time of the export.
func Export(v dispatch.IncidentView, issuer string) ([]byte, error) {
	if v.ID == "" {
		return nil, errors.New("eido: the incident has no id")
	}
	if issuer == "" {
		return nil, errors.New("eido: the issuer is empty")
	}
	return json.Marshal(build(v, issuer))
}

// Local identifiers of the components Export writes. The incident and the calls use
// the urn:emergency:uid forms of NENA-STA-010; the others only need to be unique
// within the document.
func incidentURN(id, issuer string) string {
	return "urn:emergency:uid:incidentid:" + id + ":" + issuer
}
func callURN(id, issuer string) string { return "urn:emergency:uid:callid:" + id + ":" + issuer }

// stamp is t as the document writes times: RFC 3339, UTC, milliseconds.
func stamp(t time.Time) string { return t.UTC().Format(dispatch.MillisLayout) }

// exporter builds one document.
type exporter struct {
	agency ref
	doc    *document
	agents map[string]bool
	latest time.Time
}

func (x *exporter) seen(ts ...time.Time) {
	for _, t := range ts {
		if t.After(x.latest) {
			x.latest = t
		}
	}
}

func (x *exporter) head(id string, t time.Time) prologue {
	x.seen(t)
	return prologue{ID: id, LastUpdate: stamp(t), UpdatedByAgency: x.agency}
}

// agent adds (once) the agent with id and role, and returns a reference to it.
func (x *exporter) agent(id, role string, t time.Time) ref {
	if !x.agents[id] {
		x.agents[id] = true
		x.doc.Agents = append(x.doc.Agents, agentComponent{prologue: x.head(id, t),
			Roles: []string{role}, AgencyReference: x.agency})
	}
	return ref{id}
}

// location adds a location component with a point, and returns a reference to it.
func (x *exporter) location(id, typ string, lat, lng float64, address string, t time.Time) ref {
	x.doc.Locations = append(x.doc.Locations, locationComponent{prologue: x.head(id, t), Type: typ,
		ByValue: pidfPoint(id, lat, lng, stamp(t)), Description: address})
	return ref{id}
}

// note adds a notes component and returns a reference to it.
func (x *exporter) note(id, text string, author *ref, t time.Time) ref {
	x.doc.Notes = append(x.doc.Notes, notesComponent{prologue: x.head(id, t),
		Comments: html.EscapeString(text), AgentReference: author})
	return ref{id}
}

func build(v dispatch.IncidentView, issuer string) *document {
	x := &exporter{agency: ref{issuer}, agents: map[string]bool{}, doc: &document{
		EIDOVersion: Version, IssuingElement: issuer, Calls: []callComponent{}, Callbacks: []callbackComponent{},
		Notes: []notesComponent{}, Resources: []resourceComponent{}, Agencies: []agencyComponent{},
		Agents: []agentComponent{}, Locations: []locationComponent{}, Persons: []personComponent{},
		Context: &jsonLDContext{Vocab: contextVocab}}}
	doc := x.doc
	received := v.Received.Time
	incID := incidentURN(v.ID, issuer)
	suffix := "@" + issuer

	inc := &incidentComponent{prologue: x.head(incID, received), TypeInternalCode: v.Category.String(),
		TypeInternalText: categoryText[v.Category], TypeCommon: commonType(v.Category),
		StatusInternal: []string{v.Status}, StatusCommon: []string{statusCommon(v.Status)},
		InternalID: v.ID, Beat: v.Zone}
	if v.Priority > 0 {
		p := int64(v.Priority)
		inc.CommonPriority = &p
		inc.PriorityInternalText = fmt.Sprintf("P%d", v.Priority)
	}
	inc.LocationReference = []ref{x.location("location.incident."+v.ID+suffix, "Incident", v.Lat, v.Lng, v.Address, received)}
	if v.Status == "closed" && v.Disposition != "" {
		inc.Dispositions = []dispositionComponent{{prologue: x.head("disposition."+v.ID+suffix, v.Closed.Time),
			Code: v.Disposition, Primary: true}}
	}
	x.seen(v.Closed.Time)

	for n, a := range v.Alerts {
		t := a.T.Time
		callID := callURN(a.ID, issuer)
		c := callComponent{prologue: x.head(callID, t), PrimaryCallType: "emergency", LocalCallType: a.Category.String(),
			Direction: "incoming", Priority: priorityIdentifier(a.Priority), Start: stamp(t), State: "callEnd"}
		key := fmt.Sprintf("%d.%s", n+1, a.ID)
		c.LocationReference = []ref{x.location("location.call."+key+suffix, "Caller", a.Lat, a.Lng, a.Address, t)}
		if a.Text != "" {
			c.NotesReference = []ref{x.note("note.call."+key+suffix, a.Text, nil, t)}
		}
		if a.Caller != "" {
			cb := callbackComponent{prologue: x.head("callback."+key+suffix, t), URIs: []string{callerURI(a.Caller)}}
			doc.Callbacks = append(doc.Callbacks, cb)
			c.CallBackReference = &ref{cb.ID}
			p := personComponent{prologue: x.head("person.caller."+key+suffix, t), Roles: []string{"Caller"},
				CallIdentifier: []string{callID}, LocationReference: c.LocationReference, CallBackReference: &ref{cb.ID}}
			doc.Persons = append(doc.Persons, p)
			c.PersonReference = []ref{{p.ID}}
		}
		doc.Calls = append(doc.Calls, c)
	}

	for n, note := range v.Notes {
		var author *ref
		if note.By != "" {
			r := x.agent("agent."+note.By+suffix, "Dispatcher", note.T.Time)
			author = &r
		}
		inc.NotesReference = append(inc.NotesReference, x.note(fmt.Sprintf("note.incident.%d.%s%s", n+1, v.ID, suffix), note.Text, author, note.T.Time))
	}

	units := map[string]int{}
	for _, tier := range v.Tiers {
		for _, u := range tier.Units {
			units[u.Unit]++
			id := "urn:emergency:uid:unitid:" + u.Unit + ":" + issuer
			if k := units[u.Unit]; k > 1 {
				id += fmt.Sprintf("#%d", k)
			}
			last := latestOf(received, u.Assigned.Time, u.Accepted.Time, u.Enroute.Time, u.Arrived.Time, u.Cleared.Time)
			r := resourceComponent{prologue: x.head(id, last), TypeCommon: "Law Enforcement", Attributes: []string{},
				Name: u.Unit, PrimaryStatus: unitStatusCommon(u), SecondaryStatus: []string{},
				StatusInternal: unitStatusInternal(u, tier.Tier),
				AgentReference: []ref{x.agent("agent.unit."+u.Unit+suffix, "Responder", last)}}
			if !u.Assigned.IsZero() && u.ETA > 0 && u.Arrived.IsZero() && u.Cleared.IsZero() {
				r.ETA = stamp(u.Assigned.Add(time.Duration(u.ETA * float64(time.Second))).Truncate(time.Millisecond))
			}
			doc.Resources = append(doc.Resources, r)
		}
	}
	for _, e := range v.Timeline {
		x.seen(e.T.Time)
	}

	doc.Incident = inc
	doc.Agencies = append(doc.Agencies, agencyComponent{prologue: x.head(issuer, received),
		Roles: []string{"CallReceiving", "Dispatch"}, Types: []string{"police"}, Owning: true})
	doc.prologue = prologue{ID: incID, LastUpdate: stamp(x.latest), UpdatedByAgency: x.agency}
	return doc
}

func latestOf(ts ...time.Time) time.Time {
	var l time.Time
	for _, t := range ts {
		if t.After(l) {
			l = t
		}
	}
	return l
}

// categoryText is the human text of each category (incidentTypeInternalText).
var categoryText = map[dispatch.Category]string{
	dispatch.Criminal: "Criminal offence", dispatch.PublicOrder: "Public order", dispatch.Traffic: "Traffic",
	dispatch.Fire: "Fire", dispatch.Dispute: "Dispute", dispatch.Help: "Request for help", dispatch.OtherCategory: "Other",
}

// commonType is the incidentTypeCommonRegistryText of a category. The NENA Incident
// Type registry is not among this package's inputs: these are plain descriptive
// values, and incidentTypeInternalCode carries the exact category.
func commonType(c dispatch.Category) string {
	switch c {
	case dispatch.Criminal:
		return "Law Enforcement: Crime"
	case dispatch.PublicOrder:
		return "Law Enforcement: Public Order"
	case dispatch.Traffic:
		return "Traffic"
	case dispatch.Fire:
		return "Fire"
	case dispatch.Dispute:
		return "Law Enforcement: Disturbance"
	case dispatch.Help:
		return "Assistance"
	}
	return "Other"
}

func statusCommon(s string) string {
	if s == "closed" {
		return "Closed"
	}
	return "Open"
}

// priorityIdentifier maps a commandd priority (1 most urgent) to the call's
// STA-023 priority: 1 high, 2 normal, 3 low, 4 lowest.
func priorityIdentifier(p int) string {
	switch {
	case p <= 1:
		return "high"
	case p == 2:
		return "normal"
	case p == 3:
		return "low"
	}
	return "lowest"
}

// callerURI is the call-back URI of a caller: a tel: URI when the caller is a phone
// number (masked digits included: RFC 3966 allows * and #), else the text as given.
func callerURI(caller string) string {
	if isPhone(caller) {
		return "tel:" + caller
	}
	return caller
}

func isPhone(s string) bool {
	digits := 0
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '+' && i == 0, r == '*', r == '#', r == '-', r == '.', r == '(', r == ')':
		default:
			return false
		}
	}
	return digits > 0
}

func unitStatusCommon(u dispatch.TierUnitView) string {
	switch {
	case !u.Cleared.IsZero():
		return "Available"
	case !u.Arrived.IsZero():
		return "OnScene"
	case !u.Enroute.IsZero():
		return "Enroute"
	}
	return "Dispatched"
}

// unitStatusInternal lists the unit's state and the times it reached each step, as
// local status codes ("arrived", "assigned 2026-11-22T09:30:00.000Z", …): the
// resource component has no members for them.
func unitStatusInternal(u dispatch.TierUnitView, tier int) []string {
	state := "assigned"
	out := []string{}
	for _, s := range []struct {
		name string
		t    dispatch.Millis
	}{{"assigned", u.Assigned}, {"accepted", u.Accepted}, {"enroute", u.Enroute}, {"arrived", u.Arrived}, {"cleared", u.Cleared}} {
		if !s.t.IsZero() {
			state = s.name
			out = append(out, s.name+" "+stamp(s.t.Time))
		}
	}
	return append([]string{state, fmt.Sprintf("tier %d", tier)}, out...)
}
