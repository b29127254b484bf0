package api

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/store"
)

// TestOpenAPISettlementSchemas keeps the settlement part of openapi.yaml in
// step with the handlers' request structs and the wire types.
func TestOpenAPISettlementSchemas(t *testing.T) {
	doc := loadOpenAPI(t)
	for _, c := range []struct {
		path, method, name string
		server             reflect.Type
		required           []string
	}{
		{"/admin/v1/settlements/{id}/pay", "post", "PaySettlementRequest", reflect.TypeFor[paySettlementRequest](), []string{"bank_reference"}},
		{"/admin/v1/settlements/run", "post", "RunSettlementRequest", reflect.TypeFor[runSettlementRequest](), []string{"date"}},
		{"/admin/v1/merchants/{id}/settlement-settings", "post", "UpdateSettlementSettingsRequest", reflect.TypeFor[updateSettlementSettingsRequest](), nil},
	} {
		s := requestSchema(t, doc, c.path, c.method)
		if s["additionalProperties"] != false {
			t.Errorf("%s: want additionalProperties: false (unknown fields are rejected)", c.name)
		}
		checkProperties(t, c.name, s, c.server, false)
		if got := stringSet(s["required"]); !slices.Equal(got, c.required) {
			t.Errorf("%s: required = %v, want %v", c.name, got, c.required)
		}
	}
	mf := deref(t, doc, dig(requestSchema(t, doc, "/admin/v1/merchants/{id}/settlement-settings", "post"), "properties", "method_fees", "items"))
	checkProperties(t, "MethodFee", mf, reflect.TypeFor[methodFeeRequest](), false)
	checkProperties(t, "MethodFee", mf, reflect.TypeFor[client.MethodFee](), false)

	for _, c := range []struct{ path, method, code, schema string }{
		{"/v1/settlements", "get", "200", "SettlementList"},
		{"/v1/settlements/{id}", "get", "200", "Settlement"},
		{"/v1/settlements/{id}/lines", "get", "200", "SettlementLinePage"},
		{"/admin/v1/settlements", "get", "200", "SettlementList"},
		{"/admin/v1/settlements/{id}", "get", "200", "Settlement"},
		{"/admin/v1/settlements/{id}/lines", "get", "200", "SettlementLinePage"},
		{"/admin/v1/settlements/{id}/payout", "post", "200", "Settlement"},
		{"/admin/v1/settlements/{id}/pay", "post", "200", "Settlement"},
		{"/admin/v1/settlements/run", "post", "200", "SettlementRun"},
		{"/admin/v1/merchants/{id}/settlement-settings", "get", "200", "SettlementSettings"},
		{"/admin/v1/merchants/{id}/settlement-settings", "post", "200", "SettlementSettings"},
	} {
		got := asString(dig(doc, "paths", c.path, c.method, "responses", c.code, "content", "application/json", "schema", "$ref"))
		if want := "#/components/schemas/" + c.schema; got != want {
			t.Errorf("%s %s %s: schema $ref = %q, want %q", strings.ToUpper(c.method), c.path, c.code, got, want)
		}
	}
	if dig(doc, "paths", "/v1/statements/{date}", "get", "responses", "200", "content", "text/csv") == nil {
		t.Error("GET /v1/statements/{date}: no text/csv response")
	}
	schemas := asMap(dig(doc, "components", "schemas"))
	for _, c := range []struct {
		schema string
		goType reflect.Type
	}{
		{"Settlement", reflect.TypeFor[client.Settlement]()},
		{"SettlementWaiting", reflect.TypeFor[client.SettlementWaiting]()},
		{"Tally", reflect.TypeFor[client.Tally]()},
		{"SettlementLine", reflect.TypeFor[client.SettlementLine]()},
		{"SettlementList", reflect.TypeFor[list[client.Settlement]]()},
		{"SettlementLinePage", reflect.TypeFor[list[client.SettlementLine]]()},
		{"SettlementSettings", reflect.TypeFor[client.SettlementSettings]()},
		{"SettlementRun", reflect.TypeFor[client.SettlementRun]()},
	} {
		s := deref(t, doc, schemas[c.schema])
		if s == nil {
			t.Errorf("components.schemas.%s is missing", c.schema)
			continue
		}
		checkProperties(t, c.schema, s, c.goType, true)
	}
	lines := deref(t, doc, dig(schemas, "Settlement", "properties", "lines"))
	checkProperties(t, "Settlement.lines", lines, reflect.TypeFor[client.SettlementLineList](), true)

	for _, c := range []struct {
		schema string
		want   []string
	}{
		{"SettlementStatus", []string{store.SettlementCarriedForward, store.SettlementInTransit, store.SettlementPaid, store.SettlementPending}},
	} {
		if got := stringSet(dig(schemas, c.schema, "enum")); !slices.Equal(got, c.want) {
			t.Errorf("%s enum = %v, want %v", c.schema, got, c.want)
		}
	}
	kinds := stringSet(dig(schemas, "SettlementLine", "properties", "kind", "enum"))
	want := []string{store.LineCarryForward, store.LinePayment, store.LineRefund, store.LineReserveHold, store.LineReserveRelease}
	slices.Sort(want)
	if !slices.Equal(kinds, want) {
		t.Errorf("SettlementLine kind enum = %v, want %v", kinds, want)
	}
}
