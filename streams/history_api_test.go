package streams

import (
	"net/url"
	"testing"
	"time"
)

// TestHistoryQueryLocation: history days begin at the district's midnight
// (Server.Location, from --tz) unless the query names a zone; without one, UTC.
func TestHistoryQueryLocation(t *testing.T) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		district *time.Location
		query    string
		want     string
	}{
		{nil, "", "UTC"},
		{shanghai, "", "Asia/Shanghai"},
		{shanghai, "tz=UTC", "UTC"},
		{nil, "tz=Asia/Shanghai", "Asia/Shanghai"},
		{time.UTC, "tz=Europe/Vienna", "Europe/Vienna"},
	} {
		v, _ := url.ParseQuery(tc.query)
		q, e := parseHistoryQuery(v, now, tc.district)
		if e != nil {
			t.Fatalf("%q: %v", tc.query, e)
		}
		if q.Location.String() != tc.want {
			t.Errorf("district %v, %q: days in %v, want %s", tc.district, tc.query, q.Location, tc.want)
		}
	}
}
