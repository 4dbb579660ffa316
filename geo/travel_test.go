package geo

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"
)

var _ TravelModel = (*SpeedModel)(nil)

var allModes = []Mode{Foot, Bike, Motorbike, Car}

var testTime = time.Date(2025, 3, 14, 8, 30, 0, 0, time.UTC)

func mustPlace(t testing.TB, p Point) Place {
	t.Helper()
	pl, err := PlaceOf(p)
	if err != nil {
		t.Fatal(err)
	}
	return pl
}

// placeAt is the place d metres from p on the compass bearing deg.
func placeAt(t testing.TB, p Point, deg, d float64) Place {
	t.Helper()
	return mustPlace(t, destination(p, deg*math.Pi/180, d))
}

func TestSpeedModelRanksByTime(t *testing.T) {
	m := DefaultSpeedModel()
	scene := mustPlace(t, testCenter)
	tests := []struct {
		name         string
		modeA        Mode
		distA        float64
		modeB        Mode
		distB        float64
		wantAFirst   bool
		approxSecsA  float64 // 0: don't check
		approxSecsB  float64
		approxMargin float64
	}{
		{"car 1 km beats walker 300 m", Car, 1000, Foot, 300, true, 15 + 1350/(30/3.6), 5 + 405/(5/3.6), 1},
		{"walker 50 m beats car 500 m", Foot, 50, Car, 500, true, 0, 0, 0},
		{"car 2 km beats bike 1 km", Car, 2000, Bike, 1000, true, 0, 0, 0},
		{"bike 100 m beats car 400 m", Bike, 100, Car, 400, true, 0, 0, 0},
		{"motorbike loses to car at equal distance", Motorbike, 1500, Car, 1500, false, 0, 0, 0},
		{"same mode: nearer first", Car, 800, Car, 801, true, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bearing := 37.0
			a := m.Seconds(tt.modeA, placeAt(t, testCenter, bearing, tt.distA), scene, testTime)
			b := m.Seconds(tt.modeB, placeAt(t, testCenter, bearing+120, tt.distB), scene, testTime)
			if (a < b) != tt.wantAFirst {
				t.Errorf("%s %.0f m: %.1f s; %s %.0f m: %.1f s; want A first %v", tt.modeA, tt.distA, a, tt.modeB, tt.distB, b, tt.wantAFirst)
			}
			if tt.approxMargin > 0 {
				if math.Abs(a-tt.approxSecsA) > tt.approxMargin || math.Abs(b-tt.approxSecsB) > tt.approxMargin {
					t.Errorf("times %.2f s, %.2f s; want about %.2f s, %.2f s", a, b, tt.approxSecsA, tt.approxSecsB)
				}
			}
		})
	}
}

func TestSpeedModelMonotoneAndTurnout(t *testing.T) {
	m := DefaultSpeedModel()
	r := rand.New(rand.NewPCG(21, 22))
	for _, mode := range allModes {
		for range 20 {
			scene := mustPlace(t, xiamenPoint(r))
			bearing := r.Float64() * 360
			if got := m.Seconds(mode, scene, scene, testTime); got != m.Turnout[mode] {
				t.Fatalf("%s: zero distance takes %v s, want the turnout %v s", mode, got, m.Turnout[mode])
			}
			prev := m.Turnout[mode]
			for d := 25.0; d <= 6000; d += 25 {
				from := placeAt(t, scene.Point, bearing, d)
				s := m.Seconds(mode, from, scene, testTime)
				if s <= prev {
					t.Fatalf("%s: %.0f m takes %.3f s, not more than %.3f s for less", mode, d, s, prev)
				}
				prev = s
				want := m.Turnout[mode] + FastDistance(from.Point, scene.Point)*m.Detour/m.Speed[mode]
				if math.Abs(s-want) > 1e-9*want {
					t.Fatalf("%s: %.0f m takes %v s, want %v", mode, d, s, want)
				}
			}
		}
	}
	// Turnout is added as is.
	from, to := placeAt(t, testCenter, 10, 700), mustPlace(t, testCenter)
	base := m.Seconds(Car, from, to, testTime)
	m2 := DefaultSpeedModel()
	m2.Turnout[Car] += 42
	if got := m2.Seconds(Car, from, to, testTime); math.Abs(got-base-42) > 1e-9 {
		t.Errorf("42 s more turnout gives %v s, want %v", got, base+42)
	}
}

func TestSpeedModelCellFactor(t *testing.T) {
	from := placeAt(t, testCenter, 200, 1200)
	to := mustPlace(t, testCenter)
	elsewhere := placeAt(t, testCenter, 20, 5000).Cell
	base := DefaultSpeedModel()
	move := func(m *SpeedModel) float64 { return m.Seconds(Car, from, to, testTime) - m.Turnout[Car] }
	tests := []struct {
		name    string
		factors map[Cell]float64
		scale   float64 // moving time over the plain model's
	}{
		{"nil map", nil, 1},
		{"other cells only", map[Cell]float64{elsewhere: 0.2}, 1},
		{"congested scene", map[Cell]float64{to.Cell: 0.5}, 1 / 0.75},
		{"congested start", map[Cell]float64{from.Cell: 0.5}, 1 / 0.75},
		{"both congested", map[Cell]float64{from.Cell: 0.5, to.Cell: 0.5}, 2},
		{"fast road", map[Cell]float64{from.Cell: 1.5, to.Cell: 1.5}, 1 / 1.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := DefaultSpeedModel()
			m.SetCellFactors(tt.factors)
			got, want := move(m), move(base)*tt.scale
			if math.Abs(got-want) > 1e-9*want {
				t.Errorf("moving time %v s, want %v s", got, want)
			}
			if m.Seconds(Car, to, to, testTime) != m.Turnout[Car] {
				t.Error("a factor must not change the turnout")
			}
		})
	}
}

// TestSpeedModelBound checks that SecondsPerMeterBound is a lower bound on the time per
// metre for every mode, and ModeSecondsPerMeterBound for its mode, with and without
// cell factors.
func TestSpeedModelBound(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	var cells []Cell
	for range 400 {
		cells = append(cells, mustCell(t, xiamenPoint(r)))
	}
	congested := map[Cell]float64{}
	mixed := map[Cell]float64{}
	for i, c := range cells {
		congested[c] = 0.2 + 0.8*r.Float64()
		if i%2 == 0 {
			mixed[c] = 0.3 + 1.5*r.Float64()
		}
	}
	noTurnout := DefaultSpeedModel()
	noTurnout.Turnout = [numModes]float64{}
	models := []struct {
		name    string
		factors map[Cell]float64
		m       *SpeedModel
	}{
		{"default", nil, DefaultSpeedModel()},
		{"congested", congested, DefaultSpeedModel()},
		{"mixed", mixed, DefaultSpeedModel()},
		{"no turnout", mixed, noTurnout},
	}
	for _, tt := range models {
		t.Run(tt.name, func(t *testing.T) {
			if tt.factors != nil {
				tt.m.SetCellFactors(tt.factors)
			}
			spm := tt.m.SecondsPerMeterBound()
			if spm <= 0 {
				t.Fatalf("bound %v must be positive", spm)
			}
			for range 3000 {
				a := xiamenPoint(r)
				var b Point
				if r.IntN(2) == 0 {
					b = xiamenPoint(r)
				} else {
					b = destination(a, r.Float64()*2*math.Pi, r.Float64()*800)
				}
				pa, pb := mustPlace(t, a), mustPlace(t, b)
				if r.IntN(3) == 0 { // make sure factored cells show up
					pa.Cell = cells[r.IntN(len(cells))]
					pb.Cell = cells[r.IntN(len(cells))]
				}
				for _, mode := range allModes {
					s := tt.m.Seconds(mode, pa, pb, testTime)
					if lb := FastDistance(a, b) * spm; s < lb {
						t.Fatalf("%s %v→%v: %v s below the bound %v s", mode, a, b, s, lb)
					}
					if lb := FastDistance(a, b) * tt.m.ModeSecondsPerMeterBound(mode); s < lb {
						t.Fatalf("%s %v→%v: %v s below the mode's bound %v s", mode, a, b, s, lb)
					}
				}
			}
		})
	}
	// Faster cells lower the bound; slower ones leave it.
	m := DefaultSpeedModel()
	plain := m.SecondsPerMeterBound()
	m.SetCellFactors(map[Cell]float64{cells[0]: 0.5})
	if m.SecondsPerMeterBound() != plain {
		t.Error("slow cells must not change the bound")
	}
	m.SetCellFactors(map[Cell]float64{cells[0]: 2})
	if got := m.SecondsPerMeterBound(); math.Abs(got-plain/2) > 1e-15 {
		t.Errorf("bound with a 2× cell = %v, want %v", got, plain/2)
	}
	m.SetCellFactors(nil)
	if m.SecondsPerMeterBound() != plain {
		t.Error("clearing the factors must restore the bound")
	}
}

func TestModeText(t *testing.T) {
	tests := []struct {
		mode Mode
		name string
	}{
		{Foot, "foot"}, {Bike, "bike"}, {Motorbike, "motorbike"}, {Car, "car"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.mode.String() != tt.name {
				t.Errorf("String = %q, want %q", tt.mode.String(), tt.name)
			}
			got, err := ParseMode(tt.name)
			if err != nil || got != tt.mode {
				t.Errorf("ParseMode(%q) = %v, %v", tt.name, got, err)
			}
			text, err := tt.mode.MarshalText()
			if err != nil || string(text) != tt.name {
				t.Errorf("MarshalText = %q, %v", text, err)
			}
			var back Mode
			if err := back.UnmarshalText(text); err != nil || back != tt.mode {
				t.Errorf("UnmarshalText(%q) = %v, %v", text, back, err)
			}
			type wrap struct {
				M  Mode          `json:"m"`
				MS []Mode        `json:"ms"`
				MM map[Mode]bool `json:"mm"`
			}
			in := wrap{M: tt.mode, MS: []Mode{tt.mode, Car}, MM: map[Mode]bool{tt.mode: true}}
			b, err := json.Marshal(in)
			if err != nil {
				t.Fatal(err)
			}
			var out wrap
			if err := json.Unmarshal(b, &out); err != nil {
				t.Fatalf("unmarshal %s: %v", b, err)
			}
			if out.M != in.M || len(out.MS) != 2 || out.MS[0] != tt.mode || !out.MM[tt.mode] {
				t.Errorf("JSON round trip %s gave %+v", b, out)
			}
		})
	}
}

func TestModeErrors(t *testing.T) {
	for _, s := range []string{"", "Car", "CAR", " car", "car ", "truck", "walk", "mode(4)", "3"} {
		if m, err := ParseMode(s); err == nil {
			t.Errorf("ParseMode(%q) = %v, want an error", s, m)
		}
		var m Mode
		if err := m.UnmarshalText([]byte(s)); err == nil {
			t.Errorf("UnmarshalText(%q) accepted", s)
		}
	}
	var m Mode
	if err := json.Unmarshal([]byte(`"helicopter"`), &m); err == nil {
		t.Error("JSON with an unknown mode accepted")
	}
	for _, bad := range []Mode{numModes, 9, 255} {
		if want := "mode(" + strconv.Itoa(int(bad)) + ")"; bad.String() != want {
			t.Errorf("String of %d = %q, want %q", uint8(bad), bad.String(), want)
		}
		// An invalid mode must not be written where it can't be read back.
		if text, err := bad.MarshalText(); err == nil {
			t.Errorf("MarshalText(%d) = %q without error", uint8(bad), text)
		}
		if b, err := json.Marshal(struct{ M Mode }{bad}); err == nil {
			t.Errorf("json.Marshal of mode %d gave %s without error", uint8(bad), b)
		}
	}
}

func TestCosLat(t *testing.T) {
	for x := -math.Pi / 2; x <= math.Pi/2; x += 0.001 {
		if got, want := cosLat(x), math.Cos(x); math.Abs(got-want) > 1e-6 {
			t.Fatalf("cosLat(%v) = %v, want %v", x, got, want)
		}
	}
}
