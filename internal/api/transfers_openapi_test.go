package api

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/store"
)

// TestOpenAPITransferSchemas keeps the transfer part of openapi.yaml in
// step with the handler's request struct and the wire types.
func TestOpenAPITransferSchemas(t *testing.T) {
	doc := loadOpenAPI(t)
	s := requestSchema(t, doc, "/v1/transfers", "post")
	if s["additionalProperties"] != false {
		t.Error("CreateTransferRequest: want additionalProperties: false")
	}
	checkProperties(t, "CreateTransferRequest", s, reflect.TypeFor[createTransferRequest](), false)
	if got := stringSet(s["required"]); !slices.Equal(got, []string{"destination", "out_transfer_no"}) {
		t.Errorf("CreateTransferRequest: required = %v", got)
	}
	schemas := asMap(dig(doc, "components", "schemas"))
	dest := deref(t, doc, schemas["TransferDestination"])
	checkProperties(t, "TransferDestination", dest, reflect.TypeFor[transferDestinationRequest](), false)
	checkProperties(t, "TransferDestination", dest, reflect.TypeFor[client.TransferDestination](), false)
	for _, c := range []struct {
		schema string
		goType reflect.Type
	}{
		{"Transfer", reflect.TypeFor[client.Transfer]()},
		{"TransferList", reflect.TypeFor[list[client.Transfer]]()},
	} {
		checkProperties(t, c.schema, deref(t, doc, schemas[c.schema]), c.goType, true)
	}
	want := []string{store.TransferFailed, store.TransferProcessing, store.TransferSucceeded}
	if got := stringSet(dig(schemas, "Transfer", "properties", "status", "enum")); !slices.Equal(got, want) {
		t.Errorf("Transfer.status enum = %v, want %v", got, want)
	}
	for _, c := range []struct{ path, method, code, schema string }{
		{"/v1/transfers", "post", "201", "Transfer"},
		{"/v1/transfers", "post", "200", "Transfer"},
		{"/v1/transfers", "get", "200", "TransferList"},
		{"/v1/transfers/{id}", "get", "200", "Transfer"},
	} {
		got := asString(dig(doc, "paths", c.path, c.method, "responses", c.code, "content", "application/json", "schema", "$ref"))
		if want := "#/components/schemas/" + c.schema; got != want {
			t.Errorf("%s %s %s: schema $ref = %q, want %q", strings.ToUpper(c.method), c.path, c.code, got, want)
		}
	}
}

// TestOpenAPIFXSchemas keeps the FX part of openapi.yaml in step with the
// handlers' request structs and the wire types.
func TestOpenAPIFXSchemas(t *testing.T) {
	doc := loadOpenAPI(t)
	q := requestSchema(t, doc, "/v1/fx-quotes", "post")
	checkProperties(t, "CreateFXQuoteRequest", q, reflect.TypeFor[createFXQuoteRequest](), false)
	imp := requestSchema(t, doc, "/admin/v1/fx-rates", "post")
	checkProperties(t, "ImportFXRatesRequest", imp, reflect.TypeFor[importFXRatesRequest](), false)
	checkProperties(t, "ImportFXRatesRequest.rates", deref(t, doc, dig(imp, "properties", "rates", "items")), reflect.TypeFor[fxRateRequest](), false)
	schemas := asMap(dig(doc, "components", "schemas"))
	for _, c := range []struct {
		schema string
		goType reflect.Type
	}{
		{"FXQuote", reflect.TypeFor[client.FXQuote]()},
		{"FXRate", reflect.TypeFor[client.FXRate]()},
		{"FXRateList", reflect.TypeFor[list[client.FXRate]]()},
		{"FXRateImport", reflect.TypeFor[client.FXRateImport]()},
	} {
		checkProperties(t, c.schema, deref(t, doc, schemas[c.schema]), c.goType, true)
	}
	for _, c := range []struct{ path, method, code, schema string }{
		{"/v1/fx-quotes", "post", "201", "FXQuote"},
		{"/v1/fx-quotes/{id}", "get", "200", "FXQuote"},
		{"/admin/v1/fx-rates", "post", "200", "FXRateImport"},
		{"/admin/v1/fx-rates", "get", "200", "FXRateList"},
	} {
		got := asString(dig(doc, "paths", c.path, c.method, "responses", c.code, "content", "application/json", "schema", "$ref"))
		if want := "#/components/schemas/" + c.schema; got != want {
			t.Errorf("%s %s %s: schema $ref = %q, want %q", strings.ToUpper(c.method), c.path, c.code, got, want)
		}
	}
}
