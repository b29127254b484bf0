-- Lists filtered by status (orders, refunds) or by type (events) walk an
-- index of the filter, newest first, instead of every object of the
-- merchant: paygate bench scale measured the first page of a merchant's
-- failed orders at 0.3 ms with no history and 17 ms with 100,000 orders of
-- it, growing with the history; a rare status (requires_review) read all
-- of it. Keep in step with the other store's migration of the same number.

CREATE INDEX orders_merchant_status ON orders (merchant_id, livemode, status, id);
CREATE INDEX refunds_merchant_status ON refunds (merchant_id, livemode, status, id);
CREATE INDEX events_merchant_type ON events (merchant_id, livemode, type, id);
