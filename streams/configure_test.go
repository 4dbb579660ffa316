package streams

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"commandd/dispatch"
	"commandd/geo"
)

// syncBuffer is a log sink the loop's goroutines may write to while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// warnings are the "differs" fields of the loop's warnings.
func (s *syncBuffer) warnings() [][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out [][]string
	sc := bufio.NewScanner(bytes.NewReader(s.b.Bytes()))
	for sc.Scan() {
		var line struct {
			Level   string   `json:"level"`
			Differs []string `json:"differs"`
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Level == "warn" && line.Differs != nil {
			out = append(out, line.Differs)
		}
	}
	return out
}

// runLoop starts a loop on dir with seed, waits until it has caught up and its
// configuration is the log's, and returns it with what stops it.
func runLoop(t *testing.T, dir string, seed dispatch.Config, logs *syncBuffer) (*Loop, *Log, func()) {
	t.Helper()
	log := openTestLog(t, dir, time.Minute)
	loop, err := NewLoop(log, seed, NewHub(zerolog.Nop()), dir, time.Hour, zerolog.New(logs))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- loop.Run(ctx) }()
	stop := func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("loop: %v", err)
		}
		log.Close()
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		configured := false
		loop.Read(func(e *dispatch.Engine) { configured = e.Configured() })
		if loop.Ready() && configured {
			break
		}
		if time.Now().After(deadline) {
			stop()
			t.Fatal("loop not ready with the log's configuration")
		}
	}
	return loop, log, stop
}

// configureEvents are the Configure events in the log, in order.
func configureEvents(t *testing.T, log *Log) []*dispatch.Configure {
	t.Helper()
	last, err := log.Last(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []*dispatch.Configure
	if last == 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	err = log.Read(ctx, 1, func(seq uint64, _ time.Time, events []dispatch.Event) error {
		for _, ev := range events {
			if c, ok := ev.(*dispatch.Configure); ok {
				out = append(out, c)
			}
		}
		if seq >= last {
			cancel()
		}
		return nil
	})
	if err != nil && ctx.Err() == nil {
		t.Fatal(err)
	}
	return out
}

// TestLoopConfiguration: the flags only seed a new data directory; later starts keep
// the log's configuration whatever they are given, from a snapshot or from the log
// alone, and say what differs.
func TestLoopConfiguration(t *testing.T) {
	dir := t.TempDir()
	first := dispatch.Config{Recommend: true, DupWindow: 5 * time.Minute}
	for _, step := range []struct {
		name         string
		seed         dispatch.Config
		dropSnapshot bool
		differs      []string // nil: no warning
	}{
		{"a new data directory takes the seed", first, false, nil},
		{"a restart with other flags keeps the log's", dispatch.Config{ArrivalRadius: 50}, false,
			[]string{"arrival_radius_m", "dup_window", "recommend"}},
		{"from the log alone too", dispatch.Config{Baseline: true}, true, []string{"baseline", "dup_window", "recommend"}},
		{"the same flags: nothing to say", first, false, nil},
	} {
		t.Run(step.name, func(t *testing.T) {
			if step.dropSnapshot {
				if err := os.Remove(filepath.Join(dir, "snapshot.json")); err != nil {
					t.Fatal(err)
				}
			}
			var logs syncBuffer
			loop, log, stop := runLoop(t, dir, step.seed, &logs)
			got := loop.Config()
			cfgs := configureEvents(t, log)
			stop()
			if !got.Recommend || got.DupWindow != 5*time.Minute || got.Baseline || got.ArrivalRadius != 100 {
				t.Errorf("configuration in force: recommend %v, dup window %s, baseline %v, radius %v; want the first start's",
					got.Recommend, got.DupWindow, got.Baseline, got.ArrivalRadius)
			}
			if !reflect.DeepEqual(loop.Seed(), step.seed) {
				t.Errorf("Seed() = %+v, want the seed given", loop.Seed())
			}
			if len(cfgs) != 1 || cfgs[0].By != "seed" || !cfgs[0].Config.Recommend {
				t.Errorf("the log holds %d configure events (%+v), want the first seed's alone", len(cfgs), cfgs)
			}
			w := logs.warnings()
			switch {
			case step.differs == nil && len(w) > 0:
				t.Errorf("warned %v with the log's own flags", w)
			case step.differs != nil && (len(w) != 1 || !slices.Equal(w[0], step.differs)):
				t.Errorf("warnings %v, want one naming %v", w, step.differs)
			}
		})
	}
}

func TestConfigDiff(t *testing.T) {
	base := dispatch.Config{Recommend: true, Source: json.RawMessage(`{"name":"a"}`)}
	for _, tc := range []struct {
		name string
		b    dispatch.Config
		want []string
	}{
		{"defaults are defaults", dispatch.Config{Recommend: true, DupWindow: 10 * time.Minute, ArrivalRadius: 100}, nil},
		{"the source is not compared", dispatch.Config{Recommend: true, Source: json.RawMessage(`{"name":"b"}`)}, nil},
		{"fields named by their JSON names", dispatch.Config{Name: "湖里区", RetireClosed: time.Hour}, []string{"name", "recommend", "retire_closed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ConfigDiff(base, tc.b); !slices.Equal(got, tc.want) {
				t.Errorf("ConfigDiff = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestDistrictAPI: PUT /api/v1/district (admin) puts a district file in force through
// the log, keeping the rest of the configuration; GET gives it back to every staff
// role; a bad file is 400 naming its path and changes nothing.
func TestDistrictAPI(t *testing.T) {
	s := newTestServer(t, 0)
	file, err := os.ReadFile(filepath.Join("testdata", "district_example.json"))
	if err != nil {
		t.Fatal(err)
	}
	s.must(404, "GET", "/api/v1/district", tokOperator, "")
	for _, c := range []struct {
		name, method, token, body string
		want                      int
		field                     string
	}{
		{"an operator may not change it", "PUT", tokOperator, string(file), 403, ""},
		{"a supervisor neither", "PUT", tokSupervisor, string(file), 403, ""},
		{"not JSON", "PUT", tokAdmin, "{", 400, ""},
		{"a plan without tiers", "PUT", tokAdmin, strings.Replace(string(file), `"plans": [`, `"plans": [{"tiers": []},`, 1), 400, "plans[0].tiers"},
		{"no district yet", "GET", tokSupervisor, "", 404, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, m := s.do(c.method, "/api/v1/district", c.token, c.body)
			if got != c.want {
				t.Fatalf("%d %v, want %d", got, m, c.want)
			}
			if c.field != "" {
				if e, _ := m["error"].(map[string]any); e["field"] != c.field {
					t.Errorf("error %v, want field %s", m["error"], c.field)
				}
			}
		})
	}
	before := s.srv.Loop.Config()
	put := s.must(200, "PUT", "/api/v1/district", tokAdmin, string(file))
	if put["name"] != "湖里区（示例片区）" || put["crs"] != "wgs84" {
		t.Errorf("PUT answered %v", put)
	}
	after := s.srv.Loop.Config()
	if len(after.Grids) != 2 || len(after.Zones) != 3 || len(after.District) == 0 || after.Name != "湖里区（示例片区）" ||
		after.TZ != "Asia/Shanghai" || len(after.Source) == 0 {
		t.Fatalf("district not in force: %d grids, %d zones, %d cells, name %q", len(after.Grids), len(after.Zones), len(after.District), after.Name)
	}
	if after.RetireClosed != before.RetireClosed || after.DupWindow != before.DupWindow || after.Recommend != before.Recommend {
		t.Error("PUT changed the configuration beyond the district")
	}
	for _, token := range []string{tokAdmin, tokOperator, tokSupervisor} {
		got := s.must(200, "GET", "/api/v1/district", token, "")
		if !reflect.DeepEqual(got, put) {
			t.Fatalf("GET gives %v, PUT answered %v", got, put)
		}
	}
	s.must(403, "GET", "/api/v1/district", tokIngest, "")
	grids := put["grids"].([]any)
	if g := grids[0].(map[string]any); g["id"] != "HL-001" || g["cells"].(float64) != float64(len(after.Grids[0].Cells)) {
		t.Errorf("grid view %v, want HL-001 with %d cells", g, len(after.Grids[0].Cells))
	}
	// An alert in grid HL-001, inside the centre zone, carries both.
	at := geo.ToWGS84(geo.Point{Lat: 24.51, Lng: 118.14}) // the centre zone's middle, given in GCJ-02
	s.must(201, "POST", "/api/v1/alerts", tokOperator,
		fmt.Sprintf(`{"id":"D1","lat":%f,"lng":%f,"category":"criminal","priority":2}`, at.Lat, at.Lng))
	var v dispatch.IncidentView
	s.srv.Loop.Read(func(e *dispatch.Engine) {
		all := e.Incidents(false)
		if len(all) > 0 {
			v = all[len(all)-1]
		}
	})
	if v.Grid == nil || v.Grid.ID != "HL-001" || v.ZoneID != "C-1" || v.Tiers[0].Name != "响应" {
		t.Errorf("incident in the district: grid %+v zone %q (%s), tiers %+v", v.Grid, v.Zone, v.ZoneID, v.Tiers)
	}
	// A rejected file left it as it was.
	s.do("PUT", "/api/v1/district", tokAdmin, `{"name":"x"}`)
	if again := s.srv.Loop.Config(); len(again.Grids) != 2 || again.Name != after.Name {
		t.Error("a rejected file changed the district")
	}
}

// TestLogTakesALargeDistrict: a district's Configure event of several megabytes (NATS's
// default limit is 1 MB) is stored and read back whole.
func TestLogTakesALargeDistrict(t *testing.T) {
	log := openTestLog(t, t.TempDir(), time.Minute)
	defer log.Close()
	src, _ := json.Marshal(map[string]string{"pad": strings.Repeat("湖", 1<<20)}) // 3 MB of UTF-8
	ev := &dispatch.Configure{T: time.Unix(1, 0).UTC(), Config: dispatch.Config{Name: "big", Source: src}, By: "admin:1"}
	seq, err := log.Append(context.Background(), "", ev)
	if err != nil {
		t.Fatalf("append a %d-byte district: %v", len(src), err)
	}
	cfgs := configureEvents(t, log)
	if seq != 1 || len(cfgs) != 1 || !bytes.Equal(cfgs[0].Config.Source, src) {
		t.Fatalf("read back %d configure events", len(cfgs))
	}
}
