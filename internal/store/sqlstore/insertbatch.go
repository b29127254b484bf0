package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/paygate/paygate/internal/store"
)

// Insert batching (PostgreSQL). Creating an order is one INSERT committed on
// its own, and on PostgreSQL what that costs is mostly per statement and
// per commit (the round trip, parsing and planning, the commit record and
// its WAL flush), not per row. Concurrent creates are therefore grouped:
// a few batch workers each take the next waiting insert and every other one
// already waiting (up to MaxBatch), and write them with one multi-row
// INSERT … ON CONFLICT DO NOTHING RETURNING id in autocommit: one statement
// and one commit for the batch. An idle worker takes a lone insert at once,
// so a quiet gateway waits for nothing; batches form only when inserts
// arrive faster than the workers' statements complete.
//
// Each insert's result is still its own. A row the batch statement did not
// insert (its id or its (app_id, out_trade_no) was taken, perhaps by
// another row of the same batch) is inserted again alone, which fails with
// the ErrConflict a lone insert would; and when the batch statement fails
// as a whole (a row the database refuses), every row is inserted alone, so
// only the refused one fails. An insert is durable when its caller hears
// nil, exactly as without batching.
//
// SQLite does not need this: its group committer already shares one
// transaction and one fsync among all concurrent writers.

// InsertBatching configures insert batching. The zero value turns it off.
type InsertBatching struct {
	// Workers is how many batch statements may run at once. Default 4.
	Workers int
	// MaxBatch is the most rows one statement carries. Default 64.
	MaxBatch int
}

// batchTimeout bounds one batch statement, which runs without any one
// caller's context (the callers share it).
const batchTimeout = 30 * time.Second

// orderInsert is one OrderCreate waiting for a batch.
type orderInsert struct {
	o           *store.Order
	meta, payer string
	done        chan error
}

// orderBatcher runs the batch workers of OrderCreate.
type orderBatcher struct {
	s *Store
	pool[*orderInsert]
}

// EnableInsertBatching makes OrderCreate group concurrent inserts into
// multi-row statements (see insertbatch.go). Use it without group commit
// (PostgreSQL). Call it before the store is used.
func (s *Store) EnableInsertBatching(cfg InsertBatching) {
	if cfg.Workers <= 0 {
		cfg.Workers = 4
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 64
	}
	b := &orderBatcher{s: s}
	b.start(cfg.Workers, cfg.MaxBatch, func([]*orderInsert, *orderInsert) bool { return true }, b.run)
	s.orders = b
}

// insert hands r to a batch worker and waits for its result.
func (b *orderBatcher) insert(ctx context.Context, r *orderInsert) error {
	r.done = make(chan error, 1)
	if err := b.submit(ctx, r); err != nil {
		return fmt.Errorf("create order %s: %w", r.o.ID, err)
	}
	return <-r.done
}

// run writes one batch and answers each of its inserts.
func (b *orderBatcher) run(batch []*orderInsert) {
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	c := conn{q: b.s.write, d: b.s.dialect}
	if len(batch) == 1 {
		r := batch[0]
		r.done <- insertOrder(ctx, c, r.o, r.meta, r.payer)
		return
	}
	inserted, err := insertOrders(ctx, c, batch)
	for _, r := range batch {
		if err == nil && inserted[r.o.ID] {
			r.done <- nil
			continue
		}
		// Not inserted by the batch: alone, it succeeds or fails as it
		// would have without batching.
		r.done <- insertOrder(ctx, c, r.o, r.meta, r.payer)
	}
}

// orderColumnCount is the number of columns in orderColumns.
var orderColumnCount = strings.Count(orderColumns, ",") + 1

// insertOrders inserts the batch's orders in one statement, skipping any
// whose id or (app_id, out_trade_no) is taken, and returns the ids it
// inserted.
func insertOrders(ctx context.Context, c conn, batch []*orderInsert) (map[string]bool, error) {
	args := make([]any, 0, orderColumnCount*len(batch))
	for _, r := range batch {
		args = append(args, orderValues(r.o, r.meta, r.payer)...)
	}
	rows, err := c.query(ctx, `INSERT INTO orders (`+orderColumns+`) VALUES `+valueRows(len(batch), orderColumnCount)+`
		ON CONFLICT DO NOTHING RETURNING id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	inserted := make(map[string]bool, len(batch))
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		inserted[id] = true
	}
	return inserted, rows.Err()
}
