package api

import (
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/paygate/paygate/internal/payment"
	"github.com/paygate/paygate/internal/store"
)

// BenchmarkOrderJSON measures the access layer's JSON work per create-order:
// strict decoding of the request and rendering plus encoding of the order.
//
//	go test -run '^$' -bench OrderJSON ./internal/api/
func BenchmarkOrderJSON(b *testing.B) {
	body := []byte(`{"out_trade_no":"bench-1","amount":1000,"currency":"CNY","subject":"Coffee","description":"Large latte","method":"sandbox","payer":{"ip":"203.0.113.9"},"notify_url":"https://shop.example/notify","metadata":{"cart":"42","user":"7"},"expires_in":900}`)
	r := httptest.NewRequest("POST", "/v1/orders", nil)
	r.Header.Set("Content-Type", "application/json")
	b.Run("decode", func(b *testing.B) {
		for b.Loop() {
			var req createOrderRequest
			if err := decodeJSON(r, body, &req); err != nil {
				b.Fatal(err)
			}
		}
	})
	now := time.Now()
	paid := now.Add(time.Second)
	o := &store.Order{ID: "ord_01hzzzzzzzzzzzzzzzzzzzzzzz", MerchantID: "mch_1", AppID: "app_1", OutTradeNo: "bench-1",
		Amount: 1000, Currency: "CNY", Subject: "Coffee", Description: "Large latte", Method: "sandbox",
		Status: store.OrderSucceeded, Channel: "sandbox", ChannelTradeNo: "sbxq_01hzzzzzzzzzzzzzzzzzzzzzzz",
		Metadata: map[string]string{"cart": "42", "user": "7"}, Payer: store.Payer{IP: "203.0.113.9"},
		NotifyURL: "https://shop.example/notify", CreatedAt: now, UpdatedAt: now, ExpiresAt: now.Add(15 * time.Minute), PaidAt: &paid}
	b.Run("encode", func(b *testing.B) {
		for b.Loop() {
			if _, err := json.Marshal(payment.OrderObject(o)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
