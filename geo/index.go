package geo

import "math"

// Index is the moving-point index: dense int32 ids (units) bucketed by H3 cell. Moving an
// id within its cell only overwrites its position; it is re-indexed only when it leaves
// the cell. Each entry keeps the id's exact position and a tag (the caller's bits, e.g.
// "free, police car") beside it, so a search reads one cell's candidates from contiguous
// memory instead of chasing every unit. Bucket order depends on the order of moves, so
// callers that need a canonical order rank what they find by (value, id).
type Index struct {
	buckets map[Cell]*bucket
	slots   []slot
	around  map[Cell]*neighbourhood
	centres map[Cell]Point
	n       int
}

// bucket holds the entries of one cell as parallel arrays.
type bucket struct {
	ids  []int32
	pos  []Point
	tags []uint32
}

type slot struct {
	cell Cell    // 0 when the id is not indexed
	b    *bucket // the bucket of cell, and the entry's place in it
	at   int32
	tag  uint32
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
	return &Index{buckets: make(map[Cell]*bucket), around: make(map[Cell]*neighbourhood),
		centres: make(map[Cell]Point)}
}

// Len is the number of indexed ids.
func (x *Index) Len() int { return x.n }

func (x *Index) slot(id int32) *slot {
	for int(id) >= len(x.slots) {
		x.slots = append(x.slots, slot{})
	}
	return &x.slots[id]
}

// Set puts id in cell c and reports whether it changed cell. An id that moves keeps
// its last position until Move gives it a new one.
func (x *Index) Set(id int32, c Cell) bool {
	s := x.slot(id)
	if s.cell == c {
		return false
	}
	var p Point
	if s.cell != 0 {
		p = s.b.pos[s.at]
	}
	x.relink(id, s, c, p)
	return true
}

// Move puts id at place p and reports whether it changed cell. Within its cell it only
// overwrites the position: no map is touched and nothing is allocated.
func (x *Index) Move(id int32, p Place) bool {
	s := x.slot(id)
	if s.cell == p.Cell {
		s.b.pos[s.at] = p.Point
		return false
	}
	x.relink(id, s, p.Cell, p.Point)
	return true
}

// relink moves the entry of id from its bucket, if any, to the bucket of c.
func (x *Index) relink(id int32, s *slot, c Cell, p Point) {
	if s.cell != 0 {
		x.unlink(s)
	} else {
		x.n++
	}
	b := x.buckets[c]
	if b == nil {
		b = &bucket{}
		x.buckets[c] = b
	}
	s.cell, s.b, s.at = c, b, int32(len(b.ids))
	b.ids = append(b.ids, id)
	b.pos = append(b.pos, p)
	b.tags = append(b.tags, s.tag)
}

// SetTag sets the caller's tag of id, kept beside it for searches.
func (x *Index) SetTag(id int32, tag uint32) {
	s := x.slot(id)
	s.tag = tag
	if s.cell != 0 {
		s.b.tags[s.at] = tag
	}
}

// Remove takes id out of the index.
func (x *Index) Remove(id int32) {
	if int(id) >= len(x.slots) || x.slots[id].cell == 0 {
		return
	}
	s := &x.slots[id]
	x.unlink(s)
	s.cell, s.b, s.at = 0, nil, 0
	x.n--
}

// unlink removes the entry of s from its bucket by moving the last entry into its
// place. Empty buckets stay in the map so a unit driving back and forth allocates
// nothing.
func (x *Index) unlink(s *slot) {
	b := s.b
	last := len(b.ids) - 1
	moved := b.ids[last]
	b.ids[s.at], b.pos[s.at], b.tags[s.at] = moved, b.pos[last], b.tags[last]
	x.slots[moved].at = s.at
	b.ids, b.pos, b.tags = b.ids[:last], b.pos[:last], b.tags[:last]
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

// SearchNear visits the entries around place p ring by ring, like Search, with each
// id's position and tag, and prunes by distance: before each ring k it asks limit(k)
// for the distance (m) beyond which nothing interests the caller any more. The search
// stops at the first ring wholly beyond the limit and skips every cell beyond it.
func (x *Index) SearchNear(p Place, maxK int, limit func(k int) float64, visit func(id int32, at Place, tag uint32)) {
	s := x.hood(p.Cell).spacing
	// A cell's points lie within this of its centre. H3 hexagons are irregular: the
	// farthest vertex is up to 7.6% beyond s/√3 around Xiamen (s being the nearest
	// neighbour's distance) and about 20% near the icosahedron's distortions.
	circum := 1.25 * s / math.Sqrt(3)
	for k := 0; k <= maxK; k++ {
		lim := limit(k)
		if RingDistanceBound(s, k) > lim {
			return
		}
		for _, cell := range x.Ring(p.Cell, k) {
			b := x.buckets[cell]
			if b == nil || len(b.ids) == 0 {
				continue
			}
			if k > 1 && FastDistance(p.Point, x.centre(cell))-circum > lim {
				continue
			}
			for n, id := range b.ids {
				visit(id, Place{Point: b.pos[n], Cell: cell}, b.tags[n])
			}
		}
	}
}

// Centre returns the centre of c, cached: searches ask for the same cells again and
// again, and H3's own answer costs a cgo call.
func (x *Index) Centre(c Cell) Point { return x.centre(c) }

func (x *Index) centre(c Cell) Point {
	p, ok := x.centres[c]
	if !ok {
		if len(x.centres) >= 16*maxCachedCentres {
			clear(x.centres)
		}
		p = Center(c)
		x.centres[c] = p
	}
	return p
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
	if !(s > 0) || math.IsInf(d, 1) || math.IsNaN(d) {
		return 0
	}
	k := 0
	for RingDistanceBound(s, k+1) <= d {
		k++
	}
	return k
}

// Spacing returns the distance in metres between the centre of c and its nearest
// neighbour's, cached.
func (x *Index) Spacing(c Cell) float64 { return x.hood(c).spacing }

// Tag returns the tag of id.
func (x *Index) Tag(id int32) uint32 {
	if int(id) >= len(x.slots) {
		return 0
	}
	return x.slots[id].tag
}
