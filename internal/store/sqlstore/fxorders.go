package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/paygate/paygate/internal/store"
)

// ErrQuoteTaken is returned (wrapped with store.ErrStale) by an order
// insert whose FX quote is used already or expired at the order's time.
var ErrQuoteTaken = store.ErrFXQuoteTaken

// useQuote marks quote id used by the order by, in the order's insert:
// only an unused quote unexpired at the order's creation is taken, so a
// quote pays for one order, whatever runs concurrently.
func useQuote(ctx context.Context, c conn, id, by string, at time.Time) error {
	res, err := c.exec(ctx, `UPDATE fx_quotes SET used_by = ? WHERE id = ? AND used_by = '' AND expires_at > ?`, by, id, micros(at))
	if err != nil {
		return fmt.Errorf("use quote %s for %s: %w", id, by, err)
	}
	if n, err := affected(res); err != nil {
		return err
	} else if n != 1 {
		return fmt.Errorf("use quote %s for %s: %w: %w", id, by, ErrQuoteTaken, store.ErrStale)
	}
	return nil
}

// nullInt encodes n, or NULL when not set.
func nullInt(n int64, set bool) any {
	if !set {
		return nil
	}
	return n
}

// installmentsJSON encodes an order's instalment plan, NULL when none.
func installmentsJSON(in *store.Installments) any {
	if in == nil {
		return nil
	}
	b, err := json.Marshal(in)
	if err != nil { // a struct of numbers and a string: cannot happen
		panic(err)
	}
	return string(b)
}
