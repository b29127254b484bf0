package docs

import (
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/paygate/paygate/internal/api"
)

// TestAPIReferenceMatchesOpenAPI: every operation of the OpenAPI
// description (which a test of internal/api keeps equal to the route
// table) has its section in docs/api.md, and every section names an
// operation that exists. A new route needs both.
func TestAPIReferenceMatchesOpenAPI(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(api.OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	var described []string
	for path, item := range doc.Paths {
		for method := range item {
			switch method {
			case "get", "post", "put", "patch", "delete":
				described = append(described, strings.ToUpper(method)+" "+path)
			}
		}
	}
	if len(described) < 40 {
		t.Fatalf("found only %d operations in openapi.yaml", len(described))
	}
	documented := Routes()
	for _, r := range described {
		if !slices.Contains(documented, r) {
			t.Errorf("docs/api.md has no section for %s, which internal/api/openapi.yaml describes: add a heading\n  ### `%s`\nwith what it does (and an example where it helps) under its resource", r, r)
		}
	}
	seen := map[string]bool{}
	for _, r := range documented {
		if seen[r] {
			t.Errorf("docs/api.md has two sections for %s", r)
		}
		seen[r] = true
		if !slices.Contains(described, r) {
			t.Errorf("docs/api.md has a section for %s, which internal/api/openapi.yaml does not describe: remove it, or describe the route there", r)
		}
	}
}
