// Package docs holds Paygate's API reference (api.md), embedded so the
// gateway serves it at GET /docs. TestAPIReferenceMatchesOpenAPI keeps it
// in step with the OpenAPI description, route for route.
package docs

import (
	_ "embed"
	"regexp"
)

// APIReference is docs/api.md, the merchant and operator API reference in Markdown.
//
//go:embed api.md
var APIReference []byte

// routeHeading is how api.md heads the section of one route: ### `METHOD /path`.
var routeHeading = regexp.MustCompile("(?m)^### `(GET|POST|PUT|PATCH|DELETE) (/[^`]*)`$")

// Routes lists "METHOD /path" of every route section of the reference, in order.
func Routes() []string {
	var out []string
	for _, m := range routeHeading.FindAllSubmatch(APIReference, -1) {
		out = append(out, string(m[1])+" "+string(m[2]))
	}
	return out
}
