package geo

import "math"

// Index is the moving-point index: dense int32 ids (units) bucketed by H3 cell. Moving an
// id within its cell costs nothing; it is re-indexed only when it leaves the cell. Bucket
// order depends on the order of moves, so callers that need a canonical order rank what
// they find by (value, id).
type Index struct {
	buckets map[Cell]*bucket
	slots   []slot
	around  map[Cell]*neighbourhood
	n       int
}

type bucket struct{ ids []int32 }

type slot struct {
	cell Cell // 0 when the id is not indexed
	pos  int32
}

// neighbourhood caches the rings around a cell and the spacing of its neighbours, which
// searches need again and again around the same scenes.
type neighbourhood struct {
	spacing float64
	rings   [][]Cell
}

// maxCachedCentres bounds the ring cache (about 1 MiB per thousand centres at k=10).
const maxCachedCentres = 20000

// NewIndex returns an empty index.
func NewIndex() *Index {
	return &Index{buckets: make(map[Cell]*bucket), around: make(map[Cell]*neighbourhood)}
}

// Len is the number of indexed ids.
func (x *Index) Len() int { return x.n }

// Set puts id in cell c and reports whether it changed cell.
func (x *Index) Set(id int32, c Cell) bool {
	for int(id) >= len(x.slots) {
		x.slots = append(x.slots, slot{})
	}
	s := &x.slots[id]
	if s.cell == c {
		return false
	}
	if s.cell != 0 {
		x.unlink(id, s)
	} else {
		x.n++
	}
	b := x.buckets[c]
	if b == nil {
		b = &bucket{}
		x.buckets[c] = b
	}
	s.cell, s.pos = c, int32(len(b.ids))
	b.ids = append(b.ids, id)
	return true
}

// Remove takes id out of the index.
func (x *Index) Remove(id int32) {
	if int(id) >= len(x.slots) || x.slots[id].cell == 0 {
		return
	}
	x.unlink(id, &x.slots[id])
	x.slots[id] = slot{}
	x.n--
}

// unlink removes id from its bucket by swapping the last id into its place. Empty
// buckets stay in the map so a unit driving back and forth allocates nothing.
func (x *Index) unlink(id int32, s *slot) {
	b := x.buckets[s.cell]
	last := b.ids[len(b.ids)-1]
	b.ids[s.pos] = last
	x.slots[last].pos = s.pos
	b.ids = b.ids[:len(b.ids)-1]
}

// CellOf returns the cell of id and whether it is indexed.
func (x *Index) CellOf(id int32) (Cell, bool) {
	if int(id) >= len(x.slots) || x.slots[id].cell == 0 {
		return 0, false
	}
	return x.slots[id].cell, true
}

// At returns the ids in cell c. The slice is the index's own: read it, don't keep it.
func (x *Index) At(c Cell) []int32 {
	if b := x.buckets[c]; b != nil {
		return b.ids
	}
	return nil
}

// Search visits the ids around c ring by ring, from the cell itself (ring 0) out to
// ring maxK. Before each ring k it calls more(k), which stops the search by returning
// false; visit is called for every id of the ring.
func (x *Index) Search(c Cell, maxK int, more func(k int) bool, visit func(id int32)) {
	for k := 0; k <= maxK; k++ {
		if !more(k) {
			return
		}
		ring := x.Ring(c, k)
		for _, cell := range ring {
			if b := x.buckets[cell]; b != nil {
				for _, id := range b.ids {
					visit(id)
				}
			}
		}
	}
}

func (x *Index) hood(c Cell) *neighbourhood {
	h := x.around[c]
	if h == nil {
		if len(x.around) >= maxCachedCentres {
			clear(x.around)
		}
		h = &neighbourhood{spacing: ringSpacing(c)}
		x.around[c] = h
	}
	return h
}

// Ring returns the cells at grid distance k from c, cached. Don't modify the result.
func (x *Index) Ring(c Cell, k int) []Cell {
	h := x.hood(c)
	for len(h.rings) <= k {
		r, err := Ring(c, len(h.rings))
		if err != nil {
			r = nil
		}
		h.rings = append(h.rings, r)
	}
	return h.rings[k]
}

// RingBound returns a function giving, for ring k around c, a lower bound in metres on
// the distance from any point of c to any point of a cell in that ring. It lets a
// search stop as soon as no farther unit can be nearer than those already found.
func (x *Index) RingBound(c Cell) func(k int) float64 {
	s := x.hood(c).spacing
	return func(k int) float64 { return RingDistanceBound(s, k) }
}

// RingDistanceBound is the lower bound of RingBound for a grid of centre spacing s
// metres. Ring-k centres lie on a hexagon whose nearest points are k·s·√3/2 away, and
// every point of a cell is within its circumradius s/√3 of the centre; 5% margins
// absorb the grid's distortion (checked in the tests around Xiamen).
func RingDistanceBound(s float64, k int) float64 {
	d := 0.95*float64(k)*s*math.Sqrt(3)/2 - 2*1.05*s/math.Sqrt(3)
	return math.Max(0, d)
}

// RingsWithin returns the outermost ring around a cell of centre spacing s that may
// hold points within d metres of it.
func RingsWithin(s, d float64) int {
	k := 0
	for RingDistanceBound(s, k+1) <= d {
		k++
	}
	return k
}

// Spacing returns the distance in metres between the centre of c and its nearest
// neighbour's, cached.
func (x *Index) Spacing(c Cell) float64 { return x.hood(c).spacing }
