package geo

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

const (
	testLayers  = 3
	testHorizon = 300.0
)

// covWorld is a district and the area around it where units roam, with the exact
// cover computed by brute force: every unit tried on every cell.
type covWorld struct {
	centre   Cell
	district []Cell
	area     []Cell // units roam here: the district and a margin around it
	far      []Cell // out of reach of the district
	model    TravelModel
	places   map[Cell]Place
}

func newCovWorld(t testing.TB, districtK, areaK int) *covWorld {
	t.Helper()
	centre := mustCell(t, testCenter)
	w := &covWorld{
		centre:   centre,
		district: mustDisk(t, centre, districtK),
		area:     mustDisk(t, centre, areaK),
		far:      mustDisk(t, mustCell(t, Point{Lat: 24.70, Lng: 118.40}), 1),
		model:    DefaultSpeedModel(),
		places:   map[Cell]Place{},
	}
	return w
}

func (w *covWorld) place(c Cell) Place {
	p, ok := w.places[c]
	if !ok {
		p = Place{Point: Center(c), Cell: c}
		w.places[c] = p
	}
	return p
}

// brute is the cover of every district cell given the units' positions, the slow way.
func (w *covWorld) brute(units map[int32]CoverPos, layers int, horizon float64) [][]Cover {
	ids := make([]int32, 0, len(units))
	for id, u := range units {
		if u.Mask != 0 {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	out := make([][]Cover, len(w.district))
	for i, cell := range w.district {
		to := w.place(cell)
		best := make([]Cover, layers)
		for l := range best {
			best[l] = Cover{Seconds: math.MaxFloat64, Unit: -1}
		}
		for _, id := range ids {
			u := units[id]
			s := w.model.Seconds(u.Mode, w.place(u.Cell), to, testTime)
			if s > horizon {
				continue
			}
			for l := range best {
				// ids ascend, so only a strictly sooner unit replaces a tie.
				if u.Mask&(1<<l) != 0 && s < best[l].Seconds {
					best[l] = Cover{Seconds: s, Unit: id}
				}
			}
		}
		out[i] = best
	}
	return out
}

func covers(c *Coverage) [][]Cover {
	out := make([][]Cover, len(c.Cells()))
	for i := range out {
		out[i] = slices.Clone(c.Cover(i))
	}
	return out
}

func compareCovers(t testing.TB, what string, got, want [][]Cover, cells []Cell) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d cells, want %d", what, len(got), len(want))
	}
	for i := range got {
		if !slices.Equal(got[i], want[i]) {
			t.Fatalf("%s: cell %d (%s) covered by %+v, want %+v", what, i, cells[i], got[i], want[i])
		}
	}
}

// changedCells lists the cells whose cover differs between two copies.
func changedCells(before, after [][]Cover) []int32 {
	var out []int32
	for i := range before {
		if !slices.Equal(before[i], after[i]) {
			out = append(out, int32(i))
		}
	}
	return out
}

// flushAndCheck flushes c and checks that it returns exactly the cells that changed,
// sorted, and that the result is the brute-force cover of units.
func (w *covWorld) flushAndCheck(t testing.TB, what string, c *Coverage, units map[int32]CoverPos) []int32 {
	t.Helper()
	before := covers(c)
	got := slices.Clone(c.Flush(testTime))
	if c.Pending() {
		t.Fatalf("%s: still pending after Flush", what)
	}
	after := covers(c)
	if !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) {
		t.Fatalf("%s: Flush returned %v, not sorted and distinct", what, got)
	}
	if want := changedCells(before, after); !slices.Equal(got, want) {
		t.Fatalf("%s: Flush returned %d cells %v, but %d changed: %v", what, len(got), got, len(want), want)
	}
	compareCovers(t, what, after, w.brute(units, c.Layers(), c.horizon), c.Cells())
	return got
}

// stream generates random coverage updates: units drive to neighbouring cells, jump
// across the area, join other units' cells (ties), leave for far away, change mode,
// go busy (mask 0) and free again, and new units appear, sometimes skipping ids.
type stream struct {
	r      *rand.Rand
	w      *covWorld
	units  map[int32]CoverPos // the latest update of every unit
	ids    []int32
	nextID int32
	hood   map[Cell][]Cell
}

func newStream(w *covWorld, seed uint64) *stream {
	return &stream{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), w: w,
		units: map[int32]CoverPos{}, hood: map[Cell][]Cell{}}
}

func (s *stream) neighbours(c Cell) []Cell {
	n, ok := s.hood[c]
	if !ok {
		n, _ = Disk(c, 1)
		s.hood[c] = n
	}
	return n
}

func (s *stream) randomMask() uint32 {
	switch p := s.r.IntN(10); {
	case p < 2:
		return 0
	case p < 3:
		return uint32(s.r.IntN(16)) // bit 3 is no layer
	default:
		return uint32(1 + s.r.IntN(7))
	}
}

func (s *stream) next() (int32, CoverPos) {
	r := s.r
	if len(s.ids) == 0 || r.IntN(100) < 6 {
		id := s.nextID
		s.nextID += 1 + int32(r.IntN(2))*int32(r.IntN(3)) // gaps of unused ids
		s.ids = append(s.ids, id)
		p := CoverPos{Cell: s.w.area[r.IntN(len(s.w.area))], Mode: Mode(r.IntN(int(numModes))), Mask: s.randomMask()}
		s.units[id] = p
		return id, p
	}
	id := s.ids[r.IntN(len(s.ids))]
	p := s.units[id]
	switch q := r.IntN(100); {
	case q < 45:
		n := s.neighbours(p.Cell)
		p.Cell = n[r.IntN(len(n))]
	case q < 55: // stay
	case q < 70:
		p.Cell = s.w.area[r.IntN(len(s.w.area))]
	case q < 85: // join another unit: equal times, ties broken by id
		p.Cell = s.units[s.ids[r.IntN(len(s.ids))]].Cell
	case q < 90:
		p.Cell = s.w.far[r.IntN(len(s.w.far))]
	default:
		p.Mode = Mode(r.IntN(int(numModes)))
	}
	if r.IntN(100) < 25 {
		p.Mask = s.randomMask()
	}
	if r.IntN(100) < 5 {
		p.Mode = Mode(r.IntN(int(numModes)))
	}
	s.units[id] = p
	return id, p
}

// TestCoverageIncremental applies long random streams of updates with flushes in
// between and checks every flush against a brute-force cover, its changed cells
// against a before/after comparison, and from time to time against Rebuild on a clone
// and on a fresh coverage that sees only the final positions.
func TestCoverageIncremental(t *testing.T) {
	t.Parallel()
	w := newCovWorld(t, 12, 17)
	t.Logf("district of %d cells, units roam %d cells", len(w.district), len(w.area))
	tests := []struct {
		name    string
		layers  int
		horizon float64
		seed    uint64
		flushes int
	}{
		{"3 layers 300 s", testLayers, testHorizon, 1, 160},
		{"3 layers 300 s again", testLayers, testHorizon, 2, 160},
		{"1 layer 90 s", 1, 90, 3, 100},
		{"4 layers 600 s", 4, 600, 4, 80},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			flushes := tt.flushes
			if testing.Short() {
				flushes /= 5
			}
			newCov := func() *Coverage { return NewCoverage(w.district, tt.layers, w.model, tt.horizon) }
			c := newCov()
			s := newStream(w, tt.seed)
			totalChanged := 0
			for f := range flushes {
				burst := 1 + s.r.IntN(12)
				if f%10 == 0 {
					burst = 60
				}
				for range burst {
					id, p := s.next()
					c.Update(id, p.Cell, p.Mode, p.Mask)
					if s.r.IntN(20) == 0 { // a second report before the flush
						id, p = s.next()
						c.Update(id, p.Cell, p.Mode, p.Mask)
					}
				}
				what := fmt.Sprintf("flush %d", f)
				totalChanged += len(w.flushAndCheck(t, what, c, s.units))
				if got := c.Flush(testTime); len(got) != 0 {
					t.Fatalf("%s: empty Flush returned %v", what, got)
				}
				if f%25 == 24 {
					// A clone through State/SetState must already be canonical.
					clone := newCov()
					clone.SetState(c.State())
					if got := clone.Rebuild(testTime); len(got) != 0 {
						t.Fatalf("%s: Rebuild of the clone changed %d cells", what, len(got))
					}
					compareCovers(t, what+" clone", covers(clone), covers(c), c.Cells())
					// A fresh coverage that only sees where everyone ended up.
					fresh := newCov()
					for _, id := range slices.Sorted(maps.Keys(s.units)) {
						p := s.units[id]
						fresh.Update(id, p.Cell, p.Mode, p.Mask)
					}
					fresh.Rebuild(testTime)
					compareCovers(t, what+" fresh", covers(fresh), covers(c), c.Cells())
				}
			}
			covered := 0
			for i := range c.Cells() {
				for _, cv := range c.Cover(i) {
					if cv.Unit >= 0 {
						covered++
					}
				}
			}
			t.Logf("%d units, %d cell changes over %d flushes, %d of %d cell-layers covered at the end",
				len(s.ids), totalChanged, flushes, covered, len(c.Cells())*c.Layers())
		})
	}
}

func TestCoverageUncovered(t *testing.T) {
	w := newCovWorld(t, 8, 8)
	centre := w.centre
	uncoveredAll := func(t *testing.T, c *Coverage, layers ...int) {
		t.Helper()
		for i := range c.Cells() {
			for _, l := range layers {
				if got := c.Cover(i)[l]; got.Unit != -1 || got.Seconds != math.MaxFloat64 {
					t.Fatalf("cell %d layer %d = %+v, want uncovered", i, l, got)
				}
			}
		}
	}
	type upd struct {
		id   int32
		cell Cell
		mode Mode
		mask uint32
	}
	tests := []struct {
		name      string
		updates   []upd
		uncovered []int // layers uncovered everywhere
		partly    []int // layers covered in some cells but not all
	}{
		{"no units", nil, []int{0, 1, 2}, nil},
		{"busy unit", []upd{{0, centre, Car, 0}}, []int{0, 1, 2}, nil},
		{"unit on layer 1 only", []upd{{4, centre, Car, 2}}, []int{0, 2}, []int{1}},
		{"no layer of the coverage", []upd{{0, centre, Car, 8}}, []int{0, 1, 2}, nil},
		{"far away", []upd{{0, w.far[0], Car, 7}}, []int{0, 1, 2}, nil},
		{"walker on every layer", []upd{{1, centre, Foot, 7}}, nil, []int{0, 1, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewCoverage(w.district, testLayers, w.model, testHorizon)
			units := map[int32]CoverPos{}
			for _, u := range tt.updates {
				c.Update(u.id, u.cell, u.mode, u.mask)
				units[u.id] = CoverPos{Cell: u.cell, Mode: u.mode, Mask: u.mask}
			}
			w.flushAndCheck(t, tt.name, c, units)
			uncoveredAll(t, c, tt.uncovered...)
			for _, l := range tt.partly {
				n := 0
				for i := range c.Cells() {
					if cv := c.Cover(i)[l]; cv.Unit >= 0 {
						n++
					} else if cv.Unit != -1 || cv.Seconds != math.MaxFloat64 {
						t.Fatalf("cell %d layer %d = %+v, want uncovered", i, l, cv)
					}
				}
				if n == 0 || n == len(c.Cells()) {
					t.Errorf("layer %d covered in %d of %d cells, want some", l, n, len(c.Cells()))
				}
			}
		})
	}

	// Going busy uncovers exactly the cells the unit covered.
	c := NewCoverage(w.district, testLayers, w.model, testHorizon)
	c.Update(2, centre, Car, 7)
	on := slices.Clone(c.Flush(testTime))
	if len(on) == 0 {
		t.Fatal("a car at the centre covers nothing")
	}
	c.Update(2, centre, Car, 0)
	off := c.Flush(testTime)
	if !slices.Equal(on, off) {
		t.Fatalf("busy unit uncovered %v, had covered %v", off, on)
	}
	uncoveredAll(t, c, 0, 1, 2)
	i, ok := c.Lookup(centre)
	if !ok || c.Cells()[i] != centre {
		t.Fatalf("Lookup(centre) = %d, %v", i, ok)
	}
	if _, ok := c.Lookup(w.far[0]); ok {
		t.Fatal("Lookup of a cell outside the district succeeded")
	}
}

func TestCoverageTiesAndPending(t *testing.T) {
	w := newCovWorld(t, 6, 6)
	a := w.centre
	ring, _ := Ring(a, 2)
	b := ring[0]
	// x is three rings from a and farther from b: only cars at a reach it in time.
	ring3, _ := Ring(a, 3)
	x := ring3[0]
	for _, cell := range ring3 {
		if Distance(Center(b), Center(cell)) > Distance(Center(b), Center(x)) {
			x = cell
		}
	}
	c := NewCoverage(w.district, testLayers, w.model, testHorizon)
	if !slices.IsSorted(c.Cells()) || len(c.Cells()) != len(w.district) || c.Layers() != testLayers {
		t.Fatal("Cells must be the sorted district")
	}
	units := map[int32]CoverPos{}
	steps := []struct {
		name    string
		id      int32
		pos     CoverPos
		atX     int32 // unit expected to cover cell x on layer 0
		pending bool
	}{
		{"first unit", 7, CoverPos{a, Car, 1}, 7, true},
		{"lower id in the same cell wins the tie", 3, CoverPos{a, Car, 1}, 3, true},
		{"higher id in the same cell loses", 9, CoverPos{a, Car, 1}, 3, true},
		{"same position again is not pending", 9, CoverPos{a, Car, 1}, 3, false},
		{"winner leaves: next id takes over", 3, CoverPos{b, Car, 1}, 7, true},
		{"winner comes back", 3, CoverPos{a, Car, 1}, 3, true},
		{"winner goes off layer 0", 3, CoverPos{a, Car, 2}, 7, true},
		{"slower mode loses despite lower id", 7, CoverPos{a, Foot, 1}, 9, true},
		{"back to car", 7, CoverPos{a, Car, 1}, 7, true},
	}
	for _, st := range steps {
		c.Update(st.id, st.pos.Cell, st.pos.Mode, st.pos.Mask)
		units[st.id] = st.pos
		if c.Pending() != st.pending {
			t.Fatalf("%s: Pending = %v", st.name, c.Pending())
		}
		w.flushAndCheck(t, st.name, c, units)
		i, _ := c.Lookup(x)
		if got := c.Cover(i)[0].Unit; got != st.atX {
			t.Fatalf("%s: cell x covered by %d, want %d", st.name, got, st.atX)
		}
	}
	// Away and back before a flush: pending, but nothing changes.
	c.Update(7, b, Car, 1)
	c.Update(7, a, Car, 1)
	if !c.Pending() {
		t.Fatal("an update must be pending until Flush")
	}
	if got := w.flushAndCheck(t, "away and back", c, units); len(got) != 0 {
		t.Fatalf("away and back changed %v", got)
	}
}

// TestCoverageState checks that a state taken mid-stream, pending updates included,
// survives JSON and continues exactly like the original.
func TestCoverageState(t *testing.T) {
	w := newCovWorld(t, 10, 14)
	orig := NewCoverage(w.district, testLayers, w.model, testHorizon)
	s := newStream(w, 77)
	for f := range 40 {
		for range 1 + s.r.IntN(20) {
			id, p := s.next()
			orig.Update(id, p.Cell, p.Mode, p.Mask)
		}
		if f < 39 {
			orig.Flush(testTime)
		}
	}
	// New units and moves wait unflushed in the snapshot, with a gap in the ids: units
	// that have no position yet.
	for range 10 {
		id, p := s.next()
		orig.Update(id, p.Cell, p.Mode, p.Mask)
	}
	for range 2 {
		s.nextID += 3
		id := s.nextID
		s.nextID++
		s.ids = append(s.ids, id)
		p := CoverPos{Cell: w.area[s.r.IntN(len(w.area))], Mode: Car, Mask: 5}
		s.units[id] = p
		orig.Update(id, p.Cell, p.Mode, p.Mask)
	}
	if !orig.Pending() {
		t.Fatal("want pending updates in the snapshot")
	}
	st := orig.State()
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	var back CoverageState
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("unmarshal state: %v", err)
	}
	restored := NewCoverage(w.district, testLayers, w.model, testHorizon)
	restored.SetState(back)
	if !restored.Pending() {
		t.Fatal("restored state lost its pending updates")
	}
	b2, err := json.Marshal(restored.State())
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != string(b2) {
		t.Fatal("State after SetState differs from the state restored")
	}
	compareCovers(t, "restored", covers(restored), covers(orig), orig.Cells())

	direct := NewCoverage(w.district, testLayers, w.model, testHorizon)
	direct.SetState(orig.State())
	for f := range 40 {
		what := fmt.Sprintf("continuation %d", f)
		for range 1 + s.r.IntN(15) {
			id, p := s.next()
			for _, c := range []*Coverage{orig, restored, direct} {
				c.Update(id, p.Cell, p.Mode, p.Mask)
			}
		}
		want := slices.Clone(w.flushAndCheck(t, what, orig, s.units))
		for _, c := range []*Coverage{restored, direct} {
			if got := c.Flush(testTime); !slices.Equal(got, want) {
				t.Fatalf("%s: restored Flush = %v, original %v", what, got, want)
			}
			compareCovers(t, what, covers(c), covers(orig), orig.Cells())
		}
	}
}

// TestCoverageRebuildNewModel changes the model's speeds and checks that Rebuild
// reports exactly the cells that change and matches the brute force.
func TestCoverageRebuildNewModel(t *testing.T) {
	w := newCovWorld(t, 10, 13)
	m := DefaultSpeedModel()
	w.model = m
	c := NewCoverage(w.district, testLayers, m, testHorizon)
	s := newStream(w, 5)
	for range 200 {
		id, p := s.next()
		c.Update(id, p.Cell, p.Mode, p.Mask)
	}
	w.flushAndCheck(t, "start", c, s.units)
	r := rand.New(rand.NewPCG(6, 7))
	for _, scale := range []float64{0.6, 1.4, 1} {
		f := map[Cell]float64{}
		for _, cell := range w.area {
			if r.IntN(3) == 0 {
				f[cell] = scale * (0.8 + 0.4*r.Float64())
			}
		}
		m.SetCellFactors(f)
		before := covers(c)
		got := slices.Clone(c.Rebuild(testTime))
		after := covers(c)
		if want := changedCells(before, after); !slices.Equal(got, want) {
			t.Fatalf("scale %v: Rebuild returned %d cells, %d changed", scale, len(got), len(changedCells(before, after)))
		}
		compareCovers(t, "rebuild", after, w.brute(s.units, testLayers, testHorizon), c.Cells())
		w.flushAndCheck(t, "after rebuild", c, s.units)
	}
}

func TestCoverageUpdateAllocs(t *testing.T) {
	w := newCovWorld(t, 4, 4)
	c := NewCoverage(w.district, testLayers, w.model, testHorizon)
	for id := range int32(100) {
		c.Update(id, w.district[int(id)%len(w.district)], Car, 1)
	}
	c.Flush(testTime)
	for id := range int32(100) { // grow the dirty list once
		c.Update(id, w.district[(int(id)+1)%len(w.district)], Car, 1)
	}
	c.Flush(testTime)
	i := 0
	if a := testing.AllocsPerRun(200, func() {
		for id := range int32(100) {
			c.Update(id, w.district[(int(id)+i)%len(w.district)], Mode(i%4), uint32(i%3))
		}
		i++
	}); a != 0 {
		t.Errorf("Update of known units allocates %v times per 100 updates", a)
	}
}

func BenchmarkCoverageFlush(b *testing.B) {
	w := newCovWorld(b, 30, 34)
	c := NewCoverage(w.district, testLayers, w.model, testHorizon)
	r := rand.New(rand.NewPCG(1, 2))
	const units = 10000
	pos := make([]CoverPos, units)
	for id := range pos {
		pos[id] = CoverPos{Cell: w.area[r.IntN(len(w.area))], Mode: Mode(r.IntN(int(numModes))), Mask: uint32(1 + r.IntN(7))}
		c.Update(int32(id), pos[id].Cell, pos[id].Mode, pos[id].Mask)
	}
	c.Flush(testTime)
	hood := map[Cell][]Cell{}
	changed := 0
	b.ReportAllocs()
	for b.Loop() {
		for range 100 {
			id := r.IntN(units)
			p := &pos[id]
			n, ok := hood[p.Cell]
			if !ok {
				n, _ = Disk(p.Cell, 1)
				hood[p.Cell] = n
			}
			p.Cell = n[r.IntN(len(n))]
			if r.IntN(10) == 0 {
				p.Mask = uint32(r.IntN(8))
			}
			c.Update(int32(id), p.Cell, p.Mode, p.Mask)
		}
		changed += len(c.Flush(testTime))
	}
	b.ReportMetric(float64(changed)/float64(b.N), "cells/flush")
	b.ReportMetric(float64(len(w.district)), "district-cells")
}

// TestCoverageFlushSome takes pending updates a few at a time, oldest first, and
// checks after every call that the cover is exact for the units taken so far (the
// rest counted where they were) and that the cells reported are those that changed.
func TestCoverageFlushSome(t *testing.T) {
	w := newCovWorld(t, 10, 21)
	c := NewCoverage(w.district, testLayers, w.model, testHorizon)
	s := newStream(w, 9)
	applied := map[int32]CoverPos{} // what the cover counts each unit as
	var queue []int32               // units with updates waiting, oldest first
	queued := map[int32]bool{}
	for round := range 60 {
		for range 1 + s.r.IntN(40) {
			id, p := s.next()
			c.Update(id, p.Cell, p.Mode, p.Mask)
			if !queued[id] && p != applied[id] {
				queued[id] = true
				queue = append(queue, id)
			}
		}
		for step := 0; len(queue) > 0; step++ {
			max := 1 + s.r.IntN(12)
			before := covers(c)
			got := slices.Clone(c.FlushSome(testTime, max))
			for _, id := range queue[:min(max, len(queue))] {
				applied[id] = s.units[id]
				queued[id] = false
			}
			queue = queue[min(max, len(queue)):]
			if c.Pending() != (len(queue) > 0) {
				t.Fatalf("round %d step %d: Pending = %v with %d waiting", round, step, c.Pending(), len(queue))
			}
			after := covers(c)
			what := fmt.Sprintf("round %d step %d", round, step)
			if want := changedCells(before, after); !slices.Equal(got, want) {
				t.Fatalf("%s: FlushSome returned %v, but %v changed", what, got, want)
			}
			compareCovers(t, what, after, w.brute(applied, c.Layers(), c.horizon), c.Cells())
		}
	}
}
