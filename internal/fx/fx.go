package fx

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/cockroachdb/apd/v3"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/clock"
	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/money"
	"github.com/paygate/paygate/internal/store"
)

// Defaults of Service.
const (
	DefaultMarkupBps  = 50
	DefaultQuoteTTL   = 10 * time.Minute
	DefaultMaxRateAge = 48 * time.Hour
	// MaxSource bounds a rate source's name, in characters.
	MaxSource = 64
)

// Errors of the FX API.
var (
	ErrQuoteNotFound = errs.NotFound("fx_quote_not_found", "No such FX quote.")
	ErrQuoteExpired  = errs.Conflict("fx_quote_expired", "The FX quote has expired; ask for a new one.")
	ErrQuoteUsed     = errs.Conflict("fx_quote_used", "The FX quote was used already; each quote pays for one thing.")
	ErrNoRate        = errs.Conflict("fx_rate_unavailable", "No exchange rate for this pair is loaded, or the latest is too old.")
)

// RateInput is a rate to load: one unit of Base buys Rate units of Quote.
type RateInput struct {
	Base   string    `json:"base"`
	Quote  string    `json:"quote"`
	Rate   string    `json:"rate"`
	Source string    `json:"source"`
	AsOf   time.Time `json:"as_of"`
}

// Provider is a source of rates: the operator's file (CSVProvider), or a
// live feed an operator wires in (a bank's or a channel's rates API). The
// gateway stores what it returns through Service.Refresh, so every rate a
// quote used stays on record with its time and source.
type Provider interface {
	Rates(ctx context.Context) ([]RateInput, error)
}

// Service loads rates and makes quotes. It is safe for concurrent use.
type Service struct {
	Store store.Store
	Clock clock.Clock
	// MarkupBps is the platform's markup on the mid rate, in basis points
	// of the converted amount; negative means none. Default DefaultMarkupBps.
	MarkupBps int
	// QuoteTTL is how long a quote holds; default DefaultQuoteTTL.
	QuoteTTL time.Duration
	// MaxRateAge refuses quotes on a rate older than it; default
	// DefaultMaxRateAge.
	MaxRateAge time.Duration
}

func (s *Service) now() time.Time { return s.Clock.Now().UTC().Truncate(time.Microsecond) }

// Markup is the platform's markup in basis points (MarkupBps or its default).
func (s *Service) Markup() int { return s.markup() }

func (s *Service) markup() int {
	switch {
	case s.MarkupBps < 0:
		return 0
	case s.MarkupBps == 0:
		return DefaultMarkupBps
	}
	return s.MarkupBps
}

func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// ImportRates validates and stores rates; it returns how many were new
// (a rate of the same pair, time and source is stored once).
func (s *Service) ImportRates(ctx context.Context, rates []RateInput) (int, error) {
	now := s.now()
	out := make([]*store.FXRate, 0, len(rates))
	for i, r := range rates {
		at := fmt.Sprintf("rates[%d]", i)
		switch {
		case !money.ValidCurrency(r.Base):
			return 0, errs.InvalidParam("rates", at+".base must be an upper-case ISO 4217 code.")
		case !money.ValidCurrency(r.Quote) || r.Quote == r.Base:
			return 0, errs.InvalidParam("rates", at+".quote must be an upper-case ISO 4217 code other than base.")
		case strings.TrimSpace(r.Source) == "" || utf8.RuneCountInString(r.Source) > MaxSource || strings.IndexFunc(r.Source, unicode.IsControl) >= 0:
			return 0, errs.InvalidParam("rates", fmt.Sprintf("%s.source must be 1 to %d printable characters.", at, MaxSource))
		case r.AsOf.IsZero() || r.AsOf.After(now.Add(5*time.Minute)):
			return 0, errs.InvalidParam("rates", at+".as_of must be a time, not in the future.")
		}
		d, err := ParseRate(r.Rate)
		if err != nil {
			return 0, errs.InvalidParam("rates", fmt.Sprintf("%s.rate must be a positive decimal of at most %d significant digits.", at, MaxRateDigits))
		}
		out = append(out, &store.FXRate{ID: id.New(id.FXRate, now), Base: r.Base, Quote: r.Quote, Rate: FormatRate(d),
			Source: r.Source, AsOf: r.AsOf.UTC().Truncate(time.Microsecond), CreatedAt: now})
	}
	if len(out) == 0 {
		return 0, errs.Missing("rates")
	}
	return s.Store.FXRatesAdd(ctx, out)
}

// Refresh loads p's rates.
func (s *Service) Refresh(ctx context.Context, p Provider) (int, error) {
	rates, err := p.Rates(ctx)
	if err != nil {
		return 0, err
	}
	return s.ImportRates(ctx, rates)
}

// CSVProvider reads rates from CSV: a header row naming the columns base,
// quote, rate, as_of (RFC 3339) and optionally source (else Source), then a
// row per rate.
type CSVProvider struct {
	R      io.Reader
	Source string
}

// Rates parses the file.
func (p CSVProvider) Rates(ctx context.Context) ([]RateInput, error) {
	cr := csv.NewReader(p.R)
	cr.TrimLeadingSpace = true
	rows, err := cr.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("fx: read rates: %w", err)
	}
	if len(rows) < 2 {
		return nil, errors.New("fx: rates: want a header row and at least one rate")
	}
	col := map[string]int{}
	for i, name := range rows[0] {
		col[strings.ToLower(strings.TrimSpace(name))] = i
	}
	for _, need := range []string{"base", "quote", "rate", "as_of"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("fx: rates: the header has no %q column", need)
		}
	}
	var out []RateInput
	for n, row := range rows[1:] {
		at, err := time.Parse(time.RFC3339, row[col["as_of"]])
		if err != nil {
			return nil, fmt.Errorf("fx: rates line %d: as_of %q is not RFC 3339", n+2, row[col["as_of"]])
		}
		r := RateInput{Base: row[col["base"]], Quote: row[col["quote"]], Rate: row[col["rate"]], AsOf: at, Source: p.Source}
		if i, ok := col["source"]; ok && row[i] != "" {
			r.Source = row[i]
		}
		out = append(out, r)
	}
	return out, nil
}

// RateAt returns the mid rate of from in to at a time: the latest loaded
// rate of the pair, or of the reverse pair inverted (to MaxRateDigits
// significant digits, half to even). ErrNoRate when neither is loaded or
// the latest is older than MaxRateAge.
func (s *Service) RateAt(ctx context.Context, from, to string, at time.Time) (*apd.Decimal, *store.FXRate, error) {
	direct, err := s.Store.FXRateAt(ctx, from, to, at)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, nil, err
	}
	reverse, err := s.Store.FXRateAt(ctx, to, from, at)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, nil, err
	}
	use, invert := direct, false
	if use == nil || (reverse != nil && reverse.AsOf.After(use.AsOf)) {
		use, invert = reverse, reverse != nil
	}
	if use == nil || at.Sub(use.AsOf) > or(s.MaxRateAge, DefaultMaxRateAge) {
		return nil, nil, ErrNoRate
	}
	rate, err := ParseRate(use.Rate)
	if err != nil {
		return nil, nil, err
	}
	if invert {
		c := decimals.WithPrecision(MaxRateDigits)
		c.Rounding = apd.RoundHalfEven
		var inv apd.Decimal
		if _, err := c.Quo(&inv, apd.New(1, 0), rate); err != nil {
			return nil, nil, err
		}
		inv.Reduce(&inv)
		rate = &inv
	}
	return rate, use, nil
}

// QuoteParams ask for a quote: Amount of From (what leaves), or ToAmount
// of To (what arrives), not both.
type QuoteParams struct {
	From     string
	To       string
	Amount   int64
	ToAmount int64
}

// CreateQuote locks a conversion for the scope's merchant at the rate in
// force now. Given Amount, ToAmount is Amount at the rate less the markup
// (Convert); given ToAmount, Amount is Invert of it, and ToAmount is then
// recomputed from that Amount so the two always agree (it may differ from
// the one asked for by a minor unit).
func (s *Service) CreateQuote(ctx context.Context, sc store.Scope, p QuoteParams) (*store.FXQuote, error) {
	switch {
	case p.From == "":
		return nil, errs.Missing("from")
	case !money.ValidCurrency(p.From):
		return nil, errs.InvalidParam("from", "from must be an upper-case ISO 4217 code.")
	case p.To == "":
		return nil, errs.Missing("to")
	case !money.ValidCurrency(p.To) || p.To == p.From:
		return nil, errs.InvalidParam("to", "to must be an upper-case ISO 4217 code other than from.")
	case (p.Amount == 0) == (p.ToAmount == 0):
		return nil, errs.Invalid("parameter_missing", "Give amount or to_amount, not both.")
	case p.Amount != 0 && !money.ValidAmount(p.Amount):
		return nil, errs.InvalidParam("amount", fmt.Sprintf("amount must be an integer of minor units from %d to %d.", money.MinAmount, money.MaxAmount))
	case p.ToAmount != 0 && !money.ValidAmount(p.ToAmount):
		return nil, errs.InvalidParam("to_amount", fmt.Sprintf("to_amount must be an integer of minor units from %d to %d.", money.MinAmount, money.MaxAmount))
	}
	now := s.now()
	rate, src, err := s.RateAt(ctx, p.From, p.To, now)
	if err != nil {
		return nil, err
	}
	c, err := Quote(p.From, p.To, p.Amount, p.ToAmount, rate, s.markup())
	if err != nil {
		return nil, errs.InvalidParam("amount", "The amount does not convert into a valid amount of the other currency.").Wrap(err)
	}
	if !money.ValidAmount(c.Amount) || !money.ValidAmount(c.ToAmount) {
		return nil, errs.InvalidParam("amount", "The amount converts into less than one minor unit, or too much, of the other currency.")
	}
	q := &store.FXQuote{
		ID: id.New(id.FXQuote, now), MerchantID: sc.MerchantID, Livemode: sc.Livemode, From: p.From, To: p.To,
		Amount: c.Amount, ToAmount: c.ToAmount, Rate: FormatRate(rate), MarkupBps: c.MarkupBps, MarkupAmount: c.Gross - c.ToAmount,
		RateID: src.ID, RateSource: src.Source, RateAsOf: src.AsOf, ExpiresAt: now.Add(or(s.QuoteTTL, DefaultQuoteTTL)), CreatedAt: now,
	}
	if err := s.Store.FXQuoteCreate(ctx, q); err != nil {
		return nil, err
	}
	return q, nil
}

// GetQuote returns a quote of the scope's merchant.
func (s *Service) GetQuote(ctx context.Context, sc store.Scope, quoteID string) (*store.FXQuote, error) {
	if !id.Valid(id.FXQuote, quoteID) {
		return nil, ErrQuoteNotFound
	}
	q, err := s.Store.FXQuoteGetInScope(ctx, sc, quoteID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrQuoteNotFound
	}
	return q, err
}

// Use takes a quote for by (a transfer) inside its transaction: the
// scope's merchant's, unexpired at now, unused.
func Use(ctx context.Context, tx store.Tx, sc store.Scope, quoteID, by string, now time.Time) (*store.FXQuote, error) {
	q, err := tx.FXQuoteGet(ctx, quoteID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (q.MerchantID != sc.MerchantID || q.Livemode != sc.Livemode)) {
		return nil, ErrQuoteNotFound
	} else if err != nil {
		return nil, err
	}
	if !now.Before(q.ExpiresAt) {
		return nil, ErrQuoteExpired
	}
	if err := tx.FXQuoteUse(ctx, quoteID, by); errors.Is(err, store.ErrStale) {
		return nil, ErrQuoteUsed
	} else if err != nil {
		return nil, err
	}
	return q, nil
}

// ListRates lists loaded rates, newest first.
func (s *Service) ListRates(ctx context.Context, f store.FXRateFilter) ([]*store.FXRate, bool, error) {
	return s.Store.FXRateList(ctx, f)
}

// QuoteObject renders a quote for the API.
func QuoteObject(q *store.FXQuote) client.FXQuote {
	return client.FXQuote{
		ID: q.ID, Object: "fx_quote", From: q.From, To: q.To, Amount: q.Amount, ToAmount: q.ToAmount, Rate: q.Rate,
		MarkupBps: q.MarkupBps, MarkupAmount: q.MarkupAmount, RateSource: q.RateSource, RateAsOf: q.RateAsOf,
		Used: q.UsedBy != "", Livemode: q.Livemode, ExpiresAt: q.ExpiresAt, CreatedAt: q.CreatedAt,
	}
}

// RateObject renders a rate for the API.
func RateObject(r *store.FXRate) client.FXRate {
	return client.FXRate{ID: r.ID, Object: "fx_rate", Base: r.Base, Quote: r.Quote, Rate: r.Rate, Source: r.Source, AsOf: r.AsOf, CreatedAt: r.CreatedAt}
}
