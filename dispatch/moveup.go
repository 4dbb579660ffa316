package dispatch

import (
	"math"
	"slices"
	"time"

	"commandd/geo"
)

// Move-up (有警处警、无警巡防: respond when there are calls, patrol where the next one
// will be). Free units are worth most where the next calls will come from and no other
// free unit reaches in time. A decision weighs, for every tier of the default plan,
// each cell's expected calls by the chance that a call there finds none of the units
// that reach it in time free (a maximum expected covering location model with busy
// units, after Daskin and Jagtenberg's dynamic MEXCLP): adding a kth unit in reach of
// a cell is worth its demand × (1−q) × q^(k−1), where q is the share of the tier's
// units that are busy. It then moves the free unit whose move gains the most, up to
// moveUpMax moves, each a real gain, none farther than moveUpReach seconds of travel,
// no unit moved twice within moveUpCooldown, never a unit on an assignment.
//
// Demand is learned from the log: the incidents opened, by cell and hour of the week
// (the hour before and after count too), over an even prior spread on the district's
// cells, which rules where history is thin. Everything is computed from engine state
// in index order, so a decision is the same on every replay.

// The move-up modes (Config.MoveUp); empty is MoveUpRecommend.
const (
	MoveUpOff       = "off"
	MoveUpRecommend = "recommend"
	MoveUpAuto      = "auto"
)

const (
	moveUpEvery    = 30 * time.Second // a decision at least this often
	moveUpSettle   = 5 * time.Second  // and this soon after units became free or busy
	moveUpMax      = 4                // moves per decision
	moveUpCooldown = 10 * time.Minute // a unit sent is not moved again within
	moveUpReach    = 300.0            // seconds of travel: the farthest a unit is sent
	// moveUpMinGain is the least gain of a move, as a share of the district's weighted
	// demand: below it, an officer is not sent across the district for nothing.
	moveUpMinGain = 0.004
	// demandPrior is how many calls' worth of demand is spread evenly over the
	// district's cells: a few dozen calls in one place are needed before a decision
	// reads them as more than chance.
	demandPrior  = 20.0
	demandWindow = 1 // hours either side of the hour of the week that count for it
)

// MoveUpView is a move of a free unit to a post: recommended, or sent to the unit.
type MoveUpView struct {
	Unit string   `json:"unit"`
	Lat  float64  `json:"lat"`
	Lng  float64  `json:"lng"`
	Cell geo.Cell `json:"cell"`
	ETA  float64  `json:"eta_s"`
	// Gain is the share of the district's expected calls (weighted by tier: 3, 2, 1)
	// that the move brings within reach of a free unit in time.
	Gain float64 `json:"gain"`
	Sent bool    `json:"sent"`
	T    Millis  `json:"t"` // when recommended or sent
}

// moveUps is the engine's move-up state: the demand it learned and the moves in force.
type moveUps struct {
	cells      []geo.Cell         // demand cells and posts: the district's, then others calls came from
	at         map[geo.Cell]int32 // cell → index in cells
	calls      []float32          // incidents opened, by cell
	inDistrict []bool             // by cell: one of the district's (the prior is spread over them)
	hours      map[int32]*[168]float32
	list       []MoveUpView // in force: recommended and sent, in the order decided
	last       time.Time    // the last decision
	dirty      bool         // units became free or busy since
	// Derived, rebuilt when the cells or the configuration change.
	hoods  map[geo.Cell]*moveHood // of cells that are not demand cells (units' cells)
	hoodAt []*moveHood            // of demand cells, by index
	rings  int                    // neighbourhoods reach this far
	reach  [4][]int               // rings a unit of each mode reaches by each coverage tier's deadline
	move   [4]int                 // rings a unit of each mode may be sent
	serves [4]uint8               // bit t: some unit of the mode may fill coverage tier t
	ready  bool
	buf    moveUpScratch
}

// moveHood is a cell's neighbourhood among the demand cells, ring by ring.
type moveHood struct {
	idx []int32 // indexes in cells
	end []int   // idx[:end[k]] are the cells within k rings
}

type moveUpScratch struct {
	raw    []float64 // calls by cell, before spreading
	demand []float64
	count  [][]int32   // by tier, by cell: free units in reach
	gain   [][]float64 // by tier, by cell: what one more unit in reach is worth
	loss   [][]float64 // by tier, by cell: what one fewer costs
	post   [][]float64 // by mode×tier, by cell: the gain of a unit of the mode posted there
	q      []float64
}

// MoveUps returns the moves in force: recommended, and sent but not yet reached.
func (e *Engine) MoveUps() []MoveUpView {
	return slices.Clone(e.mu.list)
}

func (e *Engine) moveUpMode() string {
	if e.cfg.Baseline || e.cfg.MoveUp == MoveUpOff {
		return MoveUpOff
	}
	if e.cfg.MoveUp == "" {
		return MoveUpRecommend
	}
	return e.cfg.MoveUp
}

// setMoveUpCells adds the district's cells to the demand cells (those learned from
// earlier calls stay) and drops what was derived from the configuration.
func (e *Engine) setMoveUpCells() {
	if e.mu.at == nil {
		e.mu.at = make(map[geo.Cell]int32)
		e.mu.hours = make(map[int32]*[168]float32)
	}
	for _, c := range e.cfg.District {
		e.demandCell(c)
	}
	district := geo.NewCellSet(e.cfg.District)
	e.mu.inDistrict = e.mu.inDistrict[:0]
	for _, c := range e.mu.cells {
		e.mu.inDistrict = append(e.mu.inDistrict, district.Has(c))
	}
	e.mu.ready = false
}

// demandCell is the index of c among the demand cells, added if new.
func (e *Engine) demandCell(c geo.Cell) int32 {
	if i, ok := e.mu.at[c]; ok {
		return i
	}
	i := int32(len(e.mu.cells))
	e.mu.cells = append(e.mu.cells, c)
	e.mu.calls = append(e.mu.calls, 0)
	e.mu.inDistrict = append(e.mu.inDistrict, false) // setMoveUpCells marks the district's
	e.mu.at[c] = i
	e.mu.ready = false
	return i
}

// hourOfWeek is t's hour of the week in the district's time zone (Monday 0 h is 0).
func (e *Engine) hourOfWeek(t time.Time) int {
	t = t.In(e.loc)
	return (int(t.Weekday())+6)%7*24 + t.Hour()
}

// countCall learns from an incident opened at cell c.
func (e *Engine) countCall(c geo.Cell, t time.Time) {
	i := e.demandCell(c)
	e.mu.calls[i]++
	h := e.mu.hours[i]
	if h == nil {
		h = new([168]float32)
		e.mu.hours[i] = h
	}
	h[e.hourOfWeek(t)]++
}

// demandKernel spreads a cell's calls over it and the two rings around it (~600 m):
// the next call comes from near the last ones, not from their very cell. It sums to
// one over the 19 cells.
var demandKernel = [3]float64{0.25, 0.375 / 6, 0.375 / 12}

// demand fills the expected calls of each cell at the engine's time: the calls of
// this hour of the week and the hours beside it, plus a share of all calls, spread by
// demandKernel, plus the prior.
func (e *Engine) demand(d []float64) {
	raw := e.mu.buf.raw[:0]
	how := e.hourOfWeek(e.now)
	prior := 0.0
	if n := len(e.cfg.District); n > 0 {
		prior = demandPrior / float64(n)
	}
	for i := range e.mu.cells {
		v := float64(e.mu.calls[i]) * (2*demandWindow + 1) / 168
		if h := e.mu.hours[int32(i)]; h != nil {
			for dh := -demandWindow; dh <= demandWindow; dh++ {
				v += float64(h[(how+dh+168)%168])
			}
		}
		raw = append(raw, v)
	}
	e.mu.buf.raw = raw
	for j, c := range e.mu.cells {
		h := e.hood(c, int32(j))
		v := 0.0
		for r, w := range demandKernel {
			lo := 0
			if r > 0 {
				lo = h.end[r-1]
			}
			for _, i := range h.idx[lo:h.end[min(r, len(h.end)-1)]] {
				v += w * raw[i]
			}
		}
		if e.mu.inDistrict[j] {
			v += prior
		}
		d[j] = v
	}
}

// prepareMoveUp builds what depends on the configuration and the cells: how many rings
// each mode reaches by each deadline (from the travel model, at the district's first
// cell) and the neighbourhoods.
func (e *Engine) prepareMoveUp() {
	m := &e.mu
	if m.ready {
		return
	}
	m.ready = true
	m.hoods = make(map[geo.Cell]*moveHood)
	m.hoodAt = zeroed(m.hoodAt, len(m.cells))
	ref, _ := geo.PlaceOf(geo.Point{Lat: 24.5, Lng: 118.12})
	if len(m.cells) > 0 {
		ref = geo.Place{Point: geo.Center(m.cells[0]), Cell: m.cells[0]}
	}
	spacing := e.placed.Spacing(ref.Cell)
	rings := func(mode geo.Mode, seconds float64) int {
		lo, hi := 0.0, 30000.0
		for range 40 {
			mid := (lo + hi) / 2
			to := geo.Place{Point: geo.Point{Lat: ref.Lat + mid/111195, Lng: ref.Lng}, Cell: ref.Cell}
			// The model alone, at no particular time: what is derived here must not
			// depend on when it was derived (a restored engine derives it again).
			if e.cfg.Model.Seconds(mode, ref, to, time.Time{}) <= seconds {
				lo = mid
			} else {
				hi = mid
			}
		}
		// A cell is in reach when its centre is: rings of spacing s reach k·s.
		return int(lo / spacing)
	}
	tiers := e.cfg.CoverageTiers()
	for mode := geo.Foot; mode <= geo.Car; mode++ {
		m.reach[mode] = m.reach[mode][:0]
		for _, t := range tiers {
			m.reach[mode] = append(m.reach[mode], rings(mode, t.Deadline.Seconds()))
		}
		m.move[mode] = max(1, rings(mode, moveUpReach))
		m.rings = max(m.rings, m.move[mode], slices.Max(append(m.reach[mode], len(demandKernel)-1)))
		m.serves[mode] = 0
		for t, k := range e.covKinds {
			for f := Police; f <= Guard; f++ {
				if k&kindBit(f, mode) != 0 {
					m.serves[mode] |= 1 << t
				}
			}
		}
	}
}

// hood is the neighbourhood of cell c, demand cell i (-1: not one), within
// e.mu.rings.
func (e *Engine) hood(c geo.Cell, i int32) *moveHood {
	m := &e.mu
	if i < 0 {
		if j, ok := m.at[c]; ok {
			i = j
		}
	}
	var h *moveHood
	if i >= 0 {
		h = m.hoodAt[i]
	} else {
		h = m.hoods[c]
	}
	if h != nil {
		return h
	}
	h = &moveHood{}
	for r := 0; r <= m.rings; r++ {
		ring, err := geo.Ring(c, r)
		if err == nil {
			for _, n := range ring {
				if j, ok := m.at[n]; ok {
					h.idx = append(h.idx, j)
				}
			}
		}
		h.end = append(h.end, len(h.idx))
	}
	if i >= 0 {
		m.hoodAt[i] = h
	} else {
		m.hoods[c] = h
	}
	return h
}

// within is the cells of h within k rings.
func (h *moveHood) within(k int) []int32 { return h.idx[:h.end[min(k, len(h.end)-1)]] }

// moveUpTick decides when it is time: moveUpEvery since the last decision, or
// moveUpSettle once units became free or busy. Sent moves that were not reached within
// the cooldown are let go.
func (e *Engine) moveUpTick() {
	m := &e.mu
	if e.moveUpMode() == MoveUpOff || len(m.cells) == 0 {
		if len(m.list) > 0 {
			m.list = m.list[:0]
			e.moveUpsChanged()
		}
		return
	}
	since := e.now.Sub(m.last)
	if !m.last.IsZero() && since < moveUpEvery && (!m.dirty || since < moveUpSettle) {
		return
	}
	m.last, m.dirty = e.now, false
	e.decideMoveUps()
}

// decideMoveUps replaces the recommendations by a new decision (in auto mode, sends
// them at once).
func (e *Engine) decideMoveUps() {
	m := &e.mu
	e.prepareMoveUp()
	before := slices.Clone(m.list)
	m.list = slices.DeleteFunc(m.list, func(v MoveUpView) bool {
		if !v.Sent {
			return true
		}
		ui := e.unitIDs[v.Unit]
		return !e.units[ui].free() || e.now.Sub(v.T.Time) >= moveUpCooldown
	})
	nt, nc := len(e.covKinds), len(m.cells)
	b := &m.buf
	b.demand = zeroed(b.demand, nc)
	e.demand(b.demand)
	b.count = grow2(b.count, nt, nc)
	b.gain = grow2(b.gain, nt, nc)
	b.loss = grow2(b.loss, nt, nc)
	b.post = grow2(b.post, 4*nt, nc)
	b.q = zeroed(b.q, nt)
	weight := func(t int) float64 { return float64(max(1, 3-t)) }
	total := 0.0
	for t := range nt {
		for j := range nc {
			total += weight(t) * b.demand[j]
		}
	}
	// Where each free unit counts: at its post when sent to one, else where it is.
	free, eligible := make([]int, nt), make([]int, nt)
	sentTo := make(map[int32]geo.Cell, len(m.list))
	for _, v := range m.list {
		sentTo[e.unitIDs[v.Unit]] = v.Cell
	}
	cover := func(ui int32, at geo.Cell, delta int32) {
		u := e.units[ui]
		kind := kindBit(u.force, u.mode)
		h := e.hood(at, -1)
		for t := range nt {
			if e.covKinds[t]&kind == 0 {
				continue
			}
			r := m.reach[u.mode][t]
			for _, j := range h.within(r) {
				b.count[t][j] += delta
			}
		}
	}
	for n, u := range e.units {
		if !u.placed() || u.status == OffDuty {
			continue
		}
		kind := kindBit(u.force, u.mode)
		for t := range nt {
			if e.covKinds[t]&kind != 0 {
				eligible[t]++
				if u.free() {
					free[t]++
				}
			}
		}
		if u.free() {
			at := u.pos.Cell
			if c, ok := sentTo[int32(n)]; ok {
				at = c
			}
			cover(int32(n), at, 1)
		}
	}
	for t := range nt {
		q := 0.5
		if eligible[t] > 0 {
			q = 1 - float64(free[t])/float64(eligible[t])
		}
		b.q[t] = min(0.95, max(0.05, q))
	}
	var modes uint8 // of the units that may move
	for _, u := range e.units {
		if u.free() {
			modes |= 1 << u.mode
		}
	}
	chosen := map[int32]bool{}
	var moves []MoveUpView
	for len(moves) < moveUpMax && total > 0 {
		e.moveUpValues(nt, weight, modes)
		best, bestUnit, bestPost := 0.0, int32(-1), int32(-1)
		for n, u := range e.units {
			ui := int32(n)
			if !u.free() || chosen[ui] || u.status != Available {
				continue
			}
			if _, sent := sentTo[ui]; sent {
				continue
			}
			kind := kindBit(u.force, u.mode)
			h := e.hood(u.pos.Cell, -1)
			loss := 0.0
			for t := range nt {
				if e.covKinds[t]&kind == 0 {
					continue
				}
				for _, j := range h.within(m.reach[u.mode][t]) {
					loss += b.loss[t][j]
				}
			}
			for _, p := range h.within(m.move[u.mode]) {
				if m.cells[p] == u.pos.Cell {
					continue
				}
				g := -loss
				for t := range nt {
					if e.covKinds[t]&kind != 0 {
						g += b.post[int(u.mode)*nt+t][p]
					}
				}
				if g > best { // the first best, in unit and ring order, on a tie

					best, bestUnit, bestPost = g, ui, p
				}
			}
		}
		if bestUnit < 0 || best < moveUpMinGain*total {
			break
		}
		u := e.units[bestUnit]
		cell := m.cells[bestPost]
		post := geo.Place{Point: geo.Center(cell), Cell: cell}
		chosen[bestUnit] = true
		cover(bestUnit, u.pos.Cell, -1)
		cover(bestUnit, cell, 1)
		moves = append(moves, MoveUpView{Unit: u.id, Lat: post.Lat, Lng: post.Lng, Cell: cell,
			ETA: roundETA(e.travel(u.mode, u.pos, post)), Gain: math.Round(1e4*best/total) / 1e4, T: Millis{e.now}})
	}
	auto := e.moveUpMode() == MoveUpAuto
	for _, v := range moves {
		v.Sent = auto
		m.list = append(m.list, v)
		if auto {
			e.emit(Change{Kind: MoveUpSent, Unit: v.Unit, Lat: v.Lat, Lng: v.Lng, Cell: v.Cell, ETA: v.ETA})
		}
	}
	if !slices.Equal(before, m.list) {
		e.moveUpsChanged()
	}
}

// moveUpValues computes, from the counts, what one unit more or less in reach of each
// cell is worth for each tier, and what posting a unit of each mode at each cell gains.
func (e *Engine) moveUpValues(nt int, weight func(int) float64, modes uint8) {
	m := &e.mu
	b := &m.buf
	for t := range nt {
		q := b.q[t]
		for j, d := range b.demand {
			k := float64(b.count[t][j])
			v := weight(t) * d * (1 - q)
			b.gain[t][j] = v * math.Pow(q, k)
			if k > 0 {
				b.loss[t][j] = v * math.Pow(q, k-1)
			} else {
				b.loss[t][j] = 0
			}
		}
	}
	for mode := geo.Foot; mode <= geo.Car; mode++ {
		if modes&(1<<mode) == 0 {
			continue
		}
		for t := range nt {
			if m.serves[mode]&(1<<t) == 0 {
				continue
			}
			r := m.reach[mode][t]
			post := b.post[int(mode)*nt+t]
			for p, c := range m.cells {
				s := 0.0
				for _, j := range e.hood(c, int32(p)).within(r) {
					s += b.gain[t][j]
				}
				post[p] = s
			}
		}
	}
}

// moveUpConfirm sends a recommended move to its unit.
func (e *Engine) moveUpConfirm(ev *MoveUpConfirmed) {
	for n := range e.mu.list {
		v := &e.mu.list[n]
		if v.Unit == ev.Unit && !v.Sent {
			v.Sent, v.T = true, Millis{e.now}
			e.emit(Change{Kind: MoveUpSent, Unit: v.Unit, Lat: v.Lat, Lng: v.Lng, Cell: v.Cell, ETA: v.ETA, Reason: ev.By})
			e.moveUpsChanged()
			return
		}
	}
	e.reject(Conflict, "no move-up is recommended for unit "+ev.Unit)
}

// moveUpUnitChanged lets go of a unit's move when it is no longer free (sent to an
// incident, busy, off duty), and asks for a decision soon when it became free or busy.
// (Its fixes end a move at the post: applyFix, by the unit's moveTo.)
func (e *Engine) moveUpUnitChanged(ui int32, wasFree bool) {
	free := e.units[ui].free()
	if wasFree != free {
		e.mu.dirty = true
	}
	if !free {
		e.endMoveUp(ui)
	}
}

// endMoveUp drops unit ui's move from those in force, if it has one.
func (e *Engine) endMoveUp(ui int32) {
	id := e.units[ui].id
	if n := slices.IndexFunc(e.mu.list, func(v MoveUpView) bool { return v.Unit == id }); n >= 0 {
		e.mu.list = slices.Delete(e.mu.list, n, n+1)
		e.moveUpsChanged()
	}
}

// zeroed is s resized to n, cleared.
func zeroed[T any](s []T, n int) []T {
	s = grow(&s, n)
	clear(s)
	return s
}

// moveUpsChanged tells that the move-ups in force changed, and marks on each unit the
// post it is on its way to, which its fixes are checked against.
func (e *Engine) moveUpsChanged() {
	e.emit(Change{Kind: MoveUpsChanged})
	e.syncMoveTo()
}

// syncMoveTo sets each unit's moveTo from the sent moves in force.
func (e *Engine) syncMoveTo() {
	for _, u := range e.units {
		u.moveTo = geo.Point{}
	}
	for _, v := range e.mu.list {
		if v.Sent {
			e.units[e.unitIDs[v.Unit]].moveTo = geo.Point{Lat: v.Lat, Lng: v.Lng}
		}
	}
}

func grow2[T any](s [][]T, rows, n int) [][]T {
	for len(s) < rows {
		s = append(s, nil)
	}
	s = s[:rows]
	for i := range s {
		s[i] = zeroed(s[i], n)
	}
	return s
}

// moveUpState is the move-up part of a snapshot.
type moveUpState struct {
	Cells []geo.Cell   `json:"cells"`
	Calls []float32    `json:"calls"`
	Hours []hourCounts `json:"hours"`
	List  []MoveUpView `json:"list"`
	Last  time.Time    `json:"last"`
	Dirty bool         `json:"dirty"`
}

type hourCounts struct {
	Cell  int32        `json:"cell"`
	Calls [168]float32 `json:"calls"`
}

func (e *Engine) moveUpCapture() *moveUpState {
	m := &e.mu
	st := &moveUpState{Cells: slices.Clone(m.cells), Calls: slices.Clone(m.calls), List: slices.Clone(m.list), Last: m.last, Dirty: m.dirty}
	for i := range m.cells {
		if h := m.hours[int32(i)]; h != nil {
			st.Hours = append(st.Hours, hourCounts{Cell: int32(i), Calls: *h})
		}
	}
	return st
}

func (e *Engine) moveUpRestore(st *moveUpState) {
	if st == nil {
		return
	}
	m := &e.mu
	m.cells, m.calls, m.list, m.last, m.dirty = st.Cells, st.Calls, st.List, st.Last, st.Dirty
	m.at = make(map[geo.Cell]int32, len(m.cells))
	m.hours = make(map[int32]*[168]float32, len(st.Hours))
	for i, c := range m.cells {
		m.at[c] = int32(i)
	}
	for _, h := range st.Hours {
		m.hours[h.Cell] = &h.Calls
	}
	e.setMoveUpCells()
	e.syncMoveTo()
}
