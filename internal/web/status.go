package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/store"
)

// statusBody is the JSON of GET /pay/{id}/status.
type statusBody struct {
	Object  string `json:"object"` // "cashier_status"
	OrderID string `json:"order_id"`
	// Status is pending, processing, succeeded, failed, closed, or expired
	// (unpaid past its expiry, whether or not the worker has closed it yet).
	Status      string    `json:"status"`
	Method      string    `json:"method"`
	SecondsLeft int64     `json:"seconds_left"`
	ExpiresAt   time.Time `json:"expires_at"`
	// ReturnURL is the signed return URL once the order is final and has a
	// return_url, else null.
	ReturnURL *string `json:"return_url"`
}

// status serves GET /pay/{id}/status, which the page polls.
func (h *Handler) status(w http.ResponseWriter, r *http.Request) error {
	o, err := h.order(r.Context(), r)
	if err != nil {
		return err
	}
	b := statusBody{Object: "cashier_status", OrderID: o.ID, Status: h.state(o), Method: o.Method, ExpiresAt: o.ExpiresAt.UTC()}
	if b.Status == statePending || b.Status == stateProcessing {
		b.SecondsLeft = h.secondsLeft(o)
	}
	if o.Status == store.OrderSucceeded || o.Status == store.OrderFailed || o.Status == store.OrderClosed {
		ru, err := h.returnURL(r.Context(), o)
		if err != nil {
			h.cfg.Log.Error("cashier: sign return URL", "order", o.ID, "err", err)
		}
		if ru != "" {
			b.ReturnURL = &ru
		}
	}
	return writeJSON(w, http.StatusOK, b)
}

// returnURL is o's return_url with the result parameters of the API reference (docs/api.md) set —
// order_id, out_trade_no, status, timestamp — and signature, made by
// client.SignReturnParams with the app's webhook secret. The merchant's own
// query parameters stay and are signed too, since the signature covers
// every parameter but itself. It is "" when o has no return_url.
func (h *Handler) returnURL(ctx context.Context, o *store.Order) (string, error) {
	if o.ReturnURL == "" {
		return "", nil
	}
	u, err := url.Parse(o.ReturnURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return "", fmt.Errorf("order %s: return_url is not an http(s) URL", o.ID)
	}
	q := u.Query()
	q.Set("order_id", o.ID)
	q.Set("out_trade_no", o.OutTradeNo)
	q.Set("status", string(o.Status))
	q.Set("timestamp", strconv.FormatInt(h.cfg.Clock.Now().Unix(), 10))
	q.Del("signature")
	app, err := h.cfg.Accounts.GetApp(ctx, o.AppID)
	if err != nil {
		return "", fmt.Errorf("order %s: app: %w", o.ID, err)
	}
	secret, err := h.cfg.Accounts.WebhookSecret(app)
	if err != nil {
		return "", fmt.Errorf("order %s: webhook secret: %w", o.ID, err)
	}
	sig, err := client.SignReturnParams(q, secret)
	if err != nil {
		return "", fmt.Errorf("order %s: sign return parameters: %w", o.ID, err)
	}
	q.Set("signature", sig)
	u.RawQuery = q.Encode()
	return u.String(), nil
}
