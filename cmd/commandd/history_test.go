package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"commandd/fixtures/pgtest"
	"commandd/geo"
)

// TestHistory runs commandd with --pg: an incident handled live is found by the
// supervisors' queries (time, area, cells, category, outcome; JSON and GeoJSON; per
// grid and day), survives a restart once, and replays from the store.
func TestHistory(t *testing.T) {
	db := pgtest.Database(t)
	dir := t.TempDir()
	s := start(t, dir, "--pg", db, "--retire-closed", "2s")
	from := time.Now().UTC().Add(-time.Hour).Format(time.RFC3339)
	to := time.Now().UTC().Add(time.Hour).Format(time.RFC3339)
	s.must(200, "PUT", "/api/v1/units/P-17", tokOperator, `{"callsign":"湖里巡17","force":"police","mode":"car"}`)
	s.must(202, "POST", "/api/v1/fixes", tokIngest, `[{"unit":"P-17","lat":24.5000,"lng":118.1225}]`)
	ans := s.must(201, "POST", "/api/v1/alerts", tokIngest,
		`{"id":"110-H-1","lat":24.5000,"lng":118.1200,"category":"criminal","priority":2,"text":"robbery"}`)
	inc := ans["incident"].(string)
	s.must(200, "POST", "/api/v1/units/P-17/status", tokOperator, `{"status":"onscene","incident":"`+inc+`"}`)
	s.must(200, "POST", "/api/v1/incidents/"+inc+"/close", tokOperator, `{"disposition":"arrested"}`)

	found := func(query string) int {
		t.Helper()
		m := s.must(200, "GET", "/api/v1/history/incidents?from="+url.QueryEscape(from)+"&to="+url.QueryEscape(to)+query, tokSupervisor, "")
		return len(m["incidents"].([]any))
	}
	var doc map[string]any
	for deadline := time.Now().Add(10 * time.Second); doc == nil || doc["status"] != "closed"; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("incident %s not in the history as closed: %v", inc, doc)
		}
		m := s.must(200, "GET", "/api/v1/history/incidents?from="+url.QueryEscape(from)+"&to="+url.QueryEscape(to), tokSupervisor, "")
		if list := m["incidents"].([]any); len(list) > 0 {
			doc = list[0].(map[string]any)
		}
	}
	if doc["id"] != inc || doc["disposition"] != "arrested" {
		t.Fatalf("history has %v", doc)
	}
	// A grid holds the cells whose H3 parent it is (not quite the cells whose centre
	// lies in its hexagon).
	scene, _ := geo.CellOf(geo.Point{Lat: 24.5, Lng: 118.12}, geo.DefaultRes)
	cell, _ := scene.Parent(7)
	for _, tc := range []struct {
		query string
		want  int
	}{
		{"&bbox=118.1,24.49,118.13,24.51", 1},
		{"&bbox=118.2,24.49,118.3,24.51", 0},
		{"&polygon=118.1,24.49,118.13,24.49,118.13,24.51", 1},
		{"&polygon=118.2,24.49,118.3,24.49,118.3,24.51", 0},
		{"&cells=" + cell.String(), 1},
		{"&cells=" + scene.String(), 1}, // the scene's own res-9 cell
		{"&cells=" + scene.String() + "," + cell.String(), 1},
		{"&category=criminal", 1},
		{"&category=traffic", 0},
		{"&tier=1&outcome=met", 1},
		{"&tier=1&outcome=missed", 0},
	} {
		if got := found(tc.query); got != tc.want {
			t.Errorf("%s: %d incidents, want %d", tc.query, got, tc.want)
		}
	}
	geoj := s.must(200, "GET", "/api/v1/history/incidents?format=geojson&from="+url.QueryEscape(from)+"&to="+url.QueryEscape(to), tokSupervisor, "")
	if f := geoj["features"].([]any); geoj["type"] != "FeatureCollection" || len(f) != 1 ||
		fmt.Sprint(f[0].(map[string]any)["geometry"].(map[string]any)["coordinates"]) != "[118.12 24.5]" {
		t.Errorf("geojson %v", geoj)
	}
	grids := s.must(200, "GET", "/api/v1/history/grids?res=7&tz=Asia/Shanghai&cells="+cell.String()+
		"&from="+url.QueryEscape(from)+"&to="+url.QueryEscape(to), tokSupervisor, "")
	g := grids["grids"].([]any)[0].(map[string]any)
	day := g["days"].([]any)[0].(map[string]any)
	if g["grid"] != cell.String() || day["alerts"].(float64) != 1 || day["incidents"].(float64) != 1 ||
		day["met_share"] == nil || day["median_first_arrival_s"] == nil {
		t.Errorf("grids %v", grids)
	}
	if code, body := s.do("GET", "/api/v1/history/grids?res=7&cells="+scene.String(), tokSupervisor, ""); code != 400 {
		t.Errorf("grids of res 9 asked as res 7: %d %v, want 400", code, body)
	}
	for _, q := range []string{"from=yesterday", "bbox=1,2,3", "tier=4", "tier=1&outcome=late", "cells=zz", "res=12", "tz=Mars/Base", "format=xml"} {
		if code, body := s.do("GET", "/api/v1/history/incidents?"+q, tokSupervisor, ""); code != 400 {
			t.Errorf("%s: %d %v, want 400", q, code, body)
		}
	}
	if code, _ := s.do("GET", "/api/v1/history/incidents", tokUnitP17, ""); code != 403 {
		t.Errorf("a unit read the history: %d", code)
	}

	// Two seconds after it closed the engine lets the incident go; the history answers
	// for it.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		list, err := s.doList("/api/v1/incidents?status=all")
		if err == nil && len(list) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the engine still holds %d incidents", len(list))
		}
	}
	if got := s.must(200, "GET", "/api/v1/incidents/"+inc, tokSupervisor, ""); got["status"] != "closed" || got["disposition"] != "arrested" {
		t.Errorf("retired incident from the history: %v", got)
	}

	// The replay view reads the store (and the log beyond it).
	r := s.subscribe(tokSupervisor, `{"type":"subscribe","view":"replay","incident":"`+inc+`","speed":60}`)
	r.expect("snapshot", nil)
	r.expect("clock", func(m map[string]any) bool { return m["incident"] == inc })
	r.conn.WriteMessage(websocket.TextMessage, []byte(`{"type":"seek","t":"`+time.Now().UTC().Add(-time.Second).Format(time.RFC3339)+`"}`))
	r.expect("snapshot", nil)

	// A restart writes nothing twice.
	s.stop()
	s = start(t, dir, "--pg", db)
	s.must(200, "PUT", "/api/v1/units/P-18", tokOperator, `{"force":"police","mode":"car"}`)
	for deadline := time.Now().Add(10 * time.Second); ; {
		resp, err := http.Get(s.base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		metrics := string(b)
		if strings.Contains(metrics, "\ncommandd_history_lag_messages 0\n") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("history lag never 0:\n%s", grep(metrics, "history"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if n := found(""); n != 1 {
		t.Errorf("%d incidents after a restart, want 1", n)
	}

	plain := start(t, t.TempDir())
	if code, body := plain.do("GET", "/api/v1/history/incidents", tokSupervisor, ""); code != 503 {
		t.Errorf("history without --pg: %d %v, want 503", code, body)
	}
}

// doList GETs a JSON array as a supervisor.
func (s *server) doList(path string) ([]any, error) {
	req, _ := http.NewRequest("GET", s.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+tokSupervisor)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var list []any
	err = json.NewDecoder(resp.Body).Decode(&list)
	return list, err
}

func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
