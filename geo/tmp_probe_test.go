package geo

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestTmpProbe(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	x := NewIndex()
	worst := map[int]float64{}
	for range 30 {
		p := xiamenPoint(r)
		c := mustCell(t, p)
		s := x.Spacing(c)
		from := append([]Point{p, Center(c)}, cellOutline(t, c)...)
		for k := 2; k <= 40; k += 2 {
			b := RingDistanceBound(s, k)
			m := math.Inf(1)
			for _, cell := range x.Ring(c, k) {
				if Distance(Center(c), Center(cell)) > b+3*s { continue }
				for _, q := range cellOutline(t, cell) {
					for _, a := range from {
						m = math.Min(m, Distance(a, q))
					}
				}
			}
			if w, ok := worst[k]; !ok || m/b < w { worst[k] = m / b }
		}
	}
	for k := 2; k <= 40; k += 2 { t.Logf("k=%d slack %.4f", k, worst[k]) }
}
