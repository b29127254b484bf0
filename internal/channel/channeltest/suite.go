package channeltest

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/sim"
)

// wait bounds every poll of the suite: simulators act at once or within
// their (scaled) schedules, so a few seconds is plenty on a loaded machine.
const wait = 10 * time.Second

// Run runs the conformance suite; newHarness makes a fresh connector (and
// simulator) for each subtest.
func Run(t *testing.T, newHarness func(t testing.TB) *Harness) {
	tests := []struct {
		name string
		fn   func(t *testing.T, h *Harness)
	}{
		{"Capabilities", testCapabilities},
		{"QRPaidByPayer", testQRPaidByPayer},
		{"OtherMethods", testOtherMethods},
		{"QueryUnknownTrade", testQueryUnknownTrade},
		{"CloseUnpaid", testCloseUnpaid},
		{"ClosePaid", testClosePaid},
		{"PartialRefunds", testPartialRefunds},
		{"Notification", testNotification},
		{"DuplicateNotification", testDuplicateNotification},
		{"Micropay", testMicropay},
		{"MicropayUserPaying", testMicropayUserPaying},
		{"MicropayReverse", testMicropayReverse},
		{"Unavailable", testUnavailable},
		{"TimeoutIsUnknown", testTimeoutIsUnknown},
		{"BadResponseSignature", testBadResponseSignature},
		{"Bill", testBill},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			if h.Currency == "" {
				h.Currency = "CNY"
			}
			tc.fn(t, h)
		})
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), wait)
	t.Cleanup(cancel)
	return c
}

// order is a trade the suite created.
type order struct {
	id        string
	createdAt time.Time
	amount    int64
	tradeNo   string
}

func newOrder(amount int64) *order {
	now := time.Now().UTC().Truncate(time.Second)
	return &order{id: id.New(id.Order, now), createdAt: now, amount: amount}
}

func (h *Harness) payRequest(o *order, method string) channel.PayRequest {
	return channel.PayRequest{
		OrderID: o.id, CreatedAt: o.createdAt, OutTradeNo: "m-" + o.id[4:], Method: method,
		Amount: o.amount, Currency: h.Currency, Subject: "Conformance 测试", PayerID: h.PayerID,
		PayerIP: "203.0.113.7", ExpiresAt: o.createdAt.Add(15 * time.Minute),
		ReturnURL: "https://shop.example/return", CashierURL: "https://gateway.example/pay/" + o.id, Livemode: h.Livemode,
	}
}

func (h *Harness) query(t *testing.T, o *order) (*channel.QueryResponse, error) {
	return h.Connector.Query(ctx(t), channel.QueryRequest{OrderID: o.id, CreatedAt: o.createdAt, ChannelTradeNo: o.tradeNo, Livemode: h.Livemode})
}

// payQR creates a trade that waits for the payer and checks the answer.
func (h *Harness) payQR(t *testing.T, amount int64) *order {
	t.Helper()
	o := newOrder(amount)
	resp, err := h.Connector.Pay(ctx(t), h.payRequest(o, h.QRMethod))
	if err != nil {
		t.Fatalf("pay %s: %v", h.QRMethod, err)
	}
	if resp.Status != channel.TradeNotPay {
		t.Fatalf("pay %s: status %s, want NOTPAY", h.QRMethod, resp.Status)
	}
	if resp.NextAction == nil || resp.NextAction.Type != "qr_code" || resp.NextAction.QRCode == "" {
		t.Fatalf("pay %s: next action %+v, want a QR code", h.QRMethod, resp.NextAction)
	}
	o.tradeNo = resp.ChannelTradeNo
	return o
}

func (h *Harness) payerPays(t testing.TB, o *order) {
	t.Helper()
	if h.PayerPays != nil {
		h.PayerPays(t, o.id, o.tradeNo)
		return
	}
	if h.Sim == nil {
		t.Skip("no simulator to play the payer")
	}
	if err := h.Sim.PayerPays(h.outTradeNo(o.id)); err != nil {
		t.Fatalf("payer pays %s: %v", o.id, err)
	}
}

// paid creates a QR trade, has the payer pay it and waits until the channel
// says so.
func (h *Harness) paid(t *testing.T, amount int64) *order {
	t.Helper()
	o := h.payQR(t, amount)
	h.payerPays(t, o)
	q := h.waitStatus(t, o, channel.TradeSuccess)
	if q.Amount != amount {
		t.Fatalf("query amount %d, want %d", q.Amount, amount)
	}
	if q.ChannelTradeNo == "" {
		t.Fatal("paid trade has no channel trade number")
	}
	o.tradeNo = q.ChannelTradeNo
	return o
}

// waitStatus polls Query until the trade is in one of want.
func (h *Harness) waitStatus(t *testing.T, o *order, want ...channel.TradeStatus) *channel.QueryResponse {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		q, err := h.query(t, o)
		if err == nil && slices.Contains(want, q.Status) {
			if q.Currency != "" && q.Currency != h.Currency {
				t.Fatalf("query currency %q, want %q", q.Currency, h.Currency)
			}
			return q
		}
		if time.Now().After(deadline) {
			t.Fatalf("trade %s: query = %+v, %v; want status in %v", o.id, q, err, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func testCapabilities(t *testing.T, h *Harness) {
	c := h.Connector
	if c.Name() == "" {
		t.Fatal("connector has no name")
	}
	caps := c.Capabilities()
	for _, m := range append([]string{h.QRMethod, h.MicropayMethod}, h.OtherMethods...) {
		if m != "" && !caps.Supports(m, h.Currency) {
			t.Errorf("capabilities %+v do not cover %s in %s", caps, m, h.Currency)
		}
	}
	if !caps.Query {
		t.Error("a connector must be able to query: unknown outcomes are resolved by querying")
	}
	if caps.Supports(h.QRMethod, "XTS") && len(caps.Currencies) > 0 {
		t.Error("Supports ignores the currency list")
	}
	// An operation a connector says it cannot do answers ErrNotSupported.
	cctx := ctx(t)
	o := newOrder(100)
	checks := []struct {
		has  bool
		name string
		call func() error
	}{
		{caps.Close, "close", func() error {
			return c.Close(cctx, channel.CloseRequest{OrderID: o.id, CreatedAt: o.createdAt, ChannelTradeNo: "x"})
		}},
		{caps.Reverse, "reverse", func() error {
			return c.Reverse(cctx, channel.CloseRequest{OrderID: o.id, CreatedAt: o.createdAt, ChannelTradeNo: "x"})
		}},
		{caps.Refund, "refund", func() error {
			_, err := c.Refund(cctx, channel.RefundRequest{RefundID: id.New(id.Refund, o.createdAt), CreatedAt: o.createdAt, OrderID: o.id, OrderCreatedAt: o.createdAt, ChannelTradeNo: "x", Amount: 1, Total: 100, Currency: h.Currency})
			return err
		}},
		{caps.Bill, "bill", func() error { _, err := c.Bill(cctx, channel.BillRequest{Date: time.Now()}); return err }},
		{caps.Notify, "notify", func() error { _, err := c.Notify(cctx, channel.NotifyRequest{}); return err }},
	}
	for _, ck := range checks {
		if ck.has {
			continue
		}
		if err := ck.call(); !errors.Is(err, channel.ErrNotSupported) {
			t.Errorf("%s is not a capability but answered %v, want ErrNotSupported", ck.name, err)
		}
	}
	// A method the connector does not serve is refused before any call.
	_, err := c.Pay(cctx, h.payRequest(o, "no.such-method"))
	if !errors.Is(err, channel.ErrNotSupported) && !errors.Is(err, channel.ErrInvalidRequest) {
		t.Errorf("pay with an unknown method: %v, want ErrNotSupported", err)
	}
}

func testQRPaidByPayer(t *testing.T, h *Harness) {
	o := h.payQR(t, 1234)
	if q, err := h.query(t, o); err == nil {
		if q.Status != channel.TradeNotPay {
			t.Fatalf("query before the payer acts: %s, want NOTPAY", q.Status)
		}
	} else if !errors.Is(err, channel.ErrTradeNotFound) {
		// Alipay's precreated trades do not exist until scanned.
		t.Fatalf("query before the payer acts: %v, want NOTPAY or ErrTradeNotFound", err)
	}
	h.payerPays(t, o)
	q := h.waitStatus(t, o, channel.TradeSuccess)
	if q.Amount != 1234 {
		t.Fatalf("paid amount %d, want 1234", q.Amount)
	}
	if q.PaidAt.IsZero() {
		t.Error("paid trade has no payment time")
	}
}

func testOtherMethods(t *testing.T, h *Harness) {
	if len(h.OtherMethods) == 0 {
		t.Skip("no other methods")
	}
	for _, m := range h.OtherMethods {
		o := newOrder(500)
		resp, err := h.Connector.Pay(ctx(t), h.payRequest(o, m))
		if err != nil {
			t.Errorf("pay %s: %v", m, err)
			continue
		}
		if resp.Status != channel.TradeNotPay {
			t.Errorf("pay %s: status %s, want NOTPAY", m, resp.Status)
		}
		na := resp.NextAction
		switch {
		case na == nil:
			t.Errorf("pay %s: no next action", m)
		case na.Type == "redirect" && na.URL == "":
			t.Errorf("pay %s: redirect without a URL", m)
		case na.Type == "sdk_params" && len(na.Params) == 0:
			t.Errorf("pay %s: sdk_params without parameters", m)
		case na.Type != "redirect" && na.Type != "sdk_params" && na.Type != "qr_code":
			t.Errorf("pay %s: next action type %q", m, na.Type)
		}
	}
}

func testQueryUnknownTrade(t *testing.T, h *Harness) {
	o := newOrder(100)
	_, err := h.query(t, o)
	if !errors.Is(err, channel.ErrTradeNotFound) {
		t.Fatalf("query of a trade never created: %v, want ErrTradeNotFound", err)
	}
}

func testCloseUnpaid(t *testing.T, h *Harness) {
	if !h.Connector.Capabilities().Close {
		t.Skip("close is not a capability")
	}
	o := h.payQR(t, 800)
	if err := h.Connector.Close(ctx(t), channel.CloseRequest{OrderID: o.id, CreatedAt: o.createdAt, ChannelTradeNo: o.tradeNo, Amount: o.amount, Livemode: h.Livemode}); err != nil {
		t.Fatalf("close unpaid: %v", err)
	}
	if q, err := h.query(t, o); err == nil {
		if q.Status != channel.TradeClosed && q.Status != channel.TradeNotPay {
			t.Fatalf("query after close: %s, want CLOSED", q.Status)
		}
	} else if !errors.Is(err, channel.ErrTradeNotFound) {
		t.Fatalf("query after close: %v", err)
	}
	if h.Sim != nil {
		if err := h.Sim.PayerPays(h.outTradeNo(o.id)); err == nil {
			if q, err := h.query(t, o); err == nil && q.Status.Paid() {
				t.Fatal("a closed trade took the payer's money")
			}
		}
	}
}

func testClosePaid(t *testing.T, h *Harness) {
	if !h.Connector.Capabilities().Close {
		t.Skip("close is not a capability")
	}
	o := h.paid(t, 900)
	err := h.Connector.Close(ctx(t), channel.CloseRequest{OrderID: o.id, CreatedAt: o.createdAt, ChannelTradeNo: o.tradeNo, Amount: o.amount, Livemode: h.Livemode})
	if !errors.Is(err, channel.ErrAlreadyPaid) {
		t.Fatalf("close of a paid trade: %v, want ErrAlreadyPaid", err)
	}
	h.waitStatus(t, o, channel.TradeSuccess)
}

func (h *Harness) refund(t *testing.T, o *order, amount int64) (string, *channel.RefundResponse, error) {
	now := time.Now().UTC().Truncate(time.Second)
	rid := id.New(id.Refund, now)
	r, err := h.Connector.Refund(ctx(t), channel.RefundRequest{
		RefundID: rid, CreatedAt: now, OrderID: o.id, OrderCreatedAt: o.createdAt, ChannelTradeNo: o.tradeNo,
		Amount: amount, Total: o.amount, Currency: h.Currency, Reason: "conformance", Livemode: h.Livemode,
	})
	return rid, r, err
}

func testPartialRefunds(t *testing.T, h *Harness) {
	if !h.Connector.Capabilities().Refund {
		t.Skip("refund is not a capability")
	}
	o := h.paid(t, 1000)
	type done struct {
		id        string
		createdAt time.Time
		amount    int64
	}
	var refunds []done
	for _, amount := range []int64{300, 200} {
		before := time.Now().UTC().Truncate(time.Second)
		rid, r, err := h.refund(t, o, amount)
		if err != nil {
			t.Fatalf("refund %d: %v", amount, err)
		}
		if r.Status != channel.RefundSuccess && r.Status != channel.RefundProcessing {
			t.Fatalf("refund %d: status %s", amount, r.Status)
		}
		refunds = append(refunds, done{rid, before, amount})
	}
	for _, r := range refunds {
		deadline := time.Now().Add(wait)
		for {
			// The refund's creation time is the second refund() read; a
			// connector that needs it exactly (UnionPay's txnTime) may be a
			// second off here, so try both.
			var got *channel.RefundResponse
			var err error
			for _, at := range []time.Time{r.createdAt, r.createdAt.Add(time.Second)} {
				got, err = h.Connector.RefundQuery(ctx(t), channel.RefundQueryRequest{RefundID: r.id, CreatedAt: at, OrderID: o.id, OrderCreatedAt: o.createdAt, ChannelTradeNo: o.tradeNo, Amount: r.amount, Livemode: h.Livemode})
				if err == nil {
					break
				}
			}
			if err == nil && got.Status == channel.RefundSuccess {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("refund %s: query = %+v, %v; want SUCCESS", r.id, got, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	// A refund the channel never got is not found (the gateway then sends it again).
	never := time.Now().UTC().Truncate(time.Second)
	if got, err := h.Connector.RefundQuery(ctx(t), channel.RefundQueryRequest{RefundID: id.New(id.Refund, never), CreatedAt: never, OrderID: o.id, OrderCreatedAt: o.createdAt, ChannelTradeNo: o.tradeNo, Amount: 1, Livemode: h.Livemode}); !errors.Is(err, channel.ErrTradeNotFound) {
		t.Fatalf("query of a refund never made: %+v, %v; want ErrTradeNotFound", got, err)
	}
	// 500 is left; 600 more is refused for good, not "try again".
	_, _, err := h.refund(t, o, 600)
	if err == nil || channel.Retryable(err) {
		t.Fatalf("refund beyond the total: %v, want a final error", err)
	}
}

// notification waits for the next callback the simulator posts.
func (h *Harness) notification(t *testing.T) channel.NotifyRequest {
	t.Helper()
	select {
	case n := <-h.Receiver.C:
		return n
	case <-time.After(wait):
		t.Fatal("no notification arrived")
		return channel.NotifyRequest{}
	}
}

// nextPayment returns the next payment notification for o, parsed.
func (h *Harness) nextPayment(t *testing.T, o *order) (channel.NotifyRequest, *channel.Notification) {
	t.Helper()
	for {
		req := h.notification(t)
		n, err := h.Connector.Notify(ctx(t), req)
		if err != nil {
			t.Fatalf("a genuine notification was refused: %v", err)
		}
		if n.Kind == channel.NotifyPayment && n.OrderID == o.id && n.Status == channel.TradeSuccess {
			return req, n
		}
	}
}

func needsNotify(t *testing.T, h *Harness) {
	if !h.Connector.Capabilities().Notify || h.Receiver == nil || h.Sim == nil {
		t.Skip("the connector takes no callbacks")
	}
}

func testNotification(t *testing.T, h *Harness) {
	needsNotify(t, h)
	o := h.payQR(t, 4321)
	h.payerPays(t, o)
	req, n := h.nextPayment(t, o)
	if n.Amount != 4321 || n.ChannelTradeNo == "" || n.PaidAt.IsZero() {
		t.Fatalf("notification %+v: want amount 4321, a trade number and a payment time", n)
	}
	if n.Currency != "" && n.Currency != h.Currency {
		t.Fatalf("notification currency %q", n.Currency)
	}
	// The same callback again (the channel repeats itself) parses the same.
	again, err := h.Connector.Notify(ctx(t), req)
	if err != nil || !reflect.DeepEqual(again, n) {
		t.Fatalf("the same callback again: %+v, %v; want %+v", again, err, n)
	}
	// Any changed byte is refused as a bad signature.
	for _, i := range tamperPositions(req.Body) {
		bad := channel.NotifyRequest{Header: req.Header, Body: slices.Clone(req.Body)}
		bad.Body[i] = flip(bad.Body[i])
		if got, err := h.Connector.Notify(ctx(t), bad); !errors.Is(err, channel.ErrBadSignature) {
			t.Fatalf("callback with byte %d changed (%q→%q): %+v, %v; want ErrBadSignature", i, req.Body[i], bad.Body[i], got, err)
		}
	}
	if rep := h.Connector.NotifyReply(nil); rep.Status < 200 || rep.Status > 299 {
		t.Errorf("success reply status %d", rep.Status)
	}
	if rep := h.Connector.NotifyReply(channel.ErrBadSignature); reflect.DeepEqual(rep, h.Connector.NotifyReply(nil)) {
		t.Error("the failure reply is the success reply: the channel would stop retrying")
	}
}

// tamperPositions picks letters and digits spread over the body.
func tamperPositions(b []byte) []int {
	var out []int
	for _, frac := range []int{5, 3, 2} {
		for i := len(b) * (frac - 1) / frac; i < len(b); i++ {
			if isAlnum(b[i]) {
				out = append(out, i)
				break
			}
		}
	}
	return out
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func flip(c byte) byte {
	switch c {
	case '9':
		return '8'
	case 'z':
		return 'y'
	case 'Z':
		return 'Y'
	}
	return c + 1
}

func testDuplicateNotification(t *testing.T, h *Harness) {
	needsNotify(t, h)
	h.Sim.SetFault(sim.FaultDuplicateNotify, 0)
	o := h.payQR(t, 777)
	h.payerPays(t, o)
	_, first := h.nextPayment(t, o)
	_, second := h.nextPayment(t, o)
	if !reflect.DeepEqual(first, second) {
		t.Fatalf("duplicate notifications differ: %+v vs %+v", first, second)
	}
}

func (h *Harness) micropay(t *testing.T, authCode string) (*order, *channel.PayResponse, error) {
	o := newOrder(2500)
	req := h.payRequest(o, h.MicropayMethod)
	req.AuthCode = authCode
	resp, err := h.Connector.Pay(ctx(t), req)
	if resp != nil {
		o.tradeNo = resp.ChannelTradeNo
	}
	return o, resp, err
}

func testMicropay(t *testing.T, h *Harness) {
	if h.MicropayMethod == "" {
		t.Skip("no micropay")
	}
	o, resp, err := h.micropay(t, h.AuthCodeSuccess)
	if err != nil || resp.Status != channel.TradeSuccess {
		t.Fatalf("micropay: %+v, %v; want SUCCESS", resp, err)
	}
	if q := h.waitStatus(t, o, channel.TradeSuccess); q.Amount != 2500 {
		t.Fatalf("micropay amount %d", q.Amount)
	}
	if h.AuthCodeDeclined != "" {
		_, resp, err = h.micropay(t, h.AuthCodeDeclined)
		var d *channel.DeclineError
		if !errors.As(err, &d) || d.Code == "" {
			t.Fatalf("declined micropay: %+v, %v; want a DeclineError with a code", resp, err)
		}
	}
}

func testMicropayUserPaying(t *testing.T, h *Harness) {
	if h.MicropayMethod == "" || h.AuthCodeUserPaying == "" {
		t.Skip("no USERPAYING scenario")
	}
	o, resp, err := h.micropay(t, h.AuthCodeUserPaying)
	if err != nil || resp.Status != channel.TradeUserPaying {
		t.Fatalf("micropay while the payer confirms: %+v, %v; want USERPAYING", resp, err)
	}
	h.waitStatus(t, o, channel.TradeUserPaying, channel.TradeNotPay)
	h.payerPays(t, o)
	h.waitStatus(t, o, channel.TradeSuccess)
}

func testMicropayReverse(t *testing.T, h *Harness) {
	if h.MicropayMethod == "" || h.AuthCodeUserPaying == "" || !h.Connector.Capabilities().Reverse {
		t.Skip("no reverse of a USERPAYING trade")
	}
	o, _, err := h.micropay(t, h.AuthCodeUserPaying)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Connector.Reverse(ctx(t), channel.CloseRequest{OrderID: o.id, CreatedAt: o.createdAt, ChannelTradeNo: o.tradeNo, Amount: o.amount, Livemode: h.Livemode}); err != nil {
		t.Fatalf("reverse: %v", err)
	}
	h.waitStatus(t, o, channel.TradeRevoked, channel.TradeClosed)
	if h.Sim != nil && h.Sim.PayerPays(h.outTradeNo(o.id)) == nil {
		if q, err := h.query(t, o); err == nil && q.Status.Paid() {
			t.Fatal("a reversed trade took the payer's money")
		}
	}
}

func testUnavailable(t *testing.T, h *Harness) {
	if h.Sim == nil {
		t.Skip("no simulator")
	}
	h.Sim.SetFault(sim.Fault5xx, 1)
	o := newOrder(300)
	_, err := h.Connector.Pay(ctx(t), h.payRequest(o, h.QRMethod))
	if !channel.Retryable(err) {
		t.Fatalf("pay while the channel fails with 5xx: %v, want a retryable error", err)
	}
	// The fault was for one call: the next works.
	h.payQR(t, 300)
}

func testTimeoutIsUnknown(t *testing.T, h *Harness) {
	if h.Sim == nil || h.MicropayMethod == "" {
		t.Skip("no simulator or no micropay")
	}
	h.Sim.SetFault(sim.FaultTimeout, 1)
	o := newOrder(2500)
	req := h.payRequest(o, h.MicropayMethod)
	req.AuthCode = h.AuthCodeSuccess
	c, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := h.Connector.Pay(c, req)
	if !errors.Is(err, channel.ErrUnknownOutcome) {
		t.Fatalf("micropay whose answer never came: %v, want ErrUnknownOutcome", err)
	}
	// The simulator took the money; a query finds it.
	h.waitStatus(t, o, channel.TradeSuccess)
}

func testBadResponseSignature(t *testing.T, h *Harness) {
	if h.Sim == nil {
		t.Skip("no simulator")
	}
	o := h.paid(t, 600)
	h.Sim.SetFault(sim.FaultBadSignature, 0)
	q, err := h.query(t, o)
	if !errors.Is(err, channel.ErrBadSignature) {
		t.Fatalf("query answered with a forged signature: %+v, %v; want ErrBadSignature", q, err)
	}
	h.Sim.SetFault(sim.FaultNone, 0)
	h.waitStatus(t, o, channel.TradeSuccess)
}

func testBill(t *testing.T, h *Harness) {
	if !h.Connector.Capabilities().Bill {
		t.Skip("bill is not a capability")
	}
	o := h.paid(t, 1500)
	var rid string
	if h.Connector.Capabilities().Refund {
		var err error
		if rid, _, err = h.refund(t, o, 500); err != nil {
			t.Fatalf("refund: %v", err)
		}
	}
	day := time.Now().In(time.FixedZone("CST", 8*3600))
	var bill *channel.Bill
	deadline := time.Now().Add(wait)
	for {
		b, err := h.Connector.Bill(ctx(t), channel.BillRequest{Date: day, Livemode: h.Livemode})
		if err != nil {
			t.Fatalf("bill: %v", err)
		}
		bill = b
		if hasRecord(b, channel.NotifyPayment, o.id, "") && (rid == "" || hasRecord(b, channel.NotifyRefund, o.id, rid)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("bill of %s lacks the payment %s or refund %s: %+v", day.Format(time.DateOnly), o.id, rid, b.Records)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(bill.Raw) == 0 || bill.Format == "" {
		t.Error("bill has no raw file or format")
	}
	for _, r := range bill.Records {
		switch {
		case r.Kind == channel.NotifyPayment && r.OrderID == o.id && r.Amount != 1500:
			t.Errorf("payment record amount %d, want 1500", r.Amount)
		case r.Kind == channel.NotifyRefund && r.RefundID == rid && r.Amount != 500:
			t.Errorf("refund record amount %d, want 500", r.Amount)
		}
	}
}

func hasRecord(b *channel.Bill, kind channel.NotifyKind, orderID, refundID string) bool {
	for _, r := range b.Records {
		if r.Kind == kind && r.OrderID == orderID && (refundID == "" || r.RefundID == refundID) {
			return true
		}
	}
	return false
}

// Bench measures a connector against its simulator: creating a trade that
// waits for the payer (request signing, the simulator's verification and
// signing, response verification, over loopback HTTP), and querying a paid
// trade, each from parallel goroutines.
func Bench(b *testing.B, newHarness func(t testing.TB) *Harness) {
	h := newHarness(b)
	if h.Currency == "" {
		h.Currency = "CNY"
	}
	b.Run("PayQR", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				o := newOrder(100)
				if _, err := h.Connector.Pay(context.Background(), h.payRequest(o, h.QRMethod)); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("Query", func(b *testing.B) {
		o := newOrder(100)
		resp, err := h.Connector.Pay(context.Background(), h.payRequest(o, h.QRMethod))
		if err != nil {
			b.Fatal(err)
		}
		o.tradeNo = resp.ChannelTradeNo
		h.payerPays(b, o)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := h.Connector.Query(context.Background(), channel.QueryRequest{OrderID: o.id, CreatedAt: o.createdAt, ChannelTradeNo: o.tradeNo, Livemode: h.Livemode}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
