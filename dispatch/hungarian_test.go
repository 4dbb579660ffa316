package dispatch

import (
	"math"
	"math/rand/v2"
	"testing"
)

// bruteMin tries every injective row→column map.
func bruteMin(cost []float64, n, m int) float64 {
	best := math.Inf(1)
	used := make([]bool, m)
	var walk func(r int, sum float64)
	walk = func(r int, sum float64) {
		if r == n {
			best = math.Min(best, sum)
			return
		}
		for c := 0; c < m; c++ {
			if !used[c] {
				used[c] = true
				walk(r+1, sum+cost[r*m+c])
				used[c] = false
			}
		}
	}
	walk(0, 0)
	return best
}

func TestMinCostAssignment(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	var s scratch
	for trial := range 400 {
		n := 1 + r.IntN(5)
		m := n + r.IntN(4)
		cost := make([]float64, n*m)
		for i := range cost {
			switch r.IntN(6) {
			case 0:
				cost[i] = impossible
			case 1:
				cost[i] = float64(r.IntN(3)) // ties
			default:
				cost[i] = r.Float64() * 1000
			}
		}
		rows := s.minCostAssignment(cost, n, m)
		seen := map[int]bool{}
		total := 0.0
		for i, c := range rows {
			if c < 0 || c >= m || seen[c] {
				t.Fatalf("trial %d: row %d got column %d (used twice or out of range): %v", trial, i, c, rows)
			}
			seen[c] = true
			total += cost[i*m+c]
		}
		if want := bruteMin(cost, n, m); math.Abs(total-want) > 1e-6*math.Max(1, want) {
			t.Fatalf("trial %d (%dx%d): total %v, optimum %v", trial, n, m, total, want)
		}
	}
}

// TestAssignmentTable: small hand-made problems with the answer spelled out.
func TestAssignmentTable(t *testing.T) {
	for _, tc := range []struct {
		name string
		n, m int
		cost []float64
		want []int
	}{
		{"diagonal", 2, 2, []float64{1, 9, 9, 1}, []int{0, 1}},
		{"crossed", 2, 2, []float64{9, 1, 1, 9}, []int{1, 0}},
		{"greedy loses", 2, 3, []float64{1, 2, 100, 2, 100, 100}, []int{1, 0}},
		{"one row many columns", 1, 4, []float64{5, 3, 3, 4}, []int{1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s scratch
			got := s.minCostAssignment(tc.cost, tc.n, tc.m)
			for i := range tc.want {
				if got[i] != tc.want[i] {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
		})
	}
}
