package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"testing"
	"time"
)

// BenchmarkIngestFixes: GPS fixes accepted per second over HTTP NDJSON by the real
// binary on loopback (decode, validate, H3 cells, one JetStream message per batch,
// acknowledged once stored), 10,000 units, batches of 5,000 fixes from 4 senders; and
// how fast the engine then applies them (the log drained to the last batch).
func BenchmarkIngestFixes(b *testing.B) {
	const units, batch, senders = 10_000, 5_000, 4
	s := start(b, b.TempDir(), "--log-sync", "1s", "--rate", "1000000", "--log-level", "info")
	var wg sync.WaitGroup
	ids := make(chan int)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range ids {
				s.must(200, "PUT", fmt.Sprintf("/api/v1/units/U%05d", i), tokOperator, `{"force":"patrol","mode":"foot"}`)
			}
		}()
	}
	for i := range units {
		ids <- i
	}
	close(ids)
	wg.Wait()
	r := rand.New(rand.NewPCG(1, 1))
	bodies := make([][]byte, 16)
	for n := range bodies {
		var buf bytes.Buffer
		for range batch {
			fmt.Fprintf(&buf, `{"unit":"U%05d","lat":%.6f,"lng":%.6f,"speed":%.1f,"heading":%.0f}`+"\n",
				r.IntN(units), 24.45+r.Float64()*0.13, 118.05+r.Float64()*0.17, r.Float64()*15, r.Float64()*359)
		}
		bodies[n] = buf.Bytes()
	}
	post := func(body []byte) {
		req, _ := http.NewRequest("POST", s.base+"/api/v1/fixes", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tokIngest)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 202 {
			b.Fatalf("post fixes: %v %v", err, resp)
		}
		resp.Body.Close()
	}
	b.ResetTimer()
	start := time.Now()
	work := make(chan int)
	var sw sync.WaitGroup
	for range senders {
		sw.Add(1)
		go func() {
			defer sw.Done()
			for n := range work {
				post(bodies[n%len(bodies)])
			}
		}()
	}
	for n := 0; n < b.N; n++ {
		work <- n
	}
	close(work)
	sw.Wait()
	accepted := time.Since(start)
	// The engine has applied everything once a command sent now gets its answer.
	s.must(200, "POST", "/api/v1/units/U00000/status", tokOperator, `{"status":"available"}`)
	applied := time.Since(start)
	b.StopTimer()
	fixes := float64(b.N * batch)
	b.ReportMetric(fixes/accepted.Seconds(), "accepted-fixes/s")
	b.ReportMetric(fixes/applied.Seconds(), "applied-fixes/s")
	b.ReportMetric(0, "ns/op")
}
