package geo

import (
	"math"
	"slices"
	"time"
)

// Cover is the earliest arrival at a cell on one coverage layer: Seconds from the best
// unit's cell, and that unit's id. An uncovered cell has Unit -1 and Seconds
// math.MaxFloat64 (not +Inf, which JSON cannot carry).
type Cover struct {
	Seconds float64 `json:"s"`
	Unit    int32   `json:"u"`
}

var uncovered = Cover{Seconds: math.MaxFloat64, Unit: -1}

// better orders covers by time, then by unit id, so the best cover of a cell is one
// canonical value whatever order the updates came in.
func (a Cover) better(b Cover) bool {
	return a.Seconds < b.Seconds || (a.Seconds == b.Seconds && a.Unit < b.Unit)
}

// Coverage keeps, for every cell of a district and every layer (a set of eligible
// units, e.g. one response tier), the earliest arrival of a unit. Update records a
// unit's new cell in O(1); Flush then repairs only what moved: cells near a unit's new
// cell may improve, and cells whose best unit left are searched again. Travel times run
// from cell centre to cell centre, so coverage depends only on units' cells and the
// incremental result equals a full rebuild.
type Coverage struct {
	model   TravelModel
	horizon float64
	layers  int
	cells   []Cell
	centres []Place
	slot    map[Cell]int32
	best    []Cover // cell i, layer l at i*layers+l
	units   []coverUnit
	index   *Index
	dirty   []int32
	redo    []bool
	changed []bool
	out     []int32
}

type coverUnit struct {
	cur, next CoverPos
	dirty     bool
}

// CoverPos is where a unit counts for coverage: its cell, mode and layer mask.
type CoverPos struct {
	Cell Cell   `json:"cell,omitempty"`
	Mode Mode   `json:"mode"`
	Mask uint32 `json:"mask"`
}

// NewCoverage covers cells on the given number of layers (at most 32), counting
// arrivals up to horizon seconds.
func NewCoverage(cells []Cell, layers int, model TravelModel, horizon float64) *Coverage {
	set := NewCellSet(cells)
	c := &Coverage{
		model: model, horizon: horizon, layers: layers,
		cells: set.Cells(), slot: make(map[Cell]int32, set.Len()),
		index: NewIndex(),
	}
	c.centres = make([]Place, len(c.cells))
	c.best = make([]Cover, len(c.cells)*layers)
	c.redo = make([]bool, len(c.cells))
	c.changed = make([]bool, len(c.cells))
	for i, cell := range c.cells {
		c.slot[cell] = int32(i)
		c.centres[i] = Place{Point: Center(cell), Cell: cell}
	}
	for i := range c.best {
		c.best[i] = uncovered
	}
	return c
}

// Cells returns the covered cells, sorted; Cover's i indexes them.
func (c *Coverage) Cells() []Cell { return c.cells }

// Layers is the number of layers.
func (c *Coverage) Layers() int { return c.layers }

// Cover returns the best arrival at cell i on every layer. Don't modify the result.
func (c *Coverage) Cover(i int) []Cover { return c.best[i*c.layers : (i+1)*c.layers] }

// Lookup returns the index of cell in Cells.
func (c *Coverage) Lookup(cell Cell) (int, bool) {
	i, ok := c.slot[cell]
	return int(i), ok
}

// Update records that unit id now stands in cell, moves by mode, and counts on the
// layers set in mask (0: on none, e.g. busy). It costs O(1) and allocates nothing once
// the unit is known; the work waits for Flush.
func (c *Coverage) Update(id int32, cell Cell, mode Mode, mask uint32) {
	for int(id) >= len(c.units) {
		c.units = append(c.units, coverUnit{})
	}
	u := &c.units[id]
	u.next = CoverPos{Cell: cell, Mode: mode, Mask: mask}
	if !u.dirty && u.next != u.cur {
		u.dirty = true
		c.dirty = append(c.dirty, id)
	}
}

// Pending reports whether updates are waiting for Flush.
func (c *Coverage) Pending() bool { return len(c.dirty) > 0 }

// Flush applies the pending updates and returns the indexes of the cells whose cover
// changed, sorted. The slice is reused by the next Flush.
func (c *Coverage) Flush(at time.Time) []int32 { return c.FlushSome(at, 0) }

// FlushSome applies at most max of the pending updates (all if max <= 0), oldest
// first; the rest wait, their units counted where they were before. It bounds the work
// of one call, which is the engine's pause, when very many units move.
func (c *Coverage) FlushSome(at time.Time, max int) []int32 {
	c.out = c.out[:0]
	if len(c.dirty) == 0 {
		return c.out
	}
	batch := c.dirty
	if max > 0 && len(batch) > max {
		batch = batch[:max]
	}
	arrived := c.dirty[:0:0]
	for _, id := range batch {
		u := &c.units[id]
		u.dirty = false
		if u.next == u.cur {
			continue
		}
		if u.cur.Mask != 0 {
			c.eachNear(u.cur, func(i int32) {
				for l := 0; l < c.layers; l++ {
					if c.best[int(i)*c.layers+l].Unit == id {
						c.redo[i] = true
					}
				}
			})
		}
		u.cur = u.next
		if u.cur.Mask != 0 {
			c.index.Set(id, u.cur.Cell)
			arrived = append(arrived, id)
		} else {
			c.index.Remove(id)
		}
	}
	c.dirty = append(c.dirty[:0], c.dirty[len(batch):]...)
	for _, id := range arrived {
		u := c.units[id]
		if u.cur.Mask == 0 {
			continue
		}
		from := Place{Point: c.index.centre(u.cur.Cell), Cell: u.cur.Cell}
		c.eachNear(u.cur, func(i int32) {
			if c.redo[i] {
				return
			}
			s := c.model.Seconds(u.cur.Mode, from, c.centres[i], at)
			if s > c.horizon {
				return
			}
			cand := Cover{Seconds: s, Unit: id}
			for l := 0; l < c.layers; l++ {
				b := &c.best[int(i)*c.layers+l]
				if u.cur.Mask&(1<<l) != 0 && cand.better(*b) {
					*b = cand
					c.mark(i)
				}
			}
		})
	}
	for i := range c.redo {
		if c.redo[i] {
			c.redo[i] = false
			c.search(int32(i), at)
		}
	}
	for _, i := range c.out {
		c.changed[i] = false
	}
	slices.Sort(c.out)
	return c.out
}

// Rebuild recomputes every cell from scratch. Coverage is canonical, so this equals
// the incremental result; it exists for tests and for models whose speeds change with
// the hour.
func (c *Coverage) Rebuild(at time.Time) []int32 {
	c.Flush(at)
	c.out = c.out[:0]
	for i := range c.cells {
		c.search(int32(i), at)
	}
	for _, i := range c.out {
		c.changed[i] = false
	}
	return c.out
}

func (c *Coverage) mark(i int32) {
	if !c.changed[i] {
		c.changed[i] = true
		c.out = append(c.out, i)
	}
}

// reach is the outermost ring around a cell that a unit can cross within the horizon.
func (c *Coverage) reach(cell Cell) int {
	return RingsWithin(c.index.Spacing(cell), c.horizon/c.model.SecondsPerMeterBound())
}

// eachNear calls fn with the index of every covered cell a unit at p may reach.
func (c *Coverage) eachNear(p CoverPos, fn func(i int32)) {
	K := c.reach(p.Cell)
	for k := 0; k <= K; k++ {
		for _, cell := range c.index.Ring(p.Cell, k) {
			if i, ok := c.slot[cell]; ok {
				fn(i)
			}
		}
	}
}

// search finds the best unit for every layer of cell i by growing rings until none can
// be sooner.
func (c *Coverage) search(i int32, at time.Time) {
	to := c.centres[i]
	var best [32]Cover
	for l := 0; l < c.layers; l++ {
		best[l] = uncovered
	}
	bound := c.index.RingBound(to.Cell)
	spm := c.model.SecondsPerMeterBound()
	more := func(k int) bool {
		lb := bound(k) * spm
		if lb > c.horizon {
			return false
		}
		for l := 0; l < c.layers; l++ {
			if best[l].Seconds >= lb {
				return true
			}
		}
		return false
	}
	c.index.Search(to.Cell, c.reach(to.Cell), more, func(id int32) {
		u := c.units[id].cur
		s := c.model.Seconds(u.Mode, Place{Point: c.index.centre(u.Cell), Cell: u.Cell}, to, at)
		if s > c.horizon {
			return
		}
		cand := Cover{Seconds: s, Unit: id}
		for l := 0; l < c.layers; l++ {
			if u.Mask&(1<<l) != 0 && cand.better(best[l]) {
				best[l] = cand
			}
		}
	})
	for l := 0; l < c.layers; l++ {
		if c.best[int(i)*c.layers+l] != best[l] {
			c.best[int(i)*c.layers+l] = best[l]
			c.mark(i)
		}
	}
}

// CoverageState is a Coverage's full state, for engine snapshots.
type CoverageState struct {
	Best  []Cover    `json:"best"`
	Cur   []CoverPos `json:"cur"`
	Next  []CoverPos `json:"next"`
	Dirty []int32    `json:"dirty"`
}

// State returns a copy of the coverage state.
func (c *Coverage) State() CoverageState {
	s := CoverageState{Best: slices.Clone(c.best), Dirty: slices.Clone(c.dirty)}
	for _, u := range c.units {
		s.Cur = append(s.Cur, u.cur)
		s.Next = append(s.Next, u.next)
	}
	return s
}

// SetState restores a state taken by State from a coverage of the same cells and layers.
func (c *Coverage) SetState(s CoverageState) {
	if len(s.Best) == len(c.best) {
		copy(c.best, s.Best)
	}
	c.units = make([]coverUnit, len(s.Cur))
	c.index = NewIndex()
	for id := range s.Cur {
		c.units[id] = coverUnit{cur: s.Cur[id], next: s.Next[id]}
		if s.Cur[id].Mask != 0 {
			c.index.Set(int32(id), s.Cur[id].Cell)
		}
	}
	c.dirty = slices.Clone(s.Dirty)
	for _, id := range c.dirty {
		c.units[id].dirty = true
	}
}
