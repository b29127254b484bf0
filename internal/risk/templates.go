package risk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/money"
	"github.com/paygate/paygate/internal/store"
)

// Templates are the built-in rules an operator (or a merchant) turns on
// with parameters instead of writing CEL. Each expands to an expression,
// stored with the template's name and parameters so both can be read.

// Template describes one built-in rule.
type Template struct {
	Name   string
	Doc    string
	Params string // the parameters, for the docs
	expand func(ctx context.Context, s *Service, p templateParams) (string, error)
}

// Templates returns every template, for the docs.
func Templates() []Template { return append([]Template(nil), templates...) }

var templates = []Template{
	{"amount_limit", "A single payment above max_amount (per method and currency when given).",
		"max_amount (int, required), method (string), currency (string)", expandAmountLimit},
	{"daily_limit_merchant", "The merchant's payments today (its zone, the order's currency), this one included, above max_amount.",
		"max_amount (int, required)", expandDailyMerchant},
	{"daily_limit_payer", "The payer's payments over 24 h in the order's currency, this one included, above max_amount.",
		"max_amount (int, required)", expandDailyPayer},
	{"velocity", "More than max_count payments of one payer, IP, device or card in a window: fires on the one past max_count.",
		`key ("payer", "ip", "device" or "card", required), window ("10m", "1h" or "24h", required), max_count (int, required)`, expandVelocity},
	{"list", "The payer's value of the list's kind is in the list (its action says block, review or allow).",
		"list (a list's name, required)", expandList},
	{"location_anomaly", "The country of the payer's IP differs from the card's country or from the payer's usual country.",
		"card_country (bool, default true), usual_country (bool, default true)", expandLocation},
	{"night_large_amount", "A payment of at least min_amount between from_hour and to_hour in the merchant's zone.",
		"min_amount (int, required), from_hour (0-23, default 0), to_hour (0-23, default 6)", expandNight},
	{"failed_attempts", "The payer's latest max_failures attempts (or more) in a row were blocked or failed.",
		"max_failures (int, required)", expandFailures},
}

func lookupTemplate(name string) (Template, bool) {
	for _, t := range templates {
		if t.Name == name {
			return t, true
		}
	}
	return Template{}, false
}

// templateParams are a template's parameters as sent.
type templateParams map[string]json.RawMessage

func paramErr(name, msg string) error {
	return errs.InvalidParam("params", msg).WithParam("params." + name)
}

func (p templateParams) int(name string, required bool, def, min, max int64) (int64, error) {
	raw, ok := p[name]
	if !ok {
		if required {
			return 0, errs.Missing("params." + name)
		}
		return def, nil
	}
	n, err := strconv.ParseInt(string(bytes.TrimSpace(raw)), 10, 64)
	if err != nil || n < min || n > max {
		return 0, paramErr(name, fmt.Sprintf("params.%s must be an integer from %d to %d.", name, min, max))
	}
	return n, nil
}

func (p templateParams) str(name string, required bool, allowed ...string) (string, error) {
	raw, ok := p[name]
	if !ok {
		if required {
			return "", errs.Missing("params." + name)
		}
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil || (len(allowed) > 0 && !slices.Contains(allowed, s)) {
		if len(allowed) > 0 {
			return "", paramErr(name, "params."+name+" must be one of "+strings.Join(allowed, ", ")+".")
		}
		return "", paramErr(name, "params."+name+" must be a string.")
	}
	return s, nil
}

func (p templateParams) bool(name string, def bool) (bool, error) {
	raw, ok := p[name]
	if !ok {
		return def, nil
	}
	var b bool
	if err := json.Unmarshal(raw, &b); err != nil {
		return false, paramErr(name, "params."+name+" must be true or false.")
	}
	return b, nil
}

// only refuses parameters a template does not take.
func (p templateParams) only(names ...string) error {
	for k := range p {
		if !slices.Contains(names, k) {
			return errs.Unknown("params." + k)
		}
	}
	return nil
}

const maxAmount = 1_000_000_000_000

func expandAmountLimit(_ context.Context, _ *Service, p templateParams) (string, error) {
	if err := p.only("max_amount", "method", "currency"); err != nil {
		return "", err
	}
	limit, err := p.int("max_amount", true, 0, 0, maxAmount)
	if err != nil {
		return "", err
	}
	method, err := p.str("method", false, channel.MethodNames()...)
	if err != nil {
		return "", err
	}
	currency, err := p.str("currency", false)
	if err != nil {
		return "", err
	}
	if currency != "" && !money.ValidCurrency(currency) {
		return "", paramErr("currency", "params.currency must be an upper-case ISO 4217 code.")
	}
	expr := fmt.Sprintf("order.amount > %d", limit)
	if method != "" {
		expr += fmt.Sprintf(" && order.method == %q", method)
	}
	if currency != "" {
		expr += fmt.Sprintf(" && order.currency == %q", currency)
	}
	return expr, nil
}

func expandDailyMerchant(_ context.Context, _ *Service, p templateParams) (string, error) {
	if err := p.only("max_amount"); err != nil {
		return "", err
	}
	limit, err := p.int("max_amount", true, 0, 0, maxAmount)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("kind == 'payment' && counters.merchant_amount_today + order.amount > %d", limit), nil
}

func expandDailyPayer(_ context.Context, _ *Service, p templateParams) (string, error) {
	if err := p.only("max_amount"); err != nil {
		return "", err
	}
	limit, err := p.int("max_amount", true, 0, 0, maxAmount)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("kind == 'payment' && payer.id != '' && counters.payer_amount_24h + order.amount > %d", limit), nil
}

// velocityKeys maps a velocity key to the payer field that must be given.
var velocityKeys = map[string]string{"payer": "payer.id", "ip": "payer.ip", "device": "payer.device_id", "card": "payer.card_fingerprint"}

func expandVelocity(_ context.Context, _ *Service, p templateParams) (string, error) {
	if err := p.only("key", "window", "max_count"); err != nil {
		return "", err
	}
	key, err := p.str("key", true, "payer", "ip", "device", "card")
	if err != nil {
		return "", err
	}
	window, err := p.str("window", true, "10m", "1h", "24h")
	if err != nil {
		return "", err
	}
	n, err := p.int("max_count", true, 0, 0, 1_000_000)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s != '' && counters.%s_count_%s >= %d", velocityKeys[key], key, window, n), nil
}

// listFields maps a list's kind to the payer field it is matched with.
var listFields = map[string]string{
	"payer_id": "payer.id", "ip": "payer.ip", "cidr": "payer.ip", "device_id": "payer.device_id",
	"card_bin": "payer.card_bin", "card_fingerprint": "payer.card_fingerprint",
}

func expandList(ctx context.Context, s *Service, p templateParams) (string, error) {
	if err := p.only("list"); err != nil {
		return "", err
	}
	name, err := p.str("list", true)
	if err != nil {
		return "", err
	}
	l, err := s.Store.RiskListGetByName(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return "", paramErr("list", "No list is called "+strconv.Quote(clip(name))+".")
	} else if err != nil {
		return "", err
	}
	return fmt.Sprintf("in_list(%q, %s)", l.Name, listFields[l.Kind]), nil
}

func expandLocation(_ context.Context, _ *Service, p templateParams) (string, error) {
	if err := p.only("card_country", "usual_country"); err != nil {
		return "", err
	}
	card, err := p.bool("card_country", true)
	if err != nil {
		return "", err
	}
	usual, err := p.bool("usual_country", true)
	if err != nil {
		return "", err
	}
	var alts []string
	if card {
		alts = append(alts, "(payer.card_country != '' && payer.ip_country != payer.card_country)")
	}
	if usual {
		alts = append(alts, "(counters.payer_usual_country != '' && payer.ip_country != counters.payer_usual_country)")
	}
	if len(alts) == 0 {
		return "", paramErr("card_country", "Compare the IP's country with the card's, the payer's usual one, or both.")
	}
	return "payer.ip_country != '' && (" + strings.Join(alts, " || ") + ")", nil
}

func expandNight(_ context.Context, _ *Service, p templateParams) (string, error) {
	if err := p.only("min_amount", "from_hour", "to_hour"); err != nil {
		return "", err
	}
	min, err := p.int("min_amount", true, 0, 1, maxAmount)
	if err != nil {
		return "", err
	}
	from, err := p.int("from_hour", false, 0, 0, 23)
	if err != nil {
		return "", err
	}
	to, err := p.int("to_hour", false, 6, 0, 23)
	if err != nil {
		return "", err
	}
	hours := fmt.Sprintf("local.hour >= %d && local.hour < %d", from, to)
	if from > to {
		hours = fmt.Sprintf("local.hour >= %d || local.hour < %d", from, to)
	} else if from == to {
		return "", paramErr("to_hour", "from_hour and to_hour must differ.")
	}
	return fmt.Sprintf("(%s) && order.amount >= %d", hours, min), nil
}

func expandFailures(_ context.Context, _ *Service, p templateParams) (string, error) {
	if err := p.only("max_failures"); err != nil {
		return "", err
	}
	n, err := p.int("max_failures", true, 0, 1, 1000)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("payer.id != '' && counters.payer_failures_in_row >= %d", n), nil
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
