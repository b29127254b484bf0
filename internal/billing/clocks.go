package billing

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/store"
)

// Test clock statuses.
const (
	ClockReady     = "ready"
	ClockAdvancing = "advancing"
)

// maxAdvance bounds one advance of a test clock.
const maxAdvance = 5 * 366 * 24 * time.Hour

// CreateTestClock creates a test-mode clock frozen at frozenTime (now when zero).
func (s *Service) CreateTestClock(ctx context.Context, sc Scope, name string, frozenTime time.Time) (*store.TestClock, error) {
	if sc.Livemode {
		return nil, errs.TestModeOnly
	}
	if err := text("name", name, 256); err != nil {
		return nil, err
	}
	now := s.now()
	if frozenTime.IsZero() {
		frozenTime = now
	}
	frozenTime = frozenTime.UTC().Truncate(time.Microsecond)
	c := &store.TestClock{ID: id.New(id.TestClock, now), MerchantID: sc.MerchantID, Livemode: false, Name: name, FrozenTime: frozenTime,
		Status: ClockReady, CreatedAt: now, UpdatedAt: now}
	if err := s.Store.TestClockCreate(ctx, c); err != nil {
		return nil, fmt.Errorf("create test clock: %w", err)
	}
	return c, nil
}

// GetTestClock returns the scope's clock.
func (s *Service) GetTestClock(ctx context.Context, sc Scope, clockID string) (*store.TestClock, error) {
	if !id.Valid(id.TestClock, clockID) {
		return nil, ErrTestClockNotFound
	}
	c, err := s.Store.TestClockGetInScope(ctx, sc, clockID)
	return lookup(c, err, ErrTestClockNotFound, "")
}

// ListTestClocks lists the scope's clocks.
func (s *Service) ListTestClocks(ctx context.Context, sc Scope, p store.ListParams) ([]*store.TestClock, bool, error) {
	return s.Store.TestClockList(ctx, sc, p)
}

// AdvanceTestClock moves the clock to frozenTime and, before answering,
// processes everything due on it up to then, in time order: renewals,
// charges, retries, cancellations at period end. The clock is advancing
// meanwhile: an advance to another time is refused, the same advance again
// finishes it (should the process have died), and so does the worker.
func (s *Service) AdvanceTestClock(ctx context.Context, sc Scope, clockID string, frozenTime time.Time) (*store.TestClock, error) {
	c, err := s.GetTestClock(ctx, sc, clockID)
	if err != nil {
		return nil, err
	}
	frozenTime = frozenTime.UTC().Truncate(time.Microsecond)
	if c.Status == ClockAdvancing {
		if !frozenTime.Equal(c.FrozenTime) {
			return nil, ErrTestClockAdvancing
		}
		// The same advance again: finish it (the node that began it died).
		if err := s.finishAdvance(ctx, c); err != nil {
			return nil, err
		}
		return s.Store.TestClockGet(ctx, c.ID)
	}
	switch {
	case frozenTime.Equal(c.FrozenTime):
		return c, nil // advanced there already (a repeated request)
	case !frozenTime.After(c.FrozenTime):
		return nil, errs.InvalidParam("frozen_time", "frozen_time must be later than the clock's time ("+c.FrozenTime.UTC().Format(time.RFC3339)+").")
	case frozenTime.Sub(c.FrozenTime) > maxAdvance:
		return nil, errs.InvalidParam("frozen_time", "A test clock advances at most five years at a time.")
	}
	err = s.Store.InTx(ctx, func(tx store.Tx) error {
		cur, err := tx.TestClockGet(ctx, c.ID)
		if err != nil {
			return err
		}
		if cur.Version != c.Version || cur.Status == ClockAdvancing {
			return ErrTestClockAdvancing
		}
		cur.FrozenTime, cur.Status, cur.UpdatedAt = frozenTime, ClockAdvancing, s.now()
		return tx.TestClockUpdate(ctx, cur)
	})
	if errors.Is(err, store.ErrStale) {
		return nil, ErrTestClockAdvancing
	}
	if err != nil {
		return nil, err
	}
	c, err = s.Store.TestClockGet(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	if err := s.finishAdvance(ctx, c); err != nil {
		return nil, err
	}
	return s.Store.TestClockGet(ctx, c.ID)
}

// finishAdvance processes what is due on an advancing clock and marks it
// ready once nothing is due on it any more.
func (s *Service) finishAdvance(ctx context.Context, c *store.TestClock) error {
	if _, err := s.ProcessDue(ctx, c.ID, c.FrozenTime); err != nil {
		return err
	}
	// Work another node holds (a claim of a node that died holds until it
	// runs out) keeps the clock advancing: the worker, or the same advance
	// again, finishes it.
	if subs, err := s.Store.SubscriptionsDue(ctx, c.ID, c.FrozenTime, 1); err != nil || len(subs) > 0 {
		return err
	}
	if invs, err := s.Store.InvoicesDue(ctx, c.ID, c.FrozenTime, 1); err != nil || len(invs) > 0 {
		return err
	}
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		cur, err := tx.TestClockGet(ctx, c.ID)
		if err != nil || cur.Status != ClockAdvancing || !cur.FrozenTime.Equal(c.FrozenTime) {
			return err
		}
		cur.Status, cur.UpdatedAt = ClockReady, s.now()
		return tx.TestClockUpdate(ctx, cur)
	})
	if errors.Is(err, store.ErrStale) {
		return nil // another node finished it
	}
	return err
}
