package dispatch

import (
	"math"
	"time"

	"commandd/geo"
)

// CoverageCell is, for one cell of the district, the earliest arrival (s) of an
// available unit for each tier of the default plan; -1 where no unit arrives within the
// plan's last deadline.
type CoverageCell struct {
	Cell    geo.Cell  `json:"cell"`
	Seconds []float64 `json:"s"`
}

// Coverage returns the coverage of the given cells of the district, or of every
// district cell when cells is nil. It reflects the last tick.
func (e *Engine) Coverage(cells []geo.Cell) []CoverageCell {
	all := e.coverage.Cells()
	if cells == nil {
		cells = all
	}
	out := make([]CoverageCell, 0, len(cells))
	for _, c := range cells {
		i, ok := e.coverage.Lookup(c)
		if !ok {
			continue
		}
		cc := CoverageCell{Cell: c, Seconds: make([]float64, e.coverage.Layers())}
		for l, cov := range e.coverage.Cover(i) {
			cc.Seconds[l] = -1
			if cov.Unit >= 0 {
				cc.Seconds[l] = roundETA(cov.Seconds)
			}
		}
		out = append(out, cc)
	}
	return out
}

// roundETA rounds a travel time to a tenth of a second for people and wire formats.
func roundETA(s float64) float64 { return math.Round(s*10) / 10 }

// etaSeconds is a travel time as a duration.
func etaSeconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
