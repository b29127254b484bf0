package payment

import (
	"context"
	"errors"
	"time"

	"github.com/paygate/paygate/internal/channel"

	"github.com/paygate/paygate/internal/store"
)

// Worker runs the payment background jobs on a ticker: it closes expired
// orders (asking the channel first, so an order paid at the last second is
// never closed), resolves processing orders by querying the channel, retries
// pending refunds, and purges old nonces and idempotency keys. Every node may
// run one: each change is compare-and-set, so two workers never both apply it.
type Worker struct {
	Service *Service
	// Interval between runs. Default 5s.
	Interval time.Duration
	// Batch is how many objects one job handles per run. Default 100.
	Batch int
	// SyncAfter is how long an order stays processing before the worker asks
	// the channel, and a refund pending before it is retried. Default 5s.
	SyncAfter time.Duration
	// IdempotencyTTL is how long Idempotency-Key records are kept. Default 24h.
	IdempotencyTTL time.Duration
}

func (w *Worker) defaults() {
	if w.Interval == 0 {
		w.Interval = 5 * time.Second
	}
	if w.Batch == 0 {
		w.Batch = 100
	}
	if w.SyncAfter == 0 {
		w.SyncAfter = 5 * time.Second
	}
	if w.IdempotencyTTL == 0 {
		w.IdempotencyTTL = 24 * time.Hour
	}
}

// Run runs the jobs every Interval until ctx ends. Each pass is recorded
// in the metrics as the scheduled job "payment_worker" (its lag: how late
// it started after the interval since the last pass began).
func (w *Worker) Run(ctx context.Context) {
	w.defaults()
	t := time.NewTicker(w.Interval)
	defer t.Stop()
	var due time.Time
	for {
		start := time.Now()
		w.RunOnce(ctx)
		if ctx.Err() == nil {
			w.Service.Metrics.JobRun("payment_worker", due, start, time.Since(start), nil)
		}
		due = start.Add(w.Interval)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// RunOnce runs every job once; tests call it after moving a fake clock.
// When ctx ends (shutdown) it stops at the next job without logging the
// cancellation as a failure.
func (w *Worker) RunOnce(ctx context.Context) {
	w.defaults()
	s := w.Service
	log := s.log()
	now := s.now()
	failed := func(msg string, err error) {
		if ctx.Err() == nil {
			log.Error(msg, "err", err)
		}
	}
	if n, err := w.ExpireOrders(ctx); err != nil {
		failed("expire orders", err)
	} else if n > 0 {
		log.Info("closed expired orders", "count", n)
	}
	if ctx.Err() != nil {
		return
	}
	if orders, err := s.Store.OrdersProcessing(ctx, now.Add(-w.SyncAfter), now, w.Batch); err != nil {
		failed("list processing orders", err)
	} else {
		for _, o := range orders {
			w.resolve(ctx, o, now)
		}
	}
	if ctx.Err() != nil {
		return
	}
	if refunds, err := s.Store.RefundsPending(ctx, now.Add(-w.SyncAfter), w.Batch); err != nil {
		failed("list pending refunds", err)
	} else {
		for _, r := range refunds {
			if _, err := s.retryRefund(ctx, r); err != nil && ctx.Err() == nil {
				log.Warn("retry refund", "refund", r.ID, "err", err)
			}
		}
	}
	if ctx.Err() != nil {
		return
	}
	if _, err := s.Store.NoncePurge(ctx, now); err != nil {
		failed("purge nonces", err)
	}
	if _, err := s.Store.IdempotencyPurge(ctx, now.Add(-w.IdempotencyTTL)); err != nil {
		failed("purge idempotency keys", err)
	}
}

// ExpireOrders closes orders past their expiry, asking the channel first
// (an order still in risk review has no channel: it just closes). It
// returns how many it closed.
func (w *Worker) ExpireOrders(ctx context.Context) (int, error) {
	w.defaults()
	s := w.Service
	orders, err := s.Store.OrdersExpired(ctx, s.now(), w.Batch)
	if err != nil {
		return 0, err
	}
	closed := 0
	for _, o := range orders {
		if o.ChannelTradeNo != "" || o.Status == store.OrderProcessing {
			synced, err := s.sync(ctx, o)
			if err != nil {
				s.log().Warn("expire: channel query failed; will retry", "order", o.ID, "err", err)
				continue
			}
			o = synced
		}
		if o.Status != store.OrderPending && o.Status != store.OrderProcessing && o.Status != store.OrderRequiresReview {
			continue
		}
		out, err := s.close(ctx, o)
		if err != nil && !errors.Is(err, store.ErrStale) {
			s.log().Warn("expire: close failed; will retry", "order", o.ID, "err", err)
			continue
		}
		if out != nil && out.Status == store.OrderClosed {
			closed++
		}
	}
	return closed, nil
}

// maxSyncBackoff caps the wait between two queries of a processing order.
const maxSyncBackoff = 10 * time.Minute

// resolve asks the channel about an order left processing (a timeout, a
// payer still confirming, SYSTEMERROR). When the channel still cannot say,
// the next query waits twice as long as the last, up to maxSyncBackoff. A
// micropay whose payer has not confirmed by MicropayDeadline is reversed, as
// WeChat Pay and Alipay tell merchants to do.
func (w *Worker) resolve(ctx context.Context, o *store.Order, now time.Time) {
	s := w.Service
	out, err := s.sync(ctx, o)
	if err == nil && out.Status != store.OrderProcessing {
		return
	}
	if m, _ := channel.LookupMethod(o.Method); err == nil && m.Kind == channel.KindMicropay && now.Sub(o.CreatedAt) >= s.micropayDeadline() {
		out, err = s.reverseUnconfirmed(ctx, out)
		if err == nil && out.Status != store.OrderProcessing {
			return
		}
	}
	if err != nil {
		s.log().Warn("processing order: channel cannot say yet", "order", o.ID, "attempts", o.SyncAttempts+1, "err", err)
	}
	backoff := w.SyncAfter << min(o.SyncAttempts, 16)
	if backoff > maxSyncBackoff || backoff <= 0 {
		backoff = maxSyncBackoff
	}
	if err := s.Store.OrderSyncLater(ctx, o.ID, o.SyncAttempts+1, now.Add(backoff)); err != nil {
		s.log().Error("processing order: schedule next query", "order", o.ID, "err", err)
	}
}
