package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"commandd/streams"
)

// TestDistrictGenerateCheck: the sample district generated to a file checks clean
// and decodes to the sample's grids and zones; stdout gets the same bytes.
func TestDistrictGenerateCheck(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "huli.json")
	var stdout, stderr bytes.Buffer
	if err := runDistrict([]string{"generate", "-o", path}, &stdout, &stderr); err != nil {
		t.Fatalf("generate: %v (%s)", err, stderr.String())
	}
	if stdout.Len() != 0 {
		t.Errorf("generate -o wrote to stdout: %.100s", stdout.String())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := runDistrict([]string{"generate"}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(stdout.Bytes(), b) {
		t.Error("generate to stdout and to a file differ")
	}
	if cfg, e := streams.DecodeDistrict(b); e != nil || len(cfg.Grids) != 300 {
		t.Fatalf("decode: %v, %d grids", e, len(cfg.Grids))
	}

	stdout.Reset()
	if err := runDistrict([]string{"check", path}, &stdout, &stderr); err != nil {
		t.Fatalf("check: %v", err)
	}
	out := stdout.String()
	t.Logf("check:\n%s", out)
	for _, want := range []string{"ok", "湖里区", "Asia/Shanghai", "grids: 300", "key sites 70", "先期到场", "default"} {
		if !strings.Contains(out, want) {
			t.Errorf("check output lacks %q", want)
		}
	}
}

func TestDistrictCommandErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	unclosed := write("unclosed.json", `{"crs":"wgs84","boundary":{"type":"Polygon","coordinates":[[[118.10,24.49],[118.12,24.49],[118.12,24.51],[118.10,24.51]]]},
		"plans":[{"tiers":[{"deadline_s":60}]}]}`)
	noPlan := write("noplan.json", `{"crs":"wgs84","boundary":{"type":"Polygon","coordinates":[[[118.10,24.49],[118.12,24.49],[118.12,24.51],[118.10,24.51],[118.10,24.49]]]}}`)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no command", nil, "usage:"},
		{"unknown command", []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"check without a file", []string{"check"}, "usage:"},
		{"check a missing file", []string{"check", filepath.Join(dir, "none.json")}, "no such file"},
		{"check an unclosed boundary", []string{"check", unclosed}, unclosed + ": boundary: polygon not closed"},
		{"check without a default plan", []string{"check", noPlan}, noPlan + ": plans: no default plan"},
		{"generate with an argument", []string{"generate", "x"}, `unexpected "x"`},
		{"generate into a missing directory", []string{"generate", "-o", filepath.Join(dir, "no", "such", "f.json")}, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := runDistrict(tt.args, &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error with %q", err, tt.want)
			}
		})
	}
}
