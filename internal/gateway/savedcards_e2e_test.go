package gateway_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/gateway"
	"github.com/paygate/paygate/internal/store/sqlite"
)

// luhnNumber is a random 16-digit Visa-like number passing the Luhn check.
func luhnNumber(t *testing.T) string {
	t.Helper()
	digits := []byte("4")
	for len(digits) < 15 {
		n, err := rand.Int(rand.Reader, big.NewInt(10))
		if err != nil {
			t.Fatal(err)
		}
		digits = append(digits, byte('0'+n.Int64()))
	}
	sum := 0
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if (len(digits)-i)%2 == 1 { // doubled: every second digit from the right, the check digit excluded
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return string(append(digits, byte('0'+(10-sum%10)%10)))
}

// A card saved at a first payment (through the API, and on the cashier page
// with the payer's consent) is kept as the channel's token and what may be
// shown; the full number appears nowhere: not in the database files, not in
// any log line, not in an answer. A later order with the customer and the
// payment method pays in one step.
func TestSavedCardNumberNeverKept(t *testing.T) {
	dir := t.TempDir()
	st, err := sqlite.Open(filepath.Join(dir, "paygate.db"))
	if err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	e := startOn(t, st, func(c *gateway.Config) {
		c.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		c.LogLevel = "debug"
	})
	ctx := context.Background()
	apiNumber, pageNumber := luhnNumber(t), luhnNumber(t)
	var answers bytes.Buffer
	cus, err := e.demo.CreateCustomer(ctx, client.CreateCustomerParams{Name: "Card holder"})
	if err != nil {
		t.Fatal(err)
	}
	year := time.Now().Year() + 4

	// Through the API, the merchant having collected the consent.
	body, _ := json.Marshal(map[string]any{"out_trade_no": "save-api", "amount": 1200, "currency": "CNY", "subject": "First",
		"method": "card", "customer": cus.ID, "save_payment_method": true,
		"card": map[string]any{"number": apiNumber, "exp_month": 11, "exp_year": year, "cvc": "321"}})
	res := e.post(t, "/v1/orders", body, &answers)
	if res != http.StatusCreated {
		t.Fatalf("card order: %d %s", res, answers.String())
	}
	// A refused card (expired) says why without repeating the number.
	body, _ = json.Marshal(map[string]any{"out_trade_no": "save-bad", "amount": 1200, "currency": "CNY", "subject": "Bad",
		"method": "card", "customer": cus.ID, "card": map[string]any{"number": apiNumber, "exp_month": 1, "exp_year": 2001}})
	if res := e.post(t, "/v1/orders", body, &answers); res != http.StatusBadRequest {
		t.Fatalf("expired card: %d", res)
	}

	// On the cashier page, the payer ticks the box.
	o, err := e.demo.CreateOrder(ctx, client.CreateOrderParams{OutTradeNo: "save-page", Amount: 1500, Currency: "CNY", Subject: "Second", Customer: cus.ID})
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"number": {pageNumber[:4] + " " + pageNumber[4:8] + " " + pageNumber[8:12] + " " + pageNumber[12:]},
		"exp_month": {"10"}, "exp_year": {fmt.Sprint(year)}, "cvc": {"123"}, "save": {"on"}}
	req, _ := http.NewRequest("POST", e.url+"/pay/"+o.ID+"/card", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", e.url)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	pr, err := noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	pr.Body.Close()
	if pr.StatusCode != http.StatusSeeOther {
		t.Fatalf("cashier card payment: %d", pr.StatusCode)
	}
	waitOrder(t, e.demo, o.ID, "succeeded")

	pms, err := e.demo.ListPaymentMethods(ctx, client.ListParams{Extra: map[string]string{"customer": cus.ID}})
	if err != nil || len(pms.Data) != 2 {
		t.Fatalf("saved payment methods: %+v, %v", pms, err)
	}
	last4 := map[string]string{}
	for _, pm := range pms.Data {
		last4[pm.Card.Last4] = pm.ID
		if pm.Card.Brand != "visa" || pm.Card.Fingerprint == "" || pm.Status != "active" {
			t.Fatalf("saved card %+v", pm.Card)
		}
	}
	pmID, ok := last4[pageNumber[12:]]
	if !ok || last4[apiNumber[12:]] == "" {
		t.Fatalf("saved cards end in %v; want %s and %s", last4, apiNumber[12:], pageNumber[12:])
	}
	// One step: the customer and the payment method.
	one, err := e.demo.CreateOrder(ctx, client.CreateOrderParams{OutTradeNo: "one-click", Amount: 990, Currency: "CNY", Subject: "Again", Customer: cus.ID, PaymentMethod: pmID})
	if err != nil || one.Status != "succeeded" || one.Method != "card" {
		t.Fatalf("one-click order: %+v, %v", one, err)
	}
	if b, _ := json.Marshal(pms); bytes.Contains(b, []byte(apiNumber)) {
		t.Fatal("the payment methods' answer holds a card number")
	}

	// Nowhere: the database's files (the WAL included) and the logs.
	files, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	searched := 0
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(dir, f.Name()))
		if err != nil {
			t.Fatal(err)
		}
		searched += len(b)
		for _, n := range []string{apiNumber, pageNumber} {
			if bytes.Contains(b, []byte(n)) {
				t.Errorf("the card number %s is in %s", n, f.Name())
			}
		}
	}
	if searched == 0 {
		t.Fatal("no database file was searched")
	}
	if !strings.Contains(logs.String(), `"msg"`) {
		t.Fatal("no log line was written: the search below would prove nothing")
	}
	for _, n := range []string{apiNumber, pageNumber} {
		if strings.Contains(logs.String(), n) {
			t.Errorf("the card number %s is in the logs", n)
		}
		if strings.Contains(answers.String(), n) {
			t.Errorf("the card number %s is in an answer", n)
		}
	}
	t.Logf("searched %d bytes of database files and %d bytes of logs", searched, len(logs.String()))
	e.verifyLedger()
}

// post posts a JSON body with the demo app's key and appends the answer to out.
func (e *env) post(t *testing.T, path string, body []byte, out *bytes.Buffer) int {
	t.Helper()
	req, _ := http.NewRequest("POST", e.url+path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e.g.Demo.SecretKey)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out.ReadFrom(res.Body)
	return res.StatusCode
}
