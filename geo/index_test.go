package geo

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/uber/h3-go/v4"
)

// Test scenes lie in and around Xiamen.
const (
	xmLatMin, xmLatMax = 24.45, 24.58
	xmLngMin, xmLngMax = 118.05, 118.22
)

func xiamenPoint(r *rand.Rand) Point {
	return Point{
		Lat: xmLatMin + r.Float64()*(xmLatMax-xmLatMin),
		Lng: xmLngMin + r.Float64()*(xmLngMax-xmLngMin),
	}
}

func mustCell(t testing.TB, p Point) Cell {
	t.Helper()
	c, err := CellOf(p, DefaultRes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mustDisk(t testing.TB, c Cell, k int) []Cell {
	t.Helper()
	cells, err := Disk(c, k)
	if err != nil {
		t.Fatal(err)
	}
	return cells
}

func gridDistance(t testing.TB, a, b Cell) int {
	t.Helper()
	d, err := h3.GridDistance(a, b)
	if err != nil {
		t.Fatalf("grid distance %s-%s: %v", a, b, err)
	}
	return d
}

// cellOutline returns points on the boundary of c: its vertices and three points along
// every edge (the nearest point of a hexagon to an outside point is often on an edge).
func cellOutline(t testing.TB, c Cell) []Point {
	t.Helper()
	b, err := h3.CellToBoundary(c)
	if err != nil {
		t.Fatal(err)
	}
	var out []Point
	for i, v := range b {
		w := b[(i+1)%len(b)]
		for _, f := range []float64{0, 0.25, 0.5, 0.75} {
			out = append(out, Point{Lat: v.Lat + f*(w.Lat-v.Lat), Lng: v.Lng + f*(w.Lng-v.Lng)})
		}
	}
	return out
}

// destination is the point d metres from p on the initial bearing theta (radians).
func destination(p Point, theta, d float64) Point {
	const rad = math.Pi / 180
	phi1, lam1 := p.Lat*rad, p.Lng*rad
	delta := d / EarthRadius
	phi2 := math.Asin(math.Sin(phi1)*math.Cos(delta) + math.Cos(phi1)*math.Sin(delta)*math.Cos(theta))
	lam2 := lam1 + math.Atan2(math.Sin(theta)*math.Sin(delta)*math.Cos(phi1), math.Cos(delta)-math.Sin(phi1)*math.Sin(phi2))
	return Point{Lat: phi2 / rad, Lng: lam2 / rad}
}

func sortedIDs(ids []int32) []int32 {
	s := slices.Clone(ids)
	slices.Sort(s)
	return s
}

func TestIndexSetRemoveCellOf(t *testing.T) {
	c := mustCell(t, testCenter)
	ring, err := Ring(c, 1)
	if err != nil {
		t.Fatal(err)
	}
	a, b := ring[0], ring[3]

	type op struct {
		remove bool
		id     int32
		cell   Cell
		want   bool // Set's result
	}
	tests := []struct {
		name    string
		ops     []op
		wantLen int
		wantAt  map[Cell][]int32
		absent  []int32
	}{
		{"empty", nil, 0, map[Cell][]int32{c: nil}, []int32{0, 7}},
		{"first set", []op{{id: 0, cell: c, want: true}}, 1, map[Cell][]int32{c: {0}}, []int32{1}},
		{"same cell is no change", []op{{id: 3, cell: a, want: true}, {id: 3, cell: a}, {id: 3, cell: a}}, 1,
			map[Cell][]int32{a: {3}, c: nil}, []int32{0, 1, 2, 4}},
		{"move between cells", []op{{id: 1, cell: a, want: true}, {id: 1, cell: b, want: true}, {id: 1, cell: a, want: true}}, 1,
			map[Cell][]int32{a: {1}, b: nil}, []int32{0}},
		{"sparse high id", []op{{id: 1000, cell: c, want: true}}, 1, map[Cell][]int32{c: {1000}}, []int32{0, 999, 1001}},
		{"remove", []op{{id: 2, cell: c, want: true}, {id: 5, cell: c, want: true}, {remove: true, id: 2}}, 1,
			map[Cell][]int32{c: {5}}, []int32{2}},
		{"remove twice and unknown", []op{{id: 2, cell: c, want: true}, {remove: true, id: 2}, {remove: true, id: 2}, {remove: true, id: 50}}, 0,
			map[Cell][]int32{c: nil}, []int32{2, 50}},
		{"set after remove counts again", []op{{id: 4, cell: a, want: true}, {remove: true, id: 4}, {id: 4, cell: a, want: true}}, 1,
			map[Cell][]int32{a: {4}}, nil},
		{"swap with last in bucket", []op{
			{id: 0, cell: c, want: true}, {id: 1, cell: c, want: true}, {id: 2, cell: c, want: true},
			{id: 0, cell: a, want: true}, {id: 2, cell: b, want: true}, {id: 1, cell: c}}, 3,
			map[Cell][]int32{c: {1}, a: {0}, b: {2}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := NewIndex()
			want := map[int32]Cell{}
			for i, o := range tt.ops {
				if o.remove {
					x.Remove(o.id)
					delete(want, o.id)
					continue
				}
				if got := x.Set(o.id, o.cell); got != o.want {
					t.Fatalf("op %d: Set(%d, %s) = %v, want %v", i, o.id, o.cell, got, o.want)
				}
				want[o.id] = o.cell
			}
			if x.Len() != tt.wantLen {
				t.Errorf("Len = %d, want %d", x.Len(), tt.wantLen)
			}
			for id, cell := range want {
				if got, ok := x.CellOf(id); !ok || got != cell {
					t.Errorf("CellOf(%d) = %s, %v; want %s, true", id, got, ok, cell)
				}
			}
			for _, id := range tt.absent {
				if got, ok := x.CellOf(id); ok || got != 0 {
					t.Errorf("CellOf(%d) = %s, %v; want absent", id, got, ok)
				}
			}
			for cell, ids := range tt.wantAt {
				if got := sortedIDs(x.At(cell)); !slices.Equal(got, sortedIDs(ids)) {
					t.Errorf("At(%s) = %v, want %v", cell, got, ids)
				}
			}
		})
	}
}

// TestIndexRandomModel drives the index with random sets and removes and compares it
// with a plain map after every operation.
func TestIndexRandomModel(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	centre := mustCell(t, testCenter)
	pool := mustDisk(t, centre, 3) // 37 cells: crowded buckets, frequent same-cell moves
	far := mustDisk(t, mustCell(t, Point{Lat: 24.56, Lng: 118.08}), 2)
	cells := append(slices.Clone(pool), far...)
	const nIDs = 300
	const nOps = 20000

	x := NewIndex()
	model := map[int32]Cell{}
	check := func(op int) {
		t.Helper()
		if x.Len() != len(model) {
			t.Fatalf("op %d: Len = %d, want %d", op, x.Len(), len(model))
		}
		byCell := map[Cell][]int32{}
		for id, c := range model {
			byCell[c] = append(byCell[c], id)
		}
		seen := map[int32]bool{}
		for _, c := range cells {
			got := x.At(c)
			for _, id := range got {
				if seen[id] {
					t.Fatalf("op %d: id %d indexed twice", op, id)
				}
				seen[id] = true
			}
			if !slices.Equal(sortedIDs(got), sortedIDs(byCell[c])) {
				t.Fatalf("op %d: At(%s) = %v, want %v", op, c, sortedIDs(got), sortedIDs(byCell[c]))
			}
		}
		for id := int32(0); id < nIDs+5; id++ {
			want, wantOK := model[id]
			got, ok := x.CellOf(id)
			if ok != wantOK || got != want {
				t.Fatalf("op %d: CellOf(%d) = %s, %v; want %s, %v", op, id, got, ok, want, wantOK)
			}
		}
	}

	for op := range nOps {
		id := int32(r.IntN(nIDs))
		switch p := r.IntN(100); {
		case p < 15:
			x.Remove(id)
			delete(model, id)
		default:
			var c Cell
			switch {
			case p < 30: // stay put
				if cur, ok := model[id]; ok {
					c = cur
				} else {
					c = pool[r.IntN(len(pool))]
				}
			case p < 35:
				c = far[r.IntN(len(far))]
			default:
				c = pool[r.IntN(len(pool))]
			}
			old, had := model[id]
			wantChanged := !had || old != c
			if got := x.Set(id, c); got != wantChanged {
				t.Fatalf("op %d: Set(%d, %s) = %v, want %v", op, id, c, got, wantChanged)
			}
			model[id] = c
			if had && old != c && slices.Contains(x.At(old), id) {
				t.Fatalf("op %d: id %d still in old cell", op, id)
			}
			if !slices.Contains(x.At(c), id) {
				t.Fatalf("op %d: id %d missing from At(%s)", op, id, c)
			}
		}
		if x.Len() != len(model) {
			t.Fatalf("op %d: Len = %d, want %d", op, x.Len(), len(model))
		}
		if op%500 == 0 || op == nOps-1 {
			check(op)
		}
	}
	// Drain everything.
	for id := range int32(nIDs) {
		x.Remove(id)
		delete(model, id)
	}
	check(nOps)
}

// indexEntry is what the index keeps of an id: its cell, exact position and tag.
type indexEntry struct {
	cell Cell
	at   Point
	tag  uint32
}

// entriesAt reads the entries of cell c through SearchNear's ring 0.
func entriesAt(x *Index, c Cell) map[int32]indexEntry {
	out := map[int32]indexEntry{}
	x.SearchNear(Place{Point: Center(c), Cell: c}, 0, func(int) float64 { return math.Inf(1) },
		func(id int32, at Place, tag uint32) {
			out[id] = indexEntry{cell: at.Cell, at: at.Point, tag: tag}
		})
	return out
}

// TestIndexMoveTagModel mixes Set, Move, SetTag and Remove at random and compares the
// cells, positions and tags the index hands out with a plain map.
func TestIndexMoveTagModel(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	const nIDs = 200
	const nOps = 20000
	// Positions within 500 m of the centre: a few dozen cells, often shared.
	var pool []Place
	for range 400 {
		pool = append(pool, mustPlace(t, destination(testCenter, r.Float64()*2*math.Pi, 500*math.Sqrt(r.Float64()))))
	}
	cells := map[Cell]bool{}
	for _, p := range pool {
		cells[p.Cell] = true
	}
	x := NewIndex()
	model := map[int32]indexEntry{} // indexed ids
	tags := map[int32]uint32{}      // tags outlive removal
	check := func(op int) {
		t.Helper()
		if x.Len() != len(model) {
			t.Fatalf("op %d: Len = %d, want %d", op, x.Len(), len(model))
		}
		n := 0
		for c := range cells {
			got := entriesAt(x, c)
			n += len(got)
			if len(got) != len(x.At(c)) {
				t.Fatalf("op %d: SearchNear sees %d entries in %s, At %d", op, len(got), c, len(x.At(c)))
			}
			for id, e := range got {
				if want, ok := model[id]; !ok || want != e {
					t.Fatalf("op %d: entry %d = %+v, want %+v (indexed %v)", op, id, e, want, ok)
				}
			}
		}
		if n != len(model) {
			t.Fatalf("op %d: %d entries in the cells, want %d", op, n, len(model))
		}
		for id := range int32(nIDs + 3) {
			if got := x.Tag(id); got != tags[id] {
				t.Fatalf("op %d: Tag(%d) = %d, want %d", op, id, got, tags[id])
			}
			want, ok := model[id]
			if c, found := x.CellOf(id); found != ok || c != want.cell {
				t.Fatalf("op %d: CellOf(%d) = %s, %v; want %s, %v", op, id, c, found, want.cell, ok)
			}
		}
	}
	for op := range nOps {
		id := int32(r.IntN(nIDs))
		e, had := model[id]
		switch q := r.IntN(100); {
		case q < 10:
			x.Remove(id)
			delete(model, id)
		case q < 25:
			tag := uint32(r.IntN(8))
			x.SetTag(id, tag)
			tags[id] = tag
			if had {
				e.tag = tag
				model[id] = e
			}
		case q < 40: // Set keeps the last position, if any
			c := pool[r.IntN(len(pool))].Cell
			if got, want := x.Set(id, c), !had || e.cell != c; got != want {
				t.Fatalf("op %d: Set(%d) = %v, want %v", op, id, got, want)
			}
			if !had {
				e = indexEntry{}
			}
			e.cell, e.tag = c, tags[id]
			model[id] = e
		default:
			p := pool[r.IntN(len(pool))]
			if had && q < 70 { // a new fix within the same cell
				p.Point = destination(Center(e.cell), r.Float64()*2*math.Pi, r.Float64()*20)
				p.Cell = e.cell
			}
			if got, want := x.Move(id, p), !had || e.cell != p.Cell; got != want {
				t.Fatalf("op %d: Move(%d) = %v, want %v", op, id, got, want)
			}
			model[id] = indexEntry{cell: p.Cell, at: p.Point, tag: tags[id]}
		}
		if op%500 == 0 || op == nOps-1 {
			check(op)
		}
	}
}

func TestIndexRing(t *testing.T) {
	x := NewIndex()
	r := rand.New(rand.NewPCG(3, 4))
	for range 20 {
		c := mustCell(t, xiamenPoint(r))
		for k := 0; k <= 12; k++ {
			got := x.Ring(c, k)
			want, err := Ring(c, k)
			if err != nil {
				t.Fatal(err)
			}
			wantLen := max(1, 6*k)
			if len(got) != wantLen || !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))) {
				t.Fatalf("Ring(%s, %d): %d cells, want the %d of Ring", c, k, len(got), wantLen)
			}
			for _, cell := range got {
				if d := gridDistance(t, c, cell); d != k {
					t.Fatalf("Ring(%s, %d) holds %s at grid distance %d", c, k, cell, d)
				}
			}
			if again := x.Ring(c, k); &again[0] != &got[0] {
				t.Fatalf("Ring(%s, %d) not cached", c, k)
			}
		}
	}
}

// TestIndexRingCacheOverflow fills the ring cache past its bound and checks that rings
// stay right after it is cleared.
func TestIndexRingCacheOverflow(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	x := NewIndex()
	centre := mustCell(t, testCenter)
	first := x.Ring(centre, 2)
	firstCopy := slices.Clone(first)
	cells := mustDisk(t, centre, 82) // 20419 cells > maxCachedCentres
	for _, c := range cells {
		x.Spacing(c)
	}
	if len(x.around) > maxCachedCentres {
		t.Fatalf("ring cache holds %d centres, bound %d", len(x.around), maxCachedCentres)
	}
	if !slices.Equal(first, firstCopy) {
		t.Fatal("clearing the cache changed a ring handed out before")
	}
	got := x.Ring(centre, 2)
	if !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(firstCopy))) {
		t.Fatalf("Ring after cache clear = %v, want %v", got, firstCopy)
	}
}

func TestIndexSearch(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	centre := mustCell(t, testCenter)
	area := mustDisk(t, centre, 10)
	x := NewIndex()
	where := map[int32]Cell{}
	for id := range int32(1500) {
		c := area[r.IntN(len(area))]
		x.Set(id, c)
		where[id] = c
	}
	for id := int32(0); id < 1500; id += 7 { // holes in the id space
		x.Remove(id)
		delete(where, id)
	}
	origins := []Cell{centre}
	for range 8 {
		origins = append(origins, area[r.IntN(len(area))])
	}
	for _, origin := range origins {
		dist := map[int32]int{}
		for id, c := range where {
			dist[id] = gridDistance(t, origin, c)
		}
		for maxK := 0; maxK <= 12; maxK++ {
			var calls []int
			cur := -1
			seen := map[int32]bool{}
			x.Search(origin, maxK, func(k int) bool {
				calls = append(calls, k)
				cur = k
				return true
			}, func(id int32) {
				if seen[id] {
					t.Fatalf("Search(%s, %d) visited %d twice", origin, maxK, id)
				}
				seen[id] = true
				if dist[id] != cur {
					t.Fatalf("Search(%s, %d) visited %d (ring %d) while on ring %d", origin, maxK, id, dist[id], cur)
				}
			})
			if want := seqInts(0, maxK); !slices.Equal(calls, want) {
				t.Fatalf("Search(%s, %d) called more with %v, want %v", origin, maxK, calls, want)
			}
			for id, d := range dist {
				if (d <= maxK) != seen[id] {
					t.Fatalf("Search(%s, %d): id %d at ring %d visited=%v", origin, maxK, id, d, seen[id])
				}
			}
		}
		// more returning false stops before that ring.
		for stop := 0; stop <= 6; stop++ {
			var calls []int
			seen := map[int32]bool{}
			x.Search(origin, 12, func(k int) bool {
				calls = append(calls, k)
				return k < stop
			}, func(id int32) { seen[id] = true })
			if want := seqInts(0, stop); !slices.Equal(calls, want) {
				t.Fatalf("stop %d: more called with %v, want %v", stop, calls, want)
			}
			for id, d := range dist {
				if (d < stop) != seen[id] {
					t.Fatalf("stop %d: id %d at ring %d visited=%v", stop, id, d, seen[id])
				}
			}
		}
	}
}

// TestIndexSearchNear checks that SearchNear visits every id whose cell comes within
// the limit of the scene (judged on the cell's outline), each once, ring by ring, and
// stops at the first ring wholly beyond the limit.
func TestIndexSearchNear(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(13, 14))
	centre := mustCell(t, testCenter)
	area := mustDisk(t, centre, 16)
	x := NewIndex()
	where := map[int32]Cell{}
	for id := range int32(2000) {
		c := area[r.IntN(len(area))]
		x.Set(id, c)
		where[id] = c
	}
	outline := map[Cell][]Point{}
	nearest := func(p Point, c Cell) float64 { // over the sampled outline and centre
		o, ok := outline[c]
		if !ok {
			o = append(cellOutline(t, c), Center(c))
			outline[c] = o
		}
		d := math.Inf(1)
		for _, q := range o {
			d = math.Min(d, Distance(p, q))
		}
		return d
	}
	const maxK = 12
	for range 15 {
		scene := mustPlace(t, destination(testCenter, r.Float64()*2*math.Pi, r.Float64()*1200))
		ring := map[int32]int{}
		for id, c := range where {
			ring[id] = gridDistance(t, scene.Cell, c)
		}
		limits := []struct {
			name  string
			limit func(k int) float64
		}{
			{"0 m", func(int) float64 { return 0 }},
			{"150 m", func(int) float64 { return 150 }},
			{"450 m", func(int) float64 { return 450 }},
			{"1 km", func(int) float64 { return 1000 }},
			{"2.5 km", func(int) float64 { return 2500 }},
			{"far beyond maxK", func(int) float64 { return 50000 }},
			{"shrinking", func(k int) float64 { return 3000 - 200*float64(k) }},
		}
		for _, lt := range limits {
			var calls []int
			cur := -1
			seen := map[int32]bool{}
			lims := map[int]float64{}
			x.SearchNear(scene, maxK, func(k int) float64 {
				calls = append(calls, k)
				cur = k
				lims[k] = lt.limit(k)
				return lims[k]
			}, func(id int32, _ Place, _ uint32) {
				if seen[id] {
					t.Fatalf("%s: %d visited twice", lt.name, id)
				}
				seen[id] = true
				if ring[id] != cur {
					t.Fatalf("%s: %d (ring %d) visited on ring %d", lt.name, id, ring[id], cur)
				}
			})
			if len(calls) == 0 || !slices.Equal(calls, seqInts(0, calls[len(calls)-1])) {
				t.Fatalf("%s: limit called for rings %v", lt.name, calls)
			}
			last := calls[len(calls)-1]
			for id, c := range where {
				k := ring[id]
				if k > maxK || seen[id] {
					continue
				}
				if k > last {
					// Never reached: the search stopped at an earlier ring, so this
					// one must lie beyond the limit of the ring where it stopped.
					if last < maxK && nearest(scene.Point, c) <= lims[last] {
						t.Fatalf("%s: %d in ring %d is %.1f m away, within the %.1f m limit of ring %d where the search stopped",
							lt.name, id, k, nearest(scene.Point, c), lims[last], last)
					}
					continue
				}
				if d := nearest(scene.Point, c); d <= lims[k] {
					cc := Center(c)
					var rad float64
					for _, v := range outline[c] {
						rad = math.Max(rad, Distance(cc, v))
					}
					t.Fatalf("%s: %d in ring %d, %.1f m away, skipped with limit %.1f m (centre %.2f m haversine, %.2f m fast; circumradius %.2f m, scene spacing %.2f m → assumed %.2f m)",
						lt.name, id, k, d, lims[k], Distance(scene.Point, cc), FastDistance(scene.Point, cc), rad, x.Spacing(scene.Cell), 1.05*x.Spacing(scene.Cell)/math.Sqrt(3))
				}
			}
		}
	}
}

func seqInts(from, to int) []int {
	var s []int
	for i := from; i <= to; i++ {
		s = append(s, i)
	}
	return s
}

// TestIndexSetAllocs checks that moving units around cells the index has seen before
// allocates nothing, nor do cached rings.
func TestIndexSetAllocs(t *testing.T) {
	centre := mustCell(t, testCenter)
	cells := mustDisk(t, centre, 1)
	x := NewIndex()
	const n = 64
	step := func() {
		for id := range int32(n) {
			x.Set(id, cells[int(id)%len(cells)]) // same cell: nothing to do
			x.Set(id, cells[(int(id)+1)%len(cells)])
			x.Set(id, cells[(int(id)+2)%len(cells)])
			x.Set(id, cells[(int(id)+1)%len(cells)])
			x.Set(id, cells[int(id)%len(cells)])
		}
		// Everyone into one cell and back out.
		for id := range int32(n) {
			x.Set(id, centre)
		}
		for id := range int32(n) {
			x.Set(id, cells[int(id)%len(cells)])
		}
	}
	step() // warm up: buckets grow to their largest
	here := Place{Point: Center(cells[2]), Cell: cells[2]}
	x.Move(5, here)
	if a := testing.AllocsPerRun(100, func() {
		here.Lat += 1e-7 // a new fix, same cell
		x.Move(5, here)
		x.SetTag(5, 3)
	}); a != 0 {
		t.Errorf("Move within a cell allocates %v", a)
	}
	if a := testing.AllocsPerRun(100, step); a != 0 {
		t.Errorf("Set allocates %v times per run after warm-up", a)
	}
	if a := testing.AllocsPerRun(100, func() { x.Set(3, cells[3]) }); a != 0 {
		t.Errorf("Set within the same cell allocates %v", a)
	}
	x.Ring(centre, 8)
	if a := testing.AllocsPerRun(100, func() { _ = x.Ring(centre, 5); _ = x.Spacing(centre) }); a != 0 {
		t.Errorf("cached Ring allocates %v", a)
	}
}

func TestSpacing(t *testing.T) {
	x := NewIndex()
	r := rand.New(rand.NewPCG(7, 8))
	avg, err := h3.HexagonEdgeLengthAvgM(DefaultRes)
	if err != nil {
		t.Fatal(err)
	}
	for range 200 {
		c := mustCell(t, xiamenPoint(r))
		s := x.Spacing(c)
		// Centre spacing of a hexagon grid is √3 times the edge.
		if s < 0.9*avg*math.Sqrt(3) || s > 1.1*avg*math.Sqrt(3) {
			t.Fatalf("Spacing(%s) = %.1f m, want about %.1f", c, s, avg*math.Sqrt(3))
		}
		ring, _ := Ring(c, 1)
		for _, n := range ring {
			if d := Distance(Center(c), Center(n)); d < s-1e-9 {
				t.Fatalf("neighbour %s at %.3f m nearer than Spacing %.3f", n, d, s)
			}
		}
		if x.RingBound(c)(5) != RingDistanceBound(s, 5) {
			t.Fatal("RingBound disagrees with RingDistanceBound")
		}
	}
}

func TestRingDistanceBoundShape(t *testing.T) {
	for _, s := range []float64{1, 300, 302.3, 1e4} {
		prev := 0.0
		for k := 0; k <= 40; k++ {
			b := RingDistanceBound(s, k)
			if b < 0 || b < prev {
				t.Fatalf("RingDistanceBound(%v, %d) = %v after %v", s, k, b, prev)
			}
			if b > float64(k)*s*math.Sqrt(3)/2 {
				t.Fatalf("RingDistanceBound(%v, %d) = %v exceeds the ideal nearest centre", s, k, b)
			}
			prev = b
		}
		if RingDistanceBound(s, 0) != 0 || RingDistanceBound(s, 1) != 0 {
			t.Fatalf("the own cell and its neighbours can touch: bound must be 0")
		}
	}
}

// TestRingDistanceBoundXiamen checks that RingDistanceBound is a true lower bound on
// the distance from any point of a scene's cell to any point of a cell k rings away.
// A ring cell whose centre is far enough away is proven by the triangle inequality with
// both cells' circumradii; the others are checked point by point on their outlines.
func TestRingDistanceBoundXiamen(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(9, 10))
	x := NewIndex()
	type shape struct {
		centre  Point
		radius  float64 // circumradius: a spherical cap this wide holds the cell
		samples []Point
	}
	shapes := map[Cell]*shape{}
	shapeOf := func(c Cell) *shape {
		if s, ok := shapes[c]; ok {
			return s
		}
		s := &shape{centre: Center(c), samples: cellOutline(t, c)}
		for _, v := range s.samples {
			s.radius = math.Max(s.radius, Distance(s.centre, v))
		}
		s.samples = append(s.samples, s.centre)
		shapes[c] = s
		return s
	}
	// check proves the bound for p's cell out to ring maxK. With sample set, every ring
	// cell is also checked point by point (p, the cell's centre and vertices against the
	// ring cell's outline and centre); otherwise only cells the triangle inequality
	// cannot settle are. slack records the smallest distance/bound by ring.
	check := func(p Point, maxK int, sample bool, slack []float64) {
		c := mustCell(t, p)
		s := x.Spacing(c)
		sc := shapeOf(c)
		from := []Point{p, sc.centre}
		for i := 0; i < len(sc.samples)-1; i += 4 { // the vertices
			from = append(from, sc.samples[i])
		}
		for k := 0; k <= maxK; k++ {
			bound := RingDistanceBound(s, k)
			for _, cell := range x.Ring(c, k) {
				sq := shapeOf(cell)
				lower := Distance(sc.centre, sq.centre) - sc.radius - sq.radius
				if bound > 0 {
					slack[k] = math.Min(slack[k], lower/bound)
				}
				if lower >= bound && !sample {
					continue // every point of cell is far enough
				}
				for _, q := range sq.samples {
					for _, a := range from {
						if d := Distance(a, q); d < bound {
							t.Fatalf("cell %s ring %d: %v to %v is %.2f m < bound %.2f m (spacing %.2f)", c, k, a, q, d, bound, s)
						}
					}
				}
			}
		}
	}
	const maxK = 30 // the dispatcher's 15-minute horizon reaches about 23 rings
	slack := make([]float64, maxK+1)
	for k := range slack {
		slack[k] = math.Inf(1)
	}
	n := 200
	if testing.Short() {
		n = 20
	}
	for i := range n {
		k := 12
		if i%20 == 0 {
			k = maxK
		}
		check(xiamenPoint(r), k, i < 20, slack)
	}
	// Scenes on the very edge of their cell.
	for range 10 {
		c := mustCell(t, xiamenPoint(r))
		for _, v := range cellOutline(t, c) {
			p := Point{Lat: v.Lat + 1e-9*(Center(c).Lat-v.Lat), Lng: v.Lng + 1e-9*(Center(c).Lng-v.Lng)}
			if mustCell(t, p) == c {
				check(p, 12, false, slack)
			}
		}
	}
	for _, k := range []int{2, 3, 4, 6, 8, 12, 20, 30} {
		t.Logf("ring %2d: centre distance less both circumradii ≥ %.3f × bound", k, slack[k])
	}
}

// TestRingsWithin checks that every point within d of a scene lies within
// RingsWithin(spacing, d) rings of the scene's cell.
func TestRingsWithin(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	x := NewIndex()
	dists := []float64{0, 1, 10, 100, 173, 250, 400, 500, 1000, 1852, 3000, 5000}
	n := 40
	if testing.Short() {
		n = 8
	}
	for range n {
		p := xiamenPoint(r)
		c := mustCell(t, p)
		s := x.Spacing(c)
		for _, d := range dists {
			k := RingsWithin(s, d)
			if RingDistanceBound(s, k+1) <= d {
				t.Fatalf("RingsWithin(%v, %v) = %d stops early", s, d, k)
			}
			if k > 0 && RingDistanceBound(s, k) > d {
				t.Fatalf("RingsWithin(%v, %v) = %d goes too far", s, d, k)
			}
			check := func(q Point) {
				if Distance(p, q) > d {
					return
				}
				if g := gridDistance(t, c, mustCell(t, q)); g > k {
					t.Fatalf("%v is %.2f m from %v but %d rings away > RingsWithin %d", q, Distance(p, q), p, g, k)
				}
			}
			for i := range 64 { // the rim
				check(destination(p, 2*math.Pi*float64(i)/64, d*(1-1e-9)))
			}
			for range 100 { // the inside
				check(destination(p, 2*math.Pi*r.Float64(), d*math.Sqrt(r.Float64())))
			}
		}
	}
	if RingsWithin(300, -1) != 0 {
		t.Error("negative distance must give ring 0")
	}
}

func BenchmarkIndexSet(b *testing.B) {
	centre, err := CellOf(testCenter, DefaultRes)
	if err != nil {
		b.Fatal(err)
	}
	cells, err := Disk(centre, 3)
	if err != nil {
		b.Fatal(err)
	}
	const n = 10000
	setup := func() *Index {
		x := NewIndex()
		for id := range int32(n) {
			x.Set(id, cells[int(id)%len(cells)])
		}
		return x
	}
	b.Run("within", func(b *testing.B) {
		x := setup()
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			id := int32(i % n)
			x.Set(id, cells[int(id)%len(cells)])
			i++
		}
	})
	b.Run("move-within", func(b *testing.B) {
		x := setup()
		places := make([]Place, len(cells))
		for i, c := range cells {
			places[i] = Place{Point: Center(c), Cell: c}
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			id := int32(i % n)
			p := places[int(id)%len(cells)]
			p.Lat += float64(i&15) * 1e-7
			x.Move(id, p)
			i++
		}
	})
	b.Run("between", func(b *testing.B) {
		x := setup()
		r := rand.New(rand.NewPCG(1, 1))
		moves := make([]Cell, 1<<16)
		for i := range moves {
			moves[i] = cells[r.IntN(len(cells))]
		}
		// Warm up every bucket to its steady size.
		for i := range moves {
			x.Set(int32(i%n), moves[i])
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			x.Set(int32(i%n), moves[i&(len(moves)-1)])
			i++
		}
	})
}

// TestParent: the bit arithmetic gives H3's own parent at every coarser resolution.
func TestParent(t *testing.T) {
	for _, p := range []Point{{Lat: 24.5, Lng: 118.12}, {Lat: -33.9, Lng: 151.2}, {Lat: 64.1, Lng: -21.9}} {
		c, _ := CellOf(p, DefaultRes)
		for res := 0; res <= DefaultRes; res++ {
			want, err := c.Parent(res)
			if err != nil {
				t.Fatal(err)
			}
			if got := Parent(c, res); got != want {
				t.Errorf("parent of %v at %d: %v, want %v", c, res, got, want)
			}
		}
	}
}
