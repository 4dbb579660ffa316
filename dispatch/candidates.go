package dispatch

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"commandd/geo"
)

// Candidates for "send another unit". When an operator sends a unit by hand (a tier at
// risk, a scene that needs more), the list to pick from must rank units the way the
// planner does, by its own travel times to where the unit would go, or the operator
// and the engine disagree about who is nearest: straight-line distance lies. Beside
// the units the operator could send, the list shows the soonest ones they could not,
// saying why, so that "why not that car across the street?" has its answer on screen.

// Why a unit is, or is not, among those an operator may send: machine codes the pages
// translate. The first three and the last two make a unit ineligible; a unit that is
// assigned elsewhere or busy may still be pulled.
const (
	WhyNotEligible    = "not_eligible"     // its force or mode is not one the tier takes
	WhyOnThisIncident = "on_this_incident" // it is on this incident already
	WhyReleased       = "released"         // an operator released it from this incident
	WhyAssigned       = "assigned"         // on another incident (see On); eligible: it may be pulled
	WhyBusy           = "busy"             // busy; eligible: it may be pulled
	WhyOffDuty        = "offduty"          // off duty
	WhyNoPosition     = "no_position"      // no fix yet, so no ETA
)

// Errors of Candidates.
var (
	ErrUnknownIncident = errors.New("unknown incident")
	ErrNoSuchTier      = errors.New("no such tier")
	ErrIncidentClosed  = errors.New("incident is closed")
)

// CandidatesView is the answer to "which units could go to this tier?".
type CandidatesView struct {
	Incident   string          `json:"incident"`
	Tier       int             `json:"tier"`
	Deadline   float64         `json:"deadline_s"`
	Candidates []CandidateView `json:"candidates"`
}

// CandidateView is one unit of the list, with its travel time to the tier's target
// (null without a position).
type CandidateView struct {
	Unit        string   `json:"unit"`
	Callsign    string   `json:"callsign"`
	Force       Force    `json:"force"`
	Mode        geo.Mode `json:"mode"`
	Status      Status   `json:"status"`
	ETA         *float64 `json:"eta_s"`
	Eligible    bool     `json:"eligible"`
	Recommended bool     `json:"recommended"`
	Why         string   `json:"why"`
	On          string   `json:"on,omitempty"` // the incident an assigned unit is on
}

// Candidates lists, for tier (1-based) of incident id, the limit units an operator
// could send that would be there soonest, by the planner's travel time to the scene
// (or the tier's free perimeter post, where an assignment would send it), then up to
// limit of the soonest that may not be sent, each with why. Units without a position
// come last among those. It reads the engine only.
func (e *Engine) Candidates(id string, tier, limit int) (CandidatesView, error) {
	i, ok := e.incIDs[id]
	if !ok {
		return CandidatesView{}, fmt.Errorf("%w %s", ErrUnknownIncident, id)
	}
	inc := e.incs[i]
	if tier < 1 || tier > len(inc.tiers) {
		return CandidatesView{}, fmt.Errorf("%w: incident %s has tiers 1 to %d", ErrNoSuchTier, id, len(inc.tiers))
	}
	if inc.closed {
		return CandidatesView{}, fmt.Errorf("%w: %s", ErrIncidentClosed, id)
	}
	limit = max(limit, 1)
	tr := inc.tiers[tier-1]
	target := inc.scene
	if posts := e.freePosts(tr, 1); posts != nil {
		target = posts[0]
	}
	// The soonest limit of each kind, by (eta, unit). A unit whose lower bound of
	// travel (the straight line at its mode's best speed) cannot beat the last of a
	// full list is passed over without asking the travel model.
	var yes, no []candidate
	for n, u := range e.units {
		ui := int32(n)
		eligible, _, _ := e.candidacy(i, tr, ui)
		list := &no
		if eligible {
			list = &yes
		}
		eta := math.Inf(1)
		if u.placed() {
			if len(*list) == limit {
				beyond := geo.FastDistance(u.pos.Point, target.Point)
				if 0.99*beyond*e.cfg.Model.ModeSecondsPerMeterBound(u.mode)*e.learn.minFactor() > (*list)[limit-1].eta { // 1%: FastDistance is close, not exact
					continue
				}
			}
			eta = e.travel(u.mode, u.pos, target)
		}
		*list = insertRanked(*list, candidate{unit: ui, eta: eta}, limit)
	}
	v := CandidatesView{Incident: inc.id, Tier: tier, Deadline: tr.Deadline.Seconds(),
		Candidates: make([]CandidateView, 0, len(yes)+len(no))}
	for _, c := range slices.Concat(yes, no) {
		u := e.units[c.unit]
		eligible, why, on := e.candidacy(i, tr, c.unit)
		cv := CandidateView{Unit: u.id, Callsign: u.callsign, Force: u.force, Mode: u.mode, Status: u.status,
			Eligible: eligible, Why: why, On: on,
			Recommended: slices.ContainsFunc(tr.recommended, func(tu *tierUnit) bool { return tu.unit == c.unit })}
		if !math.IsInf(c.eta, 1) {
			eta := roundETA(c.eta)
			cv.ETA = &eta
		}
		v.Candidates = append(v.Candidates, cv)
	}
	return v, nil
}

// candidacy says whether an operator may send unit ui to tier tr of incident i, and
// why (or why not): what keeps it from going comes before what it would be pulled
// from.
func (e *Engine) candidacy(i int32, tr *tier, ui int32) (eligible bool, why, on string) {
	u := e.units[ui]
	switch {
	case u.inc == i:
		return false, WhyOnThisIncident, ""
	case slices.Contains(e.incs[i].excluded, ui):
		return false, WhyReleased, ""
	case tr.kinds&kindBit(u.force, u.mode) == 0:
		return false, WhyNotEligible, ""
	case u.status == OffDuty:
		return false, WhyOffDuty, ""
	case !u.placed():
		return false, WhyNoPosition, ""
	case u.inc >= 0:
		return true, WhyAssigned, e.incs[u.inc].id
	case u.status == Busy:
		return true, WhyBusy, ""
	}
	return true, "", ""
}
