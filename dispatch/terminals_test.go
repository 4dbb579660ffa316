package dispatch

import (
	"testing"
	"time"

	"commandd/geo"
)

// TestUnitByTerminal: a roster entry names its unit's JT/T 808 terminal; leading zeros
// do not matter, an entry without one keeps it, a terminal named for another unit
// leaves the first, and a snapshot keeps the index.
func TestUnitByTerminal(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 1, 0, 0, 0, time.UTC)
	up := func(id, terminal string) *UnitUpserted {
		return &UnitUpserted{T: t0, ID: id, Force: Police, Mode: geo.Car, Terminal: terminal}
	}
	e := New(Config{})
	type want struct{ terminal, unit string } // unit "": no unit has it
	steps := []struct {
		name string
		ev   Event
		want []want
		view map[string]string // unit → its UnitView.Terminal
	}{
		{"named", up("P-1", "013800138000"), []want{{"13800138000", "P-1"}, {"013800138000", "P-1"}, {"00000013800138000", "P-1"}},
			map[string]string{"P-1": "13800138000"}},
		{"kept without one", up("P-1", ""), []want{{"13800138000", "P-1"}}, map[string]string{"P-1": "13800138000"}},
		{"second unit", up("P-2", "2019"), []want{{"13800138000", "P-1"}, {"2019", "P-2"}}, map[string]string{"P-2": "2019"}},
		{"moved", up("P-2", "13800138000"), []want{{"13800138000", "P-2"}, {"2019", ""}},
			map[string]string{"P-1": "", "P-2": "13800138000"}},
		{"all zeros", up("P-3", "000"), []want{{"0", "P-3"}, {"000000", "P-3"}}, map[string]string{"P-3": "0"}},
		{"unknown", up("P-1", "42"), []want{{"43", ""}, {"42", "P-1"}}, map[string]string{"P-1": "42"}},
	}
	check := func(t *testing.T, e *Engine, ws []want, views map[string]string) {
		t.Helper()
		for _, w := range ws {
			u, ok := e.UnitByTerminal(w.terminal)
			if u != w.unit || ok != (w.unit != "") {
				t.Errorf("UnitByTerminal(%q) = %q %v, want %q", w.terminal, u, ok, w.unit)
			}
		}
		for id, term := range views {
			if v, _ := e.Unit(id); v.Terminal != term {
				t.Errorf("unit %s shows terminal %q, want %q", id, v.Terminal, term)
			}
		}
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			for _, c := range e.Apply(s.ev) {
				if c.Kind == Rejected {
					t.Fatalf("rejected: %s", c.Reason)
				}
			}
			check(t, e, s.want, s.view)
		})
	}
	snap, err := e.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	r, err := Restore(e.Config(), snap)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("restored", func(t *testing.T) {
		check(t, r, []want{{"13800138000", "P-2"}, {"0", "P-3"}, {"42", "P-1"}, {"2019", ""}},
			map[string]string{"P-1": "42", "P-2": "13800138000", "P-3": "0"})
	})
}
