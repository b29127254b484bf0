package api

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/paygate/paygate/client"
)

// The tests in this file keep openapi.yaml in step with the code: the route
// table, the handlers' request structs and the wire types of package client.

var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// loadOpenAPI parses the embedded document.
func loadOpenAPI(t *testing.T) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := yaml.Unmarshal(OpenAPI, &doc); err != nil {
		t.Fatalf("openapi.yaml does not parse: %v", err)
	}
	if doc == nil {
		t.Fatal("openapi.yaml is empty")
	}
	return doc
}

// asMap returns v as a map with string keys; yaml.v3 yields
// map[interface{}]interface{} when a mapping has a non-string key (such as an
// unquoted 200).
func asMap(v any) map[string]any {
	switch m := v.(type) {
	case map[string]any:
		return m
	case map[any]any:
		out := make(map[string]any, len(m))
		for k, v := range m {
			out[fmt.Sprint(k)] = v
		}
		return out
	}
	return nil
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func asString(v any) string {
	s, _ := v.(string)
	return s
}

// dig follows keys from v through nested maps.
func dig(v any, keys ...string) any {
	for _, k := range keys {
		m := asMap(v)
		if m == nil {
			return nil
		}
		v = m[k]
	}
	return v
}

// lookup resolves a local JSON pointer ("#/components/schemas/Order").
func lookup(doc map[string]any, ref string) (any, bool) {
	if !strings.HasPrefix(ref, "#/") {
		return nil, false
	}
	var v any = doc
	for _, tok := range strings.Split(ref[2:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m := asMap(v)
		if m == nil {
			return nil, false
		}
		next, ok := m[tok]
		if !ok {
			return nil, false
		}
		v = next
	}
	return v, true
}

// deref follows $ref until it reaches an object without one.
func deref(t *testing.T, doc map[string]any, v any) map[string]any {
	t.Helper()
	for range 10 {
		m := asMap(v)
		ref := asString(m["$ref"])
		if ref == "" {
			return m
		}
		target, ok := lookup(doc, ref)
		if !ok {
			t.Fatalf("$ref %q does not resolve", ref)
		}
		v = target
	}
	t.Fatalf("$ref chain too long at %v", v)
	return nil
}

// operation is one METHOD /path of the document.
type operation struct {
	Key      string // "GET /v1/orders"
	Path     string
	Item     map[string]any // the path item
	Op       map[string]any
	Security any
}

func operations(t *testing.T, doc map[string]any) []operation {
	t.Helper()
	paths := asMap(doc["paths"])
	if len(paths) == 0 {
		t.Fatal("openapi.yaml has no paths")
	}
	var ops []operation
	for path, item := range paths {
		im := asMap(item)
		for _, method := range httpMethods {
			op, ok := im[method]
			if !ok {
				continue
			}
			om := asMap(op)
			if om == nil {
				t.Errorf("%s %s: the operation is not an object", strings.ToUpper(method), path)
				continue
			}
			sec, hasSec := om["security"]
			if !hasSec {
				sec = doc["security"]
			}
			ops = append(ops, operation{Key: strings.ToUpper(method) + " " + path, Path: path, Item: im, Op: om, Security: sec})
		}
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].Key < ops[j].Key })
	return ops
}

// routeAccess maps "METHOD /pattern" to who may call it.
func routeAccess(t *testing.T) (map[string]access, []string) {
	t.Helper()
	s := &Server{}
	keys := s.Routes() // builds the table only; needs none of the server's dependencies
	out := make(map[string]access, len(s.routes))
	for _, rt := range s.routes {
		out[rt.Method+" "+rt.Pattern] = rt.Access
	}
	return out, keys
}

func TestOpenAPIDocument(t *testing.T) {
	doc := loadOpenAPI(t)
	if v := asString(doc["openapi"]); !strings.HasPrefix(v, "3.1.") {
		t.Errorf("openapi = %q, want 3.1.x", v)
	}
	if v := asString(dig(doc, "info", "title")); v != "Paygate" {
		t.Errorf("info.title = %q, want Paygate", v)
	}
	if v := asString(dig(doc, "info", "version")); v != "1" {
		t.Errorf("info.version = %q, want \"1\"", v)
	}
	for _, name := range []string{"secretKey", "signedRequest", "operatorToken"} {
		if dig(doc, "components", "securitySchemes", name) == nil {
			t.Errorf("components.securitySchemes.%s is missing", name)
		}
	}
}

func TestOpenAPIMatchesRoutes(t *testing.T) {
	doc := loadOpenAPI(t)
	_, routes := routeAccess(t)
	want := map[string]bool{}
	for _, r := range routes {
		want[r] = true
	}
	got := map[string]bool{}
	for _, op := range operations(t, doc) {
		got[op.Key] = true
	}
	var missing, extra []string
	for r := range want {
		if !got[r] {
			missing = append(missing, r)
		}
	}
	for r := range got {
		if !want[r] {
			extra = append(extra, r)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 {
		t.Errorf("routes in server.go that openapi.yaml does not describe (%d):\n\t%s", len(missing), strings.Join(missing, "\n\t"))
	}
	if len(extra) > 0 {
		t.Errorf("operations in openapi.yaml that server.go does not route (%d):\n\t%s", len(extra), strings.Join(extra, "\n\t"))
	}
}

func TestOpenAPIOperations(t *testing.T) {
	doc := loadOpenAPI(t)
	accessOf, _ := routeAccess(t)
	ids := map[string]string{}
	pathParam := regexp.MustCompile(`\{([^}]+)\}`)
	signedHeaders := []string{"Request-Id", "Paygate-Timestamp", "Paygate-Nonce", "Paygate-Key-Id", "Paygate-Signature"}
	for _, op := range operations(t, doc) {
		key := op.Key
		id := asString(op.Op["operationId"])
		switch {
		case id == "":
			t.Errorf("%s: no operationId", key)
		case ids[id] != "":
			t.Errorf("%s: operationId %q is also used by %s", key, id, ids[id])
		default:
			ids[id] = key
		}
		if strings.TrimSpace(asString(op.Op["summary"])) == "" {
			t.Errorf("%s: no summary", key)
		}

		responses := asMap(op.Op["responses"])
		has2xx := false
		for code := range responses {
			if len(code) == 3 && code[0] == '2' {
				has2xx = true
			}
		}
		if !has2xx {
			t.Errorf("%s: no 2xx response", key)
		}

		acc, routed := accessOf[key]
		if !routed {
			continue // reported by TestOpenAPIMatchesRoutes
		}
		sec := asList(op.Security)
		schemes := map[string]bool{}
		for _, req := range sec {
			for name := range asMap(req) {
				schemes[name] = true
			}
		}
		switch acc {
		case public:
			if op.Security == nil || len(sec) != 0 {
				t.Errorf("%s is public: want `security: []`, got %v", key, op.Security)
			}
		case merchant:
			if !schemes["secretKey"] || !schemes["signedRequest"] || len(schemes) != 2 {
				t.Errorf("%s is a merchant route: want security secretKey or signedRequest, got %v", key, op.Security)
			}
		case operator:
			if !schemes["operatorToken"] || len(schemes) != 1 {
				t.Errorf("%s is an operator route: want security operatorToken, got %v", key, op.Security)
			}
		}
		if acc != public {
			if _, ok := responses["401"]; !ok {
				t.Errorf("%s: no 401 response", key)
			}
		}

		// Parameters: every {name} of the path is a required path parameter, and
		// no path parameter is declared that the path does not have.
		declared := map[string]bool{}
		var params []any
		params = append(params, asList(op.Item["parameters"])...)
		params = append(params, asList(op.Op["parameters"])...)
		idempotencyKey := false
		for _, p := range params {
			pm := deref(t, doc, p)
			name, in := asString(pm["name"]), asString(pm["in"])
			switch in {
			case "path":
				declared[name] = true
				if pm["required"] != true {
					t.Errorf("%s: path parameter %s is not required: true", key, name)
				}
			case "header":
				if name == "Idempotency-Key" {
					idempotencyKey = true
				}
			}
		}
		inPath := map[string]bool{}
		for _, m := range pathParam.FindAllStringSubmatch(op.Path, -1) {
			inPath[m[1]] = true
			if !declared[m[1]] {
				t.Errorf("%s: path parameter {%s} is not declared", key, m[1])
			}
		}
		for name := range declared {
			if !inPath[name] {
				t.Errorf("%s: declares path parameter %s, which the path does not have", key, name)
			}
		}
		if acc == merchant && strings.HasPrefix(key, "POST ") && !idempotencyKey {
			t.Errorf("%s: no Idempotency-Key header parameter", key)
		}

		// Every response names its Request-Id; /v1 responses are signed.
		for code, r := range responses {
			headers := asMap(deref(t, doc, r)["headers"])
			want := []string{"Request-Id"}
			if strings.HasPrefix(op.Path, "/v1/") {
				want = signedHeaders
			}
			for _, h := range want {
				if _, ok := headers[h]; !ok {
					t.Errorf("%s: response %s does not declare the %s header", key, code, h)
				}
			}
		}
	}
}

// TestOpenAPIRefsResolve checks that every $ref points at an existing component.
func TestOpenAPIRefsResolve(t *testing.T) {
	doc := loadOpenAPI(t)
	n := 0
	var walk func(v any, at string)
	walk = func(v any, at string) {
		if m := asMap(v); m != nil {
			if ref, ok := m["$ref"]; ok {
				n++
				s := asString(ref)
				if !strings.HasPrefix(s, "#/components/") {
					t.Errorf("%s: $ref %v does not point into #/components/", at, ref)
				} else if _, ok := lookup(doc, s); !ok {
					t.Errorf("%s: $ref %q does not resolve", at, s)
				}
			}
			for k, child := range m {
				walk(child, at+"/"+k)
			}
			return
		}
		for i, child := range asList(v) {
			walk(child, fmt.Sprintf("%s/%d", at, i))
		}
	}
	walk(doc, "#")
	if n == 0 {
		t.Error("openapi.yaml has no $ref at all")
	}
}

// jsonFields returns the JSON names of t's fields and whether each may be
// left out (omitempty or omitzero).
func jsonFields(t reflect.Type) map[string]bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	out := map[string]bool{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		o := strings.Split(opts, ",")
		out[name] = slices.Contains(o, "omitempty") || slices.Contains(o, "omitzero")
	}
	return out
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func stringSet(v any) []string {
	var out []string
	for _, s := range asList(v) {
		out = append(out, asString(s))
	}
	sort.Strings(out)
	return out
}

// diff reports the names only in a and only in b.
func diff(a, b []string) (onlyA, onlyB []string) {
	for _, s := range a {
		if !slices.Contains(b, s) {
			onlyA = append(onlyA, s)
		}
	}
	for _, s := range b {
		if !slices.Contains(a, s) {
			onlyB = append(onlyB, s)
		}
	}
	return onlyA, onlyB
}

// checkProperties fails unless schema's properties are exactly goType's JSON
// fields; with checkRequired, required must be exactly the fields without
// omitempty (the ones always present on the wire).
func checkProperties(t *testing.T, name string, schema map[string]any, goType reflect.Type, checkRequired bool) {
	t.Helper()
	fields := jsonFields(goType)
	onlyDoc, onlyGo := diff(keys(asMap(schema["properties"])), keys(fields))
	if len(onlyDoc) > 0 || len(onlyGo) > 0 {
		t.Errorf("schema %s and %s disagree:\n\tproperties only in openapi.yaml: %v\n\tJSON fields only in %s: %v",
			name, goType, onlyDoc, goType, onlyGo)
	}
	if !checkRequired {
		return
	}
	var always []string
	for f, omitempty := range fields {
		if !omitempty {
			always = append(always, f)
		}
	}
	sort.Strings(always)
	onlyDoc, onlyGo = diff(stringSet(schema["required"]), always)
	if len(onlyDoc) > 0 || len(onlyGo) > 0 {
		t.Errorf("schema %s: required must list exactly the fields %s always sends:\n\trequired but omitempty or absent: %v\n\talways sent but not required: %v",
			name, goType, onlyDoc, onlyGo)
	}
}

// requestSchema returns the JSON schema of an operation's request body.
func requestSchema(t *testing.T, doc map[string]any, path, method string) map[string]any {
	t.Helper()
	body := deref(t, doc, dig(doc, "paths", path, method, "requestBody"))
	schema := deref(t, doc, dig(body, "content", "application/json", "schema"))
	if schema == nil {
		t.Fatalf("%s %s: no application/json request schema", strings.ToUpper(method), path)
	}
	return schema
}

func TestOpenAPICreateOrderSchema(t *testing.T) {
	doc := loadOpenAPI(t)
	schema := requestSchema(t, doc, "/v1/orders", "post")
	want := []string{"amount", "currency", "out_trade_no", "subject"}
	if got := stringSet(schema["required"]); !slices.Equal(got, want) {
		t.Errorf("CreateOrder request: required = %v, want %v", got, want)
	}
	if schema["additionalProperties"] != false {
		t.Error("CreateOrder request: want additionalProperties: false (unknown fields are rejected)")
	}
	// The handler's struct is what the server accepts; client.CreateOrderParams what the SDK sends.
	checkProperties(t, "CreateOrderRequest", schema, reflect.TypeFor[createOrderRequest](), false)
	checkProperties(t, "CreateOrderRequest", schema, reflect.TypeFor[client.CreateOrderParams](), false)

	refund := requestSchema(t, doc, "/v1/refunds", "post")
	if got, want := stringSet(refund["required"]), []string{"amount", "out_refund_no"}; !slices.Equal(got, want) {
		t.Errorf("CreateRefund request: required = %v, want %v", got, want)
	}
	if refund["additionalProperties"] != false {
		t.Error("CreateRefund request: want additionalProperties: false (unknown fields are rejected)")
	}
	checkProperties(t, "CreateRefundRequest", refund, reflect.TypeFor[createRefundRequest](), false)
	checkProperties(t, "CreateRefundRequest", refund, reflect.TypeFor[client.CreateRefundParams](), false)

	for _, c := range []struct {
		path, method, name string
		server, sdk        reflect.Type
	}{
		{"/v1/webhook-endpoints", "post", "CreateWebhookEndpointRequest", reflect.TypeFor[createWebhookEndpointRequest](), reflect.TypeFor[client.CreateWebhookEndpointParams]()},
		{"/v1/webhook-endpoints/{id}", "post", "UpdateWebhookEndpointRequest", reflect.TypeFor[updateWebhookEndpointRequest](), reflect.TypeFor[client.UpdateWebhookEndpointParams]()},
		{"/v1/webhook-endpoints/{id}/rotate-secret", "post", "RotateWebhookSecretRequest", reflect.TypeFor[rotateWebhookSecretRequest](), reflect.TypeFor[client.RotateWebhookSecretParams]()},
		{"/v1/customers", "post", "CreateCustomerRequest", reflect.TypeFor[createCustomerRequest](), reflect.TypeFor[client.CreateCustomerParams]()},
		{"/v1/agreements", "post", "CreateAgreementRequest", reflect.TypeFor[createAgreementRequest](), reflect.TypeFor[client.CreateAgreementParams]()},
		{"/v1/products", "post", "CreateProductRequest", reflect.TypeFor[createProductRequest](), reflect.TypeFor[client.CreateProductParams]()},
		{"/v1/prices", "post", "CreatePriceRequest", reflect.TypeFor[createPriceRequest](), reflect.TypeFor[client.CreatePriceParams]()},
		{"/v1/subscriptions", "post", "CreateSubscriptionRequest", reflect.TypeFor[createSubscriptionRequest](), reflect.TypeFor[client.CreateSubscriptionParams]()},
		{"/v1/subscriptions/{id}", "post", "UpdateSubscriptionRequest", reflect.TypeFor[updateSubscriptionRequest](), reflect.TypeFor[client.UpdateSubscriptionParams]()},
		{"/v1/subscriptions/{id}/cancel", "post", "CancelSubscriptionRequest", reflect.TypeFor[cancelSubscriptionRequest](), reflect.TypeFor[client.CancelSubscriptionParams]()},
		{"/v1/test/clocks", "post", "CreateTestClockRequest", reflect.TypeFor[createTestClockRequest](), reflect.TypeFor[client.CreateTestClockParams]()},
		{"/v1/test/clocks/{id}/advance", "post", "AdvanceTestClockRequest", reflect.TypeFor[advanceTestClockRequest](), nil},
	} {
		s := requestSchema(t, doc, c.path, c.method)
		if s["additionalProperties"] != false {
			t.Errorf("%s: want additionalProperties: false (unknown fields are rejected)", c.name)
		}
		checkProperties(t, c.name, s, c.server, false)
		if c.sdk != nil {
			checkProperties(t, c.name, s, c.sdk, false)
		}
	}
	// The agreement's plan is decoded as strictly as the body.
	plan := deref(t, doc, dig(requestSchema(t, doc, "/v1/agreements", "post"), "properties", "plan"))
	checkProperties(t, "AgreementPlan", plan, reflect.TypeFor[agreementPlan](), false)
	if got, want := stringSet(requestSchema(t, doc, "/v1/webhook-endpoints", "post")["required"]), []string{"enabled_events", "url"}; !slices.Equal(got, want) {
		t.Errorf("CreateWebhookEndpoint request: required = %v, want %v", got, want)
	}

	// Nested request objects are decoded as strictly as the body.
	for name, goType := range map[string]reflect.Type{
		"Card":  reflect.TypeFor[cardRequest](),
		"Payer": reflect.TypeFor[payerRequest](),
	} {
		s := deref(t, doc, dig(schema, "properties", strings.ToLower(name)))
		checkProperties(t, name, s, goType, false)
		if s["additionalProperties"] != false {
			t.Errorf("%s: want additionalProperties: false (unknown fields are rejected)", name)
		}
	}
}

func TestOpenAPISchemasMatchWireTypes(t *testing.T) {
	doc := loadOpenAPI(t)

	// The responses of the single-object endpoints use these schemas.
	for _, c := range []struct{ path, method, code, schema string }{
		{"/v1/orders/{id}", "get", "200", "Order"},
		{"/v1/orders", "post", "201", "Order"},
		{"/v1/refunds/{id}", "get", "200", "Refund"},
		{"/v1/refunds", "post", "201", "Refund"},
		{"/v1/events/{id}", "get", "200", "Event"},
		{"/v1/events/{id}/redeliver", "post", "200", "Event"},
		{"/v1/webhook-endpoints", "post", "201", "WebhookEndpoint"},
		{"/v1/webhook-endpoints/{id}", "get", "200", "WebhookEndpoint"},
		{"/v1/webhook-endpoints/{id}", "post", "200", "WebhookEndpoint"},
		{"/v1/webhook-endpoints/{id}/rotate-secret", "post", "200", "WebhookEndpoint"},
		{"/v1/webhook-endpoints/{id}", "delete", "200", "DeletedObject"},
	} {
		got := asString(dig(doc, "paths", c.path, c.method, "responses", c.code, "content", "application/json", "schema", "$ref"))
		if want := "#/components/schemas/" + c.schema; got != want {
			t.Errorf("%s %s %s: schema $ref = %q, want %q", strings.ToUpper(c.method), c.path, c.code, got, want)
		}
	}

	schemas := asMap(dig(doc, "components", "schemas"))
	for _, c := range []struct {
		schema   string
		goType   reflect.Type
		required bool
	}{
		{"Order", reflect.TypeFor[client.Order](), true},
		{"Refund", reflect.TypeFor[client.Refund](), true},
		{"NextAction", reflect.TypeFor[client.NextAction](), true},
		{"Risk", reflect.TypeFor[client.Risk](), true},
		{"Payer", reflect.TypeFor[client.Payer](), true},
		{"Card", reflect.TypeFor[client.Card](), true},
		{"Event", reflect.TypeFor[client.Event](), true},
		{"Amount", reflect.TypeFor[client.Amount](), true},
		{"Balance", reflect.TypeFor[client.Balance](), true},
		{"PlatformKey", reflect.TypeFor[client.PlatformKey](), true},
		{"Merchant", reflect.TypeFor[client.Merchant](), true},
		{"App", reflect.TypeFor[client.App](), true},
		{"Key", reflect.TypeFor[client.Key](), true},
		{"AppCreated", reflect.TypeFor[client.AppCreated](), true},
		{"Error", reflect.TypeFor[errorBody](), true},
		{"OrderList", reflect.TypeFor[list[client.Order]](), true},
		{"RefundList", reflect.TypeFor[list[client.Refund]](), true},
		{"EventList", reflect.TypeFor[list[client.Event]](), true},
		{"PlatformKeyList", reflect.TypeFor[list[client.PlatformKey]](), true},
		{"MerchantList", reflect.TypeFor[list[client.Merchant]](), true},
		{"AppList", reflect.TypeFor[list[client.App]](), true},
		{"KeyList", reflect.TypeFor[list[client.Key]](), true},
		{"WebhookEndpoint", reflect.TypeFor[client.WebhookEndpoint](), true},
		{"WebhookEndpointList", reflect.TypeFor[list[client.WebhookEndpoint]](), true},
		{"DeletedObject", reflect.TypeFor[client.DeletedObject](), true},
		{"Delivery", reflect.TypeFor[client.Delivery](), true},
		{"DeliveryAttempt", reflect.TypeFor[client.DeliveryAttempt](), true},
		{"WebhookPayload", reflect.TypeFor[client.WebhookEvent](), true},
		{"Customer", reflect.TypeFor[client.Customer](), true},
		{"CustomerList", reflect.TypeFor[list[client.Customer]](), true},
		{"SavedPaymentMethod", reflect.TypeFor[client.PaymentMethod](), true},
		{"SavedPaymentMethodList", reflect.TypeFor[list[client.PaymentMethod]](), true},
		{"SavedCard", reflect.TypeFor[client.SavedCard](), true},
		{"Agreement", reflect.TypeFor[client.Agreement](), true},
		{"AgreementList", reflect.TypeFor[list[client.Agreement]](), true},
		{"AgreementPlan", reflect.TypeFor[client.AgreementPlan](), true},
		{"Product", reflect.TypeFor[client.Product](), true},
		{"ProductList", reflect.TypeFor[list[client.Product]](), true},
		{"Price", reflect.TypeFor[client.Price](), true},
		{"PriceList", reflect.TypeFor[list[client.Price]](), true},
		{"InvoiceLine", reflect.TypeFor[client.InvoiceLine](), true},
		{"Subscription", reflect.TypeFor[client.Subscription](), true},
		{"SubscriptionList", reflect.TypeFor[list[client.Subscription]](), true},
		{"Invoice", reflect.TypeFor[client.Invoice](), true},
		{"InvoiceList", reflect.TypeFor[list[client.Invoice]](), true},
		{"TestClock", reflect.TypeFor[client.TestClock](), true},
		{"TestClockList", reflect.TypeFor[list[client.TestClock]](), true},
		{"RiskRule", reflect.TypeFor[client.RiskRule](), true},
		{"RiskScope", reflect.TypeFor[client.RiskScope](), true},
		{"RiskRuleFired", reflect.TypeFor[client.RiskRuleFired](), true},
		{"RiskList", reflect.TypeFor[client.RiskList](), true},
		{"RiskListEntry", reflect.TypeFor[client.RiskListEntry](), true},
		{"RiskAttempt", reflect.TypeFor[client.RiskAttempt](), true},
		{"RiskReview", reflect.TypeFor[client.RiskReview](), true},
		{"RiskDryRun", reflect.TypeFor[client.RiskDryRun](), true},
		{"RiskRuleList", reflect.TypeFor[list[client.RiskRule]](), true},
	} {
		s := deref(t, doc, schemas[c.schema])
		if s == nil {
			t.Errorf("components.schemas.%s is missing", c.schema)
			continue
		}
		checkProperties(t, c.schema, s, c.goType, c.required)
	}

	errObj := deref(t, doc, dig(schemas, "Error", "properties", "error"))
	checkProperties(t, "Error.error", errObj, reflect.TypeFor[errorObject](), true)
	checkProperties(t, "Error.error", errObj, reflect.TypeFor[client.Error](), true)
	types := stringSet(dig(errObj, "properties", "type", "enum"))
	var wantTypes []string
	for _, h := range httpOfKind {
		if !slices.Contains(wantTypes, h.typ) {
			wantTypes = append(wantTypes, h.typ)
		}
	}
	sort.Strings(wantTypes)
	if !slices.Equal(types, wantTypes) {
		t.Errorf("Error.error.type enum = %v, want the types of the kind table %v", types, wantTypes)
	}
}
