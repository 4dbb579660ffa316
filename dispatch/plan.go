package dispatch

import (
	"math/bits"
	"slices"
	"time"

	"commandd/geo"
)

// The 1-3-5 rule. A response plan is a list of tiers, each with a deadline counted
// from the first alert's receipt, the forces (and modes) eligible, how many units, and
// whether they go to the scene or spread around its perimeter. Plans are chosen per
// category and priority; zones (key sites, the centre, the outskirts) override the
// deadlines of the plan by place.

// Tier is one circle of a response plan.
type Tier struct {
	// Name is what the district calls the tier (先期到场, 合围…), shown with its clock;
	// empty: the pages name it by its number and whether it goes to the perimeter.
	Name      string        `json:"name,omitempty"`
	Deadline  time.Duration `json:"deadline"`
	Forces    []Force       `json:"forces,omitempty"` // empty: any force
	Modes     []geo.Mode    `json:"modes,omitempty"`  // empty: any mode
	Units     int           `json:"units"`
	Perimeter bool          `json:"perimeter,omitempty"`
	// MetBy is the phase that meets the tier (the 1-3-5 rule read by phase: react in
	// one minute, move out in three, arrive in five); zero: arrival.
	MetBy Phase `json:"met_by,omitempty"`
}

// Phase is how far a unit has come with its order: the moment a tier counts it.
type Phase uint8

// The phases, zero first: OnArrival is what a tier asks for unless its plan says
// otherwise.
const (
	OnArrival Phase = iota
	OnSetOff        // en route
	OnAccept        // accepted
)

var phaseNames = names[Phase]{"phase", []string{"arrived", "enroute", "accepted"}}

func (p Phase) String() string               { return phaseNames.str(p) }
func (p Phase) MarshalText() ([]byte, error) { return phaseNames.text(p) }
func (p *Phase) UnmarshalText(b []byte) error {
	v, err := phaseNames.parse(string(b))
	*p = v
	return err
}

// ParsePhase reads a phase's wire name.
func ParsePhase(s string) (Phase, error) { return phaseNames.parse(s) }

// Plan is an ordered list of tiers.
type Plan struct {
	Name  string `json:"name"`
	Tiers []Tier `json:"tiers"`
}

// PlanRule picks a plan for incidents of a category and/or priority; zero fields match
// anything. The first matching rule wins. A district file gives lists (Categories,
// Priorities: any of them matches); Category and Priority are the one-value form.
type PlanRule struct {
	Category   *Category  `json:"category,omitempty"`
	Priority   int        `json:"priority,omitempty"`
	Categories []Category `json:"categories,omitempty"`
	Priorities []int      `json:"priorities,omitempty"`
	Plan       Plan       `json:"plan"`
}

// Matches reports whether the rule picks the plan of an incident of cat and prio.
func (r *PlanRule) Matches(cat Category, prio int) bool {
	return (r.Category == nil || *r.Category == cat) && (r.Priority == 0 || r.Priority == prio) &&
		(len(r.Categories) == 0 || slices.Contains(r.Categories, cat)) &&
		(len(r.Priorities) == 0 || slices.Contains(r.Priorities, prio))
}

// Default reports whether the rule matches every incident: the district's default plan.
func (r *PlanRule) Default() bool {
	return r.Category == nil && r.Priority == 0 && len(r.Categories) == 0 && len(r.Priorities) == 0
}

// Zone is a set of cells whose incidents get other deadlines, tier by tier (a zero
// deadline keeps the plan's). The first zone holding the scene wins, so list key sites
// before the centre.
type Zone struct {
	ID        string          `json:"id,omitempty"` // the district file's id (KS-1)
	Name      string          `json:"name"`
	Kind      string          `json:"kind"` // key_site, center, outskirts, …
	Cells     []geo.Cell      `json:"cells"`
	Deadlines []time.Duration `json:"deadlines"`
	set       geo.CellSet
}

// Grid is a management grid (网格) of the district: a set of cells with the district's
// id and name for it. Every incident carries the grid holding its scene.
type Grid struct {
	ID    string     `json:"id"`
	Name  string     `json:"name,omitempty"`
	Cells []geo.Cell `json:"cells"`
}

// DefaultPlan is the plan of domain.md: the nearest unit of any force on scene within
// 60 s; a police car or motorbike on scene within 180 s; two further police or patrol
// units around the scene within 300 s.
func DefaultPlan() Plan {
	return Plan{Name: "1-3-5", Tiers: []Tier{
		{Deadline: 60 * time.Second, Units: 1},
		{Deadline: 180 * time.Second, Forces: []Force{Police}, Modes: []geo.Mode{geo.Car, geo.Motorbike}, Units: 1},
		{Deadline: 300 * time.Second, Forces: []Force{Police, Patrol}, Units: 2, Perimeter: true},
	}}
}

// DefaultPlanRules returns the default plan, with four perimeter units for priority 1
// (life at risk).
func DefaultPlanRules() []PlanRule {
	p1 := DefaultPlan()
	p1.Name = "1-3-5 priority 1"
	p1.Tiers = slices.Clone(p1.Tiers)
	p1.Tiers[2].Units = 4
	return []PlanRule{{Priority: 1, Plan: p1}, {Plan: DefaultPlan()}}
}

// planFor resolves the plan of an incident: the first matching rule, with the deadlines
// of the first zone holding the scene.
func (e *Engine) planFor(cat Category, prio int, cell geo.Cell) ([]Tier, *Zone) {
	plan := DefaultPlan()
	for i := range e.cfg.Plans {
		if r := &e.cfg.Plans[i]; r.Matches(cat, prio) {
			plan = r.Plan
			break
		}
	}
	tiers := slices.Clone(plan.Tiers)
	var zone *Zone
	for i := range e.cfg.Zones {
		z := &e.cfg.Zones[i]
		if !z.set.Has(cell) {
			continue
		}
		zone = z
		for t := range tiers {
			if t < len(z.Deadlines) && z.Deadlines[t] > 0 {
				tiers[t].Deadline = z.Deadlines[t]
			}
		}
		break
	}
	return tiers, zone
}

// kinds is the set of (force, mode) pairs eligible for t, as bits of kindBit: the
// nearest-unit search tests a unit against a tier with one AND.
func (t *Tier) kinds() uint16 {
	var k uint16
	for f := Police; f <= Guard; f++ {
		for m := geo.Foot; m <= geo.Car; m++ {
			if (len(t.Forces) == 0 || slices.Contains(t.Forces, f)) && (len(t.Modes) == 0 || slices.Contains(t.Modes, m)) {
				k |= kindBit(f, m)
			}
		}
	}
	return k
}

// kindBit is the bit of a (force, mode) pair: four forces times four modes.
func kindBit(f Force, m geo.Mode) uint16 { return 1 << kindIndex(f, m) }

// kindIndex is the position of kindBit(f, m).
func kindIndex(f Force, m geo.Mode) uint { return uint(f)*4 + uint(m) }

// kindMode is the mode of a single kind bit.
func kindMode(k uint16) geo.Mode { return geo.Mode(bits.TrailingZeros16(k) % 4) }

// priorityWeight is how much a second of lateness counts, by priority (1 most urgent).
func priorityWeight(p int) float64 {
	switch p {
	case 1:
		return 8
	case 2:
		return 4
	case 3:
		return 2
	default:
		return 1
	}
}
