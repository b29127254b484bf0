package api

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/store"
)

// TestOpenAPIProfitSharingSchemas keeps the profit sharing part of
// openapi.yaml in step with the handlers' request structs and the wire
// types.
func TestOpenAPIProfitSharingSchemas(t *testing.T) {
	doc := loadOpenAPI(t)
	for _, c := range []struct {
		path   string
		goType reflect.Type
	}{
		{"/v1/profit-sharing/receivers", reflect.TypeFor[createReceiverRequest]()},
		{"/v1/profit-sharing", reflect.TypeFor[createProfitSharingRequest]()},
		{"/v1/profit-sharing/returns", reflect.TypeFor[createProfitSharingReturnRequest]()},
	} {
		s := requestSchema(t, doc, c.path, "post")
		if s["additionalProperties"] != false {
			t.Errorf("POST %s: want additionalProperties: false", c.path)
		}
		checkProperties(t, c.path, s, c.goType, false)
	}
	schemas := asMap(dig(doc, "components", "schemas"))
	for _, c := range []struct {
		schema string
		goType reflect.Type
	}{
		{"ProfitSharingReceiver", reflect.TypeFor[client.ProfitSharingReceiver]()},
		{"ProfitSharingReceiverList", reflect.TypeFor[list[client.ProfitSharingReceiver]]()},
		{"ProfitSharing", reflect.TypeFor[client.ProfitSharing]()},
		{"ProfitSharingShare", reflect.TypeFor[client.ProfitSharingShare]()},
		{"ProfitSharingList", reflect.TypeFor[list[client.ProfitSharing]]()},
		{"ProfitSharingOrder", reflect.TypeFor[client.ProfitSharingOrder]()},
		{"ProfitSharingReturn", reflect.TypeFor[client.ProfitSharingReturn]()},
	} {
		checkProperties(t, c.schema, deref(t, doc, schemas[c.schema]), c.goType, true)
	}
	want := []string{store.ProfitSharingFailed, store.ProfitSharingProcessing, store.ProfitSharingSucceeded}
	if got := stringSet(dig(schemas, "ProfitSharing", "properties", "status", "enum")); !slices.Equal(got, want) {
		t.Errorf("ProfitSharing.status enum = %v, want %v", got, want)
	}
	for _, c := range []struct{ path, method, code, schema string }{
		{"/v1/profit-sharing", "post", "201", "ProfitSharing"},
		{"/v1/profit-sharing", "post", "200", "ProfitSharing"},
		{"/v1/profit-sharing", "get", "200", "ProfitSharingList"},
		{"/v1/profit-sharing/{id}", "get", "200", "ProfitSharing"},
		{"/v1/profit-sharing/receivers", "post", "201", "ProfitSharingReceiver"},
		{"/v1/profit-sharing/receivers", "get", "200", "ProfitSharingReceiverList"},
		{"/v1/profit-sharing/returns", "post", "201", "ProfitSharingReturn"},
		{"/v1/profit-sharing/orders/{id}", "get", "200", "ProfitSharingOrder"},
	} {
		got := asString(dig(doc, "paths", c.path, c.method, "responses", c.code, "content", "application/json", "schema", "$ref"))
		if want := "#/components/schemas/" + c.schema; got != want {
			t.Errorf("%s %s %s: schema $ref = %q, want %q", strings.ToUpper(c.method), c.path, c.code, got, want)
		}
	}
}
