package billing

import (
	"context"
	"fmt"
	"net/mail"
	"unicode/utf8"

	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/payment"
	"github.com/paygate/paygate/internal/store"
)

// CustomerParams create a customer.
type CustomerParams struct {
	Name, Email, Description string
	TestClock                string
	Metadata                 map[string]string
}

// text checks a free-text field's length.
func text(param, s string, max int) error {
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > max {
		return errs.InvalidParam(param, fmt.Sprintf("%s must be at most %d characters of UTF-8.", param, max))
	}
	for _, r := range s {
		if r < 0x20 && r != '\n' && r != '\t' {
			return errs.InvalidParam(param, param+" must not contain control characters.")
		}
	}
	return nil
}

// CreateCustomer creates a customer, on a test clock when TestClock names one.
func (s *Service) CreateCustomer(ctx context.Context, sc Scope, p CustomerParams) (*store.Customer, error) {
	for _, f := range []struct {
		param, v string
		max      int
	}{{"name", p.Name, 256}, {"email", p.Email, 256}, {"description", p.Description, 1000}} {
		if err := text(f.param, f.v, f.max); err != nil {
			return nil, err
		}
	}
	if p.Email != "" {
		if _, err := mail.ParseAddress(p.Email); err != nil {
			return nil, errs.InvalidParam("email", "email must be an email address.")
		}
	}
	if err := payment.ValidateMetadata(p.Metadata); err != nil {
		return nil, err
	}
	if p.TestClock != "" {
		if sc.Livemode {
			return nil, errs.InvalidParam("test_clock", "Test clocks are for test mode only.")
		}
		if _, err := s.GetTestClock(ctx, sc, p.TestClock); err != nil {
			return nil, withParam(err, "test_clock")
		}
	}
	now := s.now()
	c := &store.Customer{ID: id.New(id.Customer, now), MerchantID: sc.MerchantID, Livemode: sc.Livemode, Name: p.Name, Email: p.Email,
		Description: p.Description, Metadata: p.Metadata, TestClockID: p.TestClock, CreatedAt: now}
	if err := s.Store.CustomerCreate(ctx, c); err != nil {
		return nil, fmt.Errorf("create customer: %w", err)
	}
	return c, nil
}

// withParam sets param on a merchant-facing error.
func withParam(err error, param string) error {
	if e, ok := err.(*errs.Error); ok {
		return e.WithParam(param)
	}
	return err
}

// GetCustomer returns the scope's customer.
func (s *Service) GetCustomer(ctx context.Context, sc Scope, customerID string) (*store.Customer, error) {
	if !id.Valid(id.Customer, customerID) {
		return nil, ErrCustomerNotFound
	}
	c, err := s.Store.CustomerGetInScope(ctx, sc, customerID)
	return lookup(c, err, ErrCustomerNotFound, "")
}

// ListCustomers lists the scope's customers.
func (s *Service) ListCustomers(ctx context.Context, sc Scope, p store.ListParams) ([]*store.Customer, bool, error) {
	return s.Store.CustomerList(ctx, sc, p)
}

// GetPaymentMethod returns the scope's payment method.
func (s *Service) GetPaymentMethod(ctx context.Context, sc Scope, pmID string) (*store.PaymentMethod, error) {
	if !id.Valid(id.PaymentMethod, pmID) {
		return nil, ErrPaymentMethodNotFound
	}
	pm, err := s.Store.PaymentMethodGetInScope(ctx, sc, pmID)
	return lookup(pm, err, ErrPaymentMethodNotFound, "")
}

// ListPaymentMethods lists the scope's payment methods, of one customer
// when customerID is not "".
func (s *Service) ListPaymentMethods(ctx context.Context, sc Scope, customerID string, p store.ListParams) ([]*store.PaymentMethod, bool, error) {
	if customerID != "" {
		if _, err := s.GetCustomer(ctx, sc, customerID); err != nil {
			return nil, false, withParam(err, "customer")
		}
	}
	return s.Store.PaymentMethodList(ctx, sc, customerID, p)
}

// DetachPaymentMethod detaches a saved card: it can no longer be charged.
// Detaching twice is harmless.
func (s *Service) DetachPaymentMethod(ctx context.Context, sc Scope, pmID string) (*store.PaymentMethod, error) {
	if _, err := s.GetPaymentMethod(ctx, sc, pmID); err != nil {
		return nil, err
	}
	pm, err := s.Store.PaymentMethodDetach(ctx, sc, pmID, s.now())
	return lookup(pm, err, ErrPaymentMethodNotFound, "")
}

// CustomerMethods lists the customer's active saved cards, newest first,
// for the cashier page (which found the customer through its order).
func (s *Service) CustomerMethods(ctx context.Context, o *store.Order) ([]*store.PaymentMethod, error) {
	if o.CustomerID == "" {
		return nil, nil
	}
	sc := Scope{MerchantID: o.MerchantID, Livemode: o.Livemode}
	all, _, err := s.Store.PaymentMethodList(ctx, sc, o.CustomerID, store.ListParams{Limit: 100})
	if err != nil {
		return nil, err
	}
	var out []*store.PaymentMethod
	for _, pm := range all {
		if pm.Status == "active" {
			out = append(out, pm)
		}
	}
	return out, nil
}

// ---- payment.ChargeSources

var _ payment.ChargeSources = (*Service)(nil)

// CheckCustomer is nil when the scope may name the customer on an order.
func (s *Service) CheckCustomer(ctx context.Context, sc Scope, customerID string) error {
	_, err := s.GetCustomer(ctx, sc, customerID)
	return withParam(err, "customer")
}

// ChargeSource says where an order on an agreement or a saved card goes,
// after checking that the scope may charge it: the agreement is the
// scope's (an agreement of another merchant or mode is not found), active,
// in the order's currency, and the amount within its per-charge limit; the
// payment method is the scope's, attached, and the customer's when the
// order names one.
func (s *Service) ChargeSource(ctx context.Context, sc Scope, p payment.CreateOrderParams) (*payment.ChargeSource, error) {
	if p.AgreementID != "" {
		a, err := s.Store.AgreementGetInScope(ctx, sc, p.AgreementID)
		if a, err = lookup(a, err, ErrAgreementNotFound, "agreement_id"); err != nil {
			return nil, err
		}
		if err := chargeable(a, p.Amount, p.Currency); err != nil {
			return nil, err
		}
		if p.Customer != "" && a.CustomerID != "" && a.CustomerID != p.Customer {
			return nil, errs.InvalidParam("agreement_id", "The agreement is another customer's.")
		}
		acct, err := s.Store.ChannelAccountGet(ctx, a.ChannelAccountID)
		if err != nil {
			return nil, fmt.Errorf("agreement %s: channel account: %w", a.ID, err)
		}
		return &payment.ChargeSource{Method: a.Method, Account: acct, AgreementID: a.ID, AgreementNo: a.ChannelAgreementNo}, nil
	}
	pm, err := s.Store.PaymentMethodGetInScope(ctx, sc, p.PaymentMethod)
	if pm, err = lookup(pm, err, ErrPaymentMethodNotFound, "payment_method"); err != nil {
		return nil, err
	}
	if pm.Status != "active" {
		return nil, ErrPaymentMethodDetached.WithParam("payment_method")
	}
	if p.Customer != "" && pm.CustomerID != p.Customer {
		return nil, errs.InvalidParam("payment_method", "The payment method is another customer's.")
	}
	acct, err := s.Store.ChannelAccountGet(ctx, pm.ChannelAccountID)
	if err != nil {
		return nil, fmt.Errorf("payment method %s: channel account: %w", pm.ID, err)
	}
	return &payment.ChargeSource{Method: "card", Account: acct, PaymentToken: pm.Token}, nil
}

// chargeable checks a charge of amount in currency on a.
func chargeable(a *store.Agreement, amount int64, currency string) error {
	switch a.Status {
	case store.AgreementPending:
		return ErrAgreementNotActive.WithParam("agreement_id")
	case store.AgreementTerminated:
		return ErrAgreementTerminated.WithParam("agreement_id")
	}
	if currency != a.Currency {
		return currencyMismatch("currency", fmt.Sprintf("The agreement is in %s; the charge must be too.", a.Currency))
	}
	if a.MaxAmountPerCharge > 0 && amount > a.MaxAmountPerCharge {
		e := errs.Invalid("amount_exceeds_agreement_limit", fmt.Sprintf("The agreement allows at most %d per charge.", a.MaxAmountPerCharge))
		e.Param = "amount"
		return e
	}
	return nil
}

// SaveCard keeps a card the payer chose to save, for the order's customer:
// the channel's token and what may be shown. A card the customer has saved
// already (same fingerprint) is not saved twice.
func (s *Service) SaveCard(ctx context.Context, o *store.Order, fingerprint string, saved *channel.SavedCard) error {
	sc := Scope{MerchantID: o.MerchantID, Livemode: o.Livemode}
	existing, _, err := s.Store.PaymentMethodList(ctx, sc, o.CustomerID, store.ListParams{Limit: 100})
	if err != nil {
		return err
	}
	for _, pm := range existing {
		if pm.Status == "active" && pm.Fingerprint == fingerprint {
			return nil
		}
	}
	now := s.now()
	pm := &store.PaymentMethod{ID: id.New(id.PaymentMethod, now), MerchantID: o.MerchantID, Livemode: o.Livemode, CustomerID: o.CustomerID,
		Type: "card", ChannelAccountID: o.ChannelAccountID, Token: saved.Token, Brand: saved.Brand, Last4: saved.Last4,
		ExpMonth: saved.ExpMonth, ExpYear: saved.ExpYear, Fingerprint: fingerprint, Status: "active", CreatedAt: now}
	if err := s.Store.PaymentMethodCreate(ctx, pm); err != nil {
		return fmt.Errorf("save card of order %s: %w", o.ID, err)
	}
	s.log().Info("card saved", "order", o.ID, "customer", o.CustomerID, "payment_method", pm.ID, "brand", pm.Brand)
	return nil
}
