// Package sim holds the channel simulators: HTTP servers that play WeChat Pay
// v3 (wechatpay), Alipay OpenAPI (alipay) and UnionPay ACP 5.1 (unionpay) as
// their published specifications describe them, so the connectors, the
// gateway's tests and its demo run against the real protocols on loopback.
//
// Each simulator checks request signatures, timestamps and parameters and
// rejects bad ones with the provider's documented errors; signs its
// responses; keeps trades in the provider's states; posts signed (for WeChat,
// encrypted) notifications with the provider's retry schedule (scaled by
// Options.RetryScale in tests); serves bills in the provider's format; and
// can be told to fail (see Fault).
//
// Besides the provider's API, every simulator serves a small control API
// under /_sim/ so a separate process (paygate sim) can be driven:
//
//	POST /_sim/trades/{out_trade_no}/pay     the payer pays (scans, confirms)
//	POST /_sim/trades/{out_trade_no}/fail    the payer's payment fails
//	POST /_sim/fault  {"fault":"5xx","count":3}  the next count calls fail (0: until cleared)
//	DELETE /_sim/fault
//	GET  /_sim/account                       the channel account settings for this simulator
//
// {out_trade_no} is the merchant order number as the channel knows it: for
// a gateway's order, the gateway's order id (ord_…), which the gateway sends
// as out_trade_no (UnionPay's orderId is the same id without its "_"; its
// simulator takes either). An unknown fault name is refused with 400 and
// the list of known ones (KnownFaults).
package sim

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/clock"
)

// Options are what every simulator's New takes.
type Options struct {
	Clock clock.Clock // nil: the real clock
	// RetryScale multiplies the provider's notification retry schedule (the
	// first retry of WeChat's is 15 s); tests use a small one such as 0.001.
	// 0 means 1.
	RetryScale float64
	// Hang is how long FaultTimeout holds a response; 0 means 30 s.
	Hang time.Duration
	// HTTPClient posts notifications; nil: a client with a 5 s timeout.
	HTTPClient *http.Client
	Logger     *slog.Logger // nil: discard
}

// Fault is a way a simulator can be told to misbehave.
type Fault string

// Faults every simulator understands.
const (
	FaultNone Fault = ""
	// Fault5xx answers API calls with the provider's system error and a 5xx,
	// without acting.
	Fault5xx Fault = "5xx"
	// FaultTimeout acts (creates, pays, refunds) but answers only after the
	// client has given up (it holds the response until the request's context
	// ends or Options.Hang passes).
	FaultTimeout Fault = "timeout"
	// FaultBadSignature signs responses and notifications with a wrong key.
	FaultBadSignature Fault = "bad_signature"
	// FaultDuplicateNotify sends every notification twice.
	FaultDuplicateNotify Fault = "duplicate_notify"
	// FaultOutOfOrderNotify delays a trade's payment notification until after
	// its later ones (a refund's), so they arrive out of order.
	FaultOutOfOrderNotify Fault = "out_of_order_notify"
	// FaultDropNotify sends no notifications (the gateway must query).
	FaultDropNotify Fault = "drop_notify"
)

// KnownFaults are the faults every simulator understands, in the order
// help lists them.
var KnownFaults = []Fault{Fault5xx, FaultTimeout, FaultBadSignature, FaultDuplicateNotify, FaultOutOfOrderNotify, FaultDropNotify}

// ParseFault returns the fault named s ("" is FaultNone), or an error
// listing the known ones.
func ParseFault(s string) (Fault, error) {
	if s == "" {
		return FaultNone, nil
	}
	for _, f := range KnownFaults {
		if string(f) == s {
			return f, nil
		}
	}
	names := make([]string, len(KnownFaults))
	for i, f := range KnownFaults {
		names[i] = string(f)
	}
	return FaultNone, fmt.Errorf("unknown fault %q; known faults: %s", s, strings.Join(names, ", "))
}

// DecodeFault reads the body of POST /_sim/fault, {"fault":"5xx","count":3},
// refusing an unknown fault or a negative count.
func DecodeFault(body io.Reader) (Fault, int, error) {
	var in struct {
		Fault string `json:"fault"`
		Count int    `json:"count"`
	}
	dec := json.NewDecoder(io.LimitReader(body, 1<<16))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return FaultNone, 0, fmt.Errorf(`body must be {"fault":"<name>","count":<n>}: %v`, err)
	}
	if in.Count < 0 {
		return FaultNone, 0, fmt.Errorf("count must be 0 (until cleared) or more")
	}
	f, err := ParseFault(in.Fault)
	return f, in.Count, err
}

// Simulator is what every provider simulator offers.
type Simulator interface {
	http.Handler
	// Provider is the provider's name, as channel.Provider.Name.
	Provider() string
	// Account returns the channel account settings (Config and Secrets, with
	// BaseURL set to baseURL) a connector needs to talk to this simulator.
	// Livemode, ID and NotifyURL are left for the caller.
	Account(baseURL string) channel.Account
	// PayerPays makes the payer pay the trade with this out_trade_no (as the
	// connector sent it); PayerFails makes the payment fail.
	PayerPays(outTradeNo string) error
	PayerFails(outTradeNo string) error
	// SetFault makes the next count API calls misbehave (count 0: every call
	// until SetFault(FaultNone, 0)).
	SetFault(f Fault, count int)
	// Close stops the notification sender.
	Close()
}

// BillFaultSimulator is a simulator whose bills can be made wrong in its
// provider's own format, for tests of reconciliation (each simulator is
// one).
type BillFaultSimulator interface {
	// AlterBillAmount makes the bill list the payment of outTradeNo (the
	// gateway's order id) for amount, in minor units, instead of what was
	// paid.
	AlterBillAmount(outTradeNo string, amount int64)
	// TradeAtChannelOnly records a payment of amount, made now at the
	// channel under outTradeNo, that the gateway never asked for.
	TradeAtChannelOnly(outTradeNo string, amount int64) error
}

// AgreementSimulator is a simulator whose payers sign agreements (WeChat
// Pay's contracts, Alipay's withholding agreements). code is the
// merchant's number of the agreement as the gateway sends it (its agreement
// id); action is "sign" or "refuse" (a signing page the payer opened), or
// "terminate" (a signed agreement, ended by the payer at the channel).
type AgreementSimulator interface {
	AgreementPayer(code, action string) error
}
