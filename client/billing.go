package client

import (
	"context"
	"net/http"
	"time"
)

// Recurring payments: customers and their saved payment methods,
// agreements, products and prices, subscriptions, invoices and test clocks.

// CreateCustomer creates a customer (POST /v1/customers); give TestClock to put them on a test clock.
func (c *Client) CreateCustomer(ctx context.Context, p CreateCustomerParams, opts ...RequestOption) (*Customer, error) {
	return call[Customer](ctx, c, http.MethodPost, "/v1/customers", p, opts)
}

// GetCustomer retrieves a customer.
func (c *Client) GetCustomer(ctx context.Context, id string, opts ...RequestOption) (*Customer, error) {
	seg, err := segment("customer id", id)
	if err != nil {
		return nil, err
	}
	return call[Customer](ctx, c, http.MethodGet, "/v1/customers/"+seg, nil, opts)
}

// ListCustomers lists customers, newest first.
func (c *Client) ListCustomers(ctx context.Context, p ListParams, opts ...RequestOption) (*List[Customer], error) {
	return call[List[Customer]](ctx, c, http.MethodGet, "/v1/customers"+p.query(), nil, opts)
}

// ListPaymentMethods lists saved payment methods, newest first; Extra {"customer": id} narrows to one customer's.
func (c *Client) ListPaymentMethods(ctx context.Context, p ListParams, opts ...RequestOption) (*List[PaymentMethod], error) {
	return call[List[PaymentMethod]](ctx, c, http.MethodGet, "/v1/payment-methods"+p.query(), nil, opts)
}

// GetPaymentMethod retrieves a saved payment method.
func (c *Client) GetPaymentMethod(ctx context.Context, id string, opts ...RequestOption) (*PaymentMethod, error) {
	seg, err := segment("payment method id", id)
	if err != nil {
		return nil, err
	}
	return call[PaymentMethod](ctx, c, http.MethodGet, "/v1/payment-methods/"+seg, nil, opts)
}

// DetachPaymentMethod detaches a saved payment method: it can no longer be charged.
func (c *Client) DetachPaymentMethod(ctx context.Context, id string, opts ...RequestOption) (*PaymentMethod, error) {
	seg, err := segment("payment method id", id)
	if err != nil {
		return nil, err
	}
	return call[PaymentMethod](ctx, c, http.MethodPost, "/v1/payment-methods/"+seg+"/detach", noParams, opts)
}

// CreateAgreement starts an agreement (POST /v1/agreements): it is pending, and its NextAction sends the payer to sign at the channel.
func (c *Client) CreateAgreement(ctx context.Context, p CreateAgreementParams, opts ...RequestOption) (*Agreement, error) {
	return call[Agreement](ctx, c, http.MethodPost, "/v1/agreements", p, opts)
}

// GetAgreement retrieves an agreement.
func (c *Client) GetAgreement(ctx context.Context, id string, opts ...RequestOption) (*Agreement, error) {
	seg, err := segment("agreement id", id)
	if err != nil {
		return nil, err
	}
	return call[Agreement](ctx, c, http.MethodGet, "/v1/agreements/"+seg, nil, opts)
}

// ListAgreements lists agreements, newest first.
func (c *Client) ListAgreements(ctx context.Context, p ListParams, opts ...RequestOption) (*List[Agreement], error) {
	return call[List[Agreement]](ctx, c, http.MethodGet, "/v1/agreements"+p.query(), nil, opts)
}

// TerminateAgreement terminates an agreement at the merchant's request (the channel is told).
func (c *Client) TerminateAgreement(ctx context.Context, id string, opts ...RequestOption) (*Agreement, error) {
	seg, err := segment("agreement id", id)
	if err != nil {
		return nil, err
	}
	return call[Agreement](ctx, c, http.MethodPost, "/v1/agreements/"+seg+"/terminate", noParams, opts)
}

// SyncAgreement asks the channel for the agreement's state now and records it.
func (c *Client) SyncAgreement(ctx context.Context, id string, opts ...RequestOption) (*Agreement, error) {
	seg, err := segment("agreement id", id)
	if err != nil {
		return nil, err
	}
	return call[Agreement](ctx, c, http.MethodPost, "/v1/agreements/"+seg+"/sync", noParams, opts)
}

// TestAgreementPayer plays the payer of a test-mode agreement: action sign, refuse or terminate.
func (c *Client) TestAgreementPayer(ctx context.Context, id string, action string, opts ...RequestOption) (*Agreement, error) {
	seg, err := segment("agreement id", id)
	if err != nil {
		return nil, err
	}
	return call[Agreement](ctx, c, http.MethodPost, "/v1/test/agreements/"+seg+"/payer", struct {
		Action string `json:"action"`
	}{action}, opts)
}

// CreateProduct creates a product.
func (c *Client) CreateProduct(ctx context.Context, p CreateProductParams, opts ...RequestOption) (*Product, error) {
	return call[Product](ctx, c, http.MethodPost, "/v1/products", p, opts)
}

// GetProduct retrieves a product.
func (c *Client) GetProduct(ctx context.Context, id string, opts ...RequestOption) (*Product, error) {
	seg, err := segment("product id", id)
	if err != nil {
		return nil, err
	}
	return call[Product](ctx, c, http.MethodGet, "/v1/products/"+seg, nil, opts)
}

// ListProducts lists products, newest first.
func (c *Client) ListProducts(ctx context.Context, p ListParams, opts ...RequestOption) (*List[Product], error) {
	return call[List[Product]](ctx, c, http.MethodGet, "/v1/products"+p.query(), nil, opts)
}

// CreatePrice creates a recurring price of a product.
func (c *Client) CreatePrice(ctx context.Context, p CreatePriceParams, opts ...RequestOption) (*Price, error) {
	return call[Price](ctx, c, http.MethodPost, "/v1/prices", p, opts)
}

// GetPrice retrieves a price.
func (c *Client) GetPrice(ctx context.Context, id string, opts ...RequestOption) (*Price, error) {
	seg, err := segment("price id", id)
	if err != nil {
		return nil, err
	}
	return call[Price](ctx, c, http.MethodGet, "/v1/prices/"+seg, nil, opts)
}

// ListPrices lists prices, newest first; Extra {"product": id} narrows to one product's.
func (c *Client) ListPrices(ctx context.Context, p ListParams, opts ...RequestOption) (*List[Price], error) {
	return call[List[Price]](ctx, c, http.MethodGet, "/v1/prices"+p.query(), nil, opts)
}

// CreateSubscription starts a subscription; without a trial its first invoice is charged at once.
func (c *Client) CreateSubscription(ctx context.Context, p CreateSubscriptionParams, opts ...RequestOption) (*Subscription, error) {
	return call[Subscription](ctx, c, http.MethodPost, "/v1/subscriptions", p, opts)
}

// GetSubscription retrieves a subscription.
func (c *Client) GetSubscription(ctx context.Context, id string, opts ...RequestOption) (*Subscription, error) {
	seg, err := segment("subscription id", id)
	if err != nil {
		return nil, err
	}
	return call[Subscription](ctx, c, http.MethodGet, "/v1/subscriptions/"+seg, nil, opts)
}

// ListSubscriptions lists subscriptions, newest first; Extra filters customer and status.
func (c *Client) ListSubscriptions(ctx context.Context, p ListParams, opts ...RequestOption) (*List[Subscription], error) {
	return call[List[Subscription]](ctx, c, http.MethodGet, "/v1/subscriptions"+p.query(), nil, opts)
}

// UpdateSubscription changes a subscription's price or quantity (prorated), or its cancel_at_period_end.
func (c *Client) UpdateSubscription(ctx context.Context, id string, p UpdateSubscriptionParams, opts ...RequestOption) (*Subscription, error) {
	seg, err := segment("subscription id", id)
	if err != nil {
		return nil, err
	}
	return call[Subscription](ctx, c, http.MethodPost, "/v1/subscriptions/"+seg+"", p, opts)
}

// CancelSubscription cancels a subscription now, or at the end of its period.
func (c *Client) CancelSubscription(ctx context.Context, id string, p CancelSubscriptionParams, opts ...RequestOption) (*Subscription, error) {
	seg, err := segment("subscription id", id)
	if err != nil {
		return nil, err
	}
	return call[Subscription](ctx, c, http.MethodPost, "/v1/subscriptions/"+seg+"/cancel", p, opts)
}

// GetInvoice retrieves an invoice.
func (c *Client) GetInvoice(ctx context.Context, id string, opts ...RequestOption) (*Invoice, error) {
	seg, err := segment("invoice id", id)
	if err != nil {
		return nil, err
	}
	return call[Invoice](ctx, c, http.MethodGet, "/v1/invoices/"+seg, nil, opts)
}

// ListInvoices lists invoices, newest first; Extra filters subscription, customer and status.
func (c *Client) ListInvoices(ctx context.Context, p ListParams, opts ...RequestOption) (*List[Invoice], error) {
	return call[List[Invoice]](ctx, c, http.MethodGet, "/v1/invoices"+p.query(), nil, opts)
}

// PayInvoice tries to collect an open invoice now.
func (c *Client) PayInvoice(ctx context.Context, id string, opts ...RequestOption) (*Invoice, error) {
	seg, err := segment("invoice id", id)
	if err != nil {
		return nil, err
	}
	return call[Invoice](ctx, c, http.MethodPost, "/v1/invoices/"+seg+"/pay", noParams, opts)
}

// CreateTestClock creates a test clock (test mode only).
func (c *Client) CreateTestClock(ctx context.Context, p CreateTestClockParams, opts ...RequestOption) (*TestClock, error) {
	return call[TestClock](ctx, c, http.MethodPost, "/v1/test/clocks", p, opts)
}

// GetTestClock retrieves a test clock.
func (c *Client) GetTestClock(ctx context.Context, id string, opts ...RequestOption) (*TestClock, error) {
	seg, err := segment("test clock id", id)
	if err != nil {
		return nil, err
	}
	return call[TestClock](ctx, c, http.MethodGet, "/v1/test/clocks/"+seg, nil, opts)
}

// ListTestClocks lists test clocks, newest first.
func (c *Client) ListTestClocks(ctx context.Context, p ListParams, opts ...RequestOption) (*List[TestClock], error) {
	return call[List[TestClock]](ctx, c, http.MethodGet, "/v1/test/clocks"+p.query(), nil, opts)
}

// AdvanceTestClock moves a test clock to frozenTime; the gateway runs every renewal, charge and retry due up to then before it answers.
func (c *Client) AdvanceTestClock(ctx context.Context, id string, frozenTime time.Time, opts ...RequestOption) (*TestClock, error) {
	seg, err := segment("test clock id", id)
	if err != nil {
		return nil, err
	}
	return call[TestClock](ctx, c, http.MethodPost, "/v1/test/clocks/"+seg+"/advance", struct {
		FrozenTime time.Time `json:"frozen_time"`
	}{frozenTime.UTC()}, opts)
}
