package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/channelaccount"
	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/store"
)

// Channel accounts: the platform's accounts at payment providers, managed
// by the operator through channelaccount.Service, which holds their rules
// and seals their secrets. Secrets are write-only: responses name them.

// channelAccountObjectName is the object name of channel accounts.
const channelAccountObjectName = "channel_account"

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

// channelAccountRoutes are the operator API's channel accounts and an
// order's routing.
func (s *Server) channelAccountRoutes() []route {
	return []route{
		{Method: "POST", Pattern: "/admin/v1/channel-accounts", Access: operator, Handler: s.createChannelAccount},
		{Method: "GET", Pattern: "/admin/v1/channel-accounts", Access: operator, Handler: s.listChannelAccounts, Query: true},
		{Method: "GET", Pattern: "/admin/v1/channel-accounts/{id}", Access: operator, Handler: s.getChannelAccount},
		{Method: "POST", Pattern: "/admin/v1/channel-accounts/{id}", Access: operator, Handler: s.updateChannelAccount},
		{Method: "GET", Pattern: "/admin/v1/orders/{id}/routing", Access: operator, Handler: s.getOrderRouting},
		{Method: "GET", Pattern: "/admin/v1/channel-accounts/{id}/bill", Access: operator, Handler: s.getChannelBill, Query: true},
	}
}

func (s *Server) createChannelAccount(w http.ResponseWriter, r *http.Request) error {
	var req createChannelAccountRequest
	if err := decodeJSON(r, bodyOf(r), &req); err != nil {
		return err
	}
	a, err := s.Channels.Create(r.Context(), channelaccount.CreateParams{
		Provider: req.Provider, Name: req.Name, Livemode: req.Livemode, BaseURL: req.BaseURL, Config: req.Config,
		Secrets: req.Secrets, Methods: req.Methods, Currencies: req.Currencies, FeeBps: req.FeeBps,
		MinAmount: req.MinAmount, MaxAmount: req.MaxAmount,
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, s.channelAccountObject(a))
}

func (s *Server) getChannelAccount(w http.ResponseWriter, r *http.Request) error {
	a, err := s.Channels.Get(r.Context(), r.PathValue("id"))
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
	if _, has := q["provider"]; has && provider == "" {
		return errs.InvalidParam("provider", "provider must name a provider.")
	}
	as, more, err := s.Channels.List(r.Context(), provider, lp)
	if err != nil {
		return err
	}
	data := make([]client.ChannelAccount, len(as))
	for i, a := range as {
		data[i] = s.channelAccountObject(a)
	}
	return writeJSON(w, http.StatusOK, newList(data, more))
}

// updateChannelAccount changes the fields given (channelaccount.Service.Update).
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
	a, err := s.Channels.Update(r.Context(), r.PathValue("id"), channelaccount.UpdateParams{
		Name: req.Name, BaseURL: req.BaseURL, Config: req.Config, Secrets: req.Secrets, Methods: req.Methods,
		Currencies: req.Currencies, FeeBps: req.FeeBps, MinAmount: req.MinAmount, MaxAmount: req.MaxAmount, Disabled: req.Disabled,
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, s.channelAccountObject(a))
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
	day, err := time.ParseInLocation(time.DateOnly, r.URL.Query().Get("date"), chinaTime)
	if err != nil {
		e := errs.Invalid("date_invalid", "date must be a day as YYYY-MM-DD (the channel's day, China Standard Time).")
		e.Param = "date"
		return e
	}
	ctx, cancel := context.WithTimeout(r.Context(), 60*time.Second)
	defer cancel()
	a, bill, err := s.Channels.Bill(ctx, r.PathValue("id"), day)
	if err != nil {
		return err
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
