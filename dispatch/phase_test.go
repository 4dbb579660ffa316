package dispatch

import (
	"testing"
	"time"
)

func TestTierUnitReached(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	for _, c := range []struct {
		name                      string
		accepted, enroute, arrive time.Time
		phase                     Phase
		want                      time.Time
	}{
		{"arrival reads arrival only", at(5), at(10), time.Time{}, OnArrival, time.Time{}},
		{"arrival", at(5), at(10), at(50), OnArrival, at(50)},
		{"set off by en route", at(5), at(10), at(50), OnSetOff, at(10)},
		{"set off by arriving without en route", at(5), time.Time{}, at(50), OnSetOff, at(50)},
		{"set off not by accepting", at(5), time.Time{}, time.Time{}, OnSetOff, time.Time{}},
		{"accepted", at(5), at(10), at(50), OnAccept, at(5)},
		{"accepted by arriving (a fix) without a word", time.Time{}, time.Time{}, at(50), OnAccept, at(50)},
		{"nothing yet", time.Time{}, time.Time{}, time.Time{}, OnAccept, time.Time{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			tu := &tierUnit{accepted: c.accepted, enroute: c.enroute, arrived: c.arrive}
			if got := tu.reached(c.phase); !got.Equal(c.want) {
				t.Errorf("reached(%s) = %v, want %v", c.phase, got, c.want)
			}
		})
	}
}
