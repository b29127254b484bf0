package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/paygate/paygate/internal/ledger"
	"github.com/paygate/paygate/internal/store"
)

// InTx runs fn in one write transaction: its queries commit together when
// fn returns nil and not at all otherwise. With group commit fn runs as a
// turn of a batch, on the committer's goroutine, while other writers wait:
// it must only talk to the database, and briefly.
func (s *Store) InTx(ctx context.Context, fn func(store.Tx) error) error {
	return s.inTx(ctx, func(t *tx) error { return fn(txQueries{c: t.conn}) })
}

// txQueries is store.Tx over one transaction's conn. Each method is one of
// the store's small helpers; a write method of Store that does several
// things is these, composed.
type txQueries struct{ c conn }

var _ store.Tx = txQueries{}

func (q txQueries) MerchantGet(ctx context.Context, id string) (*store.Merchant, error) {
	return merchantGet(ctx, q.c, id)
}

func (q txQueries) OrderGet(ctx context.Context, id string) (*store.Order, error) {
	return orderGet(ctx, q.c, id)
}

func (q txQueries) OrderTransition(ctx context.Context, t store.OrderTransition) (*store.Order, error) {
	if len(t.From) == 0 {
		return nil, fmt.Errorf("order %s transition to %s: no From status", t.OrderID, t.To)
	}
	query, args := orderStatusUpdate(t)
	return orderTransition(ctx, q.c, t, query, args)
}

func (q txQueries) RefundGet(ctx context.Context, id string) (*store.Refund, error) {
	return refundGet(ctx, q.c, id)
}

func (q txQueries) RefundTransition(ctx context.Context, t store.RefundTransition) (*store.Refund, error) {
	if len(t.From) == 0 {
		return nil, fmt.Errorf("refund %s transition to %s: no From status", t.RefundID, t.To)
	}
	return refundTransition(ctx, q.c, t, refundStatusUpdate(t))
}

func (q txQueries) LedgerPost(ctx context.Context, at time.Time, entries ...ledger.Entry) error {
	return writeEffects(ctx, q.c, store.Effects{Entries: entries}, at)
}

func (q txQueries) EventAdd(ctx context.Context, at time.Time, events ...*store.Event) error {
	return writeEffects(ctx, q.c, store.Effects{Events: events}, at)
}

func (q txQueries) SettlementCreate(ctx context.Context, s *store.Settlement) error {
	return insertSettlement(ctx, q.c, s)
}

func (q txQueries) SettlementGet(ctx context.Context, id string) (*store.Settlement, error) {
	return settlementGet(ctx, q.c, id)
}

func (q txQueries) SettlementCollect(ctx context.Context, settlementID string, w store.SettlementWindow) (int, error) {
	return collectSettlement(ctx, q.c, settlementID, w)
}

func (q txQueries) SettlementWaiting(ctx context.Context, w store.SettlementWindow) (store.SettlementWaiting, error) {
	return settlementWaiting(ctx, q.c, w)
}

func (q txQueries) SettlementsOpen(ctx context.Context, merchantID string, livemode bool, currency, settleDate string) ([]*store.Settlement, error) {
	return settlementsOpen(ctx, q.c, merchantID, livemode, currency, settleDate)
}

func (q txQueries) SettlementLineAdd(ctx context.Context, lines ...*store.SettlementLine) error {
	return insertSettlementLines(ctx, q.c, lines)
}

func (q txQueries) SettlementSums(ctx context.Context, settlementID string) ([]store.SettlementSum, error) {
	return settlementSums(ctx, q.c, settlementID)
}

func (q txQueries) SettlementFinalize(ctx context.Context, s *store.Settlement) error {
	return finalizeSettlement(ctx, q.c, s)
}

func (q txQueries) SettlementCarried(ctx context.Context, id, to string, at time.Time) error {
	return linkSettlement(ctx, q.c, "carried_to", id, to, at)
}

func (q txQueries) SettlementReserveReleased(ctx context.Context, id, by string, at time.Time) error {
	return linkSettlement(ctx, q.c, "reserve_released_by", id, by, at)
}

func (q txQueries) SettlementTransition(ctx context.Context, t store.SettlementTransition) (*store.Settlement, error) {
	return transitionSettlement(ctx, q.c, t)
}

func (q txQueries) RiskLock(ctx context.Context, keys []string) error {
	return lockKeys(ctx, q.c, keys)
}

func (q txQueries) RiskCount(ctx context.Context, rq store.RiskCounterQuery) (store.RiskCounts, error) {
	return riskCount(ctx, q.c, rq)
}

func (q txQueries) RiskAttemptAdd(ctx context.Context, a *store.RiskAttempt, day string) error {
	return insertRiskAttempt(ctx, q.c, a, day)
}

func (q txQueries) OrderCreate(ctx context.Context, o *store.Order) error {
	meta, err := metadataJSON(o.Metadata)
	if err != nil {
		return fmt.Errorf("create order %s: %w", o.ID, err)
	}
	payer, err := json.Marshal(o.Payer)
	if err != nil {
		return fmt.Errorf("create order %s: encode payer: %w", o.ID, err)
	}
	return insertOrder(ctx, q.c, o, meta, string(payer))
}

func (q txQueries) RiskAttemptExists(ctx context.Context, id string) (bool, error) {
	return riskAttemptExists(ctx, q.c, id)
}
