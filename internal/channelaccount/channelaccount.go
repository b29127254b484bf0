// Package channelaccount manages the platform's accounts at payment
// providers (a WeChat Pay merchant id, an Alipay app, a UnionPay merchant,
// the built-in sandbox): the rules an account must meet, its secrets, and
// the connectors the payment service talks to.
//
// Secrets are sealed with the master key as one JSON object when an account
// is created or changed, and unsealed in one place, connectorOf, when a
// connector is built from the account; they are never rendered (responses
// name them). Connectors are kept until the account changes (its UpdatedAt
// moves), so keys are parsed once, not per payment.
//
// The sandbox is an account like the others: Service.EnsureSandbox keeps a
// test-mode sandbox account (SandboxAccountID) serving every method, and
// the router's default route picks it when no other test-mode account serves
// a method. So the payment service has one path, route → connector →
// transition, for the sandbox and for real channels.
package channelaccount

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/clock"
	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/money"
	"github.com/paygate/paygate/internal/store"
)

// ErrNotFound is a channel account that does not exist.
var ErrNotFound = errs.NotFound("channel_account_not_found", "No such channel account.")

// Limits of an account's fields.
const (
	maxName        = 128
	maxBaseURL     = 2048
	maxKeyValue    = 16 << 10 // a config value or a secret (PEM keys are a few KiB)
	MaxAmountLimit = 1_000_000_000_000
)

// Sealer seals and opens secrets with the master key (cryptobox.Box).
type Sealer interface {
	Seal(plain string) (string, error)
	Open(sealed string) (string, error)
}

// Service manages channel accounts and builds their connectors.
type Service struct {
	Store store.Store
	// Wrap, when set, wraps each connector built (metrics and tracing of
	// channel calls: metrics.Connector).
	Wrap func(accountID string, c channel.Connector) channel.Connector
	// Providers are the kinds of account that may be created, by name.
	Providers map[string]channel.Provider
	Box       Sealer
	// PublicURL is how channels reach the gateway, for callback URLs,
	// without a trailing slash.
	PublicURL string
	// HTTPClient is what connectors call their channels with; nil: theirs.
	HTTPClient *http.Client
	// Clock is the service's; ConnectorClock, when set, is what connectors
	// sign with (channels check the wall clock whatever the gateway runs on).
	Clock          clock.Clock
	ConnectorClock clock.Clock
	// Changed, when set, is called after an account changed, so the router
	// drops what it cached.
	Changed func()

	mu    sync.Mutex
	built map[string]builtConnector
}

type builtConnector struct {
	updatedAt time.Time
	conn      channel.Connector
}

func (s *Service) now() time.Time { return s.Clock.Now().UTC().Truncate(time.Microsecond) }

func (s *Service) changed() {
	if s.Changed != nil {
		s.Changed()
	}
}

// CreateParams create an account. Pointers tell a missing field from a zero one.
type CreateParams struct {
	Provider   *string
	Name       *string
	Livemode   *bool
	BaseURL    *string
	Config     map[string]string
	Secrets    map[string]string
	Methods    []string
	Currencies []string
	FeeBps     *int
	MinAmount  *int64
	MaxAmount  *int64
}

// UpdateParams change an account; nil fields are left as they are.
// Config and Secrets replace the keys given and keep the others; an optional
// key given as "" is removed.
type UpdateParams struct {
	Name       *string
	BaseURL    *string
	Config     map[string]string
	Secrets    map[string]string
	Methods    []string
	Currencies []string
	FeeBps     *int
	MinAmount  *int64
	MaxAmount  *int64
	Disabled   *bool
}

// Create checks p, builds the account's connector once to prove its keys
// parse, seals its secrets and stores it.
func (s *Service) Create(ctx context.Context, p CreateParams) (*store.ChannelAccount, error) {
	if p.Provider == nil {
		return nil, errs.Missing("provider")
	}
	prov, err := s.provider(*p.Provider)
	if err != nil {
		return nil, err
	}
	name, err := checkName(deref(p.Name))
	if err != nil {
		return nil, err
	}
	if p.Livemode == nil {
		return nil, errs.Missing("livemode")
	}
	live := *p.Livemode
	baseURL := prov.DefaultBaseURL
	if p.BaseURL != nil {
		baseURL = *p.BaseURL
	}
	if err := checkBaseURL(prov, baseURL, live); err != nil {
		return nil, err
	}
	config, secrets := merge(nil, p.Config), merge(nil, p.Secrets)
	if err := checkKeys("config", p.Config, config, prov.Config, prov.OptionalConfig); err != nil {
		return nil, err
	}
	if err := checkKeys("secrets", p.Secrets, secrets, prov.Secrets, prov.OptionalSecrets); err != nil {
		return nil, err
	}
	methods, err := checkMethods(p.Methods, prov)
	if err != nil {
		return nil, err
	}
	currencies, err := CheckCurrencies("currencies", p.Currencies)
	if err != nil {
		return nil, err
	}
	if p.FeeBps == nil {
		return nil, errs.Missing("fee_bps")
	}
	minAmount, maxAmount := derefInt(p.MinAmount), derefInt(p.MaxAmount)
	if err := CheckLimits("", *p.FeeBps, minAmount, maxAmount); err != nil {
		return nil, err
	}
	now := s.now()
	a := &store.ChannelAccount{
		ID: id.New(id.ChannelAccount, now), Provider: prov.Name, Name: name, Livemode: live, BaseURL: baseURL,
		Config: config, Methods: methods, Currencies: currencies, FeeBps: *p.FeeBps,
		MinAmount: minAmount, MaxAmount: maxAmount, CreatedAt: now, UpdatedAt: now,
	}
	if err := s.checkConnector(prov, a, secrets); err != nil {
		return nil, err
	}
	if a.SealedSecrets, a.SecretNames, err = s.seal(secrets); err != nil {
		return nil, err
	}
	if err := s.Store.ChannelAccountCreate(ctx, a); err != nil {
		return nil, fmt.Errorf("create channel account: %w", err)
	}
	s.changed()
	return a, nil
}

// Get returns the account with id.
func (s *Service) Get(ctx context.Context, accountID string) (*store.ChannelAccount, error) {
	if !id.Valid(id.ChannelAccount, accountID) {
		return nil, ErrNotFound
	}
	a, err := s.Store.ChannelAccountGet(ctx, accountID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	}
	return a, err
}

// List pages through the accounts of provider ("" for all).
func (s *Service) List(ctx context.Context, provider string, p store.ListParams) ([]*store.ChannelAccount, bool, error) {
	if provider != "" {
		if _, err := s.provider(provider); err != nil {
			return nil, false, err
		}
	}
	return s.Store.ChannelAccountList(ctx, provider, p)
}

// Update changes the fields p gives. When what the connector is built from
// changes (base_url, config, secrets, methods, currencies), the account is
// checked again as a whole, as at creation; a change of name, fees, limits
// or disabled alone is not, so that a broken account can still be disabled.
func (s *Service) Update(ctx context.Context, accountID string, p UpdateParams) (*store.ChannelAccount, error) {
	a, err := s.Get(ctx, accountID)
	if err != nil {
		return nil, err
	}
	prov, err := s.provider(a.Provider)
	if err != nil {
		return nil, err
	}
	if p.Name != nil {
		if a.Name, err = checkName(*p.Name); err != nil {
			return nil, err
		}
	}
	if p.BaseURL != nil {
		a.BaseURL = *p.BaseURL
		if a.BaseURL == "" {
			a.BaseURL = prov.DefaultBaseURL
		}
		if err := checkBaseURL(prov, a.BaseURL, a.Livemode); err != nil {
			return nil, err
		}
	}
	rebuild := p.BaseURL != nil || p.Config != nil || p.Secrets != nil || p.Methods != nil || p.Currencies != nil
	var secrets map[string]string
	if rebuild {
		a.Config = merge(a.Config, p.Config)
		if err := checkKeys("config", p.Config, a.Config, prov.Config, prov.OptionalConfig); err != nil {
			return nil, err
		}
		if secrets, err = s.open(a); err != nil {
			return nil, err
		}
		secrets = merge(secrets, p.Secrets)
		if err := checkKeys("secrets", p.Secrets, secrets, prov.Secrets, prov.OptionalSecrets); err != nil {
			return nil, err
		}
	}
	if p.Methods != nil {
		if a.Methods, err = checkMethods(p.Methods, prov); err != nil {
			return nil, err
		}
	}
	if p.Currencies != nil {
		if a.Currencies, err = CheckCurrencies("currencies", p.Currencies); err != nil {
			return nil, err
		}
	}
	if p.FeeBps != nil {
		a.FeeBps = *p.FeeBps
	}
	if p.MinAmount != nil {
		a.MinAmount = *p.MinAmount
	}
	if p.MaxAmount != nil {
		a.MaxAmount = *p.MaxAmount
	}
	if err := CheckLimits("", a.FeeBps, a.MinAmount, a.MaxAmount); err != nil {
		return nil, err
	}
	if p.Disabled != nil {
		a.Disabled = *p.Disabled
	}
	if rebuild {
		if err := s.checkConnector(prov, a, secrets); err != nil {
			return nil, err
		}
	}
	if p.Secrets != nil {
		if a.SealedSecrets, a.SecretNames, err = s.seal(secrets); err != nil {
			return nil, err
		}
	}
	a.UpdatedAt = s.now()
	if err := s.Store.ChannelAccountUpdate(ctx, a); errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	} else if err != nil {
		return nil, fmt.Errorf("update channel account %s: %w", a.ID, err)
	}
	s.changed()
	return a, nil
}

// Bill downloads the account's statement of one day from its channel.
func (s *Service) Bill(ctx context.Context, accountID string, day time.Time) (*store.ChannelAccount, *channel.Bill, error) {
	a, err := s.Get(ctx, accountID)
	if err != nil {
		return nil, nil, err
	}
	conn, err := s.Connector(a)
	if err != nil {
		return nil, nil, errs.Channel("channel_account_invalid", "The channel account's settings do not make a connector; check them.", err)
	}
	if !conn.Capabilities().Bill {
		return nil, nil, errs.Invalid("bill_unsupported", "This channel account's provider serves no statements.")
	}
	bill, err := conn.Bill(ctx, channel.BillRequest{Date: day, Livemode: a.Livemode})
	if err != nil {
		return nil, nil, errs.Channel("channel_unavailable", "The channel did not serve the statement; retry later.", fmt.Errorf("bill of %s for %s: %w", a.ID, day.Format(time.DateOnly), err))
	}
	return a, bill, nil
}

// provider returns the registered provider called name.
func (s *Service) provider(name string) (channel.Provider, error) {
	p, ok := s.Providers[name]
	if name == "" || !ok {
		names := make([]string, 0, len(s.Providers))
		for n := range s.Providers {
			names = append(names, n)
		}
		sort.Strings(names)
		e := errs.Invalid("provider_unknown", fmt.Sprintf("Unknown provider %q: use one of %s.", clip(name), strings.Join(names, ", ")))
		e.Param = "provider"
		return channel.Provider{}, e
	}
	return p, nil
}

// checkConnector builds the account's connector, as the router will, so
// that keys that do not parse are refused now rather than at the first
// payment. The provider's reason is safe to show the operator: it names
// keys, not values.
func (s *Service) checkConnector(p channel.Provider, a *store.ChannelAccount, secrets map[string]string) error {
	if p.New == nil {
		return nil
	}
	if _, err := p.New(s.account(a, secrets)); err != nil {
		return errs.Invalid("channel_account_invalid", "The provider refused the account's settings: "+err.Error())
	}
	return nil
}

// seal seals secrets as one JSON object and returns it with the secrets'
// names, sorted.
func (s *Service) seal(secrets map[string]string) ([]byte, []string, error) {
	b, err := json.Marshal(secrets)
	if err != nil {
		return nil, nil, fmt.Errorf("encode channel secrets: %w", err)
	}
	sealed, err := s.Box.Seal(string(b))
	if err != nil {
		return nil, nil, fmt.Errorf("seal channel secrets: %w", err)
	}
	names := make([]string, 0, len(secrets))
	for k := range secrets {
		names = append(names, k)
	}
	sort.Strings(names)
	return []byte(sealed), names, nil
}

// open unseals an account's secrets: the one place they are opened.
func (s *Service) open(a *store.ChannelAccount) (map[string]string, error) {
	secrets := map[string]string{}
	if len(a.SealedSecrets) == 0 {
		return secrets, nil
	}
	if s.Box == nil {
		return nil, fmt.Errorf("channel account %s: no master key to open its secrets", a.ID)
	}
	plain, err := s.Box.Open(string(a.SealedSecrets))
	if err != nil {
		return nil, fmt.Errorf("open secrets of channel account %s: %w", a.ID, err)
	}
	if err := json.Unmarshal([]byte(plain), &secrets); err != nil {
		return nil, fmt.Errorf("decode secrets of channel account %s: %w", a.ID, err)
	}
	return secrets, nil
}

// checkName checks an account's name and returns it trimmed.
func checkName(name string) (string, error) {
	name = strings.TrimSpace(name)
	switch n := utf8.RuneCountInString(name); {
	case n == 0:
		return "", errs.Missing("name")
	case n > maxName || !utf8.ValidString(name):
		return "", errs.InvalidParam("name", "name must be at most 128 characters.")
	}
	return name, nil
}

// checkBaseURL checks where the provider is: an absolute http(s) URL, and
// https for a live account (test accounts may talk to a local simulator).
// A provider without a base URL (the sandbox, which runs in the gateway)
// takes none.
func checkBaseURL(p channel.Provider, raw string, live bool) error {
	if p.DefaultBaseURL == "" && raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || len(raw) > maxBaseURL || u.Host == "" || u.User != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return errs.InvalidParam("base_url", "base_url must be an absolute http or https URL without credentials, of at most 2048 characters.")
	}
	if live && u.Scheme != "https" {
		return errs.InvalidParam("base_url", "A live channel account's base_url must be https.")
	}
	return nil
}

// checkKeys checks an account's config or secrets (kind "config" or
// "secrets"): given, the keys of the request, must all be keys the provider
// takes, with short text values; final, the keys the account ends up with,
// must hold every key the provider requires.
func checkKeys(kind string, given, final map[string]string, required, optional []string) error {
	keys := make([]string, 0, len(given))
	for k := range given {
		keys = append(keys, k)
	}
	sort.Strings(keys) // report the same key every time
	for _, k := range keys {
		if !slices.Contains(required, k) && !slices.Contains(optional, k) {
			e := errs.Invalid("unknown_parameter", fmt.Sprintf("Received unknown parameter: %s.%s. The provider takes %s.", kind, clip(k), keyList(required, optional)))
			e.Param = kind + "." + k
			return e
		}
		if len(given[k]) > maxKeyValue || !utf8.ValidString(given[k]) {
			return errs.InvalidParam(kind, fmt.Sprintf("%s.%s must be UTF-8 text of at most 16 KiB.", kind, k)).WithParam(kind + "." + k)
		}
	}
	for _, k := range required {
		if final[k] == "" {
			return errs.Missing(kind + "." + k)
		}
	}
	return nil
}

func keyList(required, optional []string) string {
	if len(required)+len(optional) == 0 {
		return "no keys"
	}
	parts := slices.Clone(required)
	for _, k := range optional {
		parts = append(parts, k+" (optional)")
	}
	return strings.Join(parts, ", ")
}

// checkMethods checks that methods is a non-empty list of methods the
// provider serves, and returns it without repeats.
func checkMethods(methods []string, p channel.Provider) ([]string, error) {
	if methods == nil {
		return nil, errs.Missing("methods")
	}
	if len(methods) == 0 {
		return nil, errs.InvalidParam("methods", "methods must list at least one method.")
	}
	var out []string
	for i, m := range methods {
		if !slices.Contains(p.Methods, m) {
			return nil, errs.InvalidParam("methods", fmt.Sprintf("%s does not serve %q: use %s.", p.Name, clip(m), strings.Join(p.Methods, ", "))).
				WithParam(fmt.Sprintf("methods[%d]", i))
		}
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out, nil
}

// CheckCurrencies checks a list of currency codes (param names it in
// errors: "currencies", "candidates[2].currencies") and returns it without
// repeats; nil stays nil.
func CheckCurrencies(param string, currencies []string) ([]string, error) {
	var out []string
	for i, c := range currencies {
		if !money.ValidCurrency(c) {
			return nil, errs.InvalidParam(topParam(param), fmt.Sprintf("%q is not an upper-case ISO 4217 currency code.", clip(c))).
				WithParam(fmt.Sprintf("%s[%d]", param, i))
		}
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out, nil
}

// CheckLimits checks a fee in basis points and an amount range; prefix is
// "" for an account's fields and "candidates[i]." for a route candidate's.
func CheckLimits(prefix string, feeBps int, minAmount, maxAmount int64) error {
	code := func(field string) string { return topParam(prefix + field) }
	switch {
	case feeBps < 0 || feeBps > 10000:
		return errs.InvalidParam(code("fee_bps"), "fee_bps must be 0 to 10000.").WithParam(prefix + "fee_bps")
	case minAmount < 0 || minAmount > MaxAmountLimit:
		return errs.InvalidParam(code("min_amount"), "min_amount must be 0 to 10^12 minor units.").WithParam(prefix + "min_amount")
	case maxAmount < 0 || maxAmount > MaxAmountLimit:
		return errs.InvalidParam(code("max_amount"), "max_amount must be 0 (no maximum) to 10^12 minor units.").WithParam(prefix + "max_amount")
	case maxAmount > 0 && minAmount > maxAmount:
		return errs.InvalidParam(code("min_amount"), "min_amount must not be above max_amount.").WithParam(prefix + "min_amount")
	}
	return nil
}

// topParam is the top-level parameter of a param path: "candidates" for
// "candidates[2].fee_bps".
func topParam(param string) string {
	if i := strings.IndexAny(param, "[."); i >= 0 {
		return param[:i]
	}
	return param
}

// merge returns base with the keys of changes set; a key set to "" is removed.
func merge(base, changes map[string]string) map[string]string {
	out := make(map[string]string, len(base)+len(changes))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range changes {
		if v == "" {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func derefInt(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}
