package api

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/paygate/paygate/internal/cryptobox"
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

// BenchmarkIdempotencySeal measures what an Idempotency-Key adds per
// request besides the database: the keyed request fingerprint (with the
// CVC cut out of a card order's body) and sealing the answer with the
// master key, and opening it for a replay.
//
//	go test -run '^$' -bench IdempotencySeal ./internal/api/
func BenchmarkIdempotencySeal(b *testing.B) {
	box, err := cryptobox.New(bytes.Repeat([]byte{7}, cryptobox.KeySize))
	if err != nil {
		b.Fatal(err)
	}
	s := &Server{Box: box}
	r := httptest.NewRequest("POST", "/v1/orders", nil)
	order := []byte(`{"out_trade_no":"bench-1","amount":1000,"currency":"CNY","subject":"Coffee","description":"Large latte","method":"sandbox","payer":{"ip":"203.0.113.9"},"notify_url":"https://shop.example/notify","metadata":{"cart":"42","user":"7"},"expires_in":900}`)
	card := []byte(`{"out_trade_no":"bench-1","amount":1000,"currency":"CNY","subject":"Coffee","method":"card","card":{"number":"4242424242424242","exp_month":12,"exp_year":2030,"cvc":"123"}}`)
	answer := bytes.Repeat([]byte("x"), 1200) // about an order object's size
	b.Run("hash", func(b *testing.B) {
		for b.Loop() {
			s.requestHash(r, order)
		}
	})
	b.Run("hash-card", func(b *testing.B) {
		for b.Loop() {
			s.requestHash(r, card)
		}
	})
	b.Run("seal", func(b *testing.B) {
		for b.Loop() {
			if _, err := box.SealFor(answerContext("app_1", "key-1", 201), answer); err != nil {
				b.Fatal(err)
			}
		}
	})
	sealed, _ := box.SealFor(answerContext("app_1", "key-1", 201), answer)
	b.Run("open", func(b *testing.B) {
		for b.Loop() {
			if _, err := box.OpenFor(answerContext("app_1", "key-1", 201), sealed); err != nil {
				b.Fatal(err)
			}
		}
	})
}
