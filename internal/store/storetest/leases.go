package storetest

import (
	"testing"
	"time"

	"github.com/paygate/paygate/internal/store"
)

var leaseTests = []test{
	{"Lease/OneHolderAtATime", testLeaseOneHolder},
	{"Lease/Race", testLeaseRace},
}

func testLeaseOneHolder(t *testing.T, b *bundle) {
	const name = "recon:cha_x:2026-11-30"
	l, ok, err := b.s.LeaseAcquire(b.ctx, name, "node-a", t0, t0.Add(time.Minute))
	b.must(err, "acquire a new lease")
	if !ok || l.Holder != "node-a" || !l.Until.Equal(t0.Add(time.Minute)) || l.DoneAt != nil {
		t.Fatalf("new lease: ok %v, %+v", ok, l)
	}
	l, ok, err = b.s.LeaseAcquire(b.ctx, name, "node-b", t0.Add(30*time.Second), t0.Add(2*time.Minute))
	b.must(err, "acquire a held lease")
	if ok || l.Holder != "node-a" {
		t.Fatalf("another node took a held lease: ok %v, %+v", ok, l)
	}
	// The holder extends it.
	_, ok, err = b.s.LeaseAcquire(b.ctx, name, "node-a", t0.Add(30*time.Second), t0.Add(3*time.Minute))
	b.must(err, "extend")
	equal(t, ok, true, "the holder extends its lease")
	wantErr(t, b.s.LeaseRelease(b.ctx, name, "node-b", t0, time.Time{}), store.ErrStale, "release by a node that does not hold it")
	done := t0.Add(40 * time.Second)
	b.must(b.s.LeaseRelease(b.ctx, name, "node-a", done, done), "release with the work done")
	l, ok, err = b.s.LeaseAcquire(b.ctx, name, "node-b", done, done.Add(time.Minute))
	b.must(err, "acquire a released lease")
	if !ok || l.Holder != "node-b" || l.DoneAt == nil || !l.DoneAt.Equal(done) {
		t.Fatalf("released lease taken: ok %v, %+v; want node-b holding it, done at %s kept", ok, l, done)
	}
	// A holder that died: its lease runs out and another node takes it.
	_, ok, err = b.s.LeaseAcquire(b.ctx, name, "node-c", done.Add(2*time.Minute), done.Add(3*time.Minute))
	b.must(err, "acquire a lease that ran out")
	equal(t, ok, true, "a lease that ran out is taken over")
	_, err = b.s.LeaseGet(b.ctx, "nothing")
	wantErr(t, err, store.ErrNotFound, "a lease never taken")
}

func testLeaseRace(t *testing.T, b *bundle) {
	const n = 16
	won := make([]bool, n)
	errs := race(n, func(i int) error {
		_, ok, err := b.s.LeaseAcquire(b.ctx, "settle:2026-11-30", string(rune('a'+i)), t0, t0.Add(time.Minute))
		won[i] = ok
		return err
	})
	winners := 0
	for i, err := range errs {
		b.must(err, "racing acquire")
		if won[i] {
			winners++
		}
	}
	equal(t, winners, 1, "nodes holding one lease after a race")
}
