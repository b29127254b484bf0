package wechatpay_test

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/channel/channeltest"
	"github.com/paygate/paygate/internal/channel/wechatpay"
	"github.com/paygate/paygate/internal/clock"
	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/sim"
	simwx "github.com/paygate/paygate/internal/sim/wechatpay"
)

// Auth codes of the simulator's scenarios (see package sim/wechatpay).
const (
	codeSuccess    = "134567890123450000"
	codeUserPaying = "134567890123451111"
	codeNotEnough  = "134567890123452222"
	codeSystemErr  = "134567890123453333"
)

// setup is a simulator on loopback, a callback receiver and a connector
// whose account points at both.
type setup struct {
	sim  *simwx.Sim
	srv  *httptest.Server
	rec  *channeltest.Receiver
	acct channel.Account
	conn channel.Connector
}

func newSetup(t testing.TB) *setup {
	t.Helper()
	s, err := simwx.New(sim.Options{RetryScale: 0.0005, Hang: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	a := s.Account(srv.URL)
	probe, err := wechatpay.New(a)
	if err != nil {
		t.Fatalf("account of the simulator: %v", err)
	}
	rec := channeltest.NewReceiver(t, probe.NotifyReply(nil))
	a.NotifyURL = rec.URL
	conn, err := wechatpay.New(a)
	if err != nil {
		t.Fatal(err)
	}
	return &setup{sim: s, srv: srv, rec: rec, acct: a, conn: conn}
}

func newHarness(t testing.TB) *channeltest.Harness {
	s := newSetup(t)
	return &channeltest.Harness{
		Connector: s.conn, Sim: s.sim, Receiver: s.rec, Currency: "CNY",
		QRMethod:           wechatpay.MethodNative,
		OtherMethods:       []string{wechatpay.MethodJSAPI, wechatpay.MethodApp, wechatpay.MethodH5},
		MicropayMethod:     wechatpay.MethodMicropay,
		AuthCodeSuccess:    codeSuccess,
		AuthCodeUserPaying: codeUserPaying,
		AuthCodeDeclined:   codeNotEnough,
		PayerID:            "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
		Livemode:           true,
	}
}

func TestConformance(t *testing.T) {
	channeltest.Run(t, newHarness)
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func newOrderID() string { return id.New(id.Order, time.Now()) }

func (s *setup) native(t *testing.T, amount int64) string {
	t.Helper()
	oid := newOrderID()
	resp, err := s.conn.Pay(ctx(t), channel.PayRequest{OrderID: oid, Method: wechatpay.MethodNative, Amount: amount, Currency: "CNY", Subject: "Tea"})
	if err != nil || resp.NextAction == nil || !strings.HasPrefix(resp.NextAction.QRCode, "weixin://wxpay/bizpayurl?pr=") {
		t.Fatalf("native pay: %+v, %v", resp, err)
	}
	return oid
}

func (s *setup) paid(t *testing.T, amount int64) string {
	t.Helper()
	oid := s.native(t, amount)
	if err := s.sim.PayerPays(oid); err != nil {
		t.Fatal(err)
	}
	return oid
}

func (s *setup) micropay(t *testing.T, code string) (string, *channel.PayResponse, error) {
	oid := newOrderID()
	resp, err := s.conn.Pay(ctx(t), channel.PayRequest{OrderID: oid, Method: wechatpay.MethodMicropay, Amount: 2500, Subject: "Cake", AuthCode: code})
	return oid, resp, err
}

func (s *setup) status(t *testing.T, oid string) channel.TradeStatus {
	t.Helper()
	q, err := s.conn.Query(ctx(t), channel.QueryRequest{OrderID: oid})
	if err != nil {
		t.Fatalf("query %s: %v", oid, err)
	}
	return q.Status
}

func TestNewChecksTheAccount(t *testing.T) {
	s, err := simwx.New(sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	good := s.Account("http://127.0.0.1:1")
	tests := []struct {
		name   string
		change func(a *channel.Account)
		want   string
	}{
		{"no mchid", func(a *channel.Account) { delete(a.Config, "mchid") }, "mchid"},
		{"no platform key", func(a *channel.Account) { a.Config["platform_public_key"] = "garbage" }, "platform_public_key"},
		{"no private key", func(a *channel.Account) { delete(a.Secrets, "private_key") }, "private_key"},
		{"bad private key", func(a *channel.Account) {
			a.Secrets["private_key"] = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
		}, "private_key"},
		{"short v3 key", func(a *channel.Account) { a.Secrets["api_v3_key"] = "short" }, "api_v3_key"},
		{"micropay without v2 key", func(a *channel.Account) {
			delete(a.Secrets, "api_v2_key")
			a.Methods = []string{wechatpay.MethodMicropay}
		}, "api_v2_key"},
		{"no wechat method", func(a *channel.Account) { a.Methods = []string{"alipay.qr"} }, "method"},
	}
	for _, tt := range tests {
		a := s.Account(good.BaseURL)
		tt.change(&a)
		if _, err := wechatpay.New(a); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want an error naming %s", tt.name, err, tt.want)
		}
	}
	// A PKCS#1 private key works as well as PKCS#8; without the v2 key the
	// account simply serves no micropay.
	a := s.Account(good.BaseURL)
	block, _ := pem.Decode([]byte(a.Secrets["private_key"]))
	k, _ := x509.ParsePKCS8PrivateKey(block.Bytes)
	a.Secrets["private_key"] = string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k.(*rsa.PrivateKey))}))
	delete(a.Secrets, "api_v2_key")
	c, err := wechatpay.New(a)
	if err != nil {
		t.Fatalf("PKCS#1 key: %v", err)
	}
	if caps := c.Capabilities(); caps.Supports(wechatpay.MethodMicropay, "CNY") || caps.Reverse || !caps.Supports(wechatpay.MethodNative, "CNY") {
		t.Errorf("capabilities without the v2 key: %+v", caps)
	}
}

func TestSDKParamsAreSigned(t *testing.T) {
	s := newSetup(t)
	block, _ := pem.Decode([]byte(s.acct.Secrets["private_key"]))
	k, _ := x509.ParsePKCS8PrivateKey(block.Bytes)
	pub := &k.(*rsa.PrivateKey).PublicKey

	resp, err := s.conn.Pay(ctx(t), channel.PayRequest{OrderID: newOrderID(), Method: wechatpay.MethodJSAPI, Amount: 100, PayerID: "oPayer"})
	if err != nil {
		t.Fatal(err)
	}
	p := resp.NextAction.Params
	if resp.NextAction.Type != "sdk_params" || p["signType"] != "RSA" || !strings.HasPrefix(p["package"], "prepay_id=wx") || p["appId"] != simwx.AppID {
		t.Fatalf("jsapi params %v", p)
	}
	if err := wechatpay.VerifySHA256RSA(pub, wechatpay.SigningMessage(p["appId"], p["timeStamp"], p["nonceStr"], p["package"]), p["paySign"]); err != nil {
		t.Errorf("jsapi paySign: %v", err)
	}

	resp, err = s.conn.Pay(ctx(t), channel.PayRequest{OrderID: newOrderID(), Method: wechatpay.MethodApp, Amount: 100})
	if err != nil {
		t.Fatal(err)
	}
	p = resp.NextAction.Params
	if p["package"] != "Sign=WXPay" || p["partnerid"] != simwx.MchID || !strings.HasPrefix(p["prepayid"], "wx") {
		t.Fatalf("app params %v", p)
	}
	if err := wechatpay.VerifySHA256RSA(pub, wechatpay.SigningMessage(p["appid"], p["timestamp"], p["noncestr"], p["prepayid"]), p["sign"]); err != nil {
		t.Errorf("app sign: %v", err)
	}

	// JSAPI needs an openid, H5 the payer's IP: refused before any call.
	for _, r := range []channel.PayRequest{
		{OrderID: newOrderID(), Method: wechatpay.MethodJSAPI, Amount: 100},
		{OrderID: newOrderID(), Method: wechatpay.MethodH5, Amount: 100},
		{OrderID: newOrderID(), Method: wechatpay.MethodNative, Amount: 100, Currency: "USD"},
	} {
		if _, err := s.conn.Pay(ctx(t), r); !errors.Is(err, channel.ErrInvalidRequest) && !errors.Is(err, channel.ErrNotSupported) {
			t.Errorf("pay %s %s: %v, want a refusal", r.Method, r.Currency, err)
		}
	}
}

func TestCreateRepeatedAndConflicting(t *testing.T) {
	s := newSetup(t)
	oid := newOrderID()
	req := channel.PayRequest{OrderID: oid, Method: wechatpay.MethodNative, Amount: 100, Subject: "Tea"}
	first, err := s.conn.Pay(ctx(t), req)
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.conn.Pay(ctx(t), req)
	if err != nil || again.NextAction.QRCode != first.NextAction.QRCode {
		t.Fatalf("repeated create: %+v, %v; want the same code_url %s", again, err, first.NextAction.QRCode)
	}
	req.Amount = 200
	if _, err := s.conn.Pay(ctx(t), req); !errors.Is(err, channel.ErrInvalidRequest) {
		t.Fatalf("same out_trade_no, other amount: %v, want ErrInvalidRequest (OUT_TRADE_NO_USED)", err)
	}
	if err := s.sim.PayerPays(oid); err != nil {
		t.Fatal(err)
	}
	req.Amount = 100
	if _, err := s.conn.Pay(ctx(t), req); !errors.Is(err, channel.ErrAlreadyPaid) {
		t.Fatalf("create of a paid trade: %v, want ErrAlreadyPaid (ORDERPAID)", err)
	}
}

func TestMicropayScenarios(t *testing.T) {
	s := newSetup(t)
	var d *channel.DeclineError

	_, _, err := s.micropay(t, codeNotEnough)
	if !errors.As(err, &d) || d.Code != "insufficient_funds" {
		t.Errorf("NOTENOUGH: %v, want decline insufficient_funds", err)
	}
	_, _, err = s.micropay(t, "184567890123450000") // not a WeChat code: 18…
	if !errors.As(err, &d) || d.Code != "auth_code_invalid" {
		t.Errorf("foreign code: %v, want decline auth_code_invalid", err)
	}
	if _, _, err = s.micropay(t, "13456789012345abcd"); !errors.Is(err, channel.ErrInvalidRequest) {
		t.Errorf("non-digit code: %v, want ErrInvalidRequest", err)
	}

	// SYSTEMERROR: unknown, yet paid; its reverse is asked again (recall=Y)
	// and then goes through, refunding the payer.
	oid, _, err := s.micropay(t, codeSystemErr)
	if !errors.Is(err, channel.ErrUnknownOutcome) {
		t.Fatalf("SYSTEMERROR: %v, want ErrUnknownOutcome", err)
	}
	if st := s.status(t, oid); st != channel.TradeSuccess {
		t.Fatalf("query after SYSTEMERROR: %s, want SUCCESS", st)
	}
	if err := s.conn.Reverse(ctx(t), channel.CloseRequest{OrderID: oid}); err != nil {
		t.Fatalf("reverse with recall: %v", err)
	}
	if st := s.status(t, oid); st != channel.TradeRevoked {
		t.Fatalf("after reverse: %s, want REVOKED", st)
	}
	if err := s.conn.Reverse(ctx(t), channel.CloseRequest{OrderID: oid}); err != nil {
		t.Fatalf("second reverse: %v (reversing twice is harmless)", err)
	}
	if err := s.conn.Reverse(ctx(t), channel.CloseRequest{OrderID: newOrderID()}); !errors.Is(err, channel.ErrTradeNotFound) {
		t.Errorf("reverse of an unknown trade: %v, want ErrTradeNotFound", err)
	}

	// USERPAYING: the payer fails to confirm; close of it is refused as unknown.
	oid, resp, err := s.micropay(t, codeUserPaying)
	if err != nil || resp.Status != channel.TradeUserPaying || resp.ChannelTradeNo != oid {
		t.Fatalf("USERPAYING: %+v, %v", resp, err)
	}
	if err := s.conn.Close(ctx(t), channel.CloseRequest{OrderID: oid}); !errors.Is(err, channel.ErrUnknownOutcome) {
		t.Errorf("close while the payer confirms: %v, want ErrUnknownOutcome (202 USER_PAYING)", err)
	}
	if err := s.sim.PayerFails(oid); err != nil {
		t.Fatal(err)
	}
	q, err := s.conn.Query(ctx(t), channel.QueryRequest{OrderID: oid})
	if err != nil || q.Status != channel.TradePayError || q.FailureCode != "payment_failed" || q.FailureMessage == "" {
		t.Fatalf("query after the payer failed: %+v, %v", q, err)
	}

	// A repeat of a paid micropay is never taken twice: ORDERPAID → query.
	oid, resp, err = s.micropay(t, codeSuccess)
	if err != nil || resp.Status != channel.TradeSuccess || !strings.HasPrefix(resp.ChannelTradeNo, "4200") {
		t.Fatalf("micropay: %+v, %v", resp, err)
	}
	_, err = s.conn.Pay(ctx(t), channel.PayRequest{OrderID: oid, Method: wechatpay.MethodMicropay, Amount: 2500, Subject: "Cake", AuthCode: codeSuccess})
	if !errors.Is(err, channel.ErrUnknownOutcome) {
		t.Errorf("repeat of a paid micropay: %v, want ErrUnknownOutcome", err)
	}
}

func TestRefunds(t *testing.T) {
	s := newSetup(t)
	oid := s.paid(t, 1000)
	refund := func(rid string, amount, total int64) (*channel.RefundResponse, error) {
		return s.conn.Refund(ctx(t), channel.RefundRequest{RefundID: rid, OrderID: oid, Amount: amount, Total: total, Currency: "CNY", Reason: "size"})
	}
	r1 := id.New(id.Refund, time.Now())
	first, err := refund(r1, 400, 1000)
	if err != nil || first.Status != channel.RefundProcessing || first.ChannelRefundNo == "" {
		t.Fatalf("refund: %+v, %v; want PROCESSING", first, err)
	}
	again, err := refund(r1, 400, 1000)
	if err != nil || again.ChannelRefundNo != first.ChannelRefundNo {
		t.Fatalf("repeated refund: %+v, %v; want the same refund", again, err)
	}
	if _, err := refund(r1, 300, 1000); !errors.Is(err, channel.ErrInvalidRequest) {
		t.Errorf("refund id reused for another amount: %v, want ErrInvalidRequest", err)
	}
	if _, err := refund(id.New(id.Refund, time.Now()), 100, 999); !errors.Is(err, channel.ErrInvalidRequest) {
		t.Errorf("refund with the wrong total: %v, want ErrInvalidRequest", err)
	}
	if _, err := refund(id.New(id.Refund, time.Now()), 601, 1000); !errors.Is(err, channel.ErrInvalidRequest) {
		t.Errorf("refund beyond what is left: %v, want ErrInvalidRequest", err)
	}
	if _, err := s.conn.Refund(ctx(t), channel.RefundRequest{RefundID: id.New(id.Refund, time.Now()), OrderID: newOrderID(), Amount: 1, Total: 1}); !errors.Is(err, channel.ErrTradeNotFound) {
		t.Errorf("refund of an unknown trade: %v, want ErrTradeNotFound", err)
	}
	if _, err := s.conn.RefundQuery(ctx(t), channel.RefundQueryRequest{RefundID: id.New(id.Refund, time.Now())}); !errors.Is(err, channel.ErrTradeNotFound) {
		t.Errorf("query of an unknown refund: %v, want ErrTradeNotFound", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, err := s.conn.RefundQuery(ctx(t), channel.RefundQueryRequest{RefundID: r1, OrderID: oid})
		if err == nil && got.Status == channel.RefundSuccess {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("refund query: %+v, %v; want SUCCESS", got, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st := s.status(t, oid); st != channel.TradeRefunded || !st.Paid() {
		t.Errorf("trade after a refund: %s, want REFUND", st)
	}
	// The refund's notification names the gateway's ids.
	n := s.nextNotification(t, channel.NotifyRefund)
	if n.OrderID != oid || n.RefundID != r1 || n.RefundStatus != channel.RefundSuccess || n.RefundAmount != 400 || n.Amount != 1000 || n.ChannelRefundNo != first.ChannelRefundNo {
		t.Errorf("refund notification %+v", n)
	}
}

// nextNotification returns the next callback of kind, parsed.
func (s *setup) nextNotification(t *testing.T, kind channel.NotifyKind) *channel.Notification {
	t.Helper()
	for {
		select {
		case req := <-s.rec.C:
			n, err := s.conn.Notify(ctx(t), req)
			if err != nil {
				t.Fatalf("genuine notification refused: %v", err)
			}
			if n.Kind == kind {
				return n
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no %s notification", kind)
		}
	}
}

func (s *setup) nextRequest(t *testing.T) channel.NotifyRequest {
	t.Helper()
	select {
	case req := <-s.rec.C:
		return req
	case <-time.After(5 * time.Second):
		t.Fatal("no notification")
		return channel.NotifyRequest{}
	}
}

func TestNotifyVerification(t *testing.T) {
	s := newSetup(t)
	oid := s.paid(t, 4321)
	req := s.nextRequest(t)
	n, err := s.conn.Notify(ctx(t), req)
	if err != nil || n.OrderID != oid || n.Status != channel.TradeSuccess || n.Amount != 4321 || n.Currency != "CNY" || !strings.HasPrefix(n.ChannelTradeNo, "4200") || n.EventID == "" {
		t.Fatalf("notification %+v, %v", n, err)
	}
	bad := func(name string, h http.Header, body []byte) {
		t.Helper()
		if _, err := s.conn.Notify(ctx(t), channel.NotifyRequest{Header: h, Body: body}); !errors.Is(err, channel.ErrBadSignature) {
			t.Errorf("%s: %v, want ErrBadSignature", name, err)
		}
	}
	tampered := []byte(strings.Replace(string(req.Body), "TRANSACTION.SUCCESS", "TRANSACTION.SUCCESs", 1))
	bad("one byte changed", req.Header, tampered)
	probe := req.Header.Clone()
	probe.Set("Wechatpay-Signature", "WECHATPAY/SIGNTEST/"+probe.Get("Wechatpay-Signature"))
	bad("SIGNTEST probe", probe, req.Body)
	serial := req.Header.Clone()
	serial.Set("Wechatpay-Serial", "PUB_KEY_ID_OTHER")
	bad("unknown serial", serial, req.Body)
	unsigned := req.Header.Clone()
	unsigned.Del("Wechatpay-Signature")
	bad("unsigned", unsigned, req.Body)

	// Replayed five minutes later: stale.
	later := s.acct
	later.Clock = clock.NewFake(time.Now().Add(5 * time.Minute))
	conn, err := wechatpay.New(later)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Notify(ctx(t), req); !errors.Is(err, channel.ErrBadSignature) {
		t.Errorf("replay after 5 minutes: %v, want ErrBadSignature", err)
	}
	// A connector with another APIv3 key verifies the signature but cannot decrypt.
	other := s.acct
	other.Secrets = map[string]string{"private_key": s.acct.Secrets["private_key"], "api_v3_key": strings.Repeat("k", 32), "api_v2_key": "x"}
	conn, err = wechatpay.New(other)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Notify(ctx(t), req); !errors.Is(err, channel.ErrBadSignature) {
		t.Errorf("undecryptable resource: %v, want ErrBadSignature", err)
	}

	ok := s.conn.NotifyReply(nil)
	if ok.Status != http.StatusNoContent || len(ok.Body) != 0 {
		t.Errorf("success reply %+v, want 204 without a body", ok)
	}
	no := s.conn.NotifyReply(channel.ErrBadSignature)
	if no.Status != http.StatusInternalServerError || !strings.Contains(string(no.Body), `"code":"FAIL"`) {
		t.Errorf("failure reply %d %s", no.Status, no.Body)
	}
}

func TestNotificationsAreRetriedUntilAcknowledged(t *testing.T) {
	s := newSetup(t)
	s.rec.SetReply(s.conn.NotifyReply(errors.New("busy")))
	oid := s.paid(t, 100)
	first, second := s.nextRequest(t), s.nextRequest(t) // 15 s × 0.0005 apart
	s.rec.SetReply(s.conn.NotifyReply(nil))
	n1, err1 := s.conn.Notify(ctx(t), first)
	n2, err2 := s.conn.Notify(ctx(t), second)
	if err1 != nil || err2 != nil || n1.OrderID != oid || *n1 != *n2 {
		t.Fatalf("retries: %+v %v / %+v %v; want the same notification", n1, err1, n2, err2)
	}
}

func TestFaults(t *testing.T) {
	s := newSetup(t)
	oid := s.paid(t, 1000)
	s.nextRequest(t)

	// A refund answered with a forged signature may have moved money: unknown.
	s.sim.SetFault(sim.FaultBadSignature, 1)
	_, err := s.conn.Refund(ctx(t), channel.RefundRequest{RefundID: id.New(id.Refund, time.Now()), OrderID: oid, Amount: 100, Total: 1000})
	if !errors.Is(err, channel.ErrUnknownOutcome) || !errors.Is(err, channel.ErrBadSignature) {
		t.Errorf("refund with a forged answer: %v, want unknown outcome and bad signature", err)
	}
	// A refund whose answer never comes: unknown.
	s.sim.SetFault(sim.FaultTimeout, 1)
	c, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	_, err = s.conn.Refund(c, channel.RefundRequest{RefundID: id.New(id.Refund, time.Now()), OrderID: oid, Amount: 100, Total: 1000})
	cancel()
	if !errors.Is(err, channel.ErrUnknownOutcome) {
		t.Errorf("refund timing out: %v, want ErrUnknownOutcome", err)
	}
	// A 5xx to a refund: unknown; to a query: unavailable.
	s.sim.SetFault(sim.Fault5xx, 2)
	if _, err = s.conn.Refund(ctx(t), channel.RefundRequest{RefundID: id.New(id.Refund, time.Now()), OrderID: oid, Amount: 100, Total: 1000}); !errors.Is(err, channel.ErrUnknownOutcome) {
		t.Errorf("refund answered 500: %v, want ErrUnknownOutcome", err)
	}
	if _, err = s.conn.Query(ctx(t), channel.QueryRequest{OrderID: oid}); !errors.Is(err, channel.ErrUnavailable) {
		t.Errorf("query answered 500: %v, want ErrUnavailable", err)
	}
	// A micropay answered with a forged v2 sign: unknown.
	s.sim.SetFault(sim.FaultBadSignature, 1)
	if _, _, err := s.micropay(t, codeSuccess); !errors.Is(err, channel.ErrUnknownOutcome) || !errors.Is(err, channel.ErrBadSignature) {
		t.Errorf("micropay with a forged answer: %v, want unknown outcome and bad signature", err)
	}
	// Nobody listening: unavailable, nothing was sent.
	gone := s.acct
	gone.BaseURL = "http://127.0.0.1:1"
	conn, _ := wechatpay.New(gone)
	if _, err := conn.Pay(ctx(t), channel.PayRequest{OrderID: newOrderID(), Method: wechatpay.MethodMicropay, Amount: 1, AuthCode: codeSuccess}); !errors.Is(err, channel.ErrUnavailable) {
		t.Errorf("micropay to a closed port: %v, want ErrUnavailable", err)
	}
}

func TestNotificationFaults(t *testing.T) {
	s := newSetup(t)
	// Dropped: nothing arrives, a query still tells.
	s.sim.SetFault(sim.FaultDropNotify, 1)
	oid := s.paid(t, 100)
	select {
	case req := <-s.rec.C:
		t.Fatalf("a dropped notification arrived: %s", req.Body)
	case <-time.After(100 * time.Millisecond):
	}
	if st := s.status(t, oid); st != channel.TradeSuccess {
		t.Fatalf("query: %s", st)
	}
	// Out of order: the refund's notification comes before the payment's.
	s.sim.SetFault(sim.FaultOutOfOrderNotify, 1)
	oid = s.paid(t, 1000)
	if _, err := s.conn.Refund(ctx(t), channel.RefundRequest{RefundID: id.New(id.Refund, time.Now()), OrderID: oid, Amount: 100, Total: 1000}); err != nil {
		t.Fatal(err)
	}
	first, err := s.conn.Notify(ctx(t), s.nextRequest(t))
	if err != nil {
		t.Fatal(err)
	}
	second, err := s.conn.Notify(ctx(t), s.nextRequest(t))
	if err != nil {
		t.Fatal(err)
	}
	if first.Kind != channel.NotifyRefund || second.Kind != channel.NotifyPayment || second.OrderID != oid {
		t.Errorf("out of order: got %s then %s, want refund then payment", first.Kind, second.Kind)
	}
}

func TestCloseAndQuery(t *testing.T) {
	s := newSetup(t)
	oid := s.native(t, 100)
	if err := s.conn.Close(ctx(t), channel.CloseRequest{OrderID: oid, ChannelTradeNo: oid}); err != nil {
		t.Fatal(err)
	}
	if err := s.conn.Close(ctx(t), channel.CloseRequest{OrderID: oid}); err != nil {
		t.Errorf("closing twice: %v (harmless at WeChat)", err)
	}
	if st := s.status(t, oid); st != channel.TradeClosed {
		t.Errorf("after close: %s", st)
	}
	if err := s.conn.Close(ctx(t), channel.CloseRequest{OrderID: newOrderID()}); !errors.Is(err, channel.ErrTradeNotFound) {
		t.Errorf("close of an unknown trade: %v, want ErrTradeNotFound", err)
	}
	// An order past its time_expire is closed by WeChat.
	oid = newOrderID()
	if _, err := s.conn.Pay(ctx(t), channel.PayRequest{OrderID: oid, Method: wechatpay.MethodNative, Amount: 100, ExpiresAt: time.Now().Add(-time.Second)}); err != nil {
		t.Fatal(err)
	}
	if st := s.status(t, oid); st != channel.TradeClosed {
		t.Errorf("expired trade: %s, want CLOSED", st)
	}
}

func TestBillEmptyDay(t *testing.T) {
	s := newSetup(t)
	b, err := s.conn.Bill(ctx(t), channel.BillRequest{Date: time.Now().AddDate(0, 0, -3)})
	if err != nil || len(b.Records) != 0 || b.Format != wechatpay.BillFormat {
		t.Fatalf("bill of a day without trades: %+v, %v; want an empty bill", b, err)
	}
}

// BenchmarkConnector measures trade creates and queries against the
// simulator over loopback HTTP, signatures included.
func BenchmarkConnector(b *testing.B) { channeltest.Bench(b, newHarness) }
