package unionpay_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/channel/channeltest"
	"github.com/paygate/paygate/internal/channel/unionpay"
	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/sim"
	simup "github.com/paygate/paygate/internal/sim/unionpay"
)

// setup is one simulator on loopback with a connector whose callbacks go
// to a receiver.
type setup struct {
	sim  *simup.Sim
	url  string
	acct channel.Account
	conn channel.Connector
	rcv  *channeltest.Receiver
}

func newSetup(t testing.TB) *setup { return newSetupIn(t, false) }

// newSetupIn is newSetup with the simulator playing UnionPay's test
// environment (testEnv) or production.
func newSetupIn(t testing.TB, testEnv bool) *setup {
	t.Helper()
	s, err := simup.New(sim.Options{RetryScale: 0.0005, Hang: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	s.SetTestEnvironment(testEnv)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	t.Cleanup(s.Close) // runs first: stops the senders and releases hung answers
	acct := s.Account(srv.URL)
	rcv := channeltest.NewReceiver(t, (&unionpay.Connector{}).NotifyReply(nil))
	acct.NotifyURL = rcv.URL
	conn, err := unionpay.New(acct)
	if err != nil {
		t.Fatal(err)
	}
	return &setup{sim: s, url: srv.URL, acct: acct, conn: conn, rcv: rcv}
}

func outTradeNo(orderID string) string {
	no, err := unionpay.ChannelOrderID(orderID)
	if err != nil {
		return orderID
	}
	return no
}

func newHarness(t testing.TB) *channeltest.Harness {
	s := newSetup(t)
	return &channeltest.Harness{
		Connector:          s.conn,
		Sim:                s.sim,
		Receiver:           s.rcv,
		Currency:           "CNY",
		QRMethod:           unionpay.MethodQR,
		OtherMethods:       []string{unionpay.MethodGateway},
		MicropayMethod:     unionpay.MethodMicropay,
		AuthCodeSuccess:    simup.AuthCodeSuccess,
		AuthCodeUserPaying: simup.AuthCodeUserPaying,
		AuthCodeDeclined:   simup.AuthCodeDeclined,
		OutTradeNo:         outTradeNo,
	}
}

func TestConformance(t *testing.T) { channeltest.Run(t, newHarness) }

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

type order struct {
	id      string
	created time.Time
	amount  int64
}

func newOrder(amount int64) order {
	now := time.Now().UTC().Truncate(time.Second)
	return order{id: id.New(id.Order, now), created: now, amount: amount}
}

func (s *setup) pay(t *testing.T, o order, method, authCode string) (*channel.PayResponse, error) {
	return s.conn.Pay(ctx(t), channel.PayRequest{
		OrderID: o.id, CreatedAt: o.created, Method: method, Amount: o.amount, Currency: "CNY",
		AuthCode: authCode, ExpiresAt: o.created.Add(15 * time.Minute), ReturnURL: "https://shop.example/back",
	})
}

func (s *setup) query(t *testing.T, o order) (*channel.QueryResponse, error) {
	return s.conn.Query(ctx(t), channel.QueryRequest{OrderID: o.id, CreatedAt: o.created})
}

// paidQR makes a QR trade and has the payer pay it.
func (s *setup) paidQR(t *testing.T, amount int64) (order, string) {
	t.Helper()
	o := newOrder(amount)
	resp, err := s.pay(t, o, unionpay.MethodQR, "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(resp.NextAction.QRCode, "https://qr.95516.com/") {
		t.Fatalf("QR code %q", resp.NextAction.QRCode)
	}
	if err := s.sim.PayerPays(outTradeNo(o.id)); err != nil {
		t.Fatal(err)
	}
	q, err := s.query(t, o)
	if err != nil || q.Status != channel.TradeSuccess || q.ChannelTradeNo == "" {
		t.Fatalf("query after paying: %+v, %v", q, err)
	}
	return o, q.ChannelTradeNo
}

// next returns the next callback, parsed.
func (s *setup) next(t *testing.T) (channel.NotifyRequest, *channel.Notification) {
	t.Helper()
	select {
	case req := <-s.rcv.C:
		n, err := s.conn.Notify(ctx(t), req)
		if err != nil {
			t.Fatalf("genuine callback refused: %v", err)
		}
		return req, n
	case <-time.After(10 * time.Second):
		t.Fatal("no callback")
	}
	return channel.NotifyRequest{}, nil
}

func TestQRPaymentAndNotification(t *testing.T) {
	s := newSetup(t)
	o, tradeNo := s.paidQR(t, 1234)
	req, n := s.next(t)
	if n.Kind != channel.NotifyPayment || n.OrderID != o.id || n.Status != channel.TradeSuccess ||
		n.Amount != 1234 || n.ChannelTradeNo != tradeNo || n.Currency != "CNY" || n.PaidAt.IsZero() {
		t.Fatalf("notification %+v", n)
	}
	if d := time.Until(n.PaidAt); d > time.Minute || d < -time.Minute {
		t.Errorf("paid at %s, not now", n.PaidAt)
	}
	form, _ := url.ParseQuery(string(req.Body))
	if form.Get("orderId") != outTradeNo(o.id) || !strings.Contains(form.Get("signPubKeyCert"), "\r\n") {
		t.Errorf("callback form %v", form)
	}
	if v, ok := form["reserved"]; !ok || len(v) != 1 || v[0] != "" {
		t.Errorf("callback's reserved = %q, want it posted empty", v)
	}
}

// TestTestEnvironmentEndToEnd runs a QR payment against the simulator
// playing UnionPay's test environment, whose signing certificate has the
// test form (…@00040000:SIGN@…): the account it hands out
// (validate_cert_cn=false) accepts its answers and notifications, one that
// checks the CN as production does refuses them.
func TestTestEnvironmentEndToEnd(t *testing.T) {
	s := newSetupIn(t, true)
	if s.acct.Config["validate_cert_cn"] != "false" {
		t.Fatalf("the test environment's account: validate_cert_cn %q", s.acct.Config["validate_cert_cn"])
	}
	o, tradeNo := s.paidQR(t, 2345)
	req, n := s.next(t)
	if n.OrderID != o.id || n.Status != channel.TradeSuccess || n.Amount != 2345 || n.ChannelTradeNo != tradeNo {
		t.Fatalf("notification %+v", n)
	}
	form, _ := url.ParseQuery(string(req.Body))
	block, _ := pem.Decode([]byte(form.Get("signPubKeyCert")))
	if block == nil {
		t.Fatal("no signPubKeyCert")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil || cert.Subject.CommonName != simup.TestSigningCertCN {
		t.Fatalf("signing certificate %v, %v; want the test form", cert.Subject, err)
	}

	acct := s.acct
	acct.Config = map[string]string{}
	for k, v := range s.acct.Config {
		acct.Config[k] = v
	}
	acct.Config["validate_cert_cn"] = "true"
	strict, err := unionpay.New(acct)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := strict.Query(ctx(t), channel.QueryRequest{OrderID: o.id, CreatedAt: o.created}); !errors.Is(err, channel.ErrBadSignature) {
		t.Fatalf("query with the CN checked as in production: %v, want ErrBadSignature", err)
	}
	if _, err := strict.Notify(ctx(t), req); !errors.Is(err, channel.ErrBadSignature) {
		t.Fatalf("notification with the CN checked as in production: %v, want ErrBadSignature", err)
	}
}

func TestGatewayRedirect(t *testing.T) {
	s := newSetup(t)
	o := newOrder(888)
	resp, err := s.pay(t, o, unionpay.MethodGateway, "")
	if err != nil {
		t.Fatal(err)
	}
	na := resp.NextAction
	if na.Type != "redirect" || na.Params["bizType"] != "000201" || na.Params["channelType"] != "07" ||
		na.Params["frontUrl"] != "https://shop.example/back" || na.Params["signature"] == "" {
		t.Fatalf("next action %+v", na)
	}
	// The payer's browser opens the URL (a GET of the signed fields).
	page := get(t, na.URL)
	if !strings.Contains(page, "8.88") || !strings.Contains(page, outTradeNo(o.id)) {
		t.Fatalf("cashier page: %s", page)
	}
	// The production way: a form POST of Params to the endpoint.
	endpoint, _, _ := strings.Cut(na.URL, "?")
	form := url.Values{}
	for k, v := range na.Params {
		form.Set(k, v)
	}
	res, err := http.PostForm(endpoint, form)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("POST of the same form: %d", res.StatusCode)
	}
	if q, err := s.query(t, o); err != nil || q.Status != channel.TradeNotPay {
		t.Fatalf("query before paying: %+v, %v", q, err)
	}
	if err := s.sim.PayerPays(outTradeNo(o.id)); err != nil {
		t.Fatal(err)
	}
	if q, err := s.query(t, o); err != nil || q.Status != channel.TradeSuccess || q.Amount != 888 {
		t.Fatalf("query after paying: %+v, %v", q, err)
	}
	// A changed amount breaks the signature: UnionPay's page refuses it.
	form.Set("txnAmt", "1")
	page = get(t, endpoint+"?"+form.Encode())
	if !strings.Contains(page, "11") || !strings.Contains(page, "验证签名失败") {
		t.Fatalf("tampered form: %s", page)
	}
}

func get(t *testing.T, u string) string {
	t.Helper()
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

func TestPayerFails(t *testing.T) {
	s := newSetup(t)
	o := newOrder(500)
	if _, err := s.pay(t, o, unionpay.MethodQR, ""); err != nil {
		t.Fatal(err)
	}
	if err := s.sim.PayerFails(outTradeNo(o.id)); err != nil {
		t.Fatal(err)
	}
	q, err := s.query(t, o)
	if err != nil || q.Status != channel.TradePayError || q.FailureCode != "declined" {
		t.Fatalf("query: %+v, %v", q, err)
	}
}

func TestMicropay(t *testing.T) {
	s := newSetup(t)
	o := newOrder(2500)
	resp, err := s.pay(t, o, unionpay.MethodMicropay, simup.AuthCodeSuccess)
	if err != nil || resp.Status != channel.TradeSuccess || resp.ChannelTradeNo == "" {
		t.Fatalf("micropay: %+v, %v", resp, err)
	}
	_, err = s.pay(t, newOrder(2500), unionpay.MethodMicropay, simup.AuthCodeDeclined)
	var d *channel.DeclineError
	if !errors.As(err, &d) || d.Code != "insufficient_funds" {
		t.Fatalf("declined code: %v", err)
	}
	_, err = s.pay(t, newOrder(2500), unionpay.MethodMicropay, "1234")
	if !errors.Is(err, channel.ErrInvalidRequest) {
		t.Fatalf("malformed code: %v", err)
	}
	// The payer is confirming; then reverse: the query says REVOKED/CLOSED.
	o = newOrder(2500)
	resp, err = s.pay(t, o, unionpay.MethodMicropay, simup.AuthCodeUserPaying)
	if err != nil || resp.Status != channel.TradeUserPaying {
		t.Fatalf("user paying: %+v, %v", resp, err)
	}
	if q, err := s.query(t, o); err != nil || q.Status != channel.TradeUserPaying {
		t.Fatalf("query while confirming: %+v, %v", q, err)
	}
	if err := s.conn.Reverse(ctx(t), channel.CloseRequest{OrderID: o.id, CreatedAt: o.created, Amount: o.amount}); err != nil {
		t.Fatal(err)
	}
	if q, err := s.query(t, o); err != nil || q.Status != channel.TradeClosed {
		t.Fatalf("query after reversing: %+v, %v", q, err)
	}
	// A paid trade reversed is REVOKED.
	o = newOrder(100)
	if _, err := s.pay(t, o, unionpay.MethodMicropay, simup.AuthCodeSuccess); err != nil {
		t.Fatal(err)
	}
	if err := s.conn.Reverse(ctx(t), channel.CloseRequest{OrderID: o.id, CreatedAt: o.created}); err != nil {
		t.Fatal(err)
	}
	if q, err := s.query(t, o); err != nil || q.Status != channel.TradeRevoked {
		t.Fatalf("query after reversing a paid trade: %+v, %v", q, err)
	}
	// Reversing what UnionPay never saw.
	err = s.conn.Reverse(ctx(t), channel.CloseRequest{OrderID: newOrder(1).id, CreatedAt: time.Now()})
	if !errors.Is(err, channel.ErrTradeNotFound) {
		t.Fatalf("reverse of nothing: %v", err)
	}
}

func TestMicropayTimeoutThenQuery(t *testing.T) {
	s := newSetup(t)
	s.sim.SetFault(sim.FaultTimeout, 1)
	o := newOrder(300)
	c, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := s.conn.Pay(c, channel.PayRequest{OrderID: o.id, CreatedAt: o.created, Method: unionpay.MethodMicropay, Amount: 300, Currency: "CNY", AuthCode: simup.AuthCodeSuccess})
	if !errors.Is(err, channel.ErrUnknownOutcome) {
		t.Fatalf("timeout: %v", err)
	}
	if q, err := s.query(t, o); err != nil || q.Status != channel.TradeSuccess {
		t.Fatalf("query: %+v, %v", q, err)
	}
}

func TestCloseUnpaidAndPaid(t *testing.T) {
	s := newSetup(t)
	o := newOrder(800)
	if _, err := s.pay(t, o, unionpay.MethodQR, ""); err != nil {
		t.Fatal(err)
	}
	if err := s.conn.Close(ctx(t), channel.CloseRequest{OrderID: o.id, CreatedAt: o.created}); err != nil {
		t.Fatal(err)
	}
	if err := s.sim.PayerPays(outTradeNo(o.id)); err == nil {
		t.Fatal("the payer paid a closed trade")
	}
	if q, err := s.query(t, o); err != nil || q.Status != channel.TradeClosed {
		t.Fatalf("query after close: %+v, %v", q, err)
	}
	// Closing again, or closing what never reached UnionPay, is fine.
	if err := s.conn.Close(ctx(t), channel.CloseRequest{OrderID: o.id, CreatedAt: o.created}); err != nil {
		t.Fatal(err)
	}
	if err := s.conn.Close(ctx(t), channel.CloseRequest{OrderID: newOrder(1).id, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	paid, _ := s.paidQR(t, 900)
	err := s.conn.Close(ctx(t), channel.CloseRequest{OrderID: paid.id, CreatedAt: paid.created})
	if !errors.Is(err, channel.ErrAlreadyPaid) {
		t.Fatalf("close paid: %v", err)
	}
}

func TestRefunds(t *testing.T) {
	s := newSetup(t)
	o, tradeNo := s.paidQR(t, 1000)
	s.next(t) // the payment's callback
	type refund struct {
		id      string
		created time.Time
		amount  int64
	}
	var refunds []refund
	for i, amount := range []int64{300, 200} {
		r := refund{id.New(id.Refund, time.Now()), time.Now().Add(time.Duration(i) * time.Second).Truncate(time.Second), amount}
		req := channel.RefundRequest{RefundID: r.id, CreatedAt: r.created, OrderID: o.id, OrderCreatedAt: o.created, ChannelTradeNo: tradeNo, Amount: amount, Total: 1000, Currency: "CNY"}
		if i == 1 {
			req.ChannelTradeNo = "" // the connector finds the queryId itself
		}
		resp, err := s.conn.Refund(ctx(t), req)
		if err != nil || resp.Status != channel.RefundProcessing || resp.ChannelRefundNo == "" {
			t.Fatalf("refund %d: %+v, %v", amount, resp, err)
		}
		refunds = append(refunds, r)
	}
	seen := map[string]*channel.Notification{}
	for len(seen) < 2 {
		_, n := s.next(t)
		if n.Kind == channel.NotifyRefund {
			seen[n.RefundID] = n
		}
	}
	for _, r := range refunds {
		n := seen[r.id]
		if n == nil || n.RefundStatus != channel.RefundSuccess || n.RefundAmount != r.amount || n.OrderID != o.id || n.ChannelTradeNo != tradeNo {
			t.Fatalf("refund %s callback %+v", r.id, n)
		}
		got, err := s.conn.RefundQuery(ctx(t), channel.RefundQueryRequest{RefundID: r.id, CreatedAt: r.created, OrderID: o.id, OrderCreatedAt: o.created})
		if err != nil || got.Status != channel.RefundSuccess || got.ChannelRefundNo != n.ChannelRefundNo {
			t.Fatalf("refund query %s: %+v, %v", r.id, got, err)
		}
	}
	// 500 left: 600 is refused for good.
	_, err := s.conn.Refund(ctx(t), channel.RefundRequest{RefundID: id.New(id.Refund, time.Now()), CreatedAt: time.Now(), OrderID: o.id, OrderCreatedAt: o.created, ChannelTradeNo: tradeNo, Amount: 600, Total: 1000})
	if !errors.Is(err, channel.ErrInvalidRequest) || channel.Retryable(err) {
		t.Fatalf("refund beyond the total: %v", err)
	}
	// A refund of no trade.
	_, err = s.conn.Refund(ctx(t), channel.RefundRequest{RefundID: id.New(id.Refund, time.Now()), CreatedAt: time.Now(), OrderID: o.id, OrderCreatedAt: o.created, ChannelTradeNo: "999999999999999999999", Amount: 1, Total: 1000})
	if !errors.Is(err, channel.ErrTradeNotFound) {
		t.Fatalf("refund of nothing: %v", err)
	}
	// A refund query of nothing.
	_, err = s.conn.RefundQuery(ctx(t), channel.RefundQueryRequest{RefundID: id.New(id.Refund, time.Now()), CreatedAt: time.Now()})
	if !errors.Is(err, channel.ErrTradeNotFound) {
		t.Fatalf("refund query of nothing: %v", err)
	}
}

func TestBill(t *testing.T) {
	s := newSetup(t)
	o, tradeNo := s.paidQR(t, 1500)
	rid := id.New(id.Refund, time.Now())
	created := time.Now().Truncate(time.Second)
	if _, err := s.conn.Refund(ctx(t), channel.RefundRequest{RefundID: rid, CreatedAt: created, OrderID: o.id, OrderCreatedAt: o.created, ChannelTradeNo: tradeNo, Amount: 500, Total: 1500}); err != nil {
		t.Fatal(err)
	}
	for {
		if r, err := s.conn.RefundQuery(ctx(t), channel.RefundQueryRequest{RefundID: rid, CreatedAt: created}); err == nil && r.Status == channel.RefundSuccess {
			break
		} else if ctx(t).Err() != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	bill, err := s.conn.Bill(ctx(t), channel.BillRequest{Date: time.Now().In(time.FixedZone("CST", 8*3600))})
	if err != nil {
		t.Fatal(err)
	}
	if bill.Format != unionpay.BillFormat || len(bill.Raw) == 0 || len(bill.Records) != 2 {
		t.Fatalf("bill %s, %d bytes, records %+v", bill.Format, len(bill.Raw), bill.Records)
	}
	for _, r := range bill.Records {
		switch r.Kind {
		case channel.NotifyPayment:
			if r.OrderID != o.id || r.ChannelTradeNo != tradeNo || r.Amount != 1500 || r.Fee != 9 || r.At.IsZero() {
				t.Errorf("payment record %+v", r)
			}
		case channel.NotifyRefund:
			if r.OrderID != o.id || r.RefundID != rid || r.ChannelTradeNo != tradeNo || r.Amount != 500 || r.Fee != -3 {
				t.Errorf("refund record %+v", r)
			}
		}
		if d := time.Since(r.At); d > time.Minute || d < -time.Minute {
			t.Errorf("record time %s", r.At)
		}
	}
	// A day without trades has no file: an empty bill.
	empty, err := s.conn.Bill(ctx(t), channel.BillRequest{Date: time.Now().AddDate(0, 0, -3)})
	if err != nil || len(empty.Records) != 0 {
		t.Fatalf("empty day: %+v, %v", empty, err)
	}
}

func TestNotificationTamperedAndForged(t *testing.T) {
	s := newSetup(t)
	s.paidQR(t, 4321)
	req, n := s.next(t)
	again, err := s.conn.Notify(ctx(t), req)
	if err != nil || *again != *n {
		t.Fatalf("same callback again: %+v, %v", again, err)
	}
	form, _ := url.ParseQuery(string(req.Body))
	for _, change := range []struct{ field, value string }{
		{"txnAmt", "1"},
		{"respCode", "01"},
		{"signature", ""},
		{"signPubKeyCert", selfSignedUnionPayCert(t)},
	} {
		bad := url.Values{}
		for k, v := range form {
			bad[k] = v
		}
		bad.Set(change.field, change.value)
		if _, err := s.conn.Notify(ctx(t), channel.NotifyRequest{Body: []byte(bad.Encode())}); !errors.Is(err, channel.ErrBadSignature) {
			t.Errorf("%s changed: %v, want ErrBadSignature", change.field, err)
		}
	}
	// One byte changed anywhere in the body but the name of a field posted
	// empty: such a field is not signed, and it stays empty.
	for i := 10; i < len(req.Body); i += len(req.Body) / 7 {
		if inEmptyField(req.Body, i) {
			continue
		}
		b := []byte(string(req.Body))
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		if _, err := s.conn.Notify(ctx(t), channel.NotifyRequest{Body: b}); !errors.Is(err, channel.ErrBadSignature) {
			t.Errorf("byte %d changed: %v", i, err)
		}
	}
	if rep := s.conn.NotifyReply(nil); rep.Status != 200 || string(rep.Body) != "ok" {
		t.Errorf("success reply %+v", rep)
	}
	if rep := s.conn.NotifyReply(channel.ErrBadSignature); rep.Status != 500 {
		t.Errorf("failure reply %+v", rep)
	}
}

// inEmptyField says whether body[i] is part of a "name=" pair with no value.
func inEmptyField(body []byte, i int) bool {
	if body[i] == '&' {
		return false
	}
	start := strings.LastIndexByte(string(body[:i]), '&') + 1
	end := strings.IndexByte(string(body[i:]), '&')
	if end < 0 {
		end = len(body)
	} else {
		end += i
	}
	name, value, _ := strings.Cut(string(body[start:end]), "=")
	return name != "" && value == ""
}

// selfSignedUnionPayCert is a certificate that claims to be UnionPay's but
// chains to nothing the account trusts.
func selfSignedUnionPayCert(t *testing.T) string {
	key, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: simup.SigningCertCN},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

func TestNotificationRetriedUntil200(t *testing.T) {
	s := newSetup(t)
	s.rcv.SetReply(s.conn.NotifyReply(errors.New("database down")))
	o, _ := s.paidQR(t, 100)
	_, first := s.next(t)
	s.rcv.SetReply(s.conn.NotifyReply(nil))
	_, second := s.next(t)
	if first.OrderID != o.id || *first != *second {
		t.Fatalf("retry %+v after %+v", second, first)
	}
	select {
	case <-s.rcv.C:
		// a retry may have been under way when the reply changed; no more after it.
		select {
		case <-s.rcv.C:
			t.Fatal("retried after 200")
		case <-time.After(200 * time.Millisecond):
		}
	case <-time.After(200 * time.Millisecond):
	}
}

func TestFaults(t *testing.T) {
	s := newSetup(t)
	s.sim.SetFault(sim.Fault5xx, 1)
	if _, err := s.pay(t, newOrder(1), unionpay.MethodQR, ""); !errors.Is(err, channel.ErrUnavailable) {
		t.Fatalf("QR create on 5xx: %v", err)
	}
	s.sim.SetFault(sim.Fault5xx, 1)
	if _, err := s.pay(t, newOrder(1), unionpay.MethodMicropay, simup.AuthCodeSuccess); !errors.Is(err, channel.ErrUnknownOutcome) {
		t.Fatalf("micropay on 5xx: %v", err)
	}
	o, tradeNo := s.paidQR(t, 100)
	s.sim.SetFault(sim.FaultBadSignature, 1)
	if _, err := s.query(t, o); !errors.Is(err, channel.ErrBadSignature) || channel.Retryable(err) {
		t.Fatalf("query with a forged answer: %v", err)
	}
	s.sim.SetFault(sim.FaultBadSignature, 1)
	_, err := s.conn.Refund(ctx(t), channel.RefundRequest{RefundID: id.New(id.Refund, time.Now()), CreatedAt: time.Now(), OrderID: o.id, OrderCreatedAt: o.created, ChannelTradeNo: tradeNo, Amount: 10, Total: 100})
	if !errors.Is(err, channel.ErrBadSignature) || !errors.Is(err, channel.ErrUnknownOutcome) {
		t.Fatalf("refund with a forged answer: %v", err)
	}
	// Nothing listening: unavailable, nothing happened.
	acct := s.acct
	acct.BaseURL = "http://127.0.0.1:1"
	dead, err := unionpay.New(acct)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dead.Pay(ctx(t), channel.PayRequest{OrderID: newOrder(1).id, CreatedAt: time.Now(), Method: unionpay.MethodMicropay, Amount: 1, AuthCode: simup.AuthCodeSuccess}); !errors.Is(err, channel.ErrUnavailable) {
		t.Fatalf("connection refused: %v", err)
	}
}

func TestWrongMerchantKeyIsRefused(t *testing.T) {
	s := newSetup(t)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	acct := s.acct
	acct.Secrets = map[string]string{"private_key": string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))}
	c, err := unionpay.New(acct)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Pay(ctx(t), channel.PayRequest{OrderID: newOrder(1).id, CreatedAt: time.Now(), Method: unionpay.MethodQR, Amount: 1})
	if !errors.Is(err, channel.ErrInvalidRequest) || !strings.Contains(err.Error(), "11 验证签名失败") {
		t.Fatalf("request signed with a stranger's key: %v", err)
	}
}

func TestNewChecksAccount(t *testing.T) {
	s := newSetup(t)
	for key, value := range map[string]string{"mer_id": "", "cert_id": "4a", "root_cert": "nope", "middle_cert": "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----"} {
		acct := s.acct
		acct.Config = map[string]string{}
		for k, v := range s.acct.Config {
			acct.Config[k] = v
		}
		acct.Config[key] = value
		if _, err := unionpay.New(acct); err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s=%q: %v, want an error naming it", key, value, err)
		}
	}
	acct := s.acct
	acct.Secrets = map[string]string{"private_key": "garbage"}
	if _, err := unionpay.New(acct); err == nil || !strings.Contains(err.Error(), "private_key") {
		t.Errorf("garbled key: %v", err)
	}
	acct = s.acct
	acct.Methods = []string{unionpay.MethodQR}
	c, err := unionpay.New(acct)
	if err != nil {
		t.Fatal(err)
	}
	if caps := c.Capabilities(); len(caps.Methods) != 1 || caps.Supports(unionpay.MethodMicropay, "CNY") || caps.Supports(unionpay.MethodQR, "USD") {
		t.Fatalf("capabilities %+v", caps)
	}
	if _, err := c.Pay(ctx(t), channel.PayRequest{OrderID: newOrder(1).id, CreatedAt: time.Now(), Method: unionpay.MethodGateway, Amount: 1}); !errors.Is(err, channel.ErrNotSupported) {
		t.Fatalf("method not on the account: %v", err)
	}
}

// BenchmarkConnector measures trade creates and queries against the
// simulator over loopback HTTP, signatures included.
func BenchmarkConnector(b *testing.B) { channeltest.Bench(b, newHarness) }
