package geo

import (
	"fmt"
	"math"
	"slices"

	"github.com/uber/h3-go/v4"
)

// Cell is an H3 cell index.
type Cell = h3.Cell

// DefaultRes is the H3 resolution of the dispatch grid: cells with ~174 m edges, so a
// car covers about three of them in a minute of urban driving.
const DefaultRes = 9

// CellOf returns the cell of p at resolution res.
func CellOf(p Point, res int) (Cell, error) {
	c, err := h3.LatLngToCell(h3.NewLatLng(p.Lat, p.Lng), res)
	if err != nil {
		return 0, fmt.Errorf("cell of %.6f,%.6f at res %d: %w", p.Lat, p.Lng, res, err)
	}
	return c, nil
}

// PlaceOf returns p with its cell at DefaultRes.
func PlaceOf(p Point) (Place, error) {
	c, err := CellOf(p, DefaultRes)
	return Place{Point: p, Cell: c}, err
}

// Center returns the centre point of c.
func Center(c Cell) Point {
	ll, err := h3.CellToLatLng(c)
	if err != nil {
		return Point{}
	}
	return Point{Lat: ll.Lat, Lng: ll.Lng}
}

// Ring returns the cells at grid distance exactly k from c, in order around the ring.
func Ring(c Cell, k int) ([]Cell, error) {
	if k == 0 {
		return []Cell{c}, nil
	}
	cells, err := h3.GridRing(c, k)
	if err != nil {
		// GridRing refuses rings that cross a pentagon; fall back to the slower safe walk.
		dd, err2 := h3.GridDiskDistances(c, k)
		if err2 != nil || len(dd) <= k {
			return nil, fmt.Errorf("ring %d around %s: %w", k, c, err)
		}
		cells = dd[k]
	}
	return cells, nil
}

// Disk returns every cell within grid distance k of c, sorted.
func Disk(c Cell, k int) ([]Cell, error) {
	cells, err := h3.GridDisk(c, k)
	if err != nil {
		return nil, fmt.Errorf("disk %d around %s: %w", k, c, err)
	}
	slices.Sort(cells)
	return cells, nil
}

// CellSet is a set of cells with fast membership, e.g. a zone or a management grid.
// Cells() is sorted, so iterating a set is deterministic.
type CellSet struct {
	cells []Cell
	has   map[Cell]struct{}
}

// NewCellSet builds a set from cells, dropping duplicates.
func NewCellSet(cells []Cell) CellSet {
	s := CellSet{has: make(map[Cell]struct{}, len(cells))}
	for _, c := range cells {
		if _, ok := s.has[c]; !ok {
			s.has[c] = struct{}{}
			s.cells = append(s.cells, c)
		}
	}
	slices.Sort(s.cells)
	return s
}

// Has reports whether c is in the set.
func (s CellSet) Has(c Cell) bool { _, ok := s.has[c]; return ok }

// Len is the number of cells in the set.
func (s CellSet) Len() int { return len(s.cells) }

// Cells returns the sorted cells; the caller must not modify them.
func (s CellSet) Cells() []Cell { return s.cells }

// DiskSet returns the set of cells within k of c.
func DiskSet(c Cell, k int) (CellSet, error) {
	cells, err := Disk(c, k)
	return NewCellSet(cells), err
}

// PolygonCells returns the cells at res whose centres lie inside the polygon given as
// an outer ring and optional holes of WGS-84 points.
func PolygonCells(outer []Point, holes [][]Point, res int) ([]Cell, error) {
	toLoop := func(ps []Point) h3.GeoLoop {
		loop := make(h3.GeoLoop, len(ps))
		for i, p := range ps {
			loop[i] = h3.NewLatLng(p.Lat, p.Lng)
		}
		return loop
	}
	poly := h3.GeoPolygon{GeoLoop: toLoop(outer)}
	for _, h := range holes {
		poly.Holes = append(poly.Holes, toLoop(h))
	}
	cells, err := h3.PolygonToCells(poly, res)
	if err != nil {
		return nil, fmt.Errorf("polygon to cells at res %d: %w", res, err)
	}
	slices.Sort(cells)
	return cells, nil
}

// ringSpacing is the distance between the centres of c and its nearest neighbour in
// metres. The H3 grid is locally regular, so it scales ring distances around c.
func ringSpacing(c Cell) float64 {
	ring, err := Ring(c, 1)
	if err != nil || len(ring) == 0 {
		e, _ := h3.HexagonEdgeLengthAvgM(c.Resolution())
		return e * math.Sqrt(3)
	}
	o := Center(c)
	best := math.Inf(1)
	for _, n := range ring {
		best = math.Min(best, Distance(o, Center(n)))
	}
	return best
}

// Parent is c's ancestor at resolution res (c itself at its own resolution or finer),
// from the bits of the H3 index alone: the planner asks it for every travel time, and
// a call into the H3 library costs more than the rest of the estimate.
func Parent(c Cell, res int) Cell {
	cur := int(uint64(c)>>52) & 0xF
	if res < 0 || res >= cur {
		return c
	}
	v := uint64(c)&^(0xF<<52) | uint64(res)<<52
	for r := res + 1; r <= cur; r++ {
		v |= 7 << ((15 - r) * 3) // digits below the resolution are unused: 7
	}
	return Cell(v)
}
