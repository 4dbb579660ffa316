package geo

import "math"

// GCJ-02 is the coordinate system that Chinese law requires of published maps: WGS-84
// pushed through a deliberately irregular offset of a few hundred metres, computed on
// the Krasovsky 1940 ellipsoid. District outlines from Chinese map providers use it,
// while GPS receivers report WGS-84, so the two must never be mixed unconverted.
const (
	krasovskyA  = 6378245.0             // semi-major axis, metres
	krasovskyE2 = 0.0066934216229659433 // first eccentricity squared
)

// outsideChina reports whether p lies outside the rough mainland bounding box where the
// offset is applied; providers leave coordinates elsewhere (and at sea far offshore)
// untouched, so converting them would introduce an error instead of removing one.
func outsideChina(p Point) bool {
	return p.Lng < 72.004 || p.Lng > 137.8347 || p.Lat < 0.8293 || p.Lat > 55.8271
}

// ToGCJ02 converts a WGS-84 point to GCJ-02. Points outside mainland China's bounding
// box are returned unchanged.
func ToGCJ02(p Point) Point {
	if outsideChina(p) {
		return p
	}
	dLat, dLng := gcjOffset(p)
	return Point{Lat: p.Lat + dLat, Lng: p.Lng + dLng}
}

// ToWGS84 converts a GCJ-02 point back to WGS-84. Points outside mainland China's
// bounding box are returned unchanged. The round trip ToWGS84(ToGCJ02(p)) is within a
// millimetre of p.
func ToWGS84(g Point) Point {
	if outsideChina(g) {
		return g
	}
	// The offset has no closed-form inverse, but its slope is only a few metres per
	// kilometre, so w -> w - (ToGCJ02(w) - g) is a strong contraction: each step gains
	// two to three decimal digits and a handful of steps reach the tolerance.
	const (
		tol     = 1e-9
		maxIter = 30
	)
	w := g
	for range maxIter {
		f := ToGCJ02(w)
		next := Point{Lat: w.Lat - (f.Lat - g.Lat), Lng: w.Lng - (f.Lng - g.Lng)}
		done := math.Abs(next.Lat-w.Lat) < tol && math.Abs(next.Lng-w.Lng) < tol
		w = next
		if done {
			break
		}
	}
	return w
}

// gcjOffset is the GCJ-02 shift at WGS-84 point p in degrees: a sum of sinusoids in
// metres relative to (35 N, 105 E), scaled to degrees on the Krasovsky ellipsoid.
func gcjOffset(p Point) (dLat, dLng float64) {
	x, y := p.Lng-105, p.Lat-35
	// Shared high-frequency term of both axes.
	wave := (20*math.Sin(6*math.Pi*x) + 20*math.Sin(2*math.Pi*x)) * 2 / 3

	mLat := -100 + 2*x + 3*y + 0.2*y*y + 0.1*x*y + 0.2*math.Sqrt(math.Abs(x)) + wave
	mLat += (20*math.Sin(math.Pi*y) + 40*math.Sin(math.Pi*y/3)) * 2 / 3
	mLat += (160*math.Sin(math.Pi*y/12) + 320*math.Sin(math.Pi*y/30)) * 2 / 3

	mLng := 300 + x + 2*y + 0.1*x*x + 0.1*x*y + 0.1*math.Sqrt(math.Abs(x)) + wave
	mLng += (20*math.Sin(math.Pi*x) + 40*math.Sin(math.Pi*x/3)) * 2 / 3
	mLng += (150*math.Sin(math.Pi*x/12) + 300*math.Sin(math.Pi*x/30)) * 2 / 3

	phi := p.Lat * math.Pi / 180
	s := math.Sin(phi)
	w := 1 - krasovskyE2*s*s
	// Metres per radian along the meridian (M) and the parallel (N cos phi).
	meridian := krasovskyA * (1 - krasovskyE2) / (w * math.Sqrt(w))
	parallel := krasovskyA / math.Sqrt(w) * math.Cos(phi)
	return mLat / meridian * 180 / math.Pi, mLng / parallel * 180 / math.Pi
}
