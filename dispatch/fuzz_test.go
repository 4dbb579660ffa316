package dispatch

import (
	"bufio"
	"bytes"
	"testing"
	"time"

	"commandd/geo"
)

// FuzzApply feeds arbitrary NDJSON event streams to an engine with a small roster: any
// event that decodes must be applied without a panic, and the engine must still
// snapshot and restore.
func FuzzApply(f *testing.F) {
	for _, ev := range randomStream(11, 5, 60) {
		b, _ := MarshalEvent(ev)
		f.Add(b)
	}
	f.Add([]byte(`{"kind":"fix","unit":"U000","lat":91,"lng":0}`))
	f.Add([]byte(`{"kind":"alert","id":"x","lat":24.5,"lng":118.1,"category":"fire","priority":-3}`))
	f.Add([]byte(`{"kind":"assign","incident":"INC-000001","unit":"U001","tier":99}`))
	f.Add([]byte(`{"kind":"configure","config":{"plans":[{"plan":{"name":"x","tiers":[{"deadline":30000000000,"units":1,"met_by":"accepted"}]}}],"dup_window":-1}}`))
	f.Add([]byte(`{"kind":"configure","config":{"plans":[{"priorities":[1],"plan":{"name":"x","tiers":[{"deadline":30000000000,"units":2,"met_by":"enroute"}]}}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		e := New(Config{District: testDistrict()[:50]})
		t0 := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
		for i, id := range []string{"U000", "U001", "U002"} {
			e.Apply(&UnitUpserted{T: t0, ID: id, Force: Force(i), Mode: geo.Mode(i)})
			e.Apply(&Fix{Unit: id, T: t0, Lat: 24.5 + float64(i)*0.001, Lng: 118.1})
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			ev, err := UnmarshalEvent(sc.Bytes())
			if err != nil {
				continue
			}
			e.Apply(ev)
		}
		snap, err := e.Snapshot()
		if err != nil {
			t.Fatalf("snapshot: %v", err)
		}
		if _, err := Restore(Config{District: testDistrict()[:50]}, snap); err != nil {
			t.Fatalf("restore: %v", err)
		}
	})
}
