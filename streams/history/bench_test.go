package history

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"commandd/dispatch"
	"commandd/fixtures"
	"commandd/fixtures/pgtest"
	"commandd/streams"
)

// BenchmarkWriteFixes: fixes written into PostgreSQL per second, from a log of
// gateway batches of 1,000 fixes, by the writer as commandd runs it.
func BenchmarkWriteFixes(b *testing.B) {
	s := openStore(b, pgtest.Database(b))
	lg := openBenchLog(b)
	ctx := context.Background()
	const batch = 1000
	t0 := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	units := 10000
	var last uint64
	for i := 0; i < b.N; i += batch {
		fixes := make([]dispatch.Event, 0, batch)
		for j := range min(batch, b.N-i) {
			n := i + j
			fixes = append(fixes, &dispatch.Fix{Unit: fmt.Sprintf("U-%05d", n%units), T: t0.Add(time.Duration(n/units) * time.Second),
				Lat: 24.45 + float64(n%997)*1e-4, Lng: 118.07 + float64(n%991)*1e-4, Cell: 0x8941a54abb3ffff, Speed: 8})
		}
		var err error
		if last, err = lg.Append(ctx, "", fixes...); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	w, stop := runWriter(b, s, lg, dispatch.Config{})
	w.MaxBatch = 2000
	waitFor(b, w, last, 10*time.Minute)
	b.StopTimer()
	stop()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "fixes/s")
}

func openBenchLog(b *testing.B) *streams.Log {
	lg, err := streams.OpenLog(context.Background(), streams.LogConfig{Dir: b.TempDir(), Sync: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(lg.Close)
	return lg
}

// dayConfig is the engine's configuration as commandd runs it with --pg: closed
// incidents leave the engine an hour after they close (the store keeps them).
var dayConfig = dispatch.Config{RetireClosed: time.Hour}

// A simulated day: 100 units (a fix each every 5 s), about 3,500 calls, camera
// events, assignments walked through, in the log and written to the store.
var day struct {
	once  sync.Once
	store *Store
	log   *streams.Log
	last  uint64
	fixes int
	start time.Time
	err   error
}

func simulatedDay(b *testing.B) {
	db := pgtest.Shared(b) // before once: it may skip
	day.once.Do(func() {
		ctx := context.Background()
		day.start = time.Date(2026, 11, 29, 16, 0, 0, 0, time.UTC) // midnight in Xiamen
		if day.store, day.err = Open(ctx, db); day.err != nil {
			return
		}
		dir, err := os.MkdirTemp("", "commandd-bench-day-")
		if err != nil {
			day.err = err
			return
		}
		if day.log, day.err = streams.OpenLog(ctx, streams.LogConfig{Dir: dir, Sync: time.Second}); day.err != nil {
			return
		}
		tr := fixtures.NewTraffic(7, day.start, 100)
		feed := func(msgs [][]dispatch.Event) {
			for _, events := range msgs {
				if day.err != nil {
					return
				}
				for _, ev := range events {
					if _, ok := ev.(*dispatch.Fix); ok {
						day.fixes++
					}
				}
				day.last, day.err = day.log.Append(ctx, "", events...)
			}
		}
		genStart := time.Now()
		feed(tr.Start())
		for range 24 * 3600 {
			feed(tr.Second())
		}
		logged := time.Since(genStart)
		w := &Writer{Store: day.store, Log: day.log, Config: dayConfig, Logger: zerolog.Nop()}
		wctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		writeStart := time.Now()
		go func() { w.Run(wctx); close(done) }()
		for w.Position() < day.last {
			time.Sleep(50 * time.Millisecond)
		}
		written := time.Since(writeStart)
		cancel()
		<-done
		b.Logf("simulated day: %d messages, %d fixes; logged in %s, written to PostgreSQL in %s (%.0f fixes/s)",
			day.last, day.fixes, logged.Round(time.Millisecond), written.Round(time.Millisecond), float64(day.fixes)/written.Seconds())
	})
	if day.err != nil {
		b.Fatal(day.err)
	}
}

// BenchmarkReplayDay: a whole simulated day played into a fresh engine, as fast as
// a replay can go, from the store's archive.
func BenchmarkReplayDay(b *testing.B) {
	simulatedDay(b)
	ctx := context.Background()
	arch := day.store.Archive(day.log)
	b.ResetTimer()
	for b.Loop() {
		eng := dispatch.New(dayConfig)
		err := arch.Messages(ctx, 0, func(m streams.Message) error {
			events, err := streams.DecodeEvents(m.Body)
			if err != nil {
				return err
			}
			for _, ev := range events {
				eng.Apply(ev)
			}
			if m.Seq == day.last {
				return errDone
			}
			return nil
		})
		if err != errDone {
			b.Fatal(err)
		}
	}
	b.ReportMetric(24*3600/(b.Elapsed().Seconds()/float64(b.N)), "x_realtime")
}

// BenchmarkSeekDay: the engine as it was at a random moment of the simulated day:
// the saved state before it, restored, and the messages up to it applied — what a
// replay does on a seek before it sends the snapshot.
func BenchmarkSeekDay(b *testing.B) {
	simulatedDay(b)
	ctx := context.Background()
	arch := day.store.Archive(day.log)
	rng := rand.New(rand.NewPCG(1, 2))
	b.ResetTimer()
	for b.Loop() {
		target := day.start.Add(time.Duration(rng.Int64N(int64(24 * time.Hour))))
		if _, err := engineAt(ctx, arch, dayConfig, target); err != nil {
			b.Fatal(err)
		}
	}
}
