package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/paygate/paygate/internal/store"
)

// Exchange rates and FX quotes (internal/fx).

const fxRateColumns = `id, base, quote, rate, source, as_of, created_at`

func scanFXRate(r rowScanner) (*store.FXRate, error) {
	var x store.FXRate
	var asOf, created int64
	if err := r.Scan(&x.ID, &x.Base, &x.Quote, &x.Rate, &x.Source, &asOf, &created); err != nil {
		return nil, err
	}
	x.AsOf, x.CreatedAt = fromMicros(asOf), fromMicros(created)
	return &x, nil
}

const fxQuoteColumns = `id, merchant_id, livemode, from_currency, to_currency, amount, to_amount, rate, markup_bps,
	markup_amount, rate_id, rate_source, rate_as_of, used_by, expires_at, created_at`

func scanFXQuote(r rowScanner) (*store.FXQuote, error) {
	var q store.FXQuote
	var asOf, expires, created int64
	if err := r.Scan(&q.ID, &q.MerchantID, &q.Livemode, &q.From, &q.To, &q.Amount, &q.ToAmount, &q.Rate, &q.MarkupBps,
		&q.MarkupAmount, &q.RateID, &q.RateSource, &asOf, &q.UsedBy, &expires, &created); err != nil {
		return nil, err
	}
	q.RateAsOf, q.ExpiresAt, q.CreatedAt = fromMicros(asOf), fromMicros(expires), fromMicros(created)
	return &q, nil
}

// FXRatesAdd inserts rates, skipping those already there.
func (s *Store) FXRatesAdd(ctx context.Context, rates []*store.FXRate) (int, error) {
	added := 0
	err := s.inTx(ctx, func(t *tx) error {
		added = 0
		for _, x := range rates {
			res, err := t.exec(ctx, `INSERT INTO fx_rates (`+fxRateColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (base, quote, as_of, source) DO NOTHING`,
				x.ID, x.Base, x.Quote, x.Rate, x.Source, micros(x.AsOf), micros(x.CreatedAt))
			if err != nil {
				return fmt.Errorf("add rate %s/%s: %w", x.Base, x.Quote, err)
			}
			n, err := affected(res)
			if err != nil {
				return err
			}
			added += int(n)
		}
		return nil
	})
	return added, err
}

// FXRateAt returns the rate in force at a time.
func (s *Store) FXRateAt(ctx context.Context, base, quote string, at time.Time) (*store.FXRate, error) {
	x, err := queryOne(ctx, s.reader(), scanFXRate, `SELECT `+fxRateColumns+` FROM fx_rates
		WHERE base = ? AND quote = ? AND as_of <= ? ORDER BY as_of DESC, id DESC LIMIT 1`, base, quote, micros(at))
	if err != nil {
		return nil, fmt.Errorf("rate %s/%s at %s: %w", base, quote, at, err)
	}
	return x, nil
}

// FXRateList lists rates, newest first.
func (s *Store) FXRateList(ctx context.Context, f store.FXRateFilter) ([]*store.FXRate, bool, error) {
	var w filter
	if f.Base != "" {
		w.and("base = ?", f.Base)
	}
	if f.Quote != "" {
		w.and("quote = ?", f.Quote)
	}
	return listPage(ctx, s.reader(), `SELECT `+fxRateColumns+` FROM fx_rates`, w, f.ListParams, scanFXRate)
}

// FXQuoteCreate inserts a quote.
func (s *Store) FXQuoteCreate(ctx context.Context, q *store.FXQuote) error {
	return s.inTx(ctx, func(t *tx) error {
		if _, err := t.exec(ctx, `INSERT INTO fx_quotes (`+fxQuoteColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			q.ID, q.MerchantID, q.Livemode, q.From, q.To, q.Amount, q.ToAmount, q.Rate, q.MarkupBps,
			q.MarkupAmount, q.RateID, q.RateSource, micros(q.RateAsOf), q.UsedBy, micros(q.ExpiresAt), micros(q.CreatedAt)); err != nil {
			return fmt.Errorf("create quote %s: %w", q.ID, err)
		}
		return nil
	})
}

// FXQuoteGetInScope returns the scope's merchant's quote.
func (s *Store) FXQuoteGetInScope(ctx context.Context, sc store.Scope, id string) (*store.FXQuote, error) {
	q, err := queryOne(ctx, s.reader(), scanFXQuote, `SELECT `+fxQuoteColumns+` FROM fx_quotes
		WHERE id = ? AND merchant_id = ? AND livemode = ?`, id, sc.MerchantID, sc.Livemode)
	if err != nil {
		return nil, fmt.Errorf("quote %s of %s: %w", id, sc.MerchantID, err)
	}
	return q, nil
}

func (q txQueries) FXQuoteGet(ctx context.Context, id string) (*store.FXQuote, error) {
	out, err := queryOne(ctx, q.c, scanFXQuote, `SELECT `+fxQuoteColumns+` FROM fx_quotes WHERE id = ?`, id)
	if err != nil {
		return nil, fmt.Errorf("quote %s: %w", id, err)
	}
	return out, nil
}

func (q txQueries) FXQuoteUse(ctx context.Context, id, by string) error {
	res, err := q.c.exec(ctx, `UPDATE fx_quotes SET used_by = ? WHERE id = ? AND used_by = ''`, by, id)
	if err != nil {
		return fmt.Errorf("use quote %s: %w", id, err)
	}
	if n, err := affected(res); err != nil {
		return err
	} else if n == 1 {
		return nil
	}
	if _, err := q.FXQuoteGet(ctx, id); err != nil {
		return err
	}
	return fmt.Errorf("quote %s is used: %w", id, store.ErrStale)
}
