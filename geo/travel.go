package geo

import (
	"fmt"
	"math"
	"time"
)

// Mode is how a unit moves.
type Mode uint8

// The modes of travel, slowest first.
const (
	Foot Mode = iota
	Bike
	Motorbike
	Car
	numModes
)

var modeNames = [numModes]string{"foot", "bike", "motorbike", "car"}

// String returns the wire name of m.
func (m Mode) String() string {
	if m < numModes {
		return modeNames[m]
	}
	return fmt.Sprintf("mode(%d)", uint8(m))
}

// ParseMode reads a wire name ("car", "motorbike", "bike", "foot").
func ParseMode(s string) (Mode, error) {
	for i, n := range modeNames {
		if n == s {
			return Mode(i), nil
		}
	}
	return 0, fmt.Errorf("unknown mode %q (want car, motorbike, bike or foot)", s)
}

// MarshalText implements encoding.TextMarshaler. An unknown mode is an error: its
// String form could not be read back.
func (m Mode) MarshalText() ([]byte, error) {
	if m >= numModes {
		return nil, fmt.Errorf("cannot marshal unknown mode %d", uint8(m))
	}
	return []byte(modeNames[m]), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (m *Mode) UnmarshalText(b []byte) error {
	v, err := ParseMode(string(b))
	*m = v
	return err
}

// TravelModel estimates how long a unit takes to get from one place to another.
// Units are always ranked by it, never by straight-line distance alone.
type TravelModel interface {
	// Seconds is the expected travel time of a unit of the given mode from one place
	// to another, starting at time at (a learned model may vary by hour).
	Seconds(mode Mode, from, to Place, at time.Time) float64
	// SecondsPerMeterBound is a lower bound, over every mode, place and time, of the
	// travel time per metre of straight-line distance. Searches use it to stop
	// growing rings once no farther unit can be sooner.
	SecondsPerMeterBound() float64
	// ModeSecondsPerMeterBound is that bound for one mode: a search for units on foot
	// alone may stop far sooner than one that would take a car.
	ModeSecondsPerMeterBound(mode Mode) float64
}

// SpeedModel is the default travel model: straight-line distance times a detour
// factor, divided by the mode's urban speed scaled by a per-cell factor (below 1 in
// congested cells), plus the mode's turnout time to get moving. CellFactor is where a
// model learned from the fleet's own GPS plugs in.
type SpeedModel struct {
	Detour     float64           // road distance over straight-line distance
	Speed      [numModes]float64 // metres per second, by mode
	Turnout    [numModes]float64 // seconds from assignment to moving, by mode
	CellFactor map[Cell]float64  // speed multiplier by cell; missing means 1
	maxFactor  float64
}

// DefaultSpeedModel returns urban figures: car 30 km/h, motorbike 28 km/h, bike
// 14 km/h, foot 5 km/h, detour 1.35, turnout 15 s for vehicles and 5 s otherwise.
func DefaultSpeedModel() *SpeedModel {
	return &SpeedModel{
		Detour:  1.35,
		Speed:   [numModes]float64{Foot: 5 / 3.6, Bike: 14 / 3.6, Motorbike: 28 / 3.6, Car: 30 / 3.6},
		Turnout: [numModes]float64{Foot: 5, Bike: 5, Motorbike: 15, Car: 15},
	}
}

// SetCellFactors installs per-cell speed multipliers.
func (m *SpeedModel) SetCellFactors(f map[Cell]float64) {
	m.CellFactor = f
	m.maxFactor = 0
	for _, v := range f {
		if v > m.maxFactor {
			m.maxFactor = v
		}
	}
}

func (m *SpeedModel) factor(c Cell) float64 {
	if m.CellFactor == nil {
		return 1
	}
	if f, ok := m.CellFactor[c]; ok {
		return f
	}
	return 1
}

// Seconds implements TravelModel. The speed factor is the mean of the two end cells'.
func (m *SpeedModel) Seconds(mode Mode, from, to Place, _ time.Time) float64 {
	d := FastDistance(from.Point, to.Point) * m.Detour
	f := 1.0
	if m.CellFactor != nil {
		f = (m.factor(from.Cell) + m.factor(to.Cell)) / 2
	}
	return m.Turnout[mode] + d/(m.Speed[mode]*f)
}

// SecondsPerMeterBound implements TravelModel.
func (m *SpeedModel) SecondsPerMeterBound() float64 {
	bound := math.Inf(1)
	for mode := range Mode(numModes) {
		bound = min(bound, m.ModeSecondsPerMeterBound(mode))
	}
	return bound
}

// ModeSecondsPerMeterBound implements TravelModel.
func (m *SpeedModel) ModeSecondsPerMeterBound(mode Mode) float64 {
	f := 1.0
	if m.maxFactor > 1 {
		f = m.maxFactor
	}
	// Turnout is left out of the bound: it only makes real times larger.
	return m.Detour / (m.Speed[mode] * f)
}
