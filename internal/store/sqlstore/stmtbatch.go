package sqlstore

import (
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// Statement batching (PostgreSQL). A write-behind transaction that had
// nothing but inserts (writebehind.go) ends as one statement in autocommit:
// a create is one statement (the risk attempt, the day's total, the order)
// and one commit. On PostgreSQL what that costs is mostly per statement and
// per commit (the round trip, waking a backend, the commit record and its
// WAL flush), not per row, so concurrent ones are sent together: a few
// workers each take the next waiting transaction's inserts and every other
// one waiting with the same statements (up to MaxBatch), and send them all
// as one statement of writable CTEs in autocommit; one round trip and one
// commit for the batch. An idle worker sends a lone transaction at once, so
// a quiet gateway waits for nothing.
//
// Each transaction's result is still its own: when the batch's statement
// fails (an order's out_trade_no taken, say), nothing of it was written, and
// each transaction is sent again alone, to succeed or fail as it would have
// without batching. Two transactions that upsert one row (a balance shard,
// a day's total shard) never share a statement, which may not update a row
// twice: the second waits for the next one. A transaction is durable when
// its caller hears nil, as before.

// stmtBatch is one write-behind transaction's inserts waiting for a batch.
type stmtBatch struct {
	w     *writes
	shape string // the queries' text: only transactions of one shape are combined
	done  chan error
}

// stmtBatcher runs the workers.
type stmtBatcher struct {
	s *Store
	pool[*stmtBatch]
	// statements and transactions count what the workers sent: their
	// ratio is the batches' size (StatementBatches).
	statements, transactions atomic.Int64
}

// StatementBatches reports how many statements statement batching sent and
// how many write-behind transactions they carried (0, 0 when it is off).
func (s *Store) StatementBatches() (statements, transactions int64) {
	if s.stmts == nil {
		return 0, 0
	}
	return s.stmts.statements.Load(), s.stmts.transactions.Load()
}

// StatementBatching configures statement batching. The zero value turns it
// off.
type StatementBatching struct {
	// Workers is how many batch statements may run at once. Default 1:
	// measured on two cores, one statement at a time made the largest
	// batches and the most creates (BENCHMARKS.md); the order of a batch's
	// transactions keeps several from deadlocking.
	Workers int
	// MaxBatch is the most transactions one statement carries. Default 64.
	MaxBatch int
}

// EnableStatementBatching makes write-behind transactions of nothing but
// inserts share statements (see above). Use it without group commit
// (PostgreSQL). Call it before the store is used.
func (s *Store) EnableStatementBatching(cfg StatementBatching) {
	if cfg.Workers <= 0 {
		cfg.Workers = 1
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 64
	}
	b := &stmtBatcher{s: s}
	b.start(cfg.Workers, cfg.MaxBatch, func(batch []*stmtBatch, r *stmtBatch) bool {
		if r.shape != batch[0].shape {
			return false
		}
		for _, in := range batch {
			if in.w.upsertsInto(r.w.upserts) {
				return false
			}
		}
		return true
	}, b.run)
	s.stmts = b
}

// exec hands w to a worker and waits for its result.
func (b *stmtBatcher) exec(ctx context.Context, w *writes) error {
	r := &stmtBatch{w: w, shape: strings.Join(w.queries, "\x00"), done: make(chan error, 1)}
	if err := b.submit(ctx, r); err != nil {
		return err
	}
	return <-r.done
}

// pool is a batcher's workers: each gathers the requests handed to it
// (submit) into batches that fit (gather) and runs them.
type pool[T any] struct {
	reqs     chan T
	stop     chan struct{}
	stopOnce sync.Once // close may be called more than once (a gateway and its test harness)
	wg       sync.WaitGroup
}

// start runs workers gathering batches of up to max that fit, and run.
func (p *pool[T]) start(workers, max int, fits func(batch []T, r T) bool, run func([]T)) {
	p.reqs, p.stop = make(chan T), make(chan struct{})
	for range workers {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			gather(p.reqs, p.stop, max, fits, run)
		}()
	}
}

// submit hands r to a worker: errStoreClosed once the pool is closed, or
// ctx's error if it ends first. Once a worker has taken r, the caller's
// cancellation no longer stops it (as a statement already sent would not be
// called back either).
func (p *pool[T]) submit(ctx context.Context, r T) error {
	select {
	case p.reqs <- r:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-p.stop:
		return errStoreClosed
	}
}

// close stops the workers after the batches they run.
func (p *pool[T]) close() {
	p.stopOnce.Do(func() { close(p.stop) })
	p.wg.Wait()
}

// gather runs a batch worker until stop: it takes the oldest request it
// carries, or else the next waiting one, then every other carried or
// waiting that fits the batch (up to max), and hands the batch to run.
// Requests that do not fit are carried to the next batch.
func gather[T any](reqs <-chan T, stop <-chan struct{}, max int, fits func(batch []T, r T) bool, run func([]T)) {
	var carry []T
	batch := make([]T, 0, max)
	for {
		if len(carry) == 0 {
			select {
			case r := <-reqs:
				carry = append(carry, r)
			case <-stop:
				return
			}
		}
		batch = append(batch[:0], carry[0])
		rest := carry[1:]
		carry = nil
		take := func(r T) {
			if len(batch) < max && fits(batch, r) {
				batch = append(batch, r)
			} else {
				carry = append(carry, r)
			}
		}
		for _, r := range rest {
			take(r)
		}
	more:
		for len(batch) < max && len(carry) < max {
			select {
			case r := <-reqs:
				take(r)
			default:
				break more
			}
		}
		run(batch)
		clear(batch)
	}
}

// run sends one batch and answers each of its transactions. The batch's
// transactions go in the order of the rows they upsert, so that two
// statements running at once lock the rows they share in one order and
// never wait for each other in a circle.
func (b *stmtBatcher) run(batch []*stmtBatch) {
	slices.SortStableFunc(batch, func(x, y *stmtBatch) int { return slices.Compare(x.w.upserts, y.w.upserts) })
	var combined writes
	for _, r := range batch {
		combined.append(r.w)
	}
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	b.statements.Add(1)
	b.transactions.Add(int64(len(batch)))
	c := conn{q: b.s.write, d: b.s.dialect}
	if len(batch) == 1 {
		batch[0].done <- batch[0].w.exec(ctx, c)
		return
	}
	if err := combined.exec(ctx, c); err == nil {
		for _, r := range batch {
			r.done <- nil
		}
		return
	}
	// Nothing of the batch was written: each alone, as without batching.
	for _, r := range batch {
		r.done <- r.w.exec(ctx, c)
	}
}

// append adds o's inserts after w's.
func (w *writes) append(o *writes) {
	w.queries = append(w.queries, o.queries...)
	w.whats = append(w.whats, o.whats...)
	w.nargs = append(w.nargs, o.nargs...)
	w.args = append(w.args, o.args...)
	w.upserts = append(w.upserts, o.upserts...)
}
