package history

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twpayne/go-geom"
	"github.com/twpayne/go-geom/encoding/ewkb"

	"commandd/dispatch"
	"commandd/geo"
	"commandd/streams"
)

// batch is the rows of consecutive log messages, written in one transaction.
type batch struct {
	stream   string
	first    uint64 // position of the first message in the batch
	last     uint64 // of the last one (first-1 while empty)
	lastT    time.Time
	messages int

	logRows   [][]any
	fixRows   [][]any
	days      []time.Time
	rows      pgx.Batch // everything written row by row, in log order
	incidents []string  // incidents changed, in the order they first changed
	changed   map[string]bool
	released  map[string]map[string]time.Time // incident → unit → when it was last released
	state     []byte                          // the engine after the batch, when it is time to save one
}

func newBatch(stream string, after uint64) *batch {
	return &batch{stream: stream, first: after + 1, last: after, changed: make(map[string]bool),
		released: make(map[string]map[string]time.Time)}
}

// add applies one log message to the writer's engine and keeps its rows.
func (b *batch) add(eng *dispatch.Engine, m streams.Message) error {
	events, err := streams.DecodeEvents(m.Body)
	if err != nil {
		return fmt.Errorf("history: message %d: %w", m.Seq, err)
	}
	seq := int64(m.Seq)
	for n, ev := range events {
		changes := eng.Apply(ev)
		if err := b.addEvent(seq, n, ev, changes); err != nil {
			return err
		}
		for _, c := range changes {
			switch c.Kind {
			case dispatch.IncidentOpened, dispatch.IncidentUpdated, dispatch.IncidentClosed:
				if !b.changed[c.Incident] {
					b.changed[c.Incident] = true
					b.incidents = append(b.incidents, c.Incident)
				}
			case dispatch.Released:
				if b.released[c.Incident] == nil {
					b.released[c.Incident] = make(map[string]time.Time)
				}
				b.released[c.Incident][c.Unit] = c.T
			}
		}
	}
	// A message's time is the engine's after it (the latest event time so far), not
	// when the log took it: replays seek by the time of events.
	b.last, b.lastT = m.Seq, eng.Now()
	rowT := b.lastT
	if rowT.IsZero() {
		// Before any event with a time (a new log's seeded configuration): the day the
		// log took it, so that the row lands in a day partition retention knows.
		rowT = m.T
	}
	b.logRows = append(b.logRows, []any{seq, rowT, m.Body})
	b.addDay(rowT)
	b.messages++
	return nil
}

func (b *batch) addDay(t time.Time) {
	if d := dayOf(t); !slices.ContainsFunc(b.days, d.Equal) {
		b.days = append(b.days, d)
	}
}

// addEvent keeps the rows one event makes; changes are what it did to the engine.
func (b *batch) addEvent(seq int64, n int, ev dispatch.Event, changes []dispatch.Change) error {
	switch e := ev.(type) {
	case *dispatch.Fix:
		p, err := point(e.Lat, e.Lng)
		if err != nil {
			return err
		}
		b.fixRows = append(b.fixRows, []any{seq, e.T, e.Unit, p, cellOf(e.Cell, e.Lat, e.Lng),
			float32(e.Speed), float32(e.Heading), float32(e.Accuracy)})
		b.addDay(e.T)
	case *dispatch.Tick:
	case *dispatch.AlertReceived:
		var incident *string
		duplicate := false
		for _, c := range changes {
			if c.Kind == dispatch.AlertAccepted && c.Alert == e.ID {
				if c.Repeat {
					return nil // the same alert sent again: its row is there
				}
				incident, duplicate = &c.Incident, c.Duplicate
			}
		}
		p, err := point(e.Lat, e.Lng)
		if err != nil {
			return err
		}
		b.rows.Queue(`INSERT INTO alerts (id, seq, t, incident, duplicate, category, priority, geom, cell, address, caller, text)
			VALUES ($1, $2, $3, $4, $5, $6, $7, ST_GeomFromEWKB($8::bytea), $9, $10, $11, $12) ON CONFLICT (id) DO NOTHING`,
			e.ID, seq, e.T, incident, duplicate, e.Category.String(), e.Priority, p, cellOf(e.Cell, e.Lat, e.Lng),
			e.Address, e.Caller, e.Text)
	case *dispatch.CameraEventReceived:
		var incident *string
		for _, c := range changes {
			if c.Kind == dispatch.CameraEvent && c.Event == e.ID && c.Incident != "" {
				incident = &c.Incident
			}
		}
		b.rows.Queue(`INSERT INTO camera_events (id, seq, t, camera, type, confidence, snapshot, incident)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING`,
			e.ID, seq, e.T, e.Camera, e.Type.String(), e.Confidence, e.Snapshot, incident)
	case *dispatch.UnitUpserted:
		b.rows.Queue(`INSERT INTO units (id, callsign, force, mode, seq) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (id) DO UPDATE SET callsign = $2, force = $3, mode = $4, seq = $5`,
			e.ID, e.Callsign, e.Force.String(), e.Mode.String(), seq)
		u := *e
		if u.Secret != "" {
			u.Secret = "(set)" // a hash of a chosen secret is kept out of reach of guessing
		}
		return b.audit(seq, n, &u, e.By, e.ID)
	case *dispatch.TokenIssued:
		t := *e
		t.Hash = ""
		return b.audit(seq, n, &t, e.By, e.ID)
	case *dispatch.TokenRevoked:
		return b.audit(seq, n, ev, e.By, e.ID)
	case *dispatch.Accessed:
		return b.audit(seq, n, ev, e.By, e.Subject)
	case *dispatch.CameraUpserted:
		p, err := point(e.Lat, e.Lng)
		if err != nil {
			return err
		}
		b.rows.Queue(`INSERT INTO cameras (id, name, geom, cell, seq) VALUES ($1, $2, ST_GeomFromEWKB($3::bytea), $4, $5)
			ON CONFLICT (id) DO UPDATE SET name = $2, geom = EXCLUDED.geom, cell = $4, seq = $5`,
			e.ID, e.Name, p, cellOf(e.Cell, e.Lat, e.Lng), seq)
		return b.audit(seq, n, ev, e.By, e.ID)
	case *dispatch.Assign:
		return b.audit(seq, n, ev, e.By, e.Incident)
	case *dispatch.Release:
		return b.audit(seq, n, ev, e.By, e.Incident)
	case *dispatch.Close:
		return b.audit(seq, n, ev, e.By, e.Incident)
	case *dispatch.Note:
		return b.audit(seq, n, ev, e.By, e.Incident)
	case *dispatch.SetStatus:
		return b.audit(seq, n, ev, e.By, e.Unit)
	case *dispatch.MoveUpConfirmed:
		return b.audit(seq, n, ev, e.By, e.Unit)
	case *dispatch.Configure:
		// The district file (source) says what changed; its cells, thousands of them,
		// are in the log and the archived messages.
		c := *e
		c.Config.District = nil
		c.Config.Grids = slices.Clone(c.Config.Grids)
		for g := range c.Config.Grids {
			c.Config.Grids[g].Cells = nil
		}
		c.Config.Zones = slices.Clone(c.Config.Zones)
		for z := range c.Config.Zones {
			c.Config.Zones[z].Cells = nil
		}
		return b.audit(seq, n, &c, e.By, "configuration")
	}
	return nil
}

// audit records a command or a change to the roster: who, what, about whom.
func (b *batch) audit(seq int64, n int, ev dispatch.Event, actor, subject string) error {
	body, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("history: audit %s: %w", ev.Kind(), err)
	}
	b.rows.Queue(`INSERT INTO audit (seq, n, t, kind, actor, subject, body) VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT DO NOTHING`, seq, n, ev.Time(), ev.Kind(), actor, subject, string(body))
	return nil
}

// finish queues the rows read from the engine as it stands after the batch.
func (b *batch) finish(eng *dispatch.Engine) error { return b.addIncidents(eng) }

// write commits the batch and the writer's new position, if the store is still where
// the batch begins (otherwise another writer got there: nothing is written).
func (b *batch) write(ctx context.Context, s *Store) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var at int64
		err := tx.QueryRow(ctx, `SELECT seq FROM history_position WHERE stream = $1 FOR UPDATE`, b.stream).Scan(&at)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("history: position: %w", err)
		}
		if uint64(at) != b.first-1 {
			return fmt.Errorf("history: the store holds up to %d, this batch starts at %d: another writer?", at, b.first)
		}
		if err := ensureDays(ctx, tx, b.days); err != nil {
			return err
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"log_messages"}, []string{"seq", "t", "body"},
			pgx.CopyFromRows(b.logRows)); err != nil {
			return fmt.Errorf("history: copy log messages: %w", err)
		}
		if len(b.fixRows) > 0 {
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"fixes"},
				[]string{"seq", "t", "unit", "geom", "cell", "speed", "heading", "accuracy"},
				pgx.CopyFromRows(b.fixRows)); err != nil {
				return fmt.Errorf("history: copy fixes: %w", err)
			}
		}
		if b.state != nil {
			b.rows.Queue(`INSERT INTO engine_states (seq, t, engine) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
				int64(b.last), b.lastT, b.state)
		}
		b.rows.Queue(`INSERT INTO history_position (stream, seq, t) VALUES ($1, $2, $3)
			ON CONFLICT (stream) DO UPDATE SET seq = $2, t = $3, written = now()`, b.stream, int64(b.last), b.lastT)
		if err := tx.SendBatch(ctx, &b.rows).Close(); err != nil {
			return fmt.Errorf("history: write rows: %w", err)
		}
		return nil
	})
}

// addIncidents queues the incidents the batch changed, as they stand after it, with
// their assignments. A row whose unit is no longer on that tier (released, or moved
// to another tier by a new plan) is marked released.
func (b *batch) addIncidents(eng *dispatch.Engine) error {
	for _, id := range b.incidents {
		v, ok := eng.Incident(id)
		if !ok {
			continue
		}
		doc, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("history: incident %s: %w", id, err)
		}
		p, err := point(v.Lat, v.Lng)
		if err != nil {
			return err
		}
		var tiers [3]*string
		var first *float64
		var onUnits []string
		var onTiers []int32
		for i, t := range v.Tiers {
			if i < len(tiers) {
				s := t.State.String()
				tiers[i] = &s
			}
			for _, u := range t.Units {
				if !u.Arrived.IsZero() {
					s := u.Arrived.Sub(v.Received.Time).Seconds()
					if first == nil || s < *first {
						first = &s
					}
				}
				onUnits, onTiers = append(onUnits, u.Unit), append(onTiers, int32(t.Tier))
				b.rows.Queue(`INSERT INTO assignments (incident, unit, tier, assigned, eta_s, arrived, cleared, released, due, met, seq, accepted)
					VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8, $9, $10, $11)
					ON CONFLICT (incident, unit, tier) DO UPDATE SET assigned = $4, eta_s = $5, arrived = $6,
					cleared = $7, released = NULL, due = $8, met = $9, seq = $10, accepted = $11`,
					id, u.Unit, t.Tier, nullTime(u.Assigned), u.ETA, nullTime(u.Arrived), nullTime(u.Cleared),
					t.Due.Time, !u.Arrived.IsZero() && !u.Arrived.After(t.Due.Time), int64(b.last), nullTime(u.Accepted))
			}
		}
		for unit, t := range b.released[id] {
			b.rows.Queue(`UPDATE assignments SET released = $3, seq = $4 WHERE incident = $1 AND unit = $2
				AND released IS NULL AND (unit, tier) NOT IN (SELECT * FROM unnest($5::text[], $6::int[]))`,
				id, unit, t, int64(b.last), onUnits, onTiers)
		}
		b.rows.Queue(`UPDATE assignments SET released = $2, seq = $3 WHERE incident = $1 AND released IS NULL
			AND (unit, tier) NOT IN (SELECT * FROM unnest($4::text[], $5::int[]))`,
			id, b.lastT, int64(b.last), onUnits, onTiers)
		b.rows.Queue(`INSERT INTO incidents (id, status, priority, category, received, closed, geom, cell, zone,
				tier1, tier2, tier3, first_arrival_s, doc, seq)
			VALUES ($1, $2, $3, $4, $5, $6, ST_GeomFromEWKB($7::bytea), $8, $9, $10, $11, $12, $13, $14, $15)
			ON CONFLICT (id) DO UPDATE SET status = $2, priority = $3, category = $4, received = $5, closed = $6,
				geom = EXCLUDED.geom, cell = $8, zone = $9, tier1 = $10, tier2 = $11, tier3 = $12, first_arrival_s = $13,
				doc = $14, seq = $15`,
			id, v.Status, v.Priority, v.Category.String(), v.Received.Time, nullTime(v.Closed), p, int64(v.Cell),
			v.Zone, tiers[0], tiers[1], tiers[2], first, string(doc), int64(b.last))
	}
	return nil
}

func nullTime(m dispatch.Millis) *time.Time {
	if m.IsZero() {
		return nil
	}
	return &m.Time
}

// point is a WGS-84 point as EWKB, the form PostGIS takes in a binary COPY.
func point(lat, lng float64) ([]byte, error) {
	b, err := ewkb.Marshal(geom.NewPointFlat(geom.XY, []float64{lng, lat}).SetSRID(4326), ewkb.NDR)
	if err != nil {
		return nil, fmt.Errorf("history: point %f,%f: %w", lat, lng, err)
	}
	return b, nil
}

// cellOf is the event's cell, or the one its position falls in where the sender left
// it out.
func cellOf(c geo.Cell, lat, lng float64) int64 {
	if c == 0 {
		c, _ = geo.CellOf(geo.Point{Lat: lat, Lng: lng}, geo.DefaultRes)
	}
	return int64(c)
}
