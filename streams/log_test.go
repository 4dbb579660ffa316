package streams

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"commandd/dispatch"
	"commandd/geo"
)

func openTestLog(t testing.TB, dir string, sync time.Duration) *Log {
	t.Helper()
	l, err := OpenLog(context.Background(), LogConfig{Dir: dir, Region: "test", Sync: sync})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestLogOrderAndReopen: what was appended comes back in order, from any position,
// and is still there after the log is closed and opened again.
func TestLogOrderAndReopen(t *testing.T) {
	dir := t.TempDir()
	l := openTestLog(t, dir, 0)
	t0 := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
	for i := range 50 {
		seq, err := l.Append(context.Background(), "", &dispatch.Tick{T: t0.Add(time.Duration(i) * time.Second)},
			&dispatch.Fix{Unit: fmt.Sprintf("U%d", i), T: t0, Lat: 24.5, Lng: 118.1})
		if err != nil || seq != uint64(i+1) {
			t.Fatalf("append %d: seq %d, %v", i, seq, err)
		}
	}
	// A retry with the same message id is dropped: same position, nothing new.
	a, _ := l.Append(context.Background(), "alert:A", &dispatch.Tick{T: t0})
	b, _ := l.Append(context.Background(), "alert:A", &dispatch.Tick{T: t0})
	if a != b || a != 51 {
		t.Fatalf("duplicate message ids gave positions %d and %d", a, b)
	}
	l.Close()

	l = openTestLog(t, dir, 0)
	defer l.Close()
	if last, err := l.Last(context.Background()); err != nil || last != 51 {
		t.Fatalf("last %d, %v", last, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	want := uint64(20)
	err := l.Read(ctx, 20, func(seq uint64, _ time.Time, events []dispatch.Event) error {
		if seq != want {
			t.Fatalf("read position %d, want %d", seq, want)
		}
		if seq <= 50 && (len(events) != 2 || events[1].(*dispatch.Fix).Unit != fmt.Sprintf("U%d", seq-1)) {
			t.Fatalf("message %d holds %v", seq, events)
		}
		want++
		if seq == 51 {
			cancel()
		}
		return nil
	})
	if err != context.Canceled {
		t.Fatalf("read ended with %v", err)
	}
}

// BenchmarkLogAppend: one alert-sized event appended and acknowledged, under each sync
// setting of the embedded log.
func BenchmarkLogAppend(b *testing.B) {
	ev := &dispatch.AlertReceived{ID: "110-20261122-0001", T: time.Now().UTC(), Lat: 24.5, Lng: 118.12,
		Category: dispatch.Criminal, Priority: 2, Address: "湖里区 金山路 1 号", Text: "robbery in progress"}
	for _, sync := range []struct {
		name string
		d    time.Duration
	}{{"always", 0}, {"1s", time.Second}, {"2m", 2 * time.Minute}} {
		b.Run("sync="+sync.name, func(b *testing.B) {
			l := openTestLog(b, b.TempDir(), sync.d)
			defer l.Close()
			ctx := context.Background()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := l.Append(ctx, "", ev); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestFixBatch: a message of fixes only is written in the batch form and reads back
// field for field; anything else stays NDJSON.
func TestFixBatch(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 9, 30, 0, 125e6, time.UTC)
	fixes := []dispatch.Event{
		&dispatch.Fix{Unit: "P-17", T: t0, Lat: 24.4798, Lng: 118.0894, Cell: testCell(24.4798, 118.0894), Speed: 8.5, Heading: 271.5, Accuracy: 6},
		&dispatch.Fix{Unit: "巡逻-2", T: t0.Add(time.Millisecond), Lat: -90, Lng: 180},
		&dispatch.Fix{Unit: "P-17", T: time.UnixMilli(0).UTC()},
	}
	for _, tc := range []struct {
		name   string
		events []dispatch.Event
		batch  bool
	}{
		{"fixes", fixes, true},
		{"one fix", fixes[:1], true},
		{"fix with sub-millisecond time", []dispatch.Event{&dispatch.Fix{Unit: "P-1", T: t0.Add(time.Microsecond)}}, false},
		{"mixed", []dispatch.Event{fixes[0], &dispatch.Tick{T: t0}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := EncodeEvents(tc.events)
			if err != nil {
				t.Fatal(err)
			}
			if (b[0] == fixBatchMagic) != tc.batch {
				t.Fatalf("batch form %v, want %v", b[0] == fixBatchMagic, tc.batch)
			}
			got, err := DecodeEvents(b)
			if err != nil {
				t.Fatal(err)
			}
			for i := range got {
				want, _ := dispatch.MarshalEvent(tc.events[i])
				have, _ := dispatch.MarshalEvent(got[i])
				if string(want) != string(have) || !got[i].Time().Equal(tc.events[i].Time()) {
					t.Fatalf("event %d: wrote %s, read %s", i, want, have)
				}
			}
			if len(got) != len(tc.events) {
				t.Fatalf("read %d events of %d", len(got), len(tc.events))
			}
		})
	}
	b, _ := EncodeEvents(fixes)
	for cut := 1; cut < len(b); cut++ {
		if _, err := DecodeEvents(b[:cut]); err == nil {
			t.Fatalf("batch cut at %d of %d bytes decoded", cut, len(b))
		}
	}
}

// FuzzDecodeEvents: no log message, however damaged, panics the reader, and a batch
// that decodes is written and read back unchanged.
func FuzzDecodeEvents(f *testing.F) {
	b, _ := EncodeEvents([]dispatch.Event{&dispatch.Fix{Unit: "P-17", T: time.UnixMilli(1795341600000), Lat: 24.5, Lng: 118.1}})
	f.Add(b)
	f.Add([]byte("{\"kind\":\"tick\",\"t\":\"2026-11-22T09:30:00Z\"}\n"))
	f.Add([]byte{fixBatchMagic, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, body []byte) {
		events, err := DecodeEvents(body)
		if err != nil || len(body) == 0 || body[0] != fixBatchMagic {
			return
		}
		again, err := EncodeEvents(events)
		if err != nil {
			t.Fatal(err)
		}
		back, err := DecodeEvents(again)
		if err != nil {
			t.Fatalf("batch %x written as %x does not read back: %v", body, again, err)
		}
		if twice, _ := EncodeEvents(back); !bytes.Equal(twice, again) {
			t.Fatalf("batch %x written as %x, then as %x", body, again, twice)
		}
	})
}

func testCell(lat, lng float64) geo.Cell {
	c, err := geo.CellOf(geo.Point{Lat: lat, Lng: lng}, geo.DefaultRes)
	if err != nil {
		panic(err)
	}
	return c
}

// TestAppendFixes: concurrent callers' fixes are stored together, a batch too big for
// one message is cut into several, and every fix is read back once, each caller's in
// its order.
func TestAppendFixes(t *testing.T) {
	l := openTestLog(t, t.TempDir(), time.Minute)
	defer l.Close()
	t0 := time.UnixMilli(1795341600000).UTC()
	sizes := []int{1, 3, 20000, 7, 1} // 20,000 fixes are ~1.3 MB: more than one message
	errs := make(chan error, len(sizes))
	for c, n := range sizes {
		go func() {
			fixes := make([]dispatch.Fix, n)
			for i := range fixes {
				fixes[i] = dispatch.Fix{Unit: fmt.Sprintf("C%d", c), T: t0.Add(time.Duration(i) * time.Millisecond), Lat: 24.5, Lng: 118.1}
			}
			errs <- l.AppendFixes(context.Background(), fixes)
		}()
	}
	total := 0
	for range sizes {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range sizes {
		total += n
	}
	last, _ := l.Last(context.Background())
	if last < 2 || last >= uint64(len(sizes)+3) {
		t.Fatalf("%d fixes in %d messages", total, last)
	}
	next := map[string]int{}
	ctx, cancel := context.WithCancel(context.Background())
	l.Read(ctx, 1, func(seq uint64, _ time.Time, events []dispatch.Event) error {
		for _, ev := range events {
			f := ev.(*dispatch.Fix)
			if want := t0.Add(time.Duration(next[f.Unit]) * time.Millisecond); !f.T.Equal(want) {
				t.Fatalf("%s: fix of %v, want %v", f.Unit, f.T, want)
			}
			next[f.Unit]++
		}
		if seq == last {
			cancel()
		}
		return nil
	})
	for c, n := range sizes {
		if got := next[fmt.Sprintf("C%d", c)]; got != n {
			t.Fatalf("caller %d: %d fixes read, %d sent", c, got, n)
		}
	}
	l.Close()
	if err := l.AppendFixes(context.Background(), []dispatch.Fix{{Unit: "late", T: t0}}); err != ErrLogClosed {
		t.Fatalf("append after close: %v", err)
	}
}
