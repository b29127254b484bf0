package payment_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/paygate/paygate/internal/clock"
	"github.com/paygate/paygate/internal/payment"
	"github.com/paygate/paygate/internal/payment/paymenttest"
	"github.com/paygate/paygate/internal/store"
)

// TestWorkerRunOnItsTicker runs Worker.Run, ticker and all, in a synctest
// bubble: time passes only when every goroutine waits, so the worker's
// interval and an order's expiry are exercised without a real wait.
func TestWorkerRunOnItsTicker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := paymenttest.New(t, paymenttest.Options{})
		env.Payments.Clock = clock.Real{} // the bubble's clock
		_, sc, _ := env.Merchant(t, "Shop", 0)
		ctx, cancel := context.WithCancel(context.Background())
		p := order("W1", 100, "sandbox")
		p.ExpiresIn = time.Minute
		o, _, err := env.Payments.CreateOrder(ctx, sc, p)
		if err != nil {
			t.Fatal(err)
		}
		w := &payment.Worker{Service: env.Payments, Interval: 5 * time.Second}
		stopped := make(chan struct{})
		go func() { defer close(stopped); w.Run(ctx) }()

		time.Sleep(55 * time.Second) // before the expiry
		synctest.Wait()
		if got, _ := env.Store.OrderGet(ctx, o.ID); got.Status != store.OrderPending {
			t.Fatalf("order %s before its expiry; want pending", got.Status)
		}
		time.Sleep(10 * time.Second) // past it, and past the next tick
		synctest.Wait()
		if got, _ := env.Store.OrderGet(ctx, o.ID); got.Status != store.OrderClosed {
			t.Fatalf("order %s a tick after its expiry; want closed", got.Status)
		}
		cancel()
		<-stopped // Run returns when its context ends
	})
}
