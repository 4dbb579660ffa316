package geo

import (
	"bufio"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestGCJ02RoundTrip(t *testing.T) {
	tests := []struct {
		name string
		p    Point
	}{
		{"Xiamen Gaoqi airport", Point{Lat: 24.5440, Lng: 118.1277}},
		{"Xiamen Zhongshan Road", Point{Lat: 24.4550, Lng: 118.0800}},
		{"Xiamen SW corner", Point{Lat: 24.45, Lng: 118.05}},
		{"Xiamen NE corner", Point{Lat: 24.58, Lng: 118.22}},
		{"Xiamen Jimei", Point{Lat: 24.5760, Lng: 118.0970}},
		{"Beijing", Point{Lat: 39.9042, Lng: 116.4074}},
		{"Shanghai", Point{Lat: 31.2304, Lng: 121.4737}},
		{"Urumqi", Point{Lat: 43.8256, Lng: 87.6168}},
		{"Harbin", Point{Lat: 45.8038, Lng: 126.5350}},
		{"Sanya", Point{Lat: 18.2528, Lng: 109.5119}},
		{"Lhasa", Point{Lat: 29.6520, Lng: 91.1721}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := ToGCJ02(tt.p)
			if d := Distance(tt.p, g); d < 50 || d > 1500 {
				t.Errorf("offset %.1f m, want a few hundred metres", d)
			}
			back := ToWGS84(g)
			if d := Distance(tt.p, back); d >= 0.01 {
				t.Errorf("round trip error %.4f m (%v -> %v -> %v)", d, tt.p, g, back)
			}
		})
	}
}

func TestGCJ02RoundTripGrid(t *testing.T) {
	// A dense sweep over Xiamen catches iteration trouble that a few hand-picked
	// points could miss.
	worst := 0.0
	for lat := 24.45; lat <= 24.58; lat += 0.005 {
		for lng := 118.05; lng <= 118.22; lng += 0.005 {
			p := Point{Lat: lat, Lng: lng}
			worst = math.Max(worst, Distance(p, ToWGS84(ToGCJ02(p))))
		}
	}
	if worst >= 0.01 {
		t.Errorf("worst round trip error in Xiamen %.4f m", worst)
	}
}

func TestGCJ02XiamenOffset(t *testing.T) {
	for _, p := range []Point{
		{Lat: 24.45, Lng: 118.05}, {Lat: 24.50, Lng: 118.10}, {Lat: 24.58, Lng: 118.22},
	} {
		g := ToGCJ02(p)
		dLat, dLng := g.Lat-p.Lat, g.Lng-p.Lng
		// GCJ-02 sits south-east of WGS-84 here, so ToWGS84 moves points north-west.
		if math.Abs(dLat-(-0.0027)) > 0.0003 || math.Abs(dLng-0.0050) > 0.0003 {
			t.Errorf("%v: GCJ-WGS = (%.5f, %.5f), want about (-0.0027, +0.0050)", p, dLat, dLng)
		}
		if d := Distance(p, g); d < 500 || d > 600 {
			t.Errorf("%v: offset %.1f m, want 500-600 m", p, d)
		}
		w := ToWGS84(p)
		if math.Abs((w.Lat-p.Lat)+dLat) > 1e-4 || math.Abs((w.Lng-p.Lng)+dLng) > 1e-4 {
			t.Errorf("%v: ToWGS84 shift (%.5f, %.5f) is not the reverse of ToGCJ02", p, w.Lat-p.Lat, w.Lng-p.Lng)
		}
	}
}

func TestGCJ02OutsideChina(t *testing.T) {
	for _, p := range []Point{
		{Lat: 51.5074, Lng: -0.1278},   // London
		{Lat: 40.7128, Lng: -74.0060},  // New York
		{Lat: 35.6762, Lng: 139.6503},  // Tokyo, east of the box
		{Lat: -33.8688, Lng: 151.2093}, // Sydney
		{Lat: 0.5, Lng: 110},           // south of the box
		{Lat: 60, Lng: 100},            // north of the box
		{Lat: 40, Lng: 70},             // west of the box
	} {
		if g := ToGCJ02(p); g != p {
			t.Errorf("ToGCJ02(%v) = %v, want unchanged", p, g)
		}
		if w := ToWGS84(p); w != p {
			t.Errorf("ToWGS84(%v) = %v, want unchanged", p, w)
		}
	}
}

// sharedData is the path of a file in the shared data directory next to the repo.
func sharedData(t *testing.T, parts ...string) string {
	t.Helper()
	path := filepath.Join(append([]string{"..", "..", "shared", "data"}, parts...)...)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		t.Skipf("%s not present", path)
	}
	return path
}

func readDistrictsFile(t *testing.T, path string) []District {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ds, err := ReadDistricts(f)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func TestXiamenDistrictsWGS84(t *testing.T) {
	path := sharedData(t, "xiamen_geo", "xiamen_350200_districts_datav.geojson")
	ds := readDistrictsFile(t, path)
	if len(ds) != 6 {
		t.Fatalf("got %d districts, want 6", len(ds))
	}
	var union MultiPolygon
	var huli *District
	for i := range ds {
		ds[i].Outline = ds[i].Outline.Map(ToWGS84)
		union = append(union, ds[i].Outline...)
		if ds[i].Code == "350206" {
			huli = &ds[i]
		}
	}
	if huli == nil {
		t.Fatal("Huli (350206) not found")
	}
	if huli.Name != "湖里区" {
		t.Errorf("350206 name = %q, want 湖里区", huli.Name)
	}
	airport := Point{Lat: 24.5440, Lng: 118.1277}
	if !huli.Outline.Contains(airport) {
		t.Error("Huli (WGS-84) does not contain Gaoqi airport")
	}
	for _, d := range ds {
		if d.Code != "350206" && d.Outline.Contains(airport) {
			t.Errorf("%s %s also contains Gaoqi airport", d.Code, d.Name)
		}
	}

	// Real WGS-84 GPS fixes fit the GCJ-02 outlines better once shifted into GCJ-02,
	// which is what confirms the outlines are GCJ-02 and the shift's direction.
	pts := readGPSSample(t, 20000)
	var raw, shifted int
	gcjUnion := MultiPolygon{}
	for _, d := range readDistrictsFile(t, path) {
		gcjUnion = append(gcjUnion, d.Outline...)
	}
	for _, p := range pts {
		if gcjUnion.Contains(p) {
			raw++
		}
		if gcjUnion.Contains(ToGCJ02(p)) {
			shifted++
		}
	}
	rawRate, shiftedRate := float64(raw)/float64(len(pts)), float64(shifted)/float64(len(pts))
	t.Logf("%d GPS points inside districts: %.1f%% as recorded, %.1f%% after WGS-84 -> GCJ-02",
		len(pts), 100*rawRate, 100*shiftedRate)
	if shiftedRate <= rawRate || shiftedRate < 0.99 {
		t.Errorf("inside rate %.3f after shift vs %.3f raw; want higher and >= 0.99", shiftedRate, rawRate)
	}
	// The same holds the other way round: WGS-84 outlines fit the raw points.
	var wgs int
	for _, p := range pts {
		if union.Contains(p) {
			wgs++
		}
	}
	if wgs < shifted-len(pts)/200 {
		t.Errorf("%d points inside WGS-84 outlines, want about %d", wgs, shifted)
	}
}

// readGPSSample reads at most n evenly spread points from the Xiamen vehicle GPS file.
func readGPSSample(t *testing.T, n int) []Point {
	t.Helper()
	path := sharedData(t, "xiamen_vehicle_gps", "xiamen_vehicle_gps_points.csv")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	// About 50 bytes a row; the stride keeps the sample under n without counting rows first.
	stride := max(1, int(st.Size()/50)/n+1)

	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		t.Fatal("empty GPS file")
	}
	col := map[string]int{}
	for i, name := range strings.Split(strings.TrimSpace(sc.Text()), ",") {
		col[name] = i
	}
	latCol, okLat := col["lat"]
	lngCol, okLng := col["lon"]
	if !okLat || !okLng {
		t.Fatalf("GPS header %q lacks lat/lon", sc.Text())
	}
	var pts []Point
	for row := 0; sc.Scan() && len(pts) < n; row++ {
		if row%stride != 0 {
			continue
		}
		fields := strings.Split(sc.Text(), ",")
		if len(fields) <= max(latCol, lngCol) {
			t.Fatalf("short GPS row %q", sc.Text())
		}
		lat, err1 := strconv.ParseFloat(fields[latCol], 64)
		lng, err2 := strconv.ParseFloat(fields[lngCol], 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("bad GPS row %q", sc.Text())
		}
		pts = append(pts, Point{Lat: lat, Lng: lng})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(pts) < 1000 {
		t.Fatalf("only %d GPS points", len(pts))
	}
	return pts
}
