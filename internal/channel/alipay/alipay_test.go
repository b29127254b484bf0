package alipay_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/channel/alipay"
	"github.com/paygate/paygate/internal/channel/channeltest"
	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/sim"
	simalipay "github.com/paygate/paygate/internal/sim/alipay"
)

// Auth codes: 18 digits starting 28; the last four pick the simulator's scenario.
const (
	codeSuccess   = "281234567890120000"
	codeUserPay   = "281234567890121111"
	codeDeclined  = "281234567890122222"
	codeUnknown   = "281234567890123333"
	codeMalformed = "131234567890120000" // a WeChat prefix
)

// setup is a simulator on loopback, a receiver for its callbacks and a
// connector for both.
type setup struct {
	sim  *simalipay.Sim
	srv  *httptest.Server
	rec  *channeltest.Receiver
	acct channel.Account
	conn channel.Connector
}

func newSetup(t testing.TB) *setup {
	t.Helper()
	s, err := simalipay.New(sim.Options{RetryScale: 0.0005, Hang: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	t.Cleanup(s.Close) // runs first: stop the senders, then the server
	acct := s.Account(srv.URL)
	probe, err := alipay.New(acct)
	if err != nil {
		t.Fatalf("new connector: %v", err)
	}
	rec := channeltest.NewReceiver(t, probe.NotifyReply(nil))
	acct.NotifyURL = rec.URL
	conn, err := alipay.New(acct)
	if err != nil {
		t.Fatal(err)
	}
	return &setup{sim: s, srv: srv, rec: rec, acct: acct, conn: conn}
}

func newHarness(t testing.TB) *channeltest.Harness {
	st := newSetup(t)
	return &channeltest.Harness{
		Connector:          st.conn,
		Sim:                st.sim,
		Receiver:           st.rec,
		Currency:           "CNY",
		QRMethod:           alipay.MethodQR,
		OtherMethods:       []string{alipay.MethodPage, alipay.MethodWap, alipay.MethodApp},
		MicropayMethod:     alipay.MethodMicropay,
		AuthCodeSuccess:    codeSuccess,
		AuthCodeUserPaying: codeUserPay,
		AuthCodeDeclined:   codeDeclined,
	}
}

func TestConformance(t *testing.T) { channeltest.Run(t, newHarness) }

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func newOrderID() string { return id.New(id.Order, time.Now()) }

func (st *setup) pay(t *testing.T, method, orderID string, amount int64, authCode string) (*channel.PayResponse, error) {
	return st.conn.Pay(ctx(t), channel.PayRequest{
		OrderID: orderID, Method: method, Amount: amount, Currency: "CNY", Subject: "测试 A/B & C",
		AuthCode: authCode, ReturnURL: "https://shop.example/return", ExpiresAt: time.Now().Add(15 * time.Minute),
	})
}

func (st *setup) query(t *testing.T, orderID string) (*channel.QueryResponse, error) {
	return st.conn.Query(ctx(t), channel.QueryRequest{OrderID: orderID})
}

func (st *setup) wantStatus(t *testing.T, orderID string, want channel.TradeStatus) *channel.QueryResponse {
	t.Helper()
	q, err := st.query(t, orderID)
	if err != nil || q.Status != want {
		t.Fatalf("query %s = %+v, %v; want %s", orderID, q, err, want)
	}
	return q
}

// nextNotification waits for a callback about orderID and parses it.
func (st *setup) nextNotification(t *testing.T, orderID string) (channel.NotifyRequest, *channel.Notification) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case req := <-st.rec.C:
			n, err := st.conn.Notify(ctx(t), req)
			if err != nil {
				t.Fatalf("genuine callback refused: %v\n%s", err, req.Body)
			}
			if n.OrderID == orderID {
				return req, n
			}
		case <-deadline:
			t.Fatalf("no callback about %s", orderID)
		}
	}
}

func TestNewValidatesAccount(t *testing.T) {
	st := newSetup(t)
	for name, mutate := range map[string]func(a *channel.Account){
		"app_id":            func(a *channel.Account) { delete(a.Config, "app_id") },
		"alipay_public_key": func(a *channel.Account) { a.Config["alipay_public_key"] = "garbage" },
		"private_key": func(a *channel.Account) {
			a.Secrets["private_key"] = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"
		},
	} {
		a := st.sim.Account(st.srv.URL)
		mutate(&a)
		if _, err := alipay.New(a); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("account without a good %s: %v, want an error naming it", name, err)
		}
	}
	// PKCS #1 private keys and bare Base64 public keys are accepted too.
	a := st.sim.Account(st.srv.URL)
	block, _ := pem.Decode([]byte(a.Secrets["private_key"]))
	k, _ := x509.ParsePKCS8PrivateKey(block.Bytes)
	a.Secrets["private_key"] = string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k.(*rsa.PrivateKey))}))
	pub, _ := pem.Decode([]byte(a.Config["alipay_public_key"]))
	a.Config["alipay_public_key"] = strings.TrimSpace(string(pem.EncodeToMemory(pub))[len("-----BEGIN PUBLIC KEY-----\n") : len(pem.EncodeToMemory(pub))-len("-----END PUBLIC KEY-----\n")])
	a.Methods = []string{alipay.MethodQR, "wechat.native"}
	c, err := alipay.New(a)
	if err != nil {
		t.Fatalf("PKCS #1 key, Base64 public key: %v", err)
	}
	if m := c.Capabilities().Methods; len(m) != 1 || m[0] != alipay.MethodQR {
		t.Errorf("methods %v, want the account's alipay.qr only", m)
	}
	if _, err := c.Pay(ctx(t), channel.PayRequest{OrderID: newOrderID(), Method: alipay.MethodPage, Amount: 1, Currency: "CNY"}); !errors.Is(err, channel.ErrNotSupported) {
		t.Errorf("method outside the account: %v, want ErrNotSupported", err)
	}
}

func TestQRLifecycle(t *testing.T) {
	st := newSetup(t)
	o := newOrderID()
	resp, err := st.pay(t, alipay.MethodQR, o, 1234, "")
	if err != nil || resp.NextAction == nil || resp.NextAction.Type != "qr_code" || !strings.HasPrefix(resp.NextAction.QRCode, st.srv.URL+"/qr/") {
		t.Fatalf("precreate: %+v, %v", resp, err)
	}
	// The same order again gets the same code; the same id with another amount is refused.
	again, err := st.pay(t, alipay.MethodQR, o, 1234, "")
	if err != nil || again.NextAction.QRCode != resp.NextAction.QRCode {
		t.Fatalf("precreate again: %+v, %v; want the same code", again, err)
	}
	if _, err := st.pay(t, alipay.MethodQR, o, 999, ""); !errors.Is(err, channel.ErrInvalidRequest) {
		t.Fatalf("precreate with another amount: %v, want ErrInvalidRequest", err)
	}
	// Not scanned yet: Alipay does not know the trade.
	if _, err := st.query(t, o); !errors.Is(err, channel.ErrTradeNotFound) {
		t.Fatalf("query before scan: %v, want ErrTradeNotFound", err)
	}
	// Scanning (opening the code's URL) creates it.
	res, err := http.Get(resp.NextAction.QRCode)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("scan: %v %v", res, err)
	}
	res.Body.Close()
	st.wantStatus(t, o, channel.TradeNotPay)
	if err := st.sim.PayerPays(o); err != nil {
		t.Fatal(err)
	}
	q := st.wantStatus(t, o, channel.TradeSuccess)
	if q.Amount != 1234 || q.ChannelTradeNo == "" || q.PaidAt.IsZero() || q.Currency != "CNY" {
		t.Fatalf("paid trade: %+v", q)
	}
	req, n := st.nextNotification(t, o)
	if n.Kind != channel.NotifyPayment || n.Status != channel.TradeSuccess || n.Amount != 1234 || n.ChannelTradeNo != q.ChannelTradeNo || !n.PaidAt.Equal(q.PaidAt) {
		t.Fatalf("notification %+v, want SUCCESS of 1234 for %s", n, q.ChannelTradeNo)
	}
	// The same callback again parses the same; one changed byte anywhere is refused.
	if n2, err := st.conn.Notify(ctx(t), req); err != nil || *n2 != *n {
		t.Fatalf("duplicate callback: %+v, %v", n2, err)
	}
	form, _ := url.ParseQuery(string(req.Body))
	for _, field := range []string{"total_amount", "trade_status", "out_trade_no", "sign", "notify_time"} {
		bad := url.Values{}
		for k, v := range form {
			bad[k] = append([]string(nil), v...)
		}
		v := []byte(bad.Get(field))
		v[len(v)/2] ^= 1
		bad.Set(field, string(v))
		if _, err := st.conn.Notify(ctx(t), channel.NotifyRequest{Body: []byte(bad.Encode())}); !errors.Is(err, channel.ErrBadSignature) {
			t.Errorf("callback with %s changed: %v, want ErrBadSignature", field, err)
		}
	}
	// Another application's connector refuses it even though the signature is good.
	other := st.acct
	other.Config = map[string]string{"app_id": "2021000000009999", "alipay_public_key": st.acct.Config["alipay_public_key"]}
	oc, _ := alipay.New(other)
	if _, err := oc.Notify(ctx(t), req); !errors.Is(err, channel.ErrBadSignature) {
		t.Errorf("callback for another app_id: %v, want ErrBadSignature", err)
	}
	other.Config = map[string]string{"app_id": simalipay.AppID, "alipay_public_key": st.acct.Config["alipay_public_key"], "seller_id": "2088000000009999"}
	oc, _ = alipay.New(other)
	if _, err := oc.Notify(ctx(t), req); !errors.Is(err, channel.ErrBadSignature) {
		t.Errorf("callback for another seller_id: %v, want ErrBadSignature", err)
	}
	if rep := st.conn.NotifyReply(nil); rep.Status != 200 || string(rep.Body) != "success" {
		t.Errorf("success reply %+v", rep)
	}
	if rep := st.conn.NotifyReply(channel.ErrBadSignature); rep.Status != 200 || string(rep.Body) != "fail" {
		t.Errorf("failure reply %+v", rep)
	}
}

func TestPageWapApp(t *testing.T) {
	st := newSetup(t)
	for _, m := range []string{alipay.MethodPage, alipay.MethodWap} {
		o := newOrderID()
		resp, err := st.pay(t, m, o, 500, "")
		if err != nil || resp.Status != channel.TradeNotPay || resp.ChannelTradeNo != "" || resp.NextAction.Type != "redirect" {
			t.Fatalf("%s: %+v, %v", m, resp, err)
		}
		u, _ := url.Parse(resp.NextAction.URL)
		q := u.Query()
		if u.Path != "/gateway.do" || q.Get("sign") == "" || q.Get("return_url") != "https://shop.example/return" || q.Get("notify_url") != st.rec.URL {
			t.Fatalf("%s redirect %s", m, resp.NextAction.URL)
		}
		// The payer's browser opens it: the cashier creates the trade.
		res, err := http.Get(resp.NextAction.URL)
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || !bytes.Contains(page, []byte("5.00")) {
			t.Fatalf("%s cashier: %d %s", m, res.StatusCode, page)
		}
		st.wantStatus(t, o, channel.TradeNotPay)
		if err := st.sim.PayerPays(o); err != nil {
			t.Fatal(err)
		}
		st.wantStatus(t, o, channel.TradeSuccess)
		// A tampered redirect is refused by the gateway.
		q.Set("biz_content", strings.Replace(q.Get("biz_content"), "5.00", "0.01", 1))
		u.RawQuery = q.Encode()
		res, err = http.Get(u.String())
		if err != nil {
			t.Fatal(err)
		}
		page, _ = io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode == http.StatusOK || !bytes.Contains(page, []byte("isv.invalid-signature")) {
			t.Fatalf("%s tampered redirect: %d %s", m, res.StatusCode, page)
		}
	}
	o := newOrderID()
	resp, err := st.pay(t, alipay.MethodApp, o, 700, "")
	if err != nil || resp.NextAction.Type != "sdk_params" || resp.NextAction.Params["order_string"] == "" {
		t.Fatalf("app: %+v, %v", resp, err)
	}
	// The Alipay app takes the order string to the gateway (the simulator stands in for it).
	res, err := http.Post(st.acct.BaseURL, "application/x-www-form-urlencoded", strings.NewReader(resp.NextAction.Params["order_string"]))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !bytes.Contains(body, []byte(`"code":"10000"`)) {
		t.Fatalf("order string at the gateway: %s", body)
	}
	st.wantStatus(t, o, channel.TradeNotPay)
}

func TestMicropay(t *testing.T) {
	st := newSetup(t)

	o := newOrderID()
	resp, err := st.pay(t, alipay.MethodMicropay, o, 2500, codeSuccess)
	if err != nil || resp.Status != channel.TradeSuccess || resp.ChannelTradeNo == "" {
		t.Fatalf("micropay: %+v, %v", resp, err)
	}
	if _, err := st.pay(t, alipay.MethodMicropay, o, 2500, codeSuccess); !errors.Is(err, channel.ErrAlreadyPaid) {
		t.Errorf("micropay of a paid out_trade_no: %v, want ErrAlreadyPaid", err)
	}

	var d *channel.DeclineError
	for code, want := range map[string]string{codeDeclined: "insufficient_funds", codeMalformed: "invalid_auth_code"} {
		_, err = st.pay(t, alipay.MethodMicropay, newOrderID(), 2500, code)
		if !errors.As(err, &d) || d.Code != want || !errors.Is(err, channel.ErrDeclined) {
			t.Errorf("micropay with %s: %v, want decline %s", code, err, want)
		}
	}

	// 20000 although the payment went through: unknown, then the query knows.
	o = newOrderID()
	if _, err = st.pay(t, alipay.MethodMicropay, o, 2500, codeUnknown); !errors.Is(err, channel.ErrUnknownOutcome) {
		t.Fatalf("micropay answered 20000: %v, want ErrUnknownOutcome", err)
	}
	st.wantStatus(t, o, channel.TradeSuccess)

	// 10003: the payer confirms in the app, then gives up.
	o = newOrderID()
	resp, err = st.pay(t, alipay.MethodMicropay, o, 2500, codeUserPay)
	if err != nil || resp.Status != channel.TradeUserPaying || resp.ChannelTradeNo == "" {
		t.Fatalf("micropay 10003: %+v, %v", resp, err)
	}
	st.wantStatus(t, o, channel.TradeNotPay)
	if err := st.sim.PayerFails(o); err != nil {
		t.Fatal(err)
	}
	st.wantStatus(t, o, channel.TradeClosed)
}

func TestCloseAndReverse(t *testing.T) {
	st := newSetup(t)
	cl := func(o string) error { return st.conn.Close(ctx(t), channel.CloseRequest{OrderID: o}) }

	// Scanned, unpaid: closed; closing again is fine.
	o := newOrderID()
	if _, err := st.pay(t, alipay.MethodQR, o, 100, ""); err != nil {
		t.Fatal(err)
	}
	if err := st.sim.Scan(o); err != nil {
		t.Fatal(err)
	}
	if err := cl(o); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := cl(o); err != nil {
		t.Fatalf("close again: %v", err)
	}
	st.wantStatus(t, o, channel.TradeClosed)

	// Never scanned: the close becomes a cancel, and the code can no longer be paid.
	o = newOrderID()
	if _, err := st.pay(t, alipay.MethodQR, o, 100, ""); err != nil {
		t.Fatal(err)
	}
	if err := cl(o); err != nil {
		t.Fatalf("close of an unscanned trade: %v", err)
	}
	if err := st.sim.PayerPays(o); err == nil {
		t.Fatal("the payer paid a closed code")
	}
	st.wantStatus(t, o, channel.TradeClosed)

	// Paid: ErrAlreadyPaid.
	o = newOrderID()
	if _, err := st.pay(t, alipay.MethodMicropay, o, 100, codeSuccess); err != nil {
		t.Fatal(err)
	}
	if err := cl(o); !errors.Is(err, channel.ErrAlreadyPaid) {
		t.Fatalf("close of a paid trade: %v, want ErrAlreadyPaid", err)
	}

	// Reverse of a paid micropay refunds it and closes the trade.
	if err := st.conn.Reverse(ctx(t), channel.CloseRequest{OrderID: o}); err != nil {
		t.Fatalf("reverse paid: %v", err)
	}
	st.wantStatus(t, o, channel.TradeClosed)

	// Reverse of a trade Alipay never saw (the pay request was lost) blocks it for good.
	o = newOrderID()
	if err := st.conn.Reverse(ctx(t), channel.CloseRequest{OrderID: o}); err != nil {
		t.Fatalf("reverse unknown: %v", err)
	}
	if _, err := st.pay(t, alipay.MethodMicropay, o, 100, codeSuccess); !errors.Is(err, channel.ErrInvalidRequest) {
		t.Fatalf("pay after reverse: %v, want a final refusal (ACQ.TRADE_HAS_CLOSE)", err)
	}
}

func TestRefunds(t *testing.T) {
	st := newSetup(t)
	o := newOrderID()
	if _, err := st.pay(t, alipay.MethodMicropay, o, 1000, codeSuccess); err != nil {
		t.Fatal(err)
	}
	st.nextNotification(t, o) // the payment's
	refund := func(rid string, amount int64) (*channel.RefundResponse, error) {
		return st.conn.Refund(ctx(t), channel.RefundRequest{RefundID: rid, OrderID: o, Amount: amount, Total: 1000, Currency: "CNY", Reason: "退货"})
	}
	r1, r2 := id.New(id.Refund, time.Now()), id.New(id.Refund, time.Now())
	for _, r := range []struct {
		id     string
		amount int64
	}{{r1, 300}, {r2, 200}} {
		resp, err := refund(r.id, r.amount)
		if err != nil || resp.Status != channel.RefundSuccess {
			t.Fatalf("refund %d: %+v, %v", r.amount, resp, err)
		}
		_, n := st.nextNotification(t, o)
		if n.Kind != channel.NotifyRefund || n.RefundID != r.id || n.RefundStatus != channel.RefundSuccess {
			t.Fatalf("refund callback %+v, want SUCCESS of %s", n, r.id)
		}
		got, err := st.conn.RefundQuery(ctx(t), channel.RefundQueryRequest{RefundID: r.id, OrderID: o, Amount: r.amount})
		if err != nil || got.Status != channel.RefundSuccess {
			t.Fatalf("refund query %s: %+v, %v", r.id, got, err)
		}
	}
	// The same refund again (a retry) is answered fund_change N and still SUCCESS.
	if resp, err := refund(r1, 300); err != nil || resp.Status != channel.RefundSuccess {
		t.Fatalf("repeated refund: %+v, %v", resp, err)
	}
	if _, err := refund(r1, 301); !errors.Is(err, channel.ErrInvalidRequest) {
		t.Fatalf("refund id reused for another amount: %v, want ErrInvalidRequest", err)
	}
	if _, err := refund(id.New(id.Refund, time.Now()), 501); !errors.Is(err, channel.ErrInvalidRequest) {
		t.Fatalf("refund beyond what is left: %v, want ErrInvalidRequest", err)
	}
	if _, err := st.conn.RefundQuery(ctx(t), channel.RefundQueryRequest{RefundID: id.New(id.Refund, time.Now()), OrderID: o}); !errors.Is(err, channel.ErrTradeNotFound) {
		t.Fatalf("query of a refund never made: %v, want ErrTradeNotFound", err)
	}
	// The rest: the trade closes.
	if _, err := refund(id.New(id.Refund, time.Now()), 500); err != nil {
		t.Fatal(err)
	}
	st.wantStatus(t, o, channel.TradeClosed)
	if _, err := refund(id.New(id.Refund, time.Now()), 1); !errors.Is(err, channel.ErrInvalidRequest) {
		t.Fatalf("refund of a closed trade: %v, want ErrInvalidRequest", err)
	}
	if _, err := st.conn.Refund(ctx(t), channel.RefundRequest{RefundID: id.New(id.Refund, time.Now()), OrderID: newOrderID(), Amount: 1, Total: 1}); !errors.Is(err, channel.ErrTradeNotFound) {
		t.Fatalf("refund of an unknown trade: %v, want ErrTradeNotFound", err)
	}
}

func TestBill(t *testing.T) {
	st := newSetup(t)
	o := newOrderID()
	if _, err := st.pay(t, alipay.MethodMicropay, o, 1500, codeSuccess); err != nil {
		t.Fatal(err)
	}
	rid := id.New(id.Refund, time.Now())
	if _, err := st.conn.Refund(ctx(t), channel.RefundRequest{RefundID: rid, OrderID: o, Amount: 500, Total: 1500}); err != nil {
		t.Fatal(err)
	}
	today := time.Now().In(time.FixedZone("CST", 8*3600))
	bill, err := st.conn.Bill(ctx(t), channel.BillRequest{Date: today})
	if err != nil {
		t.Fatal(err)
	}
	if bill.Format != alipay.BillFormat || len(bill.Records) != 2 {
		t.Fatalf("bill %s with %d records: %+v", bill.Format, len(bill.Records), bill.Records)
	}
	pay, ref := bill.Records[0], bill.Records[1]
	if pay.Kind != channel.NotifyPayment || pay.OrderID != o || pay.Amount != 1500 || pay.Fee != 9 || pay.ChannelTradeNo == "" || pay.At.IsZero() {
		t.Errorf("payment record %+v, want 1500 with fee 9", pay)
	}
	if ref.Kind != channel.NotifyRefund || ref.OrderID != o || ref.RefundID != rid || ref.Amount != 500 || ref.Fee != -3 {
		t.Errorf("refund record %+v, want 500 of %s with fee -3 returned", ref, rid)
	}
	// The raw file is Alipay's: a zip whose detail member is GBK.
	zr, err := zip.NewReader(bytes.NewReader(bill.Raw), int64(len(bill.Raw)))
	if err != nil || len(zr.File) != 2 {
		t.Fatalf("raw bill: %v, %d members", err, len(zr.File))
	}
	rc, _ := zr.File[0].Open()
	detail, _ := io.ReadAll(rc)
	rc.Close()
	if utf8.Valid(detail) || utf8.ValidString(zr.File[0].Name) {
		t.Error("the detail file or its name is UTF-8, not GBK")
	}
	// A day in the future has no bill.
	empty, err := st.conn.Bill(ctx(t), channel.BillRequest{Date: today.AddDate(0, 0, 2)})
	if err != nil || len(empty.Records) != 0 {
		t.Fatalf("bill of a future day: %+v, %v", empty, err)
	}
}

func TestFaults(t *testing.T) {
	st := newSetup(t)

	st.sim.SetFault(sim.Fault5xx, 1)
	if _, err := st.pay(t, alipay.MethodQR, newOrderID(), 100, ""); !errors.Is(err, channel.ErrUnavailable) {
		t.Errorf("precreate on 5xx: %v, want ErrUnavailable", err)
	}
	paid := newOrderID()
	if _, err := st.pay(t, alipay.MethodMicropay, paid, 100, codeSuccess); err != nil {
		t.Fatal(err)
	}
	st.sim.SetFault(sim.Fault5xx, 1)
	if _, err := st.conn.Refund(ctx(t), channel.RefundRequest{RefundID: id.New(id.Refund, time.Now()), OrderID: paid, Amount: 1, Total: 100}); !errors.Is(err, channel.ErrUnknownOutcome) {
		t.Errorf("refund on 5xx: %v, want ErrUnknownOutcome", err)
	}

	st.sim.SetFault(sim.FaultBadSignature, 1)
	o := newOrderID()
	_, err := st.pay(t, alipay.MethodMicropay, o, 100, codeSuccess)
	if !errors.Is(err, channel.ErrUnknownOutcome) || !errors.Is(err, channel.ErrBadSignature) {
		t.Errorf("micropay answered with a forged signature: %v, want unknown and bad signature", err)
	}
	st.wantStatus(t, o, channel.TradeSuccess)

	st.sim.SetFault(sim.FaultTimeout, 1)
	o = newOrderID()
	c, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err = st.conn.Pay(c, channel.PayRequest{OrderID: o, Method: alipay.MethodMicropay, Amount: 100, Currency: "CNY", AuthCode: codeSuccess})
	if !errors.Is(err, channel.ErrUnknownOutcome) {
		t.Errorf("micropay timing out: %v, want ErrUnknownOutcome", err)
	}
	st.wantStatus(t, o, channel.TradeSuccess)

	// A connector signing with a key Alipay does not know is refused: isv.invalid-signature.
	k, _ := rsa.GenerateKey(rand.Reader, 2048)
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	bad := st.acct
	bad.Secrets = map[string]string{"private_key": string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))}
	bc, _ := alipay.New(bad)
	if _, err := bc.Query(ctx(t), channel.QueryRequest{OrderID: o}); !errors.Is(err, channel.ErrInvalidRequest) || !strings.Contains(err.Error(), "isv.invalid-signature") {
		t.Errorf("request with a wrong key: %v, want ErrInvalidRequest (isv.invalid-signature)", err)
	}

	// Nothing listening: unavailable.
	down := st.acct
	down.BaseURL = "http://127.0.0.1:1/gateway.do"
	dc, _ := alipay.New(down)
	if _, err := dc.Pay(ctx(t), channel.PayRequest{OrderID: newOrderID(), Method: alipay.MethodMicropay, Amount: 1, Currency: "CNY", AuthCode: codeSuccess}); !errors.Is(err, channel.ErrUnavailable) {
		t.Errorf("micropay to a closed port: %v, want ErrUnavailable", err)
	}
}

func TestCallbackDelivery(t *testing.T) {
	st := newSetup(t)

	// Refused callbacks are posted again until answered "success".
	st.rec.SetReply(st.conn.NotifyReply(errors.New("not now")))
	o := newOrderID()
	if _, err := st.pay(t, alipay.MethodMicropay, o, 100, codeSuccess); err != nil {
		t.Fatal(err)
	}
	first, _ := st.nextNotification(t, o)
	second, n := st.nextNotification(t, o) // the receiver still answers "fail"
	st.rec.SetReply(st.conn.NotifyReply(nil))
	f1, _ := url.ParseQuery(string(first.Body))
	f2, _ := url.ParseQuery(string(second.Body))
	if n.Status != channel.TradeSuccess || f1.Get("notify_id") != f2.Get("notify_id") {
		t.Fatalf("retry: %+v; notify_id %s then %s, want the same", n, f1.Get("notify_id"), f2.Get("notify_id"))
	}

	// Out of order: the refund's callback arrives before the payment's.
	st.sim.SetFault(sim.FaultOutOfOrderNotify, 1)
	o = newOrderID()
	if _, err := st.pay(t, alipay.MethodMicropay, o, 100, codeSuccess); err != nil {
		t.Fatal(err)
	}
	if _, err := st.conn.Refund(ctx(t), channel.RefundRequest{RefundID: id.New(id.Refund, time.Now()), OrderID: o, Amount: 40, Total: 100}); err != nil {
		t.Fatal(err)
	}
	if _, n := st.nextNotification(t, o); n.Kind != channel.NotifyRefund {
		t.Fatalf("first callback %+v, want the refund's", n)
	}
	if _, n := st.nextNotification(t, o); n.Kind != channel.NotifyPayment {
		t.Fatalf("second callback %+v, want the payment's", n)
	}

	// Dropped: nothing arrives, the query still knows.
	st.sim.SetFault(sim.FaultDropNotify, 1)
	o = newOrderID()
	if _, err := st.pay(t, alipay.MethodMicropay, o, 100, codeSuccess); err != nil {
		t.Fatal(err)
	}
	quiet := time.After(300 * time.Millisecond)
	for done := false; !done; {
		select {
		case req := <-st.rec.C: // late retries about the earlier orders may still come
			if bytes.Contains(req.Body, []byte(o)) {
				t.Fatalf("a dropped callback arrived: %s", req.Body)
			}
		case <-quiet:
			done = true
		}
	}
	st.wantStatus(t, o, channel.TradeSuccess)
}

// BenchmarkConnector measures trade creates and queries against the
// simulator over loopback HTTP, signatures included.
func BenchmarkConnector(b *testing.B) { channeltest.Bench(b, newHarness) }
