-- The web console: its orders and refunds lists sort by amount (high to low
-- and low to high) with keyset paging on (amount, id), for one merchant or
-- (operators) for every merchant; without these indexes a sorted page read
-- and sorted every order of the filter. The operators' indexes leave
-- livemode out on purpose: SQLite took an index that begins with livemode
-- (equal on every row) for the newest-first list of every merchant and
-- sorted all the orders (3 ms became 0.5 s on a million orders). The
-- webhooks page sums each endpoint's recent delivery attempts. Keep in step
-- with the SQLite migration of the same number.

CREATE INDEX orders_merchant_amount ON orders (merchant_id, livemode, amount, id);
CREATE INDEX orders_amount ON orders (amount, id);
CREATE INDEX refunds_merchant_amount ON refunds (merchant_id, livemode, amount, id);
CREATE INDEX refunds_amount ON refunds (amount, id);
CREATE INDEX delivery_attempts_endpoint ON delivery_attempts (endpoint_id, attempted_at) WHERE endpoint_id IS NOT NULL;
