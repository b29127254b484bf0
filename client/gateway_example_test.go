package client_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/paygate/paygate/client"
	paygate "github.com/paygate/paygate/internal/gateway"
)

// demoGateway starts a real Paygate on a temporary SQLite database, as
// `paygate serve` does, and returns its URL, the demo app's secret key and
// a function that stops it. In your code the gateway is already running:
// use its URL and the key it printed (or `paygate demo keys`).
func demoGateway() (url, secretKey string, stop func()) {
	dir, err := os.MkdirTemp("", "paygate-example")
	if err != nil {
		log.Fatal(err)
	}
	g, err := paygate.Open(context.Background(), paygate.Config{
		Addr: "127.0.0.1:0", Database: "sqlite:" + filepath.Join(dir, "paygate.db"),
		Logger: slog.New(slog.DiscardHandler),
	}, io.Discard)
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { g.Serve(ctx); close(done) }()
	return g.URL(), g.Demo.SecretKey, func() { cancel(); <-done; os.RemoveAll(dir) }
}

// A payment from start to end against a running gateway: create an order,
// pay it as the payer (test mode), refund part of it, and read the balance,
// where the demo merchant's 0.6% fee shows.
func Example_payment() {
	url, sk, stop := demoGateway() // e.g. "http://localhost:8080" and "sk_test_…"
	defer stop()

	ctx := context.Background()
	c, err := client.New(url, client.WithSecretKey(sk))
	if err != nil {
		log.Fatal(err)
	}
	order, err := c.CreateOrder(ctx, client.CreateOrderParams{
		OutTradeNo: "demo-1", Amount: 1000, Currency: "CNY", Subject: "Coffee", Method: "sandbox",
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(order.Status, order.NextAction.Type)

	order, err = c.TestPayOrder(ctx, order.ID, "succeeded") // test mode: act as the payer
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(order.Status)

	refund, err := c.CreateRefund(ctx, client.CreateRefundParams{OutTradeNo: "demo-1", OutRefundNo: "demo-1-r1", Amount: 300})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("refund", refund.Status, refund.Amount)

	balance, err := c.GetBalance(ctx)
	if err != nil {
		log.Fatal(err)
	}
	// 1000 paid - 6 fee (60 bps) - 300 refunded
	fmt.Println("pending", balance.Pending[0].Amount, balance.Pending[0].Currency)
	// Output:
	// pending qr_code
	// succeeded
	// refund succeeded 300
	// pending 694 CNY
}

// A webhook endpoint receives the events it subscribes to; the receiver
// checks each one's signature with the endpoint's secret before trusting it.
func ExampleClient_CreateWebhookEndpoint() {
	url, sk, stop := demoGateway()
	defer stop()
	ctx := context.Background()
	c, _ := client.New(url, client.WithSecretKey(sk))

	// The merchant's receiver. Its secret is known once the endpoint exists.
	secret := make(chan string, 1)
	received := make(chan string, 1)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s := <-secret
		secret <- s
		if err := client.VerifyWebhook(r.Header, body, s, 5*time.Minute); err != nil {
			http.Error(w, "bad signature", http.StatusBadRequest)
			return
		}
		ev, _ := client.ParseWebhook(body)
		w.WriteHeader(http.StatusNoContent) // any 2xx acknowledges
		received <- ev.Type
	}))
	defer receiver.Close()

	ep, err := c.CreateWebhookEndpoint(ctx, client.CreateWebhookEndpointParams{
		URL:           receiver.URL + "/hooks", // live mode: a public https URL
		EnabledEvents: []string{"order.succeeded", "refund.succeeded", "refund.failed"},
	})
	if err != nil {
		log.Fatal(err)
	}
	secret <- ep.Secret // whsec_…, shown only in this response
	fmt.Println(ep.Status, ep.EnabledEvents)

	order, _ := c.CreateOrder(ctx, client.CreateOrderParams{OutTradeNo: "hook-1", Amount: 500, Currency: "CNY", Subject: "Tea", Method: "sandbox"})
	c.TestPayOrder(ctx, order.ID, "succeeded")
	fmt.Println("received", <-received)
	// Output:
	// enabled [order.succeeded refund.succeeded refund.failed]
	// received order.succeeded
}

// A merchant downloads a day's statement: every payment of that day in its
// time zone, as CSV, with a total row per currency last. The download is
// streamed and checked against the gateway's signature trailer.
func ExampleClient_DownloadStatement() {
	url, sk, stop := demoGateway()
	defer stop()
	ctx := context.Background()
	c, _ := client.New(url, client.WithSecretKey(sk), client.WithVerifyResponses())

	order, _ := c.CreateOrder(ctx, client.CreateOrderParams{OutTradeNo: "stmt-1", Amount: 1000, Currency: "CNY", Subject: "Tea", Method: "sandbox"})
	c.TestPayOrder(ctx, order.ID, "succeeded")

	shanghai, _ := time.LoadLocation("Asia/Shanghai") // the demo merchant's time zone
	today := time.Now().In(shanghai).Format(time.DateOnly)
	var csv strings.Builder
	if err := c.DownloadStatement(ctx, today, client.StatementTrades, &csv); err != nil {
		log.Fatal(err)
	}
	rows := strings.Split(strings.TrimSpace(csv.String()), "\n")
	fmt.Println(rows[0])
	fmt.Println(rows[len(rows)-1]) // 1 trade: amount, fee, net, refunded
	// Output:
	// type,time,order_id,out_trade_no,app_id,method,channel,currency,amount,fee,net,amount_refunded,settlement_id,presentment_currency,presentment_amount,fx_quote,fx_rate
	// total,,1,,,,,CNY,1000,6,994,0,,,,,
}
