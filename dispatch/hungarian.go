package dispatch

import "math"

// minCostAssignment solves the rectangular assignment problem: given an n×m cost matrix
// (n ≤ m, row-major), it returns for every row the column assigned to it so that the
// total cost is minimal and no column is used twice. It is the shortest augmenting path
// method with potentials, O(n²·m); ties resolve to the lowest column, so the answer is
// deterministic. Scratch space comes from s.
func (s *scratch) minCostAssignment(cost []float64, n, m int) []int {
	u := grow(&s.hu, n+1)
	v := grow(&s.hv, m+1)
	p := grow(&s.hp, m+1) // p[j]: row (1-based) holding column j; 0 free
	way := grow(&s.hway, m+1)
	minv := grow(&s.hminv, m+1)
	used := grow(&s.hused, m+1)
	for i := range u {
		u[i] = 0
	}
	for j := 0; j <= m; j++ {
		v[j], p[j], way[j] = 0, 0, 0
	}
	for i := 1; i <= n; i++ {
		p[0] = i
		j0 := 0
		for j := 0; j <= m; j++ {
			minv[j] = math.Inf(1)
			used[j] = false
		}
		for {
			used[j0] = true
			i0 := p[j0]
			delta, j1 := math.Inf(1), 0
			for j := 1; j <= m; j++ {
				if used[j] {
					continue
				}
				cur := cost[(i0-1)*m+(j-1)] - u[i0] - v[j]
				if cur < minv[j] {
					minv[j], way[j] = cur, j0
				}
				if minv[j] < delta {
					delta, j1 = minv[j], j
				}
			}
			for j := 0; j <= m; j++ {
				if used[j] {
					u[p[j]] += delta
					v[j] -= delta
				} else {
					minv[j] -= delta
				}
			}
			j0 = j1
			if p[j0] == 0 {
				break
			}
		}
		for j0 != 0 {
			j1 := way[j0]
			p[j0] = p[j1]
			j0 = j1
		}
	}
	rows := grow(&s.hrow, n)
	for j := 1; j <= m; j++ {
		if p[j] != 0 {
			rows[p[j]-1] = j - 1
		}
	}
	return rows
}

// grow returns *b resized to n, reusing its storage and keeping its contents. Like
// append it doubles the capacity, so growing by one at a time costs O(1) amortized.
func grow[T any](b *[]T, n int) []T {
	if cap(*b) < n {
		nb := make([]T, n, max(n, 2*cap(*b)))
		copy(nb, *b)
		*b = nb
	}
	*b = (*b)[:n]
	return *b
}
