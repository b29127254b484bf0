-- The web console: its orders and refunds lists sort by amount (high to low
-- and low to high) with keyset paging on (amount, id), for one merchant or
-- (operators) for every merchant; without these indexes a sorted page read
-- and sorted every order of the filter. The webhooks page sums each
-- endpoint's recent delivery attempts. Keep in step with the PostgreSQL
-- migration of the same number.

CREATE INDEX orders_merchant_amount ON orders (merchant_id, livemode, amount, id);
CREATE INDEX orders_amount ON orders (livemode, amount, id);
CREATE INDEX refunds_merchant_amount ON refunds (merchant_id, livemode, amount, id);
CREATE INDEX refunds_amount ON refunds (livemode, amount, id);
CREATE INDEX delivery_attempts_endpoint ON delivery_attempts (endpoint_id, attempted_at) WHERE endpoint_id IS NOT NULL;
