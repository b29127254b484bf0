// Package notify delivers events to merchants: to the notify_url of the order
// or refund an event is about, signed with the app's webhook secret, and to
// each of the app's webhook endpoints subscribed to the event's type, signed
// with the endpoint's secret. The format is Standard Webhooks
// (standardwebhooks.com): headers webhook-id (the event id),
// webhook-timestamp and webhook-signature ("v1,<HMAC-SHA256>" per active
// secret and "v1a,<Ed25519>" with the platform key), over a body that is the
// same for every attempt.
//
// Deliveries are rows the store writes in the transaction of their event. A
// Dispatcher claims the ones that are due with a lease (DeliveriesClaim: on
// PostgreSQL FOR UPDATE SKIP LOCKED, so several nodes never hold one delivery
// at once), POSTs them, and records each attempt and its outcome
// (DeliveryRecord, which fails when the lease was lost). A crash loses
// nothing: a delivery whose lease runs out is claimed again, so delivery is
// at least once. A Dispatcher never starts an attempt whose Timeout could
// outlast its lease, so two attempts of one delivery never overlap.
//
// Where a notification may go is checked when a merchant names the URL
// (Policy.CheckURL) and again on every connection (the dialer refuses the
// address it is about to connect to): public addresses only, https only in
// live mode. Test mode may also reach loopback, for a merchant developing
// against a gateway on its own machine, unless the operator says the
// gateway is hosted (Policy.Hosted, `paygate serve --hosted`): on a machine
// merchants share, a test key must not make the gateway call the services
// beside it. Of an answer from an address that is not public an attempt
// keeps the status code only, never the body.
//
// Limits, candidly: claims take the oldest due deliveries whatever their
// target, so fairness between targets comes from inside each Dispatcher: at
// most PerTarget attempts in flight per target, targets served round robin,
// and per target only as many claimed deliveries kept waiting as its
// measured attempt time lets it start within the lease. The rest of a claim
// is left leased ("parked") and comes back when the lease runs out, so the
// claims move past a slow target's backlog to other targets — at up to
// 4 × Batch deliveries per PollInterval, so others may wait a few seconds
// behind a backlog of thousands; and a slow target is only known as slow
// once its first attempt ends. A claim that limits each target in SQL would
// remove both. Endpoint secrets are read for every attempt (a rotation
// applies at once); apps' webhook secrets, which do not rotate, are cached.
package notify

import (
	"context"
	"crypto/ed25519"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/paygate/paygate/internal/clock"
	"github.com/paygate/paygate/internal/metrics"
	"github.com/paygate/paygate/internal/store"
)

// Defaults of the Dispatcher's fields.
const (
	DefaultTimeout      = 10 * time.Second
	DefaultConcurrency  = 32
	DefaultPerTarget    = 4
	DefaultLease        = 60 * time.Second
	DefaultPollInterval = time.Second
)

// leaseMargin is kept between the latest possible end of an attempt and the
// end of its lease, for the recording and clock differences between nodes.
const leaseMargin = 2 * time.Second

// Dispatcher delivers due deliveries. Set the fields, then call Run (or
// RunOnce, as tests do with a fake clock). It is safe for concurrent use; a
// Dispatcher runs Run at most once at a time.
type Dispatcher struct {
	Store store.Store
	// Metrics counts attempts by outcome; nil counts nothing.
	Metrics *metrics.Metrics
	// Unseal opens a sealed webhook secret (cryptobox.Box.Open).
	Unseal func(sealed string) (string, error)
	// PlatformKey adds a "v1a," Ed25519 signature when set.
	PlatformKey ed25519.PrivateKey
	// Clock tells when deliveries are due and stamps attempts. Default clock.Real.
	Clock clock.Clock
	// Schedule is the delay after each failed attempt: after attempt n fails,
	// the next is due Schedule[n-1] later; when n > len(Schedule) the
	// delivery is failed. Required (gateway.DefaultRetrySchedule).
	Schedule []time.Duration
	// Timeout bounds one attempt: a 2xx within it acknowledges. Default 10s.
	Timeout time.Duration
	// Concurrency bounds the attempts in flight. Default 32.
	Concurrency int
	// PerTarget bounds the attempts in flight to one target (a webhook
	// endpoint, or one app's notify_url host), so that one slow merchant
	// cannot take every slot. Default 4.
	PerTarget int
	// Lease is how long a claim holds a delivery. It must exceed Timeout by a
	// margin; a shorter one is raised to Timeout + 5s. Default 60s.
	Lease time.Duration
	// PollInterval is how often Run looks for due deliveries when not kicked. Default 1s.
	PollInterval time.Duration
	// Batch is how many deliveries one claim takes. Default 2 × Concurrency.
	Batch int
	// Log receives delivery problems. Default slog.Default().
	Log *slog.Logger
	// Policy is the operator's rule for where notifications may go
	// (loopback in test mode unless Hosted). Default: the zero Policy,
	// local development.
	Policy Policy

	initOnce sync.Once
	kick     chan struct{}
	clients  [2]*http.Client // [0] test mode, [1] live mode
	appKeys  keyCache
}

func (d *Dispatcher) init() {
	d.initOnce.Do(func() {
		if d.Clock == nil {
			d.Clock = clock.Real{}
		}
		if d.Timeout <= 0 {
			d.Timeout = DefaultTimeout
		}
		if d.Concurrency <= 0 {
			d.Concurrency = DefaultConcurrency
		}
		if d.PerTarget <= 0 {
			d.PerTarget = DefaultPerTarget
		}
		if d.Lease <= 0 {
			d.Lease = DefaultLease
		}
		if d.Lease < d.Timeout+2*leaseMargin+time.Second {
			d.Lease = d.Timeout + 5*time.Second
		}
		if d.PollInterval <= 0 {
			d.PollInterval = DefaultPollInterval
		}
		if d.Batch <= 0 {
			d.Batch = 2 * d.Concurrency
		}
		if d.Log == nil {
			d.Log = slog.Default()
		}
		d.kick = make(chan struct{}, 1)
		d.clients[0] = newHTTPClient(d.Policy, false, d.PerTarget)
		d.clients[1] = newHTTPClient(d.Policy, true, d.PerTarget)
	})
}

// Kick wakes Run to look for due deliveries now. It never blocks: the
// payment service calls it after committing a change that wrote events.
func (d *Dispatcher) Kick() {
	d.init()
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

// RunOnce claims every delivery due at Clock.Now(), attempts them (within
// the concurrency limits, starting as soon as each claim returns) and waits
// until every attempt is recorded. It returns how many attempts it made.
// Tests drive it with a fake clock; Run is the production loop.
func (d *Dispatcher) RunOnce(ctx context.Context) (attempted int, err error) {
	d.init()
	p := newPool(d, ctx, false)
	for {
		ds, cerr := d.Store.DeliveriesClaim(ctx, d.Clock.Now(), d.Lease, d.Batch)
		if cerr != nil {
			err = cerr
			break
		}
		claimed := time.Now()
		for _, dl := range ds {
			p.add(dl, claimed)
		}
		p.pump()
		if len(ds) < d.Batch {
			break
		}
	}
	p.wait()
	return int(p.attempted.Load()), err
}

// maxParkingClaims is how many claims in a row may park deliveries before
// Run waits for the next poll: it bounds the leases one wake-up spends on
// targets that cannot take more.
const maxParkingClaims = 4

// Run delivers until ctx ends: it claims due deliveries whenever a slot is
// free and a claim may find some (the last one came back full, it was
// kicked, or PollInterval passed). When ctx ends it starts no new attempt
// and waits for those in flight (at most Timeout).
func (d *Dispatcher) Run(ctx context.Context) {
	d.init()
	p := newPool(d, ctx, true)
	ticker := time.NewTicker(d.PollInterval)
	defer ticker.Stop()
	dueLeft := true
	for ctx.Err() == nil {
		for parking := 0; dueLeft && p.wantsMore(); {
			ds, err := d.Store.DeliveriesClaim(ctx, d.Clock.Now(), d.Lease, d.Batch)
			if err != nil {
				if ctx.Err() == nil {
					d.Log.Error("claim deliveries", "err", err)
				}
				dueLeft = false
				break
			}
			claimed, accepted := time.Now(), 0
			for _, dl := range ds {
				if p.add(dl, claimed) {
					accepted++
				}
			}
			p.pump()
			dueLeft = len(ds) == d.Batch
			if accepted < len(ds) {
				if parking++; parking == maxParkingClaims {
					dueLeft = false // until the next poll
				}
			}
		}
		select {
		case <-ctx.Done():
		case <-d.kick:
			dueLeft = true
		case <-ticker.C:
			dueLeft = true
			p.sweep()
			if n := p.parked.Swap(0); n > 0 {
				d.Log.Debug("deliveries parked until their lease ends", "count", n)
			}
		case <-p.freed:
		}
	}
	p.wait()
}
