package streams

import (
	"context"
	"fmt"
	"testing"
	"time"

	"commandd/dispatch"
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
