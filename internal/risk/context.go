package risk

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"
	"cel.dev/cel-go/interpreter"

	"github.com/paygate/paygate/internal/store"
)

// The context a rule sees: typed variables with dotted names (order.amount,
// counters.payer_count_10m), declared once in fields. A rule that names a
// field not declared here, or uses one with the wrong type, does not
// compile, so it is refused when saved.

// Field is one variable of the context.
type Field struct {
	Name string
	Type string // int, string, bool, timestamp, map(string, string)
	Doc  string
	typ  *cel.Type
	get  func(*activation) ref.Val
	// need is the counter group the field is computed by; 0 for the others.
	need store.RiskCounterSet
}

// Fields returns the context's variables, in the table's order, for the docs.
func Fields() []Field { return append([]Field(nil), fields...) }

func strField(name, doc string, get func(*Input) string) Field {
	return Field{Name: name, Type: "string", Doc: doc, typ: cel.StringType,
		get: func(a *activation) ref.Val { return types.String(get(a.in)) }}
}

func intField(name, doc string, get func(*Input) int64) Field {
	return Field{Name: name, Type: "int", Doc: doc, typ: cel.IntType,
		get: func(a *activation) ref.Val { return types.Int(get(a.in)) }}
}

// counterField is a counter computed by the counter group need.
func counterField(name, doc string, need store.RiskCounterSet, get func(*store.RiskCounts) int64) Field {
	return Field{Name: "counters." + name, Type: "int", Doc: doc, typ: cel.IntType, need: need,
		get: func(a *activation) ref.Val { return types.Int(get(&a.counts)) }}
}

var fields = buildFields()

// fieldIndex finds a field by name.
var fieldIndex = func() map[string]int {
	m := make(map[string]int, len(fields))
	for i, f := range fields {
		m[f.Name] = i
	}
	return m
}()

func buildFields() []Field {
	fs := []Field{
		strField("kind", `what is evaluated: "payment" or "refund"`, func(in *Input) string { return in.Kind }),
		intField("order.amount", "the order's amount in minor units", func(in *Input) int64 { return in.Amount }),
		strField("order.currency", "ISO 4217 code", func(in *Input) string { return in.Currency }),
		strField("order.method", `the payment method; "" when the payer picks it on the cashier page`, func(in *Input) string { return in.Method }),
		strField("order.subject", "", func(in *Input) string { return in.Subject }),
		strField("order.description", "", func(in *Input) string { return in.Description }),
		{Name: "order.metadata", Type: "map(string, string)", Doc: "the merchant's metadata", typ: cel.MapType(cel.StringType, cel.StringType),
			get: func(a *activation) ref.Val {
				m := a.in.Metadata
				if m == nil {
					m = map[string]string{}
				}
				return types.NewStringStringMap(types.DefaultTypeAdapter, m)
			}},
		{Name: "order.livemode", Type: "bool", Doc: "", typ: cel.BoolType, get: func(a *activation) ref.Val { return types.Bool(a.in.Livemode) }},
		intField("refund.amount", "a refund's amount (0 for a payment)", func(in *Input) int64 { return in.RefundAmount }),
		strField("refund.reason", "a refund's reason", func(in *Input) string { return in.RefundReason }),
		strField("payer.id", "the payer's id at the merchant or channel (openid, buyer id)", func(in *Input) string { return in.Payer.ID }),
		strField("payer.ip", "the payer's IP address", func(in *Input) string { return in.Payer.IP }),
		strField("payer.country", "the country the merchant gave for the payer", func(in *Input) string { return in.Payer.Country }),
		strField("payer.ip_country", `the country of payer.ip in the operator's table ("" when unknown)`, func(in *Input) string { return in.IPCountry }),
		strField("payer.device_id", "the payer's device id, as the merchant gave it", func(in *Input) string { return in.Payer.DeviceID }),
		strField("payer.user_agent", "", func(in *Input) string { return in.Payer.UserAgent }),
		strField("payer.card_bin", "the card's first six digits (card payments)", func(in *Input) string { return in.Card.BIN }),
		strField("payer.card_last4", "the card's last four digits", func(in *Input) string { return in.Card.Last4 }),
		strField("payer.card_country", `the country of the card's BIN in the operator's table ("" when unknown)`, func(in *Input) string { return in.CardCountry }),
		strField("payer.card_fingerprint", "a keyed fingerprint of the card number", func(in *Input) string { return in.Card.Fingerprint }),
		strField("merchant.id", "", func(in *Input) string { return in.MerchantID }),
		strField("merchant.country", `the merchant's country ("": merchants have no country yet)`, func(in *Input) string { return "" }),
		strField("merchant.timezone", "the merchant's IANA zone", func(in *Input) string { return in.Timezone }),
		strField("app.id", "", func(in *Input) string { return in.AppID }),
		{Name: "now", Type: "timestamp", Doc: "the time of the evaluation", typ: cel.TimestampType,
			get: func(a *activation) ref.Val { return types.Timestamp{Time: a.in.Now} }},
		intField("local.hour", "the hour (0-23) in the merchant's zone", func(in *Input) int64 { return int64(in.local().Hour()) }),
		intField("local.weekday", "the day of the week in the merchant's zone (0 is Sunday)", func(in *Input) int64 { return int64(in.local().Weekday()) }),
		strField("local.date", "the date in the merchant's zone (YYYY-MM-DD)", func(in *Input) string { return in.local().Format(time.DateOnly) }),
	}
	type key struct {
		name string
		need store.RiskCounterSet
		w    func(*store.RiskCounts) *store.RiskWindows
		doc  string
	}
	for _, k := range []key{
		{"payer", store.RiskCountPayer, func(c *store.RiskCounts) *store.RiskWindows { return &c.Payer }, "the payer (payer.id, at this merchant)"},
		{"ip", store.RiskCountIP, func(c *store.RiskCounts) *store.RiskWindows { return &c.IP }, "payer.ip (every merchant's)"},
		{"device", store.RiskCountDevice, func(c *store.RiskCounts) *store.RiskWindows { return &c.Device }, "payer.device_id (every merchant's)"},
		{"card", store.RiskCountCard, func(c *store.RiskCounts) *store.RiskWindows { return &c.Card }, "the card (every merchant's)"},
	} {
		for _, w := range []struct {
			name         string
			count, amout func(*store.RiskWindows) int64
		}{
			{"10m", func(w *store.RiskWindows) int64 { return w.Count10m }, func(w *store.RiskWindows) int64 { return w.Amount10m }},
			{"1h", func(w *store.RiskWindows) int64 { return w.Count1h }, func(w *store.RiskWindows) int64 { return w.Amount1h }},
			{"24h", func(w *store.RiskWindows) int64 { return w.Count24h }, func(w *store.RiskWindows) int64 { return w.Amount24h }},
		} {
			fs = append(fs,
				counterField(k.name+"_count_"+w.name, "payments of "+k.doc+" in the last "+w.name+", refused ones included",
					k.need, func(c *store.RiskCounts) int64 { return w.count(k.w(c)) }),
				counterField(k.name+"_amount_"+w.name, "their amount in the order's currency, blocked ones left out",
					k.need, func(c *store.RiskCounts) int64 { return w.amout(k.w(c)) }))
		}
	}
	fs = append(fs,
		counterField("merchant_amount_today", "the merchant's payments today (its zone) in the order's currency, blocked ones left out",
			store.RiskCountMerchantToday, func(c *store.RiskCounts) int64 { return c.MerchantAmountToday }),
		counterField("merchant_count_today", "how many payments that makes", store.RiskCountMerchantToday,
			func(c *store.RiskCounts) int64 { return c.MerchantCountToday }),
		counterField("payer_distinct_ips_24h", "distinct IPs of the payer over 24 h", store.RiskCountPayer,
			func(c *store.RiskCounts) int64 { return c.PayerDistinctIPs24h }),
		counterField("payer_distinct_countries_24h", "distinct countries of the payer over 24 h", store.RiskCountPayer,
			func(c *store.RiskCounts) int64 { return c.PayerDistinctCountries }),
		counterField("payer_failures_in_row", "the payer's latest attempts that were blocked or failed, back to the last success (24 h)",
			store.RiskCountPayerFailures, func(c *store.RiskCounts) int64 { return c.PayerFailuresInRow }),
		Field{Name: "counters.payer_usual_country", Type: "string", Doc: `the country most seen for the payer over 30 days ("" when none)`,
			typ: cel.StringType, need: store.RiskCountPayerUsualCountry,
			get: func(a *activation) ref.Val { return types.String(a.counts.PayerUsualCountry) }},
	)
	return fs
}

// Card is what risk control keeps of a card: never the number.
type Card struct {
	BIN         string `json:"bin,omitempty"`
	Last4       string `json:"last4,omitempty"`
	Fingerprint string `json:"fingerprint,omitempty"`
}

// Input is what one evaluation looks at, besides the counters.
type Input struct {
	Kind       string // store.RiskKindPayment or store.RiskKindRefund
	MerchantID string
	AppID      string
	Livemode   bool
	OrderID    string
	OutTradeNo string

	Amount      int64
	Currency    string
	Method      string
	Subject     string
	Description string
	Metadata    map[string]string

	RefundAmount int64
	RefundReason string

	Payer store.Payer
	Card  Card

	// Filled by the engine.
	IPCountry   string
	CardCountry string
	Timezone    string
	Now         time.Time
	loc         *time.Location
}

func (in *Input) local() time.Time {
	if in.loc == nil {
		return in.Now
	}
	return in.Now.In(in.loc)
}

// activation resolves the context's names for one evaluation.
type activation struct {
	in     *Input
	counts store.RiskCounts
}

var _ interpreter.Activation = (*activation)(nil)

func (a *activation) ResolveName(name string) (any, bool) {
	i, ok := fieldIndex[name]
	if !ok {
		return nil, false
	}
	return fields[i].get(a), true
}

func (a *activation) Parent() interpreter.Activation { return nil }

// contextJSON renders the fields an evaluation looked at (every field but
// the counters, and the counters of need), as a flat JSON object in the
// table's order. It is written by hand: it runs on every payment.
func (a *activation) contextJSON(need store.RiskCounterSet) json.RawMessage {
	return a.appendContext(make([]byte, 0, 1024), need, true)
}

// appendContext appends the fields to b: all but the counters when static,
// and the counters of need.
func (a *activation) appendContext(b []byte, need store.RiskCounterSet, static bool) []byte {
	b = append(b, '{')
	first := true
	for _, f := range fields {
		if (f.need == 0 && !static) || (f.need != 0 && f.need&need == 0) {
			continue
		}
		v := f.get(a)
		if f.need == 0 && isEmpty(v) {
			continue // "" and false are what a missing field reads as
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, '"')
		b = append(b, f.Name...) // names are plain ASCII
		b = append(b, '"', ':')
		switch v := v.(type) {
		case types.Timestamp:
			b = appendJSONString(b, v.Time.UTC().Format(time.RFC3339Nano))
		case types.String:
			b = appendJSONString(b, string(v))
		case types.Int:
			b = strconv.AppendInt(b, int64(v), 10)
		case types.Bool:
			b = strconv.AppendBool(b, bool(v))
		default:
			mv, _ := json.Marshal(v.Value())
			b = append(b, mv...)
		}
	}
	return append(b, '}')
}

// isEmpty reports whether v is "", false or an empty map.
func isEmpty(v ref.Val) bool {
	switch v := v.(type) {
	case types.String:
		return v == ""
	case types.Bool:
		return !bool(v)
	case traits.Sizer:
		return v.Size() == types.Int(0)
	}
	return false
}

// appendJSONString appends s as a JSON string: plain printable ASCII as
// it is, anything else through encoding/json's escaping.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			sv, _ := json.Marshal(s)
			return append(b, sv...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// inputFromContext rebuilds an evaluation's input and counters from the
// context an attempt stored (dry runs).
func inputFromContext(raw json.RawMessage) (*activation, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("decode stored context: %w", err)
	}
	str := func(k string) string {
		var s string
		json.Unmarshal(m[k], &s)
		return s
	}
	num := func(k string) int64 {
		var n int64
		json.Unmarshal(m[k], &n)
		return n
	}
	in := &Input{
		Kind: str("kind"), MerchantID: str("merchant.id"), AppID: str("app.id"),
		Amount: num("order.amount"), Currency: str("order.currency"), Method: str("order.method"),
		Subject: str("order.subject"), Description: str("order.description"),
		RefundAmount: num("refund.amount"), RefundReason: str("refund.reason"),
		Payer: store.Payer{ID: str("payer.id"), IP: str("payer.ip"), Country: str("payer.country"),
			DeviceID: str("payer.device_id"), UserAgent: str("payer.user_agent")},
		Card:      Card{BIN: str("payer.card_bin"), Last4: str("payer.card_last4"), Fingerprint: str("payer.card_fingerprint")},
		IPCountry: str("payer.ip_country"), CardCountry: str("payer.card_country"), Timezone: str("merchant.timezone"),
	}
	json.Unmarshal(m["order.metadata"], &in.Metadata)
	json.Unmarshal(m["order.livemode"], &in.Livemode)
	if t, err := time.Parse(time.RFC3339Nano, str("now")); err == nil {
		in.Now = t
	}
	if loc, err := time.LoadLocation(in.Timezone); err == nil {
		in.loc = loc
	}
	return &activation{in: in}, nil
}

// FieldsDoc renders the context as a Markdown table (for docs and tests).
func FieldsDoc() string {
	var b strings.Builder
	b.WriteString("| variable | type | meaning |\n|---|---|---|\n")
	for _, f := range fields {
		b.WriteString("| `" + f.Name + "` | " + f.Type + " | " + f.Doc + " |\n")
	}
	return b.String()
}
