package history

import (
	"context"
	"strings"
	"testing"
	"time"

	"commandd/dispatch"
	"commandd/fixtures/pgtest"
	"commandd/geo"
	"commandd/streams"
)

// TestAudit: the audit answers who did what, by actor, by unit and by incident, within
// a time range: roster and camera changes, commands, a unit's own reports, tokens issued
// and revoked (never their hashes) and replays opened.
func TestAudit(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, pgtest.Database(t))
	lg := openLog(t)
	t0 := time.Date(2026, 12, 2, 1, 0, 0, 0, time.UTC)
	at := func(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }
	hash := strings.Repeat("ab", 32)
	msgs := [][]dispatch.Event{
		{&dispatch.UnitUpserted{T: at(0), ID: "C1", Force: dispatch.Police, Mode: geo.Car, Secret: hash, By: "operator:op1"},
			&dispatch.Fix{Unit: "C1", T: at(0), Lat: 24.5, Lng: 118.12}},
		{&dispatch.CameraUpserted{T: at(1), ID: "CAM-1", Lat: 24.5, Lng: 118.12, By: "ingest:in1"}},
		{&dispatch.AlertReceived{ID: "A", T: at(5), Lat: 24.5, Lng: 118.121, Category: dispatch.Criminal, Priority: 2}},
		{&dispatch.SetStatus{T: at(10), Unit: "C1", Status: dispatch.Accepted, Incident: "INC-000001", By: "unit:C1"}},
		{&dispatch.Note{T: at(20), Incident: "INC-000001", Text: "on it", By: "operator:op1"}},
		{&dispatch.TokenIssued{T: at(30), ID: "tk-1", Hash: hash, Role: "unit", Unit: "C1", By: "admin:ad1"}},
		{&dispatch.TokenRevoked{T: at(40), ID: "tk-1", By: "admin:ad1"}},
		{&dispatch.Accessed{T: at(50), What: "replay", Subject: "INC-000001", By: "supervisor:su1"}},
		{&dispatch.Close{T: at(60), Incident: "INC-000001", Disposition: "done", By: "operator:op1"}},
	}
	for _, m := range msgs {
		if _, err := lg.Append(ctx, "", m...); err != nil {
			t.Fatal(err)
		}
	}
	w, stop := runWriter(t, s, lg, dispatch.Config{})
	waitFor(t, w, uint64(len(msgs)), time.Minute)
	stop()

	kinds := func(q streams.AuditQuery) []string {
		t.Helper()
		if q.From.IsZero() {
			q.From, q.To = t0.Add(-time.Hour), t0.Add(time.Hour)
		}
		q.Limit = 100
		entries, err := s.Audit(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range entries {
			if strings.Contains(string(e.What), hash) {
				t.Errorf("%s entry shows a hash: %s", e.Kind, e.What)
			}
			out = append(out, e.Kind+" "+e.Actor+" "+e.Subject)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		q    streams.AuditQuery
		want []string
	}{
		{"all", streams.AuditQuery{}, []string{"unit operator:op1 C1", "camera ingest:in1 CAM-1", "status unit:C1 C1",
			"note operator:op1 INC-000001", "token admin:ad1 tk-1", "token_revoked admin:ad1 tk-1",
			"access supervisor:su1 INC-000001", "close operator:op1 INC-000001"}},
		{"by actor", streams.AuditQuery{Actor: "operator:op1"}, []string{"unit operator:op1 C1", "note operator:op1 INC-000001", "close operator:op1 INC-000001"}},
		{"about a unit", streams.AuditQuery{Unit: "C1"}, []string{"unit operator:op1 C1", "status unit:C1 C1", "token admin:ad1 tk-1"}},
		{"about an incident", streams.AuditQuery{Incident: "INC-000001"}, []string{"status unit:C1 C1", "note operator:op1 INC-000001",
			"access supervisor:su1 INC-000001", "close operator:op1 INC-000001"}},
		{"a time range", streams.AuditQuery{From: at(30), To: at(50)}, []string{"token admin:ad1 tk-1", "token_revoked admin:ad1 tk-1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := kinds(tc.q); strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
	entries, _ := s.Audit(ctx, streams.AuditQuery{From: at(10), To: at(11), Limit: 10})
	if len(entries) != 1 || entries[0].Role != "unit" || entries[0].Unit != "C1" || entries[0].Token != "" {
		t.Errorf("a unit's entry: %+v", entries)
	}
	entries, _ = s.Audit(ctx, streams.AuditQuery{From: at(20), To: at(21), Limit: 10})
	if len(entries) != 1 || entries[0].Role != "operator" || entries[0].Token != "op1" {
		t.Errorf("an operator's entry: %+v", entries)
	}
}
