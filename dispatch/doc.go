// Package dispatch is the dispatch engine: a deterministic, single-writer state machine
// that fuses 110 alerts, patrol GPS and camera events on the H3 grid and plans each
// incident's response under the 1-3-5 rule.
//
// Engine.Apply(Event) []Change is the only way state changes. Time enters only through
// events; nothing inside reads the wall clock, a random source or a map's iteration
// order, so the same events always give the same changes. That one property gives
// replay, crash recovery (Snapshot + the log's tail) and tests written as scripts.
//
// Where things live: the response plans of the 1-3-5 rule in plan.go, the nearest-unit
// search and the joint assignment in assign.go, tier clocks in clocks.go, duplicate
// calls and camera fusion in fusion.go.
package dispatch
