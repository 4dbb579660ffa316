package dispatch

import (
	"bytes"
	"fmt"
	"reflect"
	"testing"
)

// TestDeterministic: the same events always give the same changes.
func TestDeterministic(t *testing.T) {
	evs := randomStream(1, 60, 6000)
	cfg := Config{District: testDistrict()}
	a := applyAll(New(cfg), evs)
	b := applyAll(New(cfg), evs)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two runs of the same events differ")
	}
	kinds := map[ChangeKind]int{}
	for _, cs := range a {
		for _, c := range cs {
			kinds[c.Kind]++
		}
	}
	// The stream must exercise the engine, or this test proves nothing.
	for _, k := range []ChangeKind{UnitChanged, IncidentOpened, Assigned, Released, Arrived, TierChanged, CameraEvent, CoverageChanged, Rejected} {
		if kinds[k] == 0 {
			t.Errorf("stream produced no %s change", k)
		}
	}
	t.Logf("changes by kind: %v", kinds)
}

// TestSnapshotRestore: restoring a snapshot taken after event k and applying events
// k+1…n gives exactly the changes of the straight run, for many k on long streams.
func TestSnapshotRestore(t *testing.T) {
	for _, tc := range []struct {
		seed      uint64
		units, n  int
		recommend bool
	}{
		{2, 40, 5000, false},
		{3, 200, 8000, false},
		{4, 60, 5000, true},
	} {
		t.Run(fmt.Sprintf("seed%d", tc.seed), func(t *testing.T) {
			cfg := Config{District: testDistrict(), Recommend: tc.recommend}
			evs := randomStream(tc.seed, tc.units, tc.n)
			ref := New(cfg)
			straight := applyAll(ref, evs)
			final, _ := ref.Snapshot()
			for _, k := range []int{0, 1, tc.n / 3, tc.n - 500, tc.n - 1} {
				e := New(cfg)
				applyAll(e, evs[:k])
				snap, err := e.Snapshot()
				if err != nil {
					t.Fatal(err)
				}
				r, err := Restore(cfg, snap)
				if err != nil {
					t.Fatal(err)
				}
				again, err := r.Snapshot()
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(snap, again) {
					t.Fatalf("k=%d: snapshot of the restored engine differs from the snapshot", k)
				}
				tail := applyAll(r, evs[k:])
				for n := range tail {
					if !reflect.DeepEqual(tail[n], straight[k+n]) {
						t.Fatalf("k=%d: event %d (%s) gives\n%+v\nafter restore, straight run gave\n%+v",
							k, k+n, evs[k+n].Kind(), tail[n], straight[k+n])
					}
				}
				if s, _ := r.Snapshot(); !bytes.Equal(s, final) {
					t.Fatalf("k=%d: final state differs from the straight run's", k)
				}
			}
		})
	}
}

func TestRestoreRejectsGarbage(t *testing.T) {
	if _, err := Restore(Config{}, []byte("{")); err == nil {
		t.Error("truncated snapshot restored")
	}
	if _, err := Restore(Config{}, []byte(`{"version":99}`)); err == nil {
		t.Error("future snapshot version restored")
	}
}
