// Package channeltest is the conformance suite every channel connector
// passes: Run drives a connector against its simulator (or the sandbox)
// over real HTTP through create, pay, query, close, reverse, refund,
// notifications (genuine, tampered, repeated) and bills, and checks that
// errors are sorted into the channel sentinels.
package channeltest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/sim"
)

// Harness is one connector under test with what the suite needs to play the
// payer and the channel's faults. A fresh Harness (and simulator) is made for
// every subtest.
type Harness struct {
	// Connector is under test. Its account's NotifyURL should be Receiver's URL.
	Connector channel.Connector
	// Sim is the simulator behind Connector; nil for the sandbox (the suite
	// then skips what needs a simulator).
	Sim sim.Simulator
	// Receiver collects the callbacks the simulator posts; nil when the
	// connector takes no callbacks.
	Receiver *Receiver
	// Currency for every order, e.g. "CNY".
	Currency string
	// QRMethod is a method whose trade waits for the payer (wechat.native).
	QRMethod string
	// RedirectMethods are methods answered with a redirect or SDK parameters
	// (wechat.h5, alipay.page…); each is created once and checked for a next action.
	OtherMethods []string
	// MicropayMethod charges a payment code at once; "" when unsupported.
	MicropayMethod string
	// Auth codes the simulator answers with success, with "payer is
	// confirming" (USERPAYING, 10003…) and with a final decline.
	AuthCodeSuccess, AuthCodeUserPaying, AuthCodeDeclined string
	// OutTradeNo maps an order id to the out_trade_no the connector sent;
	// nil means the same.
	OutTradeNo func(orderID string) string
	// Livemode is sent in every request (the sandbox serves test mode only).
	Livemode bool
	// PayerID is sent as PayRequest.PayerID (WeChat JSAPI needs an openid).
	PayerID string
	// PayerPays, when set, plays the payer paying a trade; nil means
	// Sim.PayerPays(OutTradeNo(orderID)).
	PayerPays func(t testing.TB, orderID, channelTradeNo string)
}

func (h *Harness) outTradeNo(orderID string) string {
	if h.OutTradeNo == nil {
		return orderID
	}
	return h.OutTradeNo(orderID)
}

// Receiver is a loopback HTTP server standing in for the gateway's callback
// endpoint: it records each callback and answers with Reply.
type Receiver struct {
	URL string
	C   chan channel.NotifyRequest

	mu    sync.Mutex
	reply channel.NotifyReply
}

// NewReceiver starts a receiver that answers every callback with reply
// (usually the connector's NotifyReply(nil)); it stops when t ends.
func NewReceiver(t testing.TB, reply channel.NotifyReply) *Receiver {
	r := &Receiver{C: make(chan channel.NotifyRequest, 256), reply: reply}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		select {
		case r.C <- channel.NotifyRequest{Header: req.Header.Clone(), Body: body}:
		default:
		}
		r.mu.Lock()
		rep := r.reply
		r.mu.Unlock()
		if rep.ContentType != "" {
			w.Header().Set("Content-Type", rep.ContentType)
		}
		if rep.Status == 0 {
			rep.Status = http.StatusOK
		}
		w.WriteHeader(rep.Status)
		w.Write(rep.Body)
	}))
	t.Cleanup(srv.Close)
	r.URL = srv.URL + "/notify"
	return r
}

// SetReply changes the answer to later callbacks (a failure makes the
// simulator retry).
func (r *Receiver) SetReply(rep channel.NotifyReply) {
	r.mu.Lock()
	r.reply = rep
	r.mu.Unlock()
}
