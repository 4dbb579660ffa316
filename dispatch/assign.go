package dispatch

import (
	"cmp"
	"math"
	"math/bits"
	"slices"

	"commandd/geo"
)

// Assignment. For each incident short of units, candidates come ring by ring around the
// scene, ranked by travel time, until every tier has enough of them that no farther unit
// could be sooner (or the horizon is reached). Incidents that compete for the same
// units are then solved together as one assignment problem: every missing unit of every
// tier is a slot, and the cost of putting a unit in a slot is its lateness against the
// tier's deadline, weighted by priority, plus its travel time to break ties, plus what
// sending it forgoes (reserve, below). A unit on its way to an incident is a candidate
// only for a higher-priority one.
//
// Reserve: a unit that some narrower tier of the plan takes (a police car or motorbike,
// the only kinds of the default tier 2) is worth keeping free for the next incident's
// narrower tier. Where a unit of a more common kind is as much on time (a guard for tier
// 1, a patrol member for the perimeter), sending it instead keeps the district's police
// vehicles for the incidents that need them. A reserve weighs as much as 90 s of
// lateness at the lowest weight, less than a missed tier of the default plan: it
// decides between units in time alike, or late by about as much, and never costs a
// tier that could be met.

// Cost scale: a second of weighted lateness outweighs any difference in travel time.
const (
	latenessScale = 1000.0
	pullCost      = 30 * latenessScale // pulling a committed unit must save half a minute
	missedTier    = 120.0              // a tier missed costs as much as this many seconds more of lateness
	reserveCost   = 90 * latenessScale // per narrower tier the unit could fill
	impossible    = 1e12
	maxBatch      = 8 // incidents solved together
)

// lateness is the cost of filling sl with a unit that arrives in eta seconds: a tier
// missed costs as much as two minutes more of lateness, so the plan meets as many
// tiers as it can before it makes late ones less late.
func (sl *slot) lateness(eta float64) float64 {
	late := eta - sl.remaining
	if late <= 0 {
		return 0
	}
	return sl.weight * latenessScale * (late + missedTier)
}

// travel is how long a unit of mode at from takes to reach to itself: its turnout,
// then the road. The arrival radius is where a fix counts as arrival (a trigger on the
// way in), not the scene: a unit on foot 90 m away is over a minute from the scene.
func (e *Engine) travel(mode geo.Mode, from, to geo.Place) float64 {
	return e.cfg.Model.Seconds(mode, from, to, e.now) * e.travelFactor(mode, from.Cell)
}

// candidate is a unit found around a scene, with its travel time there.
type candidate struct {
	unit int32
	eta  float64
}

func byETA(a, b candidate) int {
	if c := cmp.Compare(a.eta, b.eta); c != 0 {
		return c
	}
	return cmp.Compare(a.unit, b.unit)
}

// ranking is the best units of some kinds found so far, by travel time, up to a limit.
type ranking struct {
	kinds  uint16
	within float64 // seconds
	spm    float64 // the travel model's bound for its kinds' fastest mode, s/m
	best   []candidate
}

// slot is one missing unit of one tier.
type slot struct {
	inc       int32
	tier      int
	target    geo.Place
	remaining float64 // seconds left before the tier's deadline (negative when past)
	weight    float64
	rank      int       // tiers after this one in the incident's plan
	reserve   [16]uint8 // by kind (kindIndex): the narrower tiers of the plan a unit of it could fill
}

// scratch holds the planner's reusable buffers, so planning allocates little.
type scratch struct {
	ranked  []ranking     // of the incident being searched: by tier, then its spares by tier
	cands   [][]candidate // by incident of the batch: every candidate found for it
	slots   []slot
	units   []int32
	cost    []float64
	scale   []float64 // per unit of the batch: how scarce it is (reserveScale)
	stamp   []uint32  // per unit: stampGen when it was last added to units
	batch   []int32
	planned []uint32 // per incident: planGen when it was last planned

	stampGen, planGen uint32

	hu, hv, hminv []float64
	hp, hway      []int
	hused         []bool
	hrow          []int
}

// planOpen plans incidents that lack units: the triggers, or every short incident when
// triggers is nil. Each incident is solved together with its short neighbours.
func (e *Engine) planOpen(triggers []int32) {
	s := &e.scratch
	var queue []int32
	if triggers != nil {
		queue = triggers
	} else {
		// Every short incident is on the short list, or changed during this Apply.
		for _, list := range [][]int32{e.shortList, e.touched} {
			for _, i := range list {
				if e.incs[i].short() && !slices.Contains(queue, i) {
					queue = append(queue, i)
				}
			}
		}
		slices.SortFunc(queue, e.byUrgency)
	}
	s.planGen++
	if s.planGen == 0 {
		clear(s.planned)
		s.planGen = 1
	}
	grow(&s.planned, len(e.incs))
	for _, q := range queue {
		if s.planned[q] == s.planGen || !e.incs[q].short() {
			continue
		}
		e.solve(q)
	}
}

// byUrgency orders incidents by priority, then by receipt, then by index.
func (e *Engine) byUrgency(a, b int32) int {
	ia, ib := e.incs[a], e.incs[b]
	if c := cmp.Compare(ia.priority, ib.priority); c != 0 {
		return c
	}
	if c := ia.received.Compare(ib.received); c != 0 {
		return c
	}
	return cmp.Compare(a, b)
}

// solve plans incident q together with the short incidents near it.
func (e *Engine) solve(q int32) {
	s := &e.scratch
	s.batch = append(s.batch[:0], q)
	s.planned[q] = s.planGen
	rings := e.gather(0, q, e.incs[q].missing())
	// Short incidents whose searches overlap q's compete for the same units; the most
	// urgent of them join its batch. Incidents changed during this Apply may not be on
	// the short list yet, so they are looked at too.
	reach := 2 * float64(rings+1) * e.placed.Spacing(e.incs[q].scene.Cell)
	consider := func(j int32) {
		inc := e.incs[j]
		if j != q && s.planned[j] != s.planGen && inc.short() &&
			geo.FastDistance(inc.scene.Point, e.incs[q].scene.Point) <= reach && !slices.Contains(s.batch, j) {
			s.batch = append(s.batch, j)
		}
	}
	if !e.cfg.Baseline { // the baseline plans incidents one by one
		for _, j := range e.shortList {
			consider(j)
		}
		for _, j := range e.touched {
			consider(j)
		}
	}
	others := s.batch[1:]
	slices.SortFunc(others, e.byUrgency)
	s.batch = s.batch[:1+min(len(others), maxBatch-1)]
	for _, j := range s.batch[1:] {
		s.planned[j] = s.planGen
	}
	if len(s.batch) > 1 {
		// Every incident of the batch may lose candidates to all the batch's slots, so
		// each ranks as many units as there are slots in all.
		slots := 0
		for _, j := range s.batch {
			slots += e.incs[j].missing()
		}
		for n, j := range s.batch {
			e.gather(n, j, slots)
		}
	}
	e.buildSlots()
	if len(s.slots) == 0 {
		return
	}
	e.assignSlots()
}

// eligibleFor reports whether unit ui, with index tag tag, may be sent to incident
// inc: free, or on its way to a less urgent incident; never one an operator took off it.
func (e *Engine) eligibleFor(inc *incident, ui int32, tag uint32) bool {
	if tag&tagFree == 0 && (e.cfg.Baseline || tag&tagCommitted == 0 || e.incs[e.units[ui].inc].priority <= inc.priority) {
		return false
	}
	return len(inc.excluded) == 0 || !slices.Contains(inc.excluded, ui)
}

// gather searches around incident q (position n of the batch) for candidates, ring by
// ring, until each short tier has its best keep units and no farther unit could be
// sooner. It returns the outermost ring searched.
//
// For one incident, keep = its number of missing units is enough: its other slots can
// take at most keep-1 of a tier's best, so the best unit left for that tier is always
// among them.
//
// A tier's best by travel time may all be police vehicles that the reserve would rather
// keep; so each tier also ranks its spares, the units of its less reserved kinds that
// make its deadline, for the plan to send in their place.
func (e *Engine) gather(n int, q int32, keep int) int {
	s := &e.scratch
	inc := e.incs[q]
	for len(s.cands) <= n {
		s.cands = append(s.cands, nil)
	}
	s.cands[n] = s.cands[n][:0]
	keep = max(keep, 1)
	horizon := e.cfg.Horizon.Seconds()
	spm := e.cfg.Model.SecondsPerMeterBound() * e.learn.minFactor()
	elapsed := e.now.Sub(inc.received).Seconds()
	nt := len(inc.tiers)
	for len(s.ranked) < 2*nt {
		s.ranked = append(s.ranked, ranking{})
	}
	s.ranked = s.ranked[:2*nt]
	var wantAny uint16
	for t, tr := range inc.tiers {
		main, spare := &s.ranked[t], &s.ranked[nt+t]
		*main = ranking{within: horizon, best: main.best[:0]}
		*spare = ranking{within: tr.Deadline.Seconds() - elapsed, best: spare.best[:0]}
		if tr.filled() >= tr.Units {
			continue
		}
		main.kinds = tr.kinds
		wantAny |= tr.kinds
		if spare.within > 0 && !e.cfg.Baseline {
			spare.kinds = spareKinds(tr.kinds, inc.reserveFor(tr))
		}
		main.spm, spare.spm = e.boundFor(main.kinds), e.boundFor(spare.kinds)
		if e.cfg.Baseline { // it ranks by straight-line distance at the bound of every mode
			main.spm = spm
		}
	}
	last := 0
	bound := e.placed.RingBound(inc.scene.Cell)
	// limit is how far a unit may be and still make a ranking: as far as the worst
	// kept travel time of any ranking still short (or its limit) goes at its kinds'
	// speed. Rankings that are settled (full, and no unit of ring k could beat their
	// worst) drop out of active, so units only they want are passed over without
	// computing a travel time.
	active := wantAny
	limit := func(k int) float64 {
		last = k
		beyond := bound(k) // metres to the scene, at least
		reach := 0.0
		active = 0
		for i := range s.ranked {
			r := &s.ranked[i]
			lb := beyond * r.spm
			switch {
			case r.kinds == 0 || lb > r.within:
			case len(r.best) < keep:
				active |= r.kinds
				reach = max(reach, r.within/r.spm)
			case r.best[len(r.best)-1].eta > lb:
				active |= r.kinds
				reach = max(reach, r.best[len(r.best)-1].eta/r.spm)
			}
		}
		return reach
	}
	maxK := geo.RingsWithin(e.placed.Spacing(inc.scene.Cell), horizon/spm)
	e.placed.SearchNear(inc.scene, maxK, limit, func(ui int32, at geo.Place, tag uint32) {
		kind := uint16(tag)
		if active&kind == 0 || !e.eligibleFor(inc, ui, tag) {
			return
		}
		eta := e.travel(kindMode(kind), at, inc.scene)
		if eta > horizon {
			return
		}
		c := candidate{unit: ui, eta: eta}
		if e.cfg.Baseline { // ranked by straight-line distance (at the bound's speed)
			c.eta = geo.Distance(at.Point, inc.scene.Point) * spm
		}
		for i := range s.ranked {
			if r := &s.ranked[i]; r.kinds&active&kind != 0 && eta <= r.within {
				r.best = insertRanked(r.best, c, keep)
			}
		}
	})
	// The incident's candidates are the units ranked anywhere.
	for _, r := range s.ranked {
		for _, c := range r.best {
			if !slices.ContainsFunc(s.cands[n], func(x candidate) bool { return x.unit == c.unit }) {
				s.cands[n] = append(s.cands[n], c)
			}
		}
	}
	return last
}

// boundFor is the travel model's lower bound of seconds per metre for the fastest mode
// among kinds.
func (e *Engine) boundFor(kinds uint16) float64 {
	spm := math.Inf(1)
	for k := range uint(16) {
		if kinds&(1<<k) != 0 {
			spm = min(spm, e.cfg.Model.ModeSecondsPerMeterBound(geo.Mode(k%4)))
		}
	}
	if math.IsInf(spm, 1) {
		spm = e.cfg.Model.SecondsPerMeterBound()
	}
	return spm * e.learn.minFactor() // learned factors may make units sooner than the model
}

// spareKinds are the kinds of a tier less reserved than its most reserved ones.
func spareKinds(kinds uint16, reserve [16]uint8) uint16 {
	var most uint8
	for k := range reserve {
		if kinds&(1<<k) != 0 {
			most = max(most, reserve[k])
		}
	}
	var spare uint16
	for k := range reserve {
		if kinds&(1<<k) != 0 && reserve[k] < most {
			spare |= 1 << k
		}
	}
	return spare
}

// insertRanked inserts c into list (sorted by ETA, then unit) and keeps at most n.
func insertRanked(list []candidate, c candidate, n int) []candidate {
	if len(list) == n && byETA(c, list[n-1]) >= 0 {
		return list
	}
	at, _ := slices.BinarySearchFunc(list, c, byETA)
	if len(list) < n {
		list = append(list, candidate{})
	}
	copy(list[at+1:], list[at:len(list)-1])
	list[at] = c
	return list
}

// buildSlots lists every missing unit of every tier of the batch, and the union of
// their candidates.
func (e *Engine) buildSlots() {
	s := &e.scratch
	s.slots = s.slots[:0]
	s.units = s.units[:0]
	s.stampGen++
	if s.stampGen == 0 {
		clear(s.stamp)
		s.stampGen = 1
	}
	grow(&s.stamp, len(e.units))
	for n, i := range s.batch {
		inc := e.incs[i]
		elapsed := e.now.Sub(inc.received).Seconds()
		for t, tr := range inc.tiers {
			// Earlier tiers weigh more: the first unit on scene matters most, and a
			// perimeter second.
			w := priorityWeight(inc.priority) * float64(len(inc.tiers)-t)
			missing := tr.Units - tr.filled()
			if missing <= 0 {
				continue
			}
			targets := e.freePosts(tr, missing)
			reserve := inc.reserveFor(tr)
			for m := 0; m < missing; m++ {
				target := inc.scene
				if targets != nil {
					target = targets[m]
				}
				s.slots = append(s.slots, slot{inc: i, tier: t, target: target,
					remaining: tr.Deadline.Seconds() - elapsed, weight: w, rank: len(inc.tiers) - 1 - t, reserve: reserve})
			}
		}
		for _, c := range s.cands[n] {
			if s.stamp[c.unit] != s.stampGen {
				s.stamp[c.unit] = s.stampGen
				s.units = append(s.units, c.unit)
			}
		}
	}
	slices.Sort(s.units)
}

// reserveFor counts, for each kind of unit, the tiers of the incident's plan narrower
// than tr (taking a strict subset of its kinds) that a unit of that kind could fill.
func (inc *incident) reserveFor(tr *tier) (r [16]uint8) {
	for _, other := range inc.tiers {
		if other.kinds == tr.kinds || other.kinds&^tr.kinds != 0 {
			continue
		}
		for k := range r {
			if other.kinds&(1<<k) != 0 {
				r[k]++
			}
		}
	}
	return r
}

// freePosts returns the perimeter posts of a tier that no unit holds, or nil for a
// scene tier.
func (e *Engine) freePosts(tr *tier, missing int) []geo.Place {
	if !tr.Perimeter || len(tr.posts) == 0 {
		return nil
	}
	var free []geo.Place
	for _, p := range tr.posts {
		if !slices.ContainsFunc(tr.units, func(tu *tierUnit) bool { return tu.cleared.IsZero() && tu.target == p }) {
			free = append(free, p)
		}
	}
	for len(free) < missing {
		free = append(free, tr.posts[len(free)%len(tr.posts)])
	}
	return free
}

// assignSlots solves the batch's assignment problem and sends (or recommends) units.
func (e *Engine) assignSlots() {
	s := &e.scratch
	rows, units := len(s.slots), len(s.units)
	cols := units + rows // one "leave it unfilled" column per slot
	cost := grow(&s.cost, rows*cols)
	horizon := e.cfg.Horizon.Seconds()
	scale := grow(&s.scale, units)
	clear(scale) // 0: not computed yet; only units with a reserve in some slot need it
	for r, sl := range s.slots {
		inc := e.incs[sl.inc]
		tr := inc.tiers[sl.tier]
		row := cost[r*cols : (r+1)*cols]
		for c, ui := range s.units {
			u := e.units[ui]
			if tr.kinds&kindBit(u.force, u.mode) == 0 || !e.eligibleFor(inc, ui, e.placed.Tag(ui)) {
				row[c] = impossible
				continue
			}
			eta := e.travel(u.mode, u.pos, sl.target)
			if eta > horizon {
				row[c] = impossible
				continue
			}
			// Travel time weighs a little more on earlier tiers, so among units that are
			// all on time (or all late alike) the soonest fills the first tier.
			row[c] = sl.lateness(eta) + eta*(1+0.01*float64(sl.rank))
			if r := sl.reserve[kindIndex(u.force, u.mode)]; r > 0 && !e.cfg.Baseline {
				if scale[c] == 0 {
					scale[c] = e.reserveScale(ui)
				}
				row[c] += reserveCost * float64(r) * scale[c]
			}
			if e.cfg.Baseline {
				row[c] = geo.Distance(u.pos.Point, sl.target.Point)
			}
			if u.inc >= 0 {
				row[c] += pullCost
			}
		}
		for c := units; c < cols; c++ {
			row[c] = impossible
		}
		// An unfilled slot costs as much as any unit arriving at the horizon, and more.
		row[units+r] = sl.lateness(horizon) + 2*horizon + reserveCost*float64(slices.Max(sl.reserve[:]))
	}
	var choice []int
	if e.cfg.Baseline {
		choice = greedy(cost, rows, cols, units)
	} else {
		choice = s.minCostAssignment(cost, rows, cols)
	}
	if e.cfg.Recommend {
		e.recommend(choice, units)
		return
	}
	for r, c := range choice {
		if c >= units {
			continue
		}
		sl, ui := s.slots[r], s.units[c]
		u := e.units[ui]
		e.assign(sl.inc, ui, sl.tier, sl.target, e.travel(u.mode, u.pos, sl.target), "")
	}
}

// recommend replaces the batch's recommendations with the solution. Ticks plan short
// incidents again and again, so only a recommendation that is new is announced.
func (e *Engine) recommend(choice []int, units int) {
	s := &e.scratch
	type key struct {
		inc  int32
		tier int
	}
	prev := make(map[key][]*tierUnit)
	for _, i := range s.batch {
		for t, tr := range e.incs[i].tiers {
			prev[key{i, t}], tr.recommended = tr.recommended, nil
		}
	}
	for r, c := range choice {
		if c >= units {
			continue
		}
		sl, ui := s.slots[r], s.units[c]
		u := e.units[ui]
		eta := e.travel(u.mode, u.pos, sl.target)
		tr := e.incs[sl.inc].tiers[sl.tier]
		tr.recommended = append(tr.recommended, &tierUnit{unit: ui, eta: eta, target: sl.target})
		if !slices.ContainsFunc(prev[key{sl.inc, sl.tier}], func(tu *tierUnit) bool { return tu.unit == ui }) {
			e.emit(Change{Kind: Recommended, Incident: e.incs[sl.inc].id, Unit: u.id, Tier: sl.tier + 1, ETA: roundETA(eta)})
			e.touch(sl.inc)
		}
	}
	for _, i := range s.batch {
		for t, tr := range e.incs[i].tiers {
			if len(tr.recommended) != len(prev[key{i, t}]) {
				e.touch(i)
			}
		}
	}
}

// greedy fills slots in order, each with the cheapest unit not yet taken (the
// baseline's first come, first served); a slot with none is left unfilled.
func greedy(cost []float64, rows, cols, units int) []int {
	choice := make([]int, rows)
	taken := make([]bool, units)
	for r := range rows {
		choice[r] = units + r
		best := impossible
		for c := range units {
			if v := cost[r*cols+c]; !taken[c] && v < best {
				best, choice[r] = v, c
			}
		}
		if choice[r] < units {
			taken[choice[r]] = true
		}
	}
	return choice
}

// reserveScale is how much more (or less) than reserveCost keeping unit ui free is
// worth: the reserve reads coverage. A police car that is the only unit of its kind
// able to reach its surroundings by the narrowest coverage tier that takes it (tier
// 2's 180 s in the default plan) costs half as much again to send elsewhere; one with
// three or more such units around costs half. Between, 2/(1+others).
func (e *Engine) reserveScale(ui int32) float64 {
	u := e.units[ui]
	kind := kindBit(u.force, u.mode)
	narrow, tier := uint16(0), -1
	for t, k := range e.covKinds {
		if k&kind != 0 && (tier < 0 || bits.OnesCount16(k) < bits.OnesCount16(narrow)) {
			narrow, tier = k, t
		}
	}
	if tier < 0 || !u.placed() {
		return 1
	}
	e.prepareMoveUp()
	others := 0
	e.placed.Search(u.pos.Cell, e.mu.reach[u.mode][tier], func(int) bool { return others < 3 }, func(id int32) {
		if tag := e.placed.Tag(id); id != ui && tag&tagFree != 0 && uint16(tag)&narrow != 0 {
			others++
		}
	})
	return min(1.5, max(1, 2/float64(1+others)))
}
