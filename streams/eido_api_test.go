package streams

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// TestEIDOHTTP: an incident goes out as an EIDO document and comes back in as its
// calls (the engine merges them into the incident they came from); posting it again
// answers the same; a document the server cannot take (the NENA sample: a civic
// address only; a call too old to be an alert) is a 400 naming the element and changes
// nothing.
func TestEIDOHTTP(t *testing.T) {
	s := newTestServer(t, 0)
	now := time.Now().UTC()
	alert := fmt.Sprintf(`{"id":"110-E-1","t":%d,"lat":24.4950,"lng":118.1150,"category":"criminal","priority":1,"caller":"13800000000","text":"抢劫 robbery","address":"湖里区 嘉禾路"}`, now.UnixMilli())
	inc := s.must(201, "POST", "/api/v1/alerts", tokIngest, alert)["incident"].(string)
	s.must(201, "POST", "/api/v1/incidents/"+inc+"/notes", tokOperator, `{"text":"嫌疑人向北逃离"}`)

	doc := s.raw("GET", "/api/v1/incidents/"+inc+"/eido", tokSupervisor)
	var head struct {
		ID      string `json:"$id"`
		Version string `json:"eidoVersion"`
		Calls   []any  `json:"callComponent"`
	}
	if err := json.Unmarshal([]byte(doc), &head); err != nil || head.Version != "1.0" || !strings.Contains(head.ID, inc) || len(head.Calls) != 1 {
		t.Fatalf("export %+v %v:\n%s", head, err, doc)
	}
	s.must(404, "GET", "/api/v1/incidents/INC-999999/eido", tokSupervisor, "")

	ans := s.must(201, "POST", "/api/v1/eido", tokOperator, doc)
	got := ans["alerts"].([]any)
	if len(got) != 1 || got[0].(map[string]any)["incident"] != inc || got[0].(map[string]any)["duplicate"] != true {
		t.Fatalf("import answered %v, want the call merged into %s", ans, inc)
	}
	again := s.must(200, "POST", "/api/v1/eido", tokIngest, doc)
	if fmt.Sprint(again) != fmt.Sprint(ans) {
		t.Errorf("posted again: %v, first %v", again, ans)
	}
	v := s.must(200, "GET", "/api/v1/incidents/"+inc, tokOperator, "")
	if n := len(v["alerts"].([]any)); n != 2 {
		t.Errorf("the incident has %d alerts, want 2", n)
	}

	count := func() int { return len(s.rawList("GET", "/api/v1/incidents", tokOperator)) }
	before := count()
	old := strings.Replace(doc, now.Format("2006-01-02T15:04:05"), now.AddDate(0, 0, -30).Format("2006-01-02T15:04:05"), -1)
	cases := []struct {
		name, body, field string
	}{
		{"a call a month old", old, "callComponent[0].callStartTimestamp"},
		{"not JSON", `{"eidoVersion":`, ""},
		{"no calls", `{"$id":"urn:x","eidoVersion":"1.0","callComponent":[]}`, "callComponent"},
	}
	if sample, err := os.ReadFile("../../shared/data/nena_eido_sample/sample_call_transfer_EIDO.json"); err == nil {
		cases = append(cases, struct{ name, body, field string }{"the NENA sample: a civic address only", string(sample), "callComponent[0].locationReference"})
	} else {
		t.Log("no shared NENA sample: its case is skipped")
	}
	for _, tc := range cases {
		got, m := s.do("POST", "/api/v1/eido", tokIngest, tc.body)
		if got != 400 || errField(m) != tc.field {
			t.Errorf("%s: %d %v, want 400 on %q", tc.name, got, m, tc.field)
		}
	}
	if after := count(); after != before {
		t.Errorf("refused documents opened incidents: %d → %d", before, after)
	}
}
