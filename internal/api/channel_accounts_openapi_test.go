package api

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/routing"
)

// TestOpenAPIChannelSchemas keeps the channel account and route parts of
// openapi.yaml in step with the handlers' request structs and the wire types.
func TestOpenAPIChannelSchemas(t *testing.T) {
	doc := loadOpenAPI(t)
	for _, c := range []struct {
		path, method, name string
		server             reflect.Type
		required           []string
	}{
		{"/admin/v1/channel-accounts", "post", "CreateChannelAccountRequest", reflect.TypeFor[createChannelAccountRequest](), []string{"fee_bps", "livemode", "methods", "name", "provider"}},
		{"/admin/v1/channel-accounts/{id}", "post", "UpdateChannelAccountRequest", reflect.TypeFor[updateChannelAccountRequest](), nil},
		{"/admin/v1/merchants/{id}/routes/{method}", "put", "PutRouteRequest", reflect.TypeFor[putRouteRequest](), []string{"candidates", "livemode"}},
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
	cand := deref(t, doc, dig(requestSchema(t, doc, "/admin/v1/merchants/{id}/routes/{method}", "put"), "properties", "candidates", "items"))
	checkProperties(t, "RouteCandidateRequest", cand, reflect.TypeFor[routeCandidateRequest](), false)
	if cand["additionalProperties"] != false {
		t.Error("RouteCandidateRequest: want additionalProperties: false (unknown fields are rejected)")
	}

	for _, c := range []struct{ path, method, code, schema string }{
		{"/admin/v1/channel-accounts", "post", "201", "ChannelAccount"},
		{"/admin/v1/channel-accounts", "get", "200", "ChannelAccountList"},
		{"/admin/v1/channel-accounts/{id}", "get", "200", "ChannelAccount"},
		{"/admin/v1/channel-accounts/{id}", "post", "200", "ChannelAccount"},
		{"/admin/v1/merchants/{id}/routes", "get", "200", "RouteList"},
		{"/admin/v1/merchants/{id}/routes/{method}", "put", "200", "Route"},
		{"/admin/v1/merchants/{id}/routes/{method}", "get", "200", "Route"},
		{"/admin/v1/merchants/{id}/routes/{method}", "delete", "200", "DeletedRoute"},
		{"/admin/v1/orders/{id}/routing", "get", "200", "OrderRouting"},
		{"/admin/v1/channel-accounts/{id}/bill", "get", "200", "ChannelBill"},
	} {
		got := asString(dig(doc, "paths", c.path, c.method, "responses", c.code, "content", "application/json", "schema", "$ref"))
		if want := "#/components/schemas/" + c.schema; got != want {
			t.Errorf("%s %s %s: schema $ref = %q, want %q", strings.ToUpper(c.method), c.path, c.code, got, want)
		}
	}
	schemas := asMap(dig(doc, "components", "schemas"))
	for _, c := range []struct {
		schema string
		goType reflect.Type
	}{
		{"ChannelAccount", reflect.TypeFor[client.ChannelAccount]()},
		{"ChannelAccountList", reflect.TypeFor[list[client.ChannelAccount]]()},
		{"ChannelHealth", reflect.TypeFor[client.ChannelHealth]()},
		{"Route", reflect.TypeFor[client.Route]()},
		{"RouteCandidate", reflect.TypeFor[client.RouteCandidate]()},
		{"RouteList", reflect.TypeFor[list[client.Route]]()},
		{"DeletedRoute", reflect.TypeFor[client.DeletedRoute]()},
		{"OrderRouting", reflect.TypeFor[client.OrderRouting]()},
		{"ChannelBill", reflect.TypeFor[client.ChannelBill]()},
		{"ChannelBillRecord", reflect.TypeFor[client.ChannelBillRecord]()},
		{"RouteDecision", reflect.TypeFor[client.RouteDecision]()},
	} {
		s := deref(t, doc, schemas[c.schema])
		if s == nil {
			t.Errorf("components.schemas.%s is missing", c.schema)
			continue
		}
		checkProperties(t, c.schema, s, c.goType, true)
	}
	strategies := stringSet(dig(schemas, "RouteStrategy", "enum"))
	want := slices.Sorted(slices.Values(routing.Strategies))
	if !slices.Equal(strategies, want) {
		t.Errorf("RouteStrategy enum = %v, want %v", strategies, want)
	}
}

// TestRouteDecisionWire: what the router stores on an order decodes, field
// for field, into the wire type the operator API renders.
func TestRouteDecisionWire(t *testing.T) {
	d := routing.Decision{
		Strategy: routing.StrategyWeighted, Source: routing.SourceMerchantRoute, Candidates: []string{"cha_a", "cha_b"},
		Skipped: []routing.Skip{{ChannelAccount: "cha_c", Reason: routing.ReasonCircuitOpen}},
	}
	d.Fail("cha_a", channel.ErrUnavailable)
	d.Choose("cha_b", nil)
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var w client.RouteDecision
	if err := dec.Decode(&w); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	if w.Chosen != "cha_b" || len(w.Attempts) != 2 || w.Attempts[0].Error == "" || w.Attempts[1].Error != "" || w.Skipped[0].Reason != "circuit_open" {
		t.Fatalf("wire decision %+v from %s", w, b)
	}
	schema := asMap(dig(loadOpenAPI(t), "components", "schemas", "RouteDecision", "properties", "skipped", "items", "properties", "reason"))
	reasons := stringSet(schema["enum"])
	for _, r := range []string{routing.ReasonNotFound, routing.ReasonDisabled, routing.ReasonMode, routing.ReasonMethod, routing.ReasonCurrency, routing.ReasonAmountBelowMin, routing.ReasonAmountAboveMax, routing.ReasonCircuitOpen, routing.ReasonSuccessRateFloor} {
		if !slices.Contains(reasons, r) {
			t.Errorf("RouteDecision skip reasons %v lack %q", reasons, r)
		}
	}
}
