// Package history keeps what the log held in PostgreSQL (with PostGIS), for the years a
// command center keeps it: incidents with their tier outcomes, alerts, assignments,
// camera events, every GPS fix (partitioned by day), an audit trail, and the log's
// messages themselves with the engine's state every few minutes, from which a replay
// rebuilds any moment.
//
// The Writer follows the log with its own engine (the same deterministic code as the
// live one, fed the same messages), so it knows what each message did; it writes a
// batch of messages' rows and its position in one transaction. After a crash or a
// database outage it rebuilds its engine from the last state and messages it
// committed, and carries on from the next position: each row is written exactly once.
package history
