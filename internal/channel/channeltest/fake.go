package channeltest

import (
	"context"
	"net/http"
	"sync/atomic"

	"github.com/paygate/paygate/internal/channel"
)

// Fake is a channel.Connector for tests of what stands on connectors: each
// call runs the func of the same name, and a nil func answers
// channel.ErrNotSupported. It counts the calls it gets.
type Fake struct {
	ProviderName string
	Caps         channel.Capabilities

	PayFunc         func(channel.PayRequest) (*channel.PayResponse, error)
	QueryFunc       func(channel.QueryRequest) (*channel.QueryResponse, error)
	CloseFunc       func(channel.CloseRequest) error
	ReverseFunc     func(channel.CloseRequest) error
	RefundFunc      func(channel.RefundRequest) (*channel.RefundResponse, error)
	RefundQueryFunc func(channel.RefundQueryRequest) (*channel.RefundResponse, error)
	NotifyFunc      func(channel.NotifyRequest) (*channel.Notification, error)
	BillFunc        func(channel.BillRequest) (*channel.Bill, error)

	Pays, Queries, Closes, Refunds atomic.Int64
}

// Provider is a provider of name whose every account's connector is f.
func (f *Fake) Provider() channel.Provider {
	return channel.Provider{Name: f.ProviderName, Methods: f.Caps.Methods,
		New: func(channel.Account) (channel.Connector, error) { return f, nil }}
}

func (f *Fake) Name() string                       { return f.ProviderName }
func (f *Fake) Capabilities() channel.Capabilities { return f.Caps }

func (f *Fake) Pay(_ context.Context, r channel.PayRequest) (*channel.PayResponse, error) {
	f.Pays.Add(1)
	if f.PayFunc == nil {
		return nil, channel.ErrNotSupported
	}
	return f.PayFunc(r)
}

func (f *Fake) Query(_ context.Context, r channel.QueryRequest) (*channel.QueryResponse, error) {
	f.Queries.Add(1)
	if f.QueryFunc == nil {
		return nil, channel.ErrNotSupported
	}
	return f.QueryFunc(r)
}

func (f *Fake) Close(_ context.Context, r channel.CloseRequest) error {
	f.Closes.Add(1)
	if f.CloseFunc == nil {
		return channel.ErrNotSupported
	}
	return f.CloseFunc(r)
}

func (f *Fake) Reverse(_ context.Context, r channel.CloseRequest) error {
	if f.ReverseFunc == nil {
		return channel.ErrNotSupported
	}
	return f.ReverseFunc(r)
}

func (f *Fake) Refund(_ context.Context, r channel.RefundRequest) (*channel.RefundResponse, error) {
	f.Refunds.Add(1)
	if f.RefundFunc == nil {
		return nil, channel.ErrNotSupported
	}
	return f.RefundFunc(r)
}

func (f *Fake) RefundQuery(_ context.Context, r channel.RefundQueryRequest) (*channel.RefundResponse, error) {
	if f.RefundQueryFunc == nil {
		return nil, channel.ErrNotSupported
	}
	return f.RefundQueryFunc(r)
}

func (f *Fake) Notify(_ context.Context, r channel.NotifyRequest) (*channel.Notification, error) {
	if f.NotifyFunc == nil {
		return nil, channel.ErrNotSupported
	}
	return f.NotifyFunc(r)
}

func (f *Fake) NotifyReply(err error) channel.NotifyReply {
	if err != nil {
		return channel.NotifyReply{Status: http.StatusInternalServerError, ContentType: "text/plain", Body: []byte("fail")}
	}
	return channel.NotifyReply{Status: http.StatusOK, ContentType: "text/plain", Body: []byte("ok")}
}

func (f *Fake) Bill(_ context.Context, r channel.BillRequest) (*channel.Bill, error) {
	if f.BillFunc == nil {
		return nil, channel.ErrNotSupported
	}
	return f.BillFunc(r)
}
