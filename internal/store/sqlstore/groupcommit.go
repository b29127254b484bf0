package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// Group commit (SQLite). With synchronous=FULL every COMMIT waits for an
// fsync, and one connection writes at a time, so committing each write on
// its own caps a store at one fsync per write. The group committer keeps one
// write transaction open across many writers instead: each writer gets its
// turn inside the batch transaction under a SAVEPOINT, runs its statements
// exactly as in a transaction of its own, and releases (keep) or rolls back
// to (discard) its savepoint. When no writer is waiting, or the batch is
// full, or the batch is older than MaxWait, the committer commits once and
// only then answers every writer of the batch: an acknowledged write is
// durable, as before, and a failed commit fails every write in it.
//
// Writers still run one at a time, so the code of every write method is the
// same with or without group commit; inTx hides the difference. Write
// methods hand their whole work to inTx as a func, which the committer runs
// itself inside the batch (see do); begin and commit, which hand the batch
// transaction to the writer's goroutine and back, remain for Migrate.

// GroupCommit configures group commit. The zero value turns it off.
type GroupCommit struct {
	// MaxBatch is the most writers one commit carries. Default 256.
	MaxBatch int
	// MaxWait is how long a batch waits for more writers once none is
	// queued. 0 commits as soon as the queue is empty (writers that arrive
	// during the fsync form the next batch).
	MaxWait time.Duration
}

// committer runs the batches; one goroutine, one connection.
type committer struct {
	db    *sql.Conn // the write pool's one connection, held for good
	stmts *stmtCache
	d     *Dialect
	cfg   GroupCommit
	reqs  chan *turn
	stop  chan struct{}
	done  chan struct{}
	// observe, when set, is told each batch's writers and its time from
	// BEGIN to COMMIT's return (ObserveCommits).
	observe atomic.Pointer[func(writers int, took time.Duration)]
}

// turn is one writer's place in a batch.
type turn struct {
	// fn, when set, is the writer's whole work, which the committer runs
	// itself in the batch (see do); fnErr is its result.
	fn    func(*tx) error
	ctx   context.Context
	fnErr error
	// ran, when set, is closed once fn has run and its turn is settled in
	// the batch (kept or rolled back), before the batch commits (doEarly).
	ran chan struct{}
	// panicked is set when fn panicked; panicVal is what it panicked with,
	// raised again on the writer's goroutine (see call and do).
	panicked bool
	panicVal any
	// The rest serves writers that run their turn themselves (begin).
	tx      *sql.Tx // the batch transaction, set before granted is closed
	err     error   // set instead of tx when the writer cannot have a turn
	granted chan struct{}
	keep    chan bool  // the writer's decision: release (true) or roll back (false)
	durable chan error // the batch's commit result, sent to every writer that had its turn
}

func newCommitter(db *sql.Conn, stmts *stmtCache, d *Dialect, cfg GroupCommit) *committer {
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 256
	}
	c := &committer{db: db, stmts: stmts, d: d, cfg: cfg, reqs: make(chan *turn), stop: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c
}

var errStoreClosed = errors.New("store: closed")

// begin waits for a turn in a batch.
func (c *committer) begin(ctx context.Context) (*tx, error) {
	t := &turn{granted: make(chan struct{}), keep: make(chan bool, 1), durable: make(chan error, 1)}
	select {
	case c.reqs <- t:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-c.stop:
		return nil, errStoreClosed
	}
	<-t.granted // once queued, the turn comes: the committer never drops one
	if t.err != nil {
		return nil, t.err
	}
	return &tx{conn: conn{q: detached{t.tx}, d: c.d, stmts: c.stmts, detach: true}, turn: t, tx: t.tx}, nil
}

// refuse tells a writer it gets no turn.
func (t *turn) refuse(err error) {
	if t.fn != nil {
		t.durable <- err
		return
	}
	t.err = err
	close(t.granted)
}

// do runs fn as one writer's turn in a batch, on the committer's own
// goroutine (no handoff to and from the caller while the batch waits), and
// returns once the batch is durable: fn's error, or the commit's.
func (c *committer) do(ctx context.Context, fn func(*tx) error) error {
	t := &turn{fn: fn, ctx: ctx, durable: make(chan error, 1)}
	select {
	case c.reqs <- t:
	case <-ctx.Done():
		return ctx.Err()
	case <-c.stop:
		return errStoreClosed
	}
	err := <-t.durable
	if t.panicked {
		panic(t.panicVal)
	}
	if t.fnErr != nil {
		return t.fnErr
	}
	return err
}

// doEarly is do that returns as soon as fn has run in its batch, before
// the batch commits: later turns see fn's writes, and durable waits for the
// commit (it must be called, once). An error of fn (or a panic) is returned
// after the commit, as do returns it.
func (c *committer) doEarly(ctx context.Context, fn func(*tx) error) (durable func() error, err error) {
	t := &turn{fn: fn, ctx: ctx, durable: make(chan error, 1), ran: make(chan struct{})}
	select {
	case c.reqs <- t:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-c.stop:
		return nil, errStoreClosed
	}
	<-t.ran // once queued, the turn comes and ran is closed, refused or not
	if t.panicked || t.fnErr != nil {
		err := <-t.durable
		if t.panicked {
			panic(t.panicVal)
		}
		if t.fnErr != nil {
			return nil, t.fnErr
		}
		return nil, err
	}
	return func() error { return <-t.durable }, nil
}

// call runs t.fn as t's turn in the batch btx. A panic in fn fails t alone:
// it is caught here, so that the committer and the other writers of the
// batch go on, t's savepoint is rolled back, and do raises it again on the
// writer's own goroutine once the batch is durable, where it would have
// been raised had the writer run fn itself (as with begin, whose deferred
// Rollback waits for the batch too). fn must not end its goroutine
// (runtime.Goexit, t.FailNow): that would end the committer's.
func (c *committer) call(t *turn, btx *sql.Tx) {
	defer func() {
		if v := recover(); v != nil {
			t.panicked, t.panicVal = true, v
		}
	}()
	t.fnErr = t.fn(&tx{conn: conn{q: detached{btx}, d: c.d, stmts: c.stmts, detach: true}, turn: t, tx: btx})
}

// close stops the committer after the batch in progress.
func (c *committer) close() {
	close(c.stop)
	<-c.done
	c.db.Close()
}

func (c *committer) run() {
	defer close(c.done)
	for {
		var first *turn
		select {
		case first = <-c.reqs:
		case <-c.stop:
			return
		}
		c.batch(first)
	}
}

// batch runs one transaction: first, then every writer that queues while it
// lasts, up to MaxBatch; then commits and answers them.
func (c *committer) batch(first *turn) {
	ctx := context.Background()
	began := time.Now()
	btx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		first.refuse(fmt.Errorf("%s: begin: %w", c.d.Name, err))
		if first.ran != nil {
			close(first.ran)
		}
		return
	}
	var kept, waiting []*turn
	broken := false
	give := func(t *turn) {
		if t.ran != nil {
			defer close(t.ran)
		}
		if broken {
			t.refuse(fmt.Errorf("%s: batch transaction failed", c.d.Name))
			return
		}
		if err := c.exec(btx, "SAVEPOINT w"); err != nil {
			broken = true
			t.refuse(fmt.Errorf("%s: savepoint: %w", c.d.Name, err))
			return
		}
		t.tx = btx
		var keep bool
		if t.fn != nil {
			c.call(t, btx)
			keep = t.fnErr == nil && !t.panicked
		} else {
			close(t.granted)
			keep = <-t.keep
		}
		if keep {
			if err := c.exec(btx, "RELEASE w"); err != nil {
				broken = true
				t.durable <- fmt.Errorf("%s: release: %w", c.d.Name, err)
				return
			}
			kept = append(kept, t)
			return
		}
		err1 := c.exec(btx, "ROLLBACK TO w")
		err2 := c.exec(btx, "RELEASE w")
		if err1 != nil || err2 != nil {
			broken = true // the savepoint is gone: SQLite rolled the whole transaction back
		}
		// The writer's failure (a unique key taken, a status already moved)
		// may rest on earlier writers of this batch, not yet committed: it
		// waits for the commit too, so what it reads next is there.
		waiting = append(waiting, t)
	}
	give(first)
	deadline := time.Now().Add(c.cfg.MaxWait)
	for n := 1; n < c.cfg.MaxBatch && !broken; n++ {
		t := c.next(deadline)
		if t == nil {
			break
		}
		give(t)
	}
	var cerr error
	if broken {
		btx.Rollback()
		cerr = fmt.Errorf("%s: batch transaction failed; nothing in it was committed", c.d.Name)
	} else if err := btx.Commit(); err != nil {
		cerr = fmt.Errorf("%s: commit: %w", c.d.Name, c.d.interpret(err))
	}
	if fn := c.observe.Load(); fn != nil {
		(*fn)(len(kept)+len(waiting), time.Since(began))
	}
	for _, t := range kept {
		t.durable <- cerr
	}
	for _, t := range waiting {
		t.durable <- cerr
	}
}

// exec runs a savepoint statement in the batch, prepared once when the
// store caches statements.
func (c *committer) exec(btx *sql.Tx, query string) error {
	if c.stmts != nil {
		if st := c.stmts.get(query); st != nil {
			_, err := st.Exec()
			return err
		}
	}
	_, err := btx.Exec(query)
	return err
}

// next returns the next queued writer, waiting until deadline for one when
// none is queued; nil when none came.
func (c *committer) next(deadline time.Time) *turn {
	select {
	case t := <-c.reqs:
		return t
	default:
	}
	wait := time.Until(deadline)
	if wait <= 0 {
		return nil
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case t := <-c.reqs:
		return t
	case <-timer.C:
		return nil
	}
}

// detached runs statements of a batch with the caller's values but without
// its cancellation: SQLite answers an interrupted write inside a transaction
// by rolling back the whole transaction, which here holds other writers'
// work too.
type detached struct{ tx *sql.Tx }

func (d detached) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return d.tx.ExecContext(context.WithoutCancel(ctx), query, args...)
}

func (d detached) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return d.tx.QueryContext(context.WithoutCancel(ctx), query, args...)
}

func (d detached) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return d.tx.QueryRowContext(context.WithoutCancel(ctx), query, args...)
}
