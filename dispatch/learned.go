package dispatch

import (
	"cmp"
	"math"
	"slices"
	"time"

	"commandd/geo"
)

// Learned travel times. Every arrival the engine sees is a measurement of its own
// travel model: the ETA it planned with against the time the unit took from its
// assignment to its arrival. The engine keeps, for each mode and for each mode in each
// area (H3 resolution 7, ~5 km², by the unit's cell when it was sent) and part of the
// day (four six-hour bands in the district's time), a correction factor on the travel
// model, moved a little towards each observed ratio (a robust running estimate: a
// ratio counts at most ×/÷1.65, so a unit that stopped for coffee barely moves it).
// An area's factor is shrunk towards its mode's by how few arrivals it has seen, so
// where data is thin the model's prior rules. Everything comes from events in the
// log, so replays and restores learn the same; snapshots carry the factors.

const (
	learnRes     = 7
	learnRate    = 0.08 // of the log of each clamped ratio
	learnClamp   = 0.5  // |log ratio| at most
	learnShrink  = 8.0  // arrivals at which an area's own factor weighs half
	learnMin     = 0.6  // factors stay within [learnMin, learnMax]
	learnMax     = 2.5
	learnPadding = 10.0 // seconds added to both sides of a ratio, so short trips weigh less
)

// learnKey is an area and part of the day for a mode.
type learnKey struct {
	Mode geo.Mode `json:"mode"`
	Area geo.Cell `json:"area"`
	Band uint8    `json:"band"`
}

// learnStat is a factor and how many arrivals moved it.
type learnStat struct {
	LogF float64 `json:"log_f"`
	N    float64 `json:"n"`
}

// etaStat is the error of a mode's ETAs: planned against observed, in seconds.
type etaStat struct {
	N      float64 `json:"n"`
	SumErr float64 `json:"sum_err"` // observed − planned
	SumAbs float64 `json:"sum_abs"`
	Recent float64 `json:"recent_abs"` // exponentially weighted, the last ~50 arrivals
}

type learned struct {
	mode  [4]learnStat
	areas map[learnKey]*learnStat
	eta   [4]etaStat
	min   float64 // the smallest factor in force: searches scale their bounds by it
}

// ETAError is what the engine has seen of its ETAs for one mode.
type ETAError struct {
	Mode     geo.Mode `json:"mode"`
	Arrivals int      `json:"arrivals"`
	// BiasS is the mean of observed − planned (positive: units take longer than the
	// engine planned); MeanAbsS the mean absolute error; RecentAbsS the same over
	// about the last fifty arrivals.
	BiasS      float64 `json:"bias_s"`
	MeanAbsS   float64 `json:"mean_abs_s"`
	RecentAbsS float64 `json:"recent_abs_s"`
	// Factor is the learned correction on the travel model for the mode (1: none).
	Factor float64 `json:"factor"`
}

// ETAErrors returns the engine's ETA figures by mode.
func (e *Engine) ETAErrors() []ETAError {
	out := make([]ETAError, 0, 4)
	for m := geo.Foot; m <= geo.Car; m++ {
		s := e.learn.eta[m]
		v := ETAError{Mode: m, Arrivals: int(s.N), Factor: math.Exp(e.learn.mode[m].LogF), RecentAbsS: s.Recent}
		if s.N > 0 {
			v.BiasS, v.MeanAbsS = s.SumErr/s.N, s.SumAbs/s.N
		}
		out = append(out, v)
	}
	return out
}

func (e *Engine) dayBand(t time.Time) uint8 { return uint8(t.In(e.loc).Hour() / 6) }

// travelFactor is the learned correction for a unit of mode setting off from cell at.
func (e *Engine) travelFactor(mode geo.Mode, at geo.Cell) float64 {
	l := &e.learn
	f := l.mode[mode].LogF
	if len(l.areas) > 0 {
		if s := l.areas[learnKey{mode, geo.Parent(at, learnRes), e.dayBand(e.now)}]; s != nil {
			w := s.N / (s.N + learnShrink)
			f = (1-w)*f + w*s.LogF
		}
	}
	if f == 0 {
		return 1
	}
	return math.Exp(f)
}

// learnArrival takes in an arrival: unit ui, sent from `from` at `sent` with an ETA
// of eta, arrived at t.
func (e *Engine) learnArrival(mode geo.Mode, from geo.Cell, sent time.Time, eta float64, t time.Time) {
	if eta <= 0 || from == 0 || e.cfg.Baseline {
		return
	}
	observed := t.Sub(sent).Seconds()
	l := &e.learn
	s := &l.eta[mode]
	err := observed - eta
	s.N++
	s.SumErr += err
	s.SumAbs += math.Abs(err)
	s.Recent += (math.Abs(err) - s.Recent) / min(s.N, 50)
	step := learnRate * max(-learnClamp, min(learnClamp, math.Log((observed+learnPadding)/(eta+learnPadding))))
	clampF := func(v float64) float64 { return max(math.Log(learnMin), min(math.Log(learnMax), v)) }
	// The ETA was planned with the factor in force then; the step moves both the
	// mode's and the area's factor from where they stand.
	m := &l.mode[mode]
	m.LogF, m.N = clampF(m.LogF+step), m.N+1
	if l.areas == nil {
		l.areas = make(map[learnKey]*learnStat)
	}
	k := learnKey{mode, geo.Parent(from, learnRes), e.dayBand(sent)}
	a := l.areas[k]
	if a == nil {
		a = &learnStat{LogF: m.LogF - step} // starts where the mode stood
		l.areas[k] = a
	}
	a.LogF, a.N = clampF(a.LogF+step), a.N+1
	l.min = min(l.minFactor(), math.Exp(min(m.LogF, a.LogF)))
}

// minFactor is the smallest factor in force (1 when none is below it).
func (l *learned) minFactor() float64 {
	if l.min == 0 {
		return 1
	}
	return l.min
}

// learnedState is the learned part of a snapshot.
type learnedState struct {
	Modes [4]learnStat  `json:"modes"`
	Areas []learnedArea `json:"areas,omitempty"`
	ETA   [4]etaStat    `json:"eta"`
	Min   float64       `json:"min"`
}

type learnedArea struct {
	Key  learnKey  `json:"key"`
	Stat learnStat `json:"stat"`
}

func (e *Engine) learnedCapture() *learnedState {
	l := &e.learn
	st := &learnedState{Modes: l.mode, ETA: l.eta, Min: l.min}
	for k, s := range l.areas {
		st.Areas = append(st.Areas, learnedArea{k, *s})
	}
	slices.SortFunc(st.Areas, func(a, b learnedArea) int {
		return cmp.Or(cmp.Compare(a.Key.Mode, b.Key.Mode), cmp.Compare(a.Key.Area, b.Key.Area), cmp.Compare(a.Key.Band, b.Key.Band))
	})
	return st
}

func (e *Engine) learnedRestore(st *learnedState) {
	if st == nil {
		return
	}
	l := &e.learn
	l.mode, l.eta, l.min = st.Modes, st.ETA, st.Min
	l.areas = make(map[learnKey]*learnStat, len(st.Areas))
	for _, a := range st.Areas {
		l.areas[a.Key] = &a.Stat
	}
}
