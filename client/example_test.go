package client_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/paygate/paygate/client"
)

// exampleGateway stands in for a Paygate server so the examples run: it
// answers POST /v1/orders with a pending order and names the scheme of the
// Authorization header it received in the order's metadata.
func exampleGateway() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path != "/v1/orders" {
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"error":{"type":"invalid_request_error","code":"order_not_found","message":"No such order.","param":null,"request_id":"req_01example"}}`)
			return
		}
		scheme, _, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"id":"ord_01hexample","object":"order","out_trade_no":"T20260301001","amount":1999,"currency":"CNY",
			"subject":"Green tea","status":"pending","method":"alipay.qr",
			"next_action":{"type":"qr_code","qr_code":"https://qr.example/abc"},"metadata":{"auth":%q},"livemode":false}`, scheme)
	}))
}

// A merchant creates an order with its secret key.
func ExampleClient_CreateOrder() {
	gw := exampleGateway() // in production: "https://pay.example.com"
	defer gw.Close()

	c, err := client.New(gw.URL, client.WithSecretKey("sk_test_4eC39HqLyjWDarjtT1zdp7dc"))
	if err != nil {
		log.Fatal(err)
	}
	order, err := c.CreateOrder(context.Background(), client.CreateOrderParams{
		OutTradeNo: "T20260301001",
		Amount:     1999, // ¥19.99, in fen
		Currency:   "CNY",
		Subject:    "Green tea",
		Method:     "alipay.qr",
	}, client.WithIdempotencyKey("create-T20260301001"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(order.ID, order.Status, order.NextAction.Type, order.Metadata["auth"])
	// Output: ord_01hexample pending qr_code Bearer
}

// A merchant whose app requires signed requests signs each one with its
// HMAC-SHA256 signing key; the secret is used exactly as issued.
func ExampleWithHMACKey() {
	gw := exampleGateway()
	defer gw.Close()

	c, err := client.New(gw.URL, client.WithHMACKey("app_01hexample", "key_01hexample", "q3Jx0d2Qv7mK9c8XzR1tY5wB4nL6pA0sE2uH7iG3fD8"))
	if err != nil {
		log.Fatal(err)
	}
	order, err := c.CreateOrder(context.Background(), client.CreateOrderParams{
		OutTradeNo: "T20260301001", Amount: 1999, Currency: "CNY", Subject: "Green tea",
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(order.ID, order.Metadata["auth"])
	// Output: ord_01hexample PAYGATE-HMAC-SHA256
}

// API errors are *client.Error values with the HTTP status and a stable code.
func ExampleError() {
	gw := exampleGateway()
	defer gw.Close()

	c, _ := client.New(gw.URL, client.WithSecretKey("sk_test_4eC39HqLyjWDarjtT1zdp7dc"))
	_, err := c.GetOrder(context.Background(), "ord_missing")
	var apiErr *client.Error
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.StatusCode, apiErr.Code, apiErr.RequestID)
	}
	// Output: 404 order_not_found req_01example
}

// The return page checks the parameters the cashier sent the payer back
// with. It is a hint for the page; the webhook or GetOrder is the truth.
func ExampleVerifyReturnURL() {
	const webhookSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

	// What the gateway does when it redirects the payer:
	params := url.Values{"order_id": {"ord_01hexample"}, "out_trade_no": {"T20260301001"}, "status": {"succeeded"}, "timestamp": {"1772366400"}}
	sig, _ := client.SignReturnParams(params, webhookSecret)
	params.Set("signature", sig)
	returnURL := "https://shop.example/return?" + params.Encode()

	// What the merchant's return page does:
	u, _ := url.Parse(returnURL)
	if err := client.VerifyReturnURL(u.Query(), webhookSecret); err != nil {
		fmt.Println("not from Paygate:", err)
		return
	}
	fmt.Println("order", u.Query().Get("order_id"), u.Query().Get("status"))
	// Output: order ord_01hexample succeeded
}
