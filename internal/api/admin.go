package api

import (
	"net/http"
	"time"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/account"
	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/store"
)

// merchantAdminRoutes are the operator API's merchants, apps and keys.
func (s *Server) merchantAdminRoutes() []route {
	return []route{
		{Method: "POST", Pattern: "/admin/v1/merchants", Access: operator, Handler: s.createMerchant},
		{Method: "GET", Pattern: "/admin/v1/merchants", Access: operator, Handler: s.listMerchants, Query: true},
		{Method: "GET", Pattern: "/admin/v1/merchants/{id}", Access: operator, Handler: s.getMerchant},
		{Method: "POST", Pattern: "/admin/v1/merchants/{id}/apps", Access: operator, Handler: s.createApp},
		{Method: "GET", Pattern: "/admin/v1/merchants/{id}/apps", Access: operator, Handler: s.listApps, Query: true},
		{Method: "GET", Pattern: "/admin/v1/apps/{id}", Access: operator, Handler: s.getApp},
		{Method: "POST", Pattern: "/admin/v1/apps/{id}/keys", Access: operator, Handler: s.createKey},
		{Method: "GET", Pattern: "/admin/v1/apps/{id}/keys", Access: operator, Handler: s.listKeys},
		{Method: "DELETE", Pattern: "/admin/v1/keys/{id}", Access: operator, Handler: s.revokeKey},
	}
}

func merchantObject(m *store.Merchant) client.Merchant {
	return client.Merchant{ID: m.ID, Object: "merchant", Name: m.Name, Timezone: m.Timezone,
		SettlementCurrency: m.SettlementCurrency, FeeRateBps: m.FeeRateBps, CreatedAt: m.CreatedAt.UTC()}
}

func appObject(a *store.App) client.App {
	mode := "test"
	if a.Livemode {
		mode = "live"
	}
	return client.App{ID: a.ID, Object: "app", MerchantID: a.MerchantID, Name: a.Name, Mode: mode,
		Livemode: a.Livemode, RequireSignature: a.RequireSignature, CreatedAt: a.CreatedAt.UTC()}
}

func keyObject(k *store.Key, secret string) client.Key {
	return client.Key{ID: k.ID, Object: "key", AppID: k.AppID, Kind: k.Kind, Alg: k.Alg, Secret: secret,
		PublicKey: k.PublicKey, ExpiresAt: k.ExpiresAt, RevokedAt: k.RevokedAt, CreatedAt: k.CreatedAt.UTC()}
}

func (s *Server) createMerchant(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Name               *string `json:"name"`
		Timezone           *string `json:"timezone"`
		SettlementCurrency *string `json:"settlement_currency"`
		FeeRateBps         *int    `json:"fee_rate_bps"`
	}
	if err := decodeJSON(r, bodyOf(r), &req); err != nil {
		return err
	}
	p := account.MerchantParams{Name: str(req.Name), Timezone: str(req.Timezone), SettlementCurrency: str(req.SettlementCurrency)}
	if req.FeeRateBps != nil {
		p.FeeRateBps = *req.FeeRateBps
	}
	m, err := s.Accounts.CreateMerchant(r.Context(), p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, merchantObject(m))
}

func (s *Server) getMerchant(w http.ResponseWriter, r *http.Request) error {
	m, err := s.Accounts.GetMerchant(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, merchantObject(m))
}

func (s *Server) listMerchants(w http.ResponseWriter, r *http.Request) error {
	lp, err := listParams(r.URL.Query())
	if err != nil {
		return err
	}
	ms, more, err := s.Store.MerchantList(r.Context(), lp)
	if err != nil {
		return err
	}
	data := make([]client.Merchant, len(ms))
	for i, m := range ms {
		data[i] = merchantObject(m)
	}
	return writeJSON(w, http.StatusOK, newList(data, more))
}

func (s *Server) createApp(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Name             *string `json:"name"`
		Mode             *string `json:"mode"`
		RequireSignature *bool   `json:"require_signature"`
	}
	if err := decodeJSON(r, bodyOf(r), &req); err != nil {
		return err
	}
	if req.Mode == nil {
		return errs.Missing("mode")
	}
	p := account.AppParams{Name: str(req.Name), Mode: *req.Mode}
	if req.RequireSignature != nil {
		p.RequireSignature = *req.RequireSignature
	}
	na, err := s.Accounts.CreateApp(r.Context(), r.PathValue("id"), p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, client.AppCreated{
		App: appObject(na.App), SecretKey: na.SecretKey,
		SigningKey: keyObject(na.SigningKey, na.SigningSecret), WebhookSecret: na.WebhookSecret,
	})
}

func (s *Server) listApps(w http.ResponseWriter, r *http.Request) error {
	lp, err := listParams(r.URL.Query())
	if err != nil {
		return err
	}
	if _, err := s.Accounts.GetMerchant(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	apps, more, err := s.Store.AppList(r.Context(), r.PathValue("id"), lp)
	if err != nil {
		return err
	}
	data := make([]client.App, len(apps))
	for i, a := range apps {
		data[i] = appObject(a)
	}
	return writeJSON(w, http.StatusOK, newList(data, more))
}

func (s *Server) getApp(w http.ResponseWriter, r *http.Request) error {
	a, err := s.Accounts.GetApp(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, appObject(a))
}

func (s *Server) createKey(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Alg       *string `json:"alg"`
		PublicKey *string `json:"public_key"`
		ExpiresAt *string `json:"expires_at"`
	}
	if err := decodeJSON(r, bodyOf(r), &req); err != nil {
		return err
	}
	var expiresAt *time.Time
	if req.ExpiresAt != nil {
		t, err := parseTime(*req.ExpiresAt)
		if err != nil {
			return errs.InvalidParam("expires_at", "expires_at must be an RFC 3339 time or unix seconds.")
		}
		expiresAt = &t
	}
	k, secret, err := s.Accounts.CreateKey(r.Context(), r.PathValue("id"), account.KeyParams{Alg: str(req.Alg), PublicKey: str(req.PublicKey), ExpiresAt: expiresAt})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, keyObject(k, secret))
}

func (s *Server) listKeys(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.Accounts.GetApp(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	keys, err := s.Store.KeyList(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	data := make([]client.Key, len(keys))
	for i, k := range keys {
		data[i] = keyObject(k, "")
	}
	return writeJSON(w, http.StatusOK, newList(data, false))
}

func (s *Server) revokeKey(w http.ResponseWriter, r *http.Request) error {
	k, err := s.Accounts.RevokeKey(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, keyObject(k, ""))
}
