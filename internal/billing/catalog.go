package billing

import (
	"context"
	"fmt"

	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/money"
	"github.com/paygate/paygate/internal/payment"
	"github.com/paygate/paygate/internal/store"
)

// ProductParams create a product.
type ProductParams struct {
	Name, Description string
	Metadata          map[string]string
}

// CreateProduct creates a product.
func (s *Service) CreateProduct(ctx context.Context, sc Scope, p ProductParams) (*store.Product, error) {
	if p.Name == "" {
		return nil, errs.Missing("name")
	}
	if err := text("name", p.Name, 256); err != nil {
		return nil, err
	}
	if err := text("description", p.Description, 1000); err != nil {
		return nil, err
	}
	if err := payment.ValidateMetadata(p.Metadata); err != nil {
		return nil, err
	}
	now := s.now()
	pr := &store.Product{ID: id.New(id.Product, now), MerchantID: sc.MerchantID, Livemode: sc.Livemode, Name: p.Name,
		Description: p.Description, Active: true, Metadata: p.Metadata, CreatedAt: now}
	if err := s.Store.ProductCreate(ctx, pr); err != nil {
		return nil, fmt.Errorf("create product: %w", err)
	}
	return pr, nil
}

// GetProduct returns the scope's product.
func (s *Service) GetProduct(ctx context.Context, sc Scope, productID string) (*store.Product, error) {
	if !id.Valid(id.Product, productID) {
		return nil, ErrProductNotFound
	}
	p, err := s.Store.ProductGetInScope(ctx, sc, productID)
	return lookup(p, err, ErrProductNotFound, "")
}

// ListProducts lists the scope's products.
func (s *Service) ListProducts(ctx context.Context, sc Scope, p store.ListParams) ([]*store.Product, bool, error) {
	return s.Store.ProductList(ctx, sc, p)
}

// PriceParams create a price.
type PriceParams struct {
	Product       string
	Amount        int64
	Currency      string
	Interval      string
	IntervalCount int // 0: 1
	TrialDays     int
	Metadata      map[string]string
}

// CreatePrice creates a recurring price of one of the scope's products.
func (s *Service) CreatePrice(ctx context.Context, sc Scope, p PriceParams) (*store.Price, error) {
	if p.Product == "" {
		return nil, errs.Missing("product")
	}
	if !money.ValidAmount(p.Amount) {
		return nil, errs.InvalidParam("amount", "amount must be an integer from 1 to 1000000000000 in the currency's minor unit.")
	}
	if !money.ValidCurrency(p.Currency) {
		e := errs.Invalid("currency_unsupported", "currency must be an upper-case ISO 4217 code such as CNY or USD.")
		e.Param = "currency"
		return nil, e
	}
	if p.Interval == "" {
		return nil, errs.Missing("interval")
	}
	if p.IntervalCount == 0 {
		p.IntervalCount = 1
	}
	if err := validInterval(p.Interval, p.IntervalCount); err != nil {
		return nil, err
	}
	if p.TrialDays < 0 || p.TrialDays > 730 {
		return nil, errs.InvalidParam("trial_days", "trial_days must be from 0 to 730.")
	}
	if err := payment.ValidateMetadata(p.Metadata); err != nil {
		return nil, err
	}
	if _, err := s.GetProduct(ctx, sc, p.Product); err != nil {
		return nil, withParam(err, "product")
	}
	now := s.now()
	pr := &store.Price{ID: id.New(id.Price, now), MerchantID: sc.MerchantID, Livemode: sc.Livemode, ProductID: p.Product, Amount: p.Amount,
		Currency: p.Currency, Interval: p.Interval, IntervalCount: p.IntervalCount, TrialDays: p.TrialDays, Active: true,
		Metadata: p.Metadata, CreatedAt: now}
	if err := s.Store.PriceCreate(ctx, pr); err != nil {
		return nil, fmt.Errorf("create price: %w", err)
	}
	return pr, nil
}

// GetPrice returns the scope's price.
func (s *Service) GetPrice(ctx context.Context, sc Scope, priceID string) (*store.Price, error) {
	if !id.Valid(id.Price, priceID) {
		return nil, ErrPriceNotFound
	}
	p, err := s.Store.PriceGetInScope(ctx, sc, priceID)
	return lookup(p, err, ErrPriceNotFound, "")
}

// ListPrices lists the scope's prices, of one product when productID is not "".
func (s *Service) ListPrices(ctx context.Context, sc Scope, productID string, p store.ListParams) ([]*store.Price, bool, error) {
	return s.Store.PriceList(ctx, sc, productID, p)
}
