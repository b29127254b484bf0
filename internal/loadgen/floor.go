package loadgen

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"time"
)

// floorOrder is what the floor server decodes: the create-order fields.
type floorOrder struct {
	OutTradeNo  string            `json:"out_trade_no"`
	Amount      int64             `json:"amount"`
	Currency    string            `json:"currency"`
	Subject     string            `json:"subject"`
	Description string            `json:"description"`
	Method      string            `json:"method"`
	NotifyURL   string            `json:"notify_url"`
	Metadata    map[string]string `json:"metadata"`
}

// StartFloor runs the floor the gateway is measured against: a bare Go HTTP
// server that, per request, only decodes the JSON body, computes one
// HMAC-SHA256 and encodes a JSON answer — no database, no durability. It
// returns the server's base URL and a function that stops it.
func StartFloor() (string, func(), error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	key := []byte("floor-hmac-key-of-32-bytes------")
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		var o floorOrder
		if err := json.Unmarshal(body, &o); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		mac := hmac.New(sha256.New, key)
		mac.Write(body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]any{
			"id": "ord_floor", "object": "order", "out_trade_no": o.OutTradeNo, "amount": o.Amount,
			"currency": o.Currency, "subject": o.Subject, "status": "pending",
			"signature": base64.StdEncoding.EncodeToString(mac.Sum(nil)), "created_at": time.Now().UTC(),
		})
	})
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(l)
	return "http://" + l.Addr().String(), func() { srv.Close() }, nil
}
