package eido

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

// sampleDir holds the shared NENA sample and the public EIDO OpenAPI schema.
var sampleDir = filepath.Join("..", "..", "..", "shared", "data", "nena_eido_sample")

// readShared reads a file of the shared sample, or skips the test when it is absent.
func readShared(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(sampleDir, name))
	if os.IsNotExist(err) {
		t.Skipf("%s is absent: %v", name, err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// eidoSchema compiles the EIDO document schema of eido_openapi.yaml: its
// components.schemas become the $defs of one JSON Schema (2020-12) whose root is a
// $ref to EmergencyIncidentDataObjectType, with the refs rewritten to match. Two
// defects of the published file are mended, and logged: a minItems written as the
// string "1," becomes the integer 1, and the one ref to a file outside it
// (NIEMComponents/nc.yaml, the NIEM person type) becomes the schema that accepts
// anything. Formats (date-time, uri) are asserted.
func eidoSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	raw := readShared(t, "eido_openapi.yaml")
	var api map[string]any
	if err := yaml.Unmarshal(raw, &api); err != nil {
		t.Fatalf("eido_openapi.yaml: %v", err)
	}
	comps, _ := api["components"].(map[string]any)
	schemas, _ := comps["schemas"].(map[string]any)
	if _, ok := schemas["EmergencyIncidentDataObjectType"]; !ok {
		t.Fatal("eido_openapi.yaml has no components.schemas.EmergencyIncidentDataObjectType")
	}
	var mend func(v any) any
	mend = func(v any) any {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				switch s, isStr := e.(string); {
				case k == "$ref" && isStr && strings.HasPrefix(s, "#/components/schemas/"):
					v[k] = "#/$defs/" + strings.TrimPrefix(s, "#/components/schemas/")
				case k == "$ref" && isStr:
					t.Logf("schema: external $ref %q replaced by {} (the file is not part of the sample)", s)
					delete(v, k)
				case (k == "minItems" || k == "maxItems") && isStr:
					n, err := strconv.Atoi(strings.TrimRight(s, ", "))
					if err != nil {
						t.Fatalf("schema: %s %q", k, s)
					}
					t.Logf("schema: %s %q read as %d", k, s, n)
					v[k] = n
				default:
					v[k] = mend(e)
				}
			}
		case []any:
			for i, e := range v {
				v[i] = mend(e)
			}
		}
		return v
	}
	root := map[string]any{
		"$schema": "https://json-schema.org/draft/2020-12/schema",
		"$ref":    "#/$defs/EmergencyIncidentDataObjectType",
		"$defs":   mend(schemas),
	}
	js, err := json.Marshal(root)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(js))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	const url = "urn:commandd:eido-openapi-schema.json"
	if err := c.AddResource(url, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(url)
	if err != nil {
		t.Fatalf("compile the EIDO schema: %v", err)
	}
	return sch
}

func validate(t *testing.T, sch *jsonschema.Schema, b []byte) error {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return sch.Validate(v)
}

func TestExportValidatesAgainstSchema(t *testing.T) {
	sch := eidoSchema(t)
	for _, tc := range exportCases() {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Export(tc.v, testIssuer)
			if err != nil {
				t.Fatal(err)
			}
			if err := validate(t, sch, b); err != nil {
				t.Fatalf("the export does not validate: %v\n%s", err, b)
			}
		})
	}
}

// TestSchemaHasTeeth checks that the compiled schema rejects documents that break it,
// so that a pass above means something; and that the NENA sample itself passes.
func TestSchemaHasTeeth(t *testing.T) {
	sch := eidoSchema(t)
	if err := validate(t, sch, readShared(t, "sample_call_transfer_EIDO.json")); err != nil {
		t.Errorf("the NENA sample does not validate: %v", err)
	}
	good, err := Export(exportCases()[0].v, testIssuer)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		mutate func(m map[string]any)
	}{
		{"no eidoVersion", func(m map[string]any) { delete(m, "eidoVersion") }},
		{"eidoVersion 2.0", func(m map[string]any) { m["eidoVersion"] = "2.0" }},
		{"no agencyComponent", func(m map[string]any) { delete(m, "agencyComponent") }},
		{"bad lastUpdateTimeStamp", func(m map[string]any) { m["lastUpdateTimeStamp"] = "yesterday" }},
		{"call without direction", func(m map[string]any) { delete(m["callComponent"].([]any)[0].(map[string]any), "direction") }},
		{"call direction sideways", func(m map[string]any) { m["callComponent"].([]any)[0].(map[string]any)["direction"] = "sideways" }},
		{"bad callStartTimestamp", func(m map[string]any) {
			m["callComponent"].([]any)[0].(map[string]any)["callStartTimestamp"] = "2026-13-01T00:00:00Z"
		}},
		{"resource without status", func(m map[string]any) {
			delete(m["emergencyResourceComponent"].([]any)[0].(map[string]any), "primaryUnitStatusRegistryText")
		}},
		{"location without type", func(m map[string]any) {
			delete(m["locationComponent"].([]any)[0].(map[string]any), "locationTypeDescriptionRegistryText")
		}},
		{"note without prologue agency", func(m map[string]any) {
			delete(m["notesComponent"].([]any)[0].(map[string]any), "updatedByAgencyReference")
		}},
		{"bad @vocab", func(m map[string]any) { m["@context"] = map[string]any{"@vocab": "elsewhere"} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var m map[string]any
			if err := json.Unmarshal(good, &m); err != nil {
				t.Fatal(err)
			}
			tc.mutate(m)
			b, _ := json.Marshal(m)
			if err := validate(t, sch, b); err == nil {
				t.Fatal("the broken document validates")
			}
		})
	}
}

// readSample reads the shared NENA sample, for seeding the fuzzer.
func readSample() ([]byte, error) {
	return os.ReadFile(filepath.Join(sampleDir, "sample_call_transfer_EIDO.json"))
}
