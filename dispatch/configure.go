package dispatch

import (
	"errors"
	"fmt"
	"time"

	"commandd/geo"
)

// Configure puts a configuration in force from its place in the log on: the district's
// cells, coverage and grids, plans and zones for incidents opened from then on (open
// incidents keep their tiers), duplicate windows, arrival radius, recommend, baseline,
// retirement. The configuration is in the log like any other event, so replays, the
// history's engine and crash recovery decide under the rules in force at each moment.
type Configure struct {
	T      time.Time `json:"t"`
	Config Config    `json:"config"`
	By     string    `json:"by,omitempty"`
}

func (e *Configure) Kind() string    { return "configure" }
func (e *Configure) Time() time.Time { return e.T }

// maxTierUnits bounds a tier's units: more than a perimeter's two rings of posts is a
// typing error.
const maxTierUnits = 64

// Validate reports the first thing in c that the engine cannot run with. It checks
// what the engine relies on, not a district file's geometry (that is its decoder's).
func (c Config) Validate() error {
	for _, f := range []struct {
		name string
		v    float64
	}{
		{"arrival_radius_m", c.ArrivalRadius}, {"dup_radius_m", c.DupRadius},
		{"dup_window", float64(c.DupWindow)}, {"camera_ring", float64(c.CameraRing)},
		{"camera_window", float64(c.CameraWindow)}, {"camera_open_confidence", c.CameraOpenConfidence},
		{"horizon", float64(c.Horizon)}, {"replan_every", float64(c.ReplanEvery)},
		{"retire_closed", float64(c.RetireClosed)},
	} {
		if f.v < 0 || f.v != f.v {
			return fmt.Errorf("%s: negative", f.name)
		}
	}
	switch c.MoveUp {
	case "", MoveUpOff, MoveUpRecommend, MoveUpAuto:
	default:
		return fmt.Errorf("moveup: %q (want off, recommend or auto)", c.MoveUp)
	}
	if c.CameraOpenConfidence > 1 {
		return errors.New("camera_open_confidence: above 1")
	}
	for r, rule := range c.Plans {
		if err := rule.validate(); err != nil {
			return fmt.Errorf("plans[%d].%w", r, err)
		}
	}
	for z, zone := range c.Zones {
		if len(zone.Cells) == 0 {
			return fmt.Errorf("zones[%d].cells: none", z)
		}
		if err := validCells(zone.Cells); err != nil {
			return fmt.Errorf("zones[%d].cells: %w", z, err)
		}
		for d, dl := range zone.Deadlines {
			if dl < 0 {
				return fmt.Errorf("zones[%d].deadlines[%d]: negative", z, d)
			}
		}
	}
	ids := make(map[string]bool, len(c.Grids))
	for g, grid := range c.Grids {
		switch {
		case grid.ID == "":
			return fmt.Errorf("grids[%d].id: empty", g)
		case ids[grid.ID]:
			return fmt.Errorf("grids[%d].id: %q twice", g, grid.ID)
		case len(grid.Cells) == 0:
			return fmt.Errorf("grids[%d].cells: none", g)
		}
		ids[grid.ID] = true
		if err := validCells(grid.Cells); err != nil {
			return fmt.Errorf("grids[%d].cells: %w", g, err)
		}
	}
	if err := validCells(c.District); err != nil {
		return fmt.Errorf("district: %w", err)
	}
	return nil
}

func (r *PlanRule) validate() error {
	if r.Priority < 0 || r.Priority > 4 {
		return fmt.Errorf("priority: %d not in 1–4", r.Priority)
	}
	for n, p := range r.Priorities {
		if p < 1 || p > 4 {
			return fmt.Errorf("priorities[%d]: %d not in 1–4", n, p)
		}
	}
	if r.Category != nil && int(*r.Category) >= len(categoryNames.list) {
		return errors.New("category: unknown")
	}
	for n, c := range r.Categories {
		if int(c) >= len(categoryNames.list) {
			return fmt.Errorf("categories[%d]: unknown", n)
		}
	}
	if len(r.Plan.Tiers) == 0 {
		return errors.New("tiers: none")
	}
	for n, t := range r.Plan.Tiers {
		switch {
		case t.Deadline <= 0:
			return fmt.Errorf("tiers[%d].deadline: not positive", n)
		case t.Units < 1 || t.Units > maxTierUnits:
			return fmt.Errorf("tiers[%d].units: %d not in 1–%d", n, t.Units, maxTierUnits)
		case t.MetBy > OnAccept:
			return fmt.Errorf("tiers[%d].met_by: unknown", n)
		}
		for _, f := range t.Forces {
			if f > Guard {
				return fmt.Errorf("tiers[%d].forces: unknown force", n)
			}
		}
		for _, m := range t.Modes {
			if m > geo.Car {
				return fmt.Errorf("tiers[%d].modes: unknown mode", n)
			}
		}
	}
	return nil
}

func validCells(cells []geo.Cell) error {
	for _, c := range cells {
		if !c.IsValid() || c.Resolution() != geo.DefaultRes {
			return fmt.Errorf("%s is not an H3 cell at resolution %d", c, geo.DefaultRes)
		}
	}
	return nil
}

// Configured reports whether a Configure event was applied (in this engine or before
// the snapshot it was restored from): whether the configuration in force is the log's.
func (e *Engine) Configured() bool { return e.configured }

// configure puts the event's configuration in force, or rejects it and changes
// nothing. The travel model is the process's, not the log's: it stays.
func (e *Engine) configure(ev *Configure) {
	if err := ev.Config.Validate(); err != nil {
		e.reject(Invalid, "configure: "+err.Error())
		return
	}
	cfg := ev.Config
	cfg.Model = e.cfg.Model
	e.setConfig(cfg.withDefaults())
	e.configured = true
	// The coverage is new, over the new cells and tiers: every unit is taken in again
	// (ticks bring it up to date, as for units that moved).
	for n, u := range e.units {
		if u.placed() {
			e.updateCoverage(int32(n))
		}
	}
	e.emit(Change{Kind: Configured, Reason: ev.By})
}
