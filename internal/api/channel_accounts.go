package api

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
	"time"
	"unicode/utf8"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/money"
	"github.com/paygate/paygate/internal/store"
)

// Channel accounts: the platform's accounts at payment providers, managed
// by the operator. Their secrets are sealed with the master key as one JSON
// object and are write-only: responses name them and never show them.

var errChannelAccountNotFound = errs.NotFound("channel_account_not_found", "No such channel account.")

// Channel account limits.
const (
	channelAccountObjectName = "channel_account"
	maxChannelAccountName    = 128
	maxChannelBaseURL        = 2048
	maxChannelKeyValue       = 16 << 10 // a config value or a secret (PEM keys are a few KiB)
	maxAmountLimit           = 1_000_000_000_000
)

type createChannelAccountRequest struct {
	Provider   *string           `json:"provider"`
	Name       *string           `json:"name"`
	Livemode   *bool             `json:"livemode"`
	BaseURL    *string           `json:"base_url"`
	Config     map[string]string `json:"config"`
	Secrets    map[string]string `json:"secrets"`
	Methods    []string          `json:"methods"`
	Currencies []string          `json:"currencies"`
	FeeBps     *int              `json:"fee_bps"`
	MinAmount  *int64            `json:"min_amount"`
	MaxAmount  *int64            `json:"max_amount"`
}

// updateChannelAccountRequest holds what may change. Provider and Livemode
// are decoded only to refuse them with a clear error.
type updateChannelAccountRequest struct {
	Provider   json.RawMessage   `json:"provider"`
	Livemode   json.RawMessage   `json:"livemode"`
	Name       *string           `json:"name"`
	BaseURL    *string           `json:"base_url"`
	Config     map[string]string `json:"config"`
	Secrets    map[string]string `json:"secrets"`
	Methods    []string          `json:"methods"`
	Currencies []string          `json:"currencies"`
	FeeBps     *int              `json:"fee_bps"`
	MinAmount  *int64            `json:"min_amount"`
	MaxAmount  *int64            `json:"max_amount"`
	Disabled   *bool             `json:"disabled"`
}

// channelAccountObject renders a; its secrets appear by name only.
func (s *Server) channelAccountObject(a *store.ChannelAccount) client.ChannelAccount {
	out := client.ChannelAccount{
		ID: a.ID, Object: channelAccountObjectName, Provider: a.Provider, Name: a.Name, Livemode: a.Livemode,
		BaseURL: a.BaseURL, Config: map[string]string{}, Secrets: append([]string{}, a.SecretNames...),
		Methods: append([]string{}, a.Methods...), Currencies: append([]string{}, a.Currencies...),
		FeeBps: a.FeeBps, MinAmount: a.MinAmount, MaxAmount: a.MaxAmount, Disabled: a.Disabled,
		CreatedAt: a.CreatedAt.UTC(), UpdatedAt: a.UpdatedAt.UTC(),
	}
	for k, v := range a.Config {
		out.Config[k] = v
	}
	if s.ChannelHealth != nil {
		out.Health = s.ChannelHealth(a.ID)
	}
	return out
}

// channelsChanged tells the router that accounts or routes changed.
func (s *Server) channelsChanged() {
	if s.ChannelsChanged != nil {
		s.ChannelsChanged()
	}
}

// provider returns the registered provider called name.
func (s *Server) provider(name string) (channel.Provider, error) {
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
		if len(given[k]) > maxChannelKeyValue || !utf8.ValidString(given[k]) {
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

// topParam is the top-level parameter of a param path: "candidates" for
// "candidates[2].fee_bps".
func topParam(param string) string {
	if i := strings.IndexAny(param, "[."); i >= 0 {
		return param[:i]
	}
	return param
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

// checkChannelName checks a channel account's name and returns it trimmed.
func checkChannelName(name string) (string, error) {
	name = strings.TrimSpace(name)
	switch n := utf8.RuneCountInString(name); {
	case n == 0:
		return "", errs.Missing("name")
	case n > maxChannelAccountName || !utf8.ValidString(name):
		return "", errs.InvalidParam("name", "name must be at most 128 characters.")
	}
	return name, nil
}

// checkBaseURL checks where the provider is: an absolute http(s) URL, and
// https for a live account (test accounts may talk to a local simulator).
func checkBaseURL(raw string, live bool) error {
	u, err := url.Parse(raw)
	if err != nil || len(raw) > maxChannelBaseURL || u.Host == "" || u.User != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return errs.InvalidParam("base_url", "base_url must be an absolute http or https URL without credentials, of at most 2048 characters.")
	}
	if live && u.Scheme != "https" {
		return errs.InvalidParam("base_url", "A live channel account's base_url must be https.")
	}
	return nil
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

// checkCurrencies checks a list of currency codes (param names it in
// errors) and returns it without repeats; nil stays nil.
func checkCurrencies(param string, currencies []string) ([]string, error) {
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

// checkLimits checks a fee in basis points and an amount range; prefix is
// "" for an account's fields and "candidates[i]." for a route candidate's.
func checkLimits(prefix string, feeBps int, minAmount, maxAmount int64) error {
	code := func(field string) string { return topParam(prefix + field) }
	switch {
	case feeBps < 0 || feeBps > 10000:
		return errs.InvalidParam(code("fee_bps"), "fee_bps must be 0 to 10000.").WithParam(prefix + "fee_bps")
	case minAmount < 0 || minAmount > maxAmountLimit:
		return errs.InvalidParam(code("min_amount"), "min_amount must be 0 to 10^12 minor units.").WithParam(prefix + "min_amount")
	case maxAmount < 0 || maxAmount > maxAmountLimit:
		return errs.InvalidParam(code("max_amount"), "max_amount must be 0 (no maximum) to 10^12 minor units.").WithParam(prefix + "max_amount")
	case maxAmount > 0 && minAmount > maxAmount:
		return errs.InvalidParam(code("min_amount"), "min_amount must not be above max_amount.").WithParam(prefix + "min_amount")
	}
	return nil
}

// checkConnector builds the account's connector, as the router will, so
// that keys that do not parse are refused now rather than at the first
// payment. The provider's reason is safe to show: it names keys, not values.
func (s *Server) checkConnector(p channel.Provider, a *store.ChannelAccount, secrets map[string]string) error {
	if p.New == nil {
		return nil
	}
	_, err := p.New(channel.Account{
		ID: a.ID, Provider: a.Provider, Livemode: a.Livemode, BaseURL: a.BaseURL, Config: a.Config, Secrets: secrets,
		Methods: a.Methods, Currencies: a.Currencies, Clock: s.Clock,
	})
	if err != nil {
		return errs.Invalid("channel_account_invalid", "The provider refused the account's settings: "+err.Error())
	}
	return nil
}

// sealSecrets seals secrets as one JSON object and returns it with the
// secrets' names, sorted.
func (s *Server) sealSecrets(secrets map[string]string) ([]byte, []string, error) {
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

// openSecrets opens an account's sealed secrets.
func (s *Server) openSecrets(a *store.ChannelAccount) (map[string]string, error) {
	secrets := map[string]string{}
	if len(a.SealedSecrets) == 0 {
		return secrets, nil
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

func (s *Server) createChannelAccount(w http.ResponseWriter, r *http.Request) error {
	var req createChannelAccountRequest
	if err := decodeJSON(r, bodyOf(r), &req); err != nil {
		return err
	}
	if req.Provider == nil {
		return errs.Missing("provider")
	}
	p, err := s.provider(*req.Provider)
	if err != nil {
		return err
	}
	name, err := checkChannelName(str(req.Name))
	if err != nil {
		return err
	}
	if req.Livemode == nil {
		return errs.Missing("livemode")
	}
	live := *req.Livemode
	baseURL := p.DefaultBaseURL
	if req.BaseURL != nil {
		baseURL = *req.BaseURL
	}
	if err := checkBaseURL(baseURL, live); err != nil {
		return err
	}
	config, secrets := merge(nil, req.Config), merge(nil, req.Secrets)
	if err := checkKeys("config", req.Config, config, p.Config, p.OptionalConfig); err != nil {
		return err
	}
	if err := checkKeys("secrets", req.Secrets, secrets, p.Secrets, p.OptionalSecrets); err != nil {
		return err
	}
	methods, err := checkMethods(req.Methods, p)
	if err != nil {
		return err
	}
	currencies, err := checkCurrencies("currencies", req.Currencies)
	if err != nil {
		return err
	}
	if req.FeeBps == nil {
		return errs.Missing("fee_bps")
	}
	var minAmount, maxAmount int64
	if req.MinAmount != nil {
		minAmount = *req.MinAmount
	}
	if req.MaxAmount != nil {
		maxAmount = *req.MaxAmount
	}
	if err := checkLimits("", *req.FeeBps, minAmount, maxAmount); err != nil {
		return err
	}
	now := s.now()
	a := &store.ChannelAccount{
		ID: id.New(id.ChannelAccount, now), Provider: *req.Provider, Name: name, Livemode: live, BaseURL: baseURL,
		Config: config, Methods: methods, Currencies: currencies, FeeBps: *req.FeeBps,
		MinAmount: minAmount, MaxAmount: maxAmount, CreatedAt: now, UpdatedAt: now,
	}
	if err := s.checkConnector(p, a, secrets); err != nil {
		return err
	}
	if a.SealedSecrets, a.SecretNames, err = s.sealSecrets(secrets); err != nil {
		return err
	}
	if err := s.Store.ChannelAccountCreate(r.Context(), a); err != nil {
		return fmt.Errorf("create channel account: %w", err)
	}
	s.channelsChanged()
	return writeJSON(w, http.StatusCreated, s.channelAccountObject(a))
}

// channelAccountOf returns the channel account named in the path.
func (s *Server) channelAccountOf(r *http.Request) (*store.ChannelAccount, error) {
	accountID := r.PathValue("id")
	if !id.Valid(id.ChannelAccount, accountID) {
		return nil, errChannelAccountNotFound
	}
	a, err := s.Store.ChannelAccountGet(r.Context(), accountID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errChannelAccountNotFound
	}
	return a, err
}

func (s *Server) getChannelAccount(w http.ResponseWriter, r *http.Request) error {
	a, err := s.channelAccountOf(r)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, s.channelAccountObject(a))
}

func (s *Server) listChannelAccounts(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	lp, err := listParams(q, "provider")
	if err != nil {
		return err
	}
	provider := q.Get("provider")
	if _, has := q["provider"]; has {
		if _, err := s.provider(provider); err != nil {
			return err
		}
	}
	as, more, err := s.Store.ChannelAccountList(r.Context(), provider, lp)
	if err != nil {
		return err
	}
	data := make([]client.ChannelAccount, len(as))
	for i, a := range as {
		data[i] = s.channelAccountObject(a)
	}
	return writeJSON(w, http.StatusOK, newList(data, more))
}

// updateChannelAccount changes the fields given. config and secrets
// replace the keys given and keep the others; an optional key given as ""
// is removed. When what the connector is built from changes (base_url,
// config, secrets, methods, currencies), the account is checked again as a
// whole, as at creation; a change of name, fees, limits or disabled alone
// is not, so that a broken account can still be disabled.
func (s *Server) updateChannelAccount(w http.ResponseWriter, r *http.Request) error {
	var req updateChannelAccountRequest
	if err := decodeJSON(r, bodyOf(r), &req); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		raw  json.RawMessage
	}{{"provider", req.Provider}, {"livemode", req.Livemode}} {
		if f.raw != nil {
			e := errs.Invalid("parameter_immutable", f.name+" cannot be changed; create another channel account.")
			e.Param = f.name
			return e
		}
	}
	a, err := s.channelAccountOf(r)
	if err != nil {
		return err
	}
	p, err := s.provider(a.Provider)
	if err != nil {
		return err
	}
	if req.Name != nil {
		if a.Name, err = checkChannelName(*req.Name); err != nil {
			return err
		}
	}
	if req.BaseURL != nil {
		a.BaseURL = *req.BaseURL
		if a.BaseURL == "" {
			a.BaseURL = p.DefaultBaseURL
		}
		if err := checkBaseURL(a.BaseURL, a.Livemode); err != nil {
			return err
		}
	}
	rebuild := req.BaseURL != nil || req.Config != nil || req.Secrets != nil || req.Methods != nil || req.Currencies != nil
	var secrets map[string]string
	if rebuild {
		a.Config = merge(a.Config, req.Config)
		if err := checkKeys("config", req.Config, a.Config, p.Config, p.OptionalConfig); err != nil {
			return err
		}
		if secrets, err = s.openSecrets(a); err != nil {
			return err
		}
		secrets = merge(secrets, req.Secrets)
		if err := checkKeys("secrets", req.Secrets, secrets, p.Secrets, p.OptionalSecrets); err != nil {
			return err
		}
	}
	if req.Methods != nil {
		if a.Methods, err = checkMethods(req.Methods, p); err != nil {
			return err
		}
	}
	if req.Currencies != nil {
		if a.Currencies, err = checkCurrencies("currencies", req.Currencies); err != nil {
			return err
		}
	}
	if req.FeeBps != nil {
		a.FeeBps = *req.FeeBps
	}
	if req.MinAmount != nil {
		a.MinAmount = *req.MinAmount
	}
	if req.MaxAmount != nil {
		a.MaxAmount = *req.MaxAmount
	}
	if err := checkLimits("", a.FeeBps, a.MinAmount, a.MaxAmount); err != nil {
		return err
	}
	if req.Disabled != nil {
		a.Disabled = *req.Disabled
	}
	if rebuild {
		if err := s.checkConnector(p, a, secrets); err != nil {
			return err
		}
	}
	if req.Secrets != nil {
		if a.SealedSecrets, a.SecretNames, err = s.sealSecrets(secrets); err != nil {
			return err
		}
	}
	a.UpdatedAt = s.now()
	if err := s.Store.ChannelAccountUpdate(r.Context(), a); errors.Is(err, store.ErrNotFound) {
		return errChannelAccountNotFound
	} else if err != nil {
		return fmt.Errorf("update channel account %s: %w", a.ID, err)
	}
	s.channelsChanged()
	return writeJSON(w, http.StatusOK, s.channelAccountObject(a))
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

// getOrderRouting shows the operator how an order was routed.
func (s *Server) getOrderRouting(w http.ResponseWriter, r *http.Request) error {
	o, err := s.Store.OrderGet(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		return errs.OrderNotFound
	}
	if err != nil {
		return err
	}
	out := client.OrderRouting{
		Object: "order_routing", Order: o.ID, MerchantID: o.MerchantID, Livemode: o.Livemode, Method: o.Method,
		Status: string(o.Status), Channel: o.Channel, ChannelAccount: o.ChannelAccountID,
		SyncAttempts: o.SyncAttempts, NextSyncAt: o.NextSyncAt,
	}
	if len(o.Route) > 0 {
		var d client.RouteDecision
		if err := json.Unmarshal(o.Route, &d); err != nil {
			return fmt.Errorf("order %s: route decision: %w", o.ID, err)
		}
		if d.Candidates == nil {
			d.Candidates = []string{}
		}
		if d.Skipped == nil {
			d.Skipped = []client.RouteSkip{}
		}
		if d.Attempts == nil {
			d.Attempts = []client.RouteAttempt{}
		}
		out.Decision = &d
	}
	if out.NextSyncAt != nil {
		t := out.NextSyncAt.UTC()
		out.NextSyncAt = &t
	}
	return writeJSON(w, http.StatusOK, out)
}

// getChannelBill downloads a channel account's statement of one day from
// the channel and renders its rows.
func (s *Server) getChannelBill(w http.ResponseWriter, r *http.Request) error {
	a, err := s.channelAccountOf(r)
	if err != nil {
		return err
	}
	day, err := time.ParseInLocation(time.DateOnly, r.URL.Query().Get("date"), chinaTime)
	if err != nil {
		e := errs.Invalid("date_invalid", "date must be a day as YYYY-MM-DD (the channel's day, China Standard Time).")
		e.Param = "date"
		return e
	}
	if s.Payments == nil || s.Payments.Accounts == nil {
		return errs.Invalid("bill_unsupported", "This gateway has no channel connectors.")
	}
	conn, err := s.Payments.Accounts.Connector(a)
	if err != nil {
		return errs.Channel("channel_account_invalid", "The channel account's settings do not make a connector: "+err.Error(), err)
	}
	if !conn.Capabilities().Bill {
		return errs.Invalid("bill_unsupported", "This channel account's provider serves no statements.")
	}
	ctx, cancel := context.WithTimeout(r.Context(), 60*time.Second)
	defer cancel()
	bill, err := conn.Bill(ctx, channel.BillRequest{Date: day, Livemode: a.Livemode})
	if err != nil {
		return errs.Channel("channel_unavailable", "The channel did not serve the statement; retry later.", fmt.Errorf("bill of %s for %s: %w", a.ID, day.Format(time.DateOnly), err))
	}
	out := client.ChannelBill{
		Object: "channel_bill", ChannelAccount: a.ID, Date: day.Format(time.DateOnly), Format: bill.Format,
		RawBytes: len(bill.Raw), Records: make([]client.ChannelBillRecord, 0, len(bill.Records)),
	}
	for _, rec := range bill.Records {
		out.Records = append(out.Records, client.ChannelBillRecord{
			Kind: string(rec.Kind), Order: rec.OrderID, ChannelTradeNo: rec.ChannelTradeNo, Refund: rec.RefundID,
			ChannelRefundNo: rec.ChannelRefundNo, Amount: rec.Amount, Fee: rec.Fee, Currency: rec.Currency, At: rec.At.UTC(),
		})
	}
	return writeJSON(w, http.StatusOK, out)
}

// chinaTime is the day of the Chinese channels' statements.
var chinaTime = time.FixedZone("CST", 8*3600)
