package metrics

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/tracing"
)

// Connector wraps a channel account's connector so that every call to the
// channel is counted, timed and traced (a span "channel <operation>").
// Callbacks (Notify) are verified locally, not calls, and pass through. A
// connector with the agreements or the transfers capability keeps it (and
// its calls are counted too); channel.Unwrap reaches the connector itself
// for any other optional method. A nil Metrics still traces (tracing is
// off at no cost unless a provider is installed).
func (m *Metrics) Connector(accountID string, c channel.Connector) channel.Connector {
	ic := &instrumented{Connector: c, m: m, account: accountID, provider: c.Name()}
	ag, hasAg := c.(channel.Agreements)
	tr, hasTr := c.(channel.Transfers)
	switch {
	case hasAg && hasTr:
		return &withAgreementsTransfers{ic, agreementsPart{ic, ag}, transfersPart{ic, tr}}
	case hasAg:
		return &withAgreements{ic, agreementsPart{ic, ag}}
	case hasTr:
		return &withTransfers{ic, transfersPart{ic, tr}}
	}
	return ic
}

// The wrappers of connectors with optional capabilities.
type (
	withAgreements struct {
		*instrumented
		agreementsPart
	}
	withTransfers struct {
		*instrumented
		transfersPart
	}
	withAgreementsTransfers struct {
		*instrumented
		agreementsPart
		transfersPart
	}
)

type instrumented struct {
	channel.Connector
	m        *Metrics
	account  string
	provider string
}

// ChannelOutcome names a channel call's result as a label value.
func ChannelOutcome(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, channel.ErrDeclined):
		return "declined"
	case errors.Is(err, channel.ErrUnavailable):
		return "unavailable"
	case errors.Is(err, channel.ErrUnknownOutcome):
		return "unknown"
	case errors.Is(err, channel.ErrTradeNotFound):
		return "not_found"
	case errors.Is(err, channel.ErrInvalidRequest), errors.Is(err, channel.ErrNotSupported), errors.Is(err, channel.ErrAlreadyPaid):
		return "rejected"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "canceled"
	}
	return "error"
}

// call starts a span for op; its end records the call.
func (c *instrumented) call(ctx context.Context, op string) (context.Context, func(error)) {
	start := time.Now()
	if !tracing.Enabled() {
		return ctx, func(err error) { c.m.ChannelCall(c.account, c.provider, op, ChannelOutcome(err), time.Since(start)) }
	}
	ctx, span := tracing.Tracer().Start(ctx, "channel "+op, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("paygate.channel_account", c.account), attribute.String("paygate.provider", c.provider)))
	return ctx, func(err error) {
		outcome := ChannelOutcome(err)
		c.m.ChannelCall(c.account, c.provider, op, outcome, time.Since(start))
		span.SetAttributes(attribute.String("paygate.outcome", outcome))
		if err != nil && outcome != "declined" {
			span.SetStatus(codes.Error, outcome)
		}
		span.End()
	}
}

func (c *instrumented) Pay(ctx context.Context, r channel.PayRequest) (*channel.PayResponse, error) {
	ctx, end := c.call(ctx, "pay")
	resp, err := c.Connector.Pay(ctx, r)
	end(err)
	return resp, err
}

func (c *instrumented) Query(ctx context.Context, r channel.QueryRequest) (*channel.QueryResponse, error) {
	ctx, end := c.call(ctx, "query")
	resp, err := c.Connector.Query(ctx, r)
	end(err)
	return resp, err
}

func (c *instrumented) Close(ctx context.Context, r channel.CloseRequest) error {
	ctx, end := c.call(ctx, "close")
	err := c.Connector.Close(ctx, r)
	end(err)
	return err
}

func (c *instrumented) Reverse(ctx context.Context, r channel.CloseRequest) error {
	ctx, end := c.call(ctx, "reverse")
	err := c.Connector.Reverse(ctx, r)
	end(err)
	return err
}

func (c *instrumented) Refund(ctx context.Context, r channel.RefundRequest) (*channel.RefundResponse, error) {
	ctx, end := c.call(ctx, "refund")
	resp, err := c.Connector.Refund(ctx, r)
	end(err)
	return resp, err
}

func (c *instrumented) RefundQuery(ctx context.Context, r channel.RefundQueryRequest) (*channel.RefundResponse, error) {
	ctx, end := c.call(ctx, "refund_query")
	resp, err := c.Connector.RefundQuery(ctx, r)
	end(err)
	return resp, err
}

func (c *instrumented) Bill(ctx context.Context, r channel.BillRequest) (*channel.Bill, error) {
	ctx, end := c.call(ctx, "bill")
	resp, err := c.Connector.Bill(ctx, r)
	end(err)
	return resp, err
}

// Unwrap returns the wrapped connector (channel.Unwrap).
func (c *instrumented) Unwrap() channel.Connector { return c.Connector }

// agreementsPart counts the agreements capability's calls.
type agreementsPart struct {
	c  *instrumented
	ag channel.Agreements
}

func (p agreementsPart) SignAgreement(ctx context.Context, r channel.SignAgreementRequest) (*channel.SignAgreementResponse, error) {
	ctx, end := p.c.call(ctx, "agreement_sign")
	resp, err := p.ag.SignAgreement(ctx, r)
	end(err)
	return resp, err
}

func (p agreementsPart) QueryAgreement(ctx context.Context, r channel.AgreementRequest) (*channel.AgreementState, error) {
	ctx, end := p.c.call(ctx, "agreement_query")
	resp, err := p.ag.QueryAgreement(ctx, r)
	end(err)
	return resp, err
}

func (p agreementsPart) TerminateAgreement(ctx context.Context, r channel.AgreementRequest) error {
	ctx, end := p.c.call(ctx, "agreement_terminate")
	err := p.ag.TerminateAgreement(ctx, r)
	end(err)
	return err
}

func (p agreementsPart) AgreementNotify(ctx context.Context, r channel.NotifyRequest) (*channel.AgreementNotification, error) {
	return p.ag.AgreementNotify(ctx, r)
}

func (p agreementsPart) AgreementNotifyReply(err error) channel.NotifyReply {
	return p.ag.AgreementNotifyReply(err)
}

// transfersPart counts the transfers capability's calls.
type transfersPart struct {
	c  *instrumented
	tr channel.Transfers
}

func (p transfersPart) Transfer(ctx context.Context, r channel.TransferRequest) (*channel.TransferResponse, error) {
	ctx, end := p.c.call(ctx, "transfer")
	resp, err := p.tr.Transfer(ctx, r)
	end(err)
	return resp, err
}

func (p transfersPart) QueryTransfer(ctx context.Context, r channel.TransferQueryRequest) (*channel.TransferResponse, error) {
	ctx, end := p.c.call(ctx, "transfer_query")
	resp, err := p.tr.QueryTransfer(ctx, r)
	end(err)
	return resp, err
}
