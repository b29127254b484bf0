-- Recurring payments (issue 17): customers and their saved payment methods,
-- password-free agreements (WeChat Pay 委托代扣, Alipay 商家扣款, sandbox card
-- mandates), products and prices, subscriptions, their invoices, and test
-- clocks. Timestamps are unix microseconds UTC; JSON columns hold what is
-- never queried (metadata, invoice lines, payer). Every row that changes has
-- a version, bumped by each compare-and-set update.
-- Keep in step with the SQLite migration of the same number.

CREATE TABLE test_clocks (
	id          TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	merchant_id TEXT COLLATE "C" NOT NULL,
	livemode    BOOLEAN    NOT NULL,
	name        TEXT    NOT NULL,
	frozen_time BIGINT    NOT NULL,
	status      TEXT    NOT NULL, -- ready or advancing
	created_at  BIGINT    NOT NULL,
	updated_at  BIGINT    NOT NULL,
	version     INTEGER NOT NULL
);
CREATE INDEX test_clocks_merchant ON test_clocks (merchant_id, livemode, id);
CREATE INDEX test_clocks_status ON test_clocks (status);

CREATE TABLE customers (
	id            TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	merchant_id   TEXT COLLATE "C" NOT NULL,
	livemode      BOOLEAN    NOT NULL,
	name          TEXT    NOT NULL,
	email         TEXT    NOT NULL,
	description   TEXT    NOT NULL,
	metadata      TEXT    NOT NULL,
	test_clock_id TEXT COLLATE "C" NOT NULL, -- '' when the customer lives on real time
	created_at    BIGINT    NOT NULL
);
CREATE INDEX customers_merchant ON customers (merchant_id, livemode, id);

-- payment_methods keep a channel's token for a saved card and what may be
-- shown of it; never the card number or its CVC. fingerprint is a keyed
-- HMAC of the number (the key derives from the master key), so one card
-- saved twice can be recognised without keeping the number.
CREATE TABLE payment_methods (
	id                 TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	merchant_id        TEXT COLLATE "C" NOT NULL,
	livemode           BOOLEAN    NOT NULL,
	customer_id        TEXT COLLATE "C" NOT NULL,
	type               TEXT    NOT NULL,
	channel_account_id TEXT COLLATE "C" NOT NULL,
	token              TEXT    NOT NULL,
	brand              TEXT    NOT NULL,
	last4              TEXT    NOT NULL,
	exp_month          INTEGER NOT NULL,
	exp_year           INTEGER NOT NULL,
	fingerprint        TEXT    NOT NULL,
	status             TEXT    NOT NULL, -- active or detached
	created_at         BIGINT    NOT NULL,
	detached_at        BIGINT 
);
CREATE INDEX payment_methods_merchant ON payment_methods (merchant_id, livemode, id);
CREATE INDEX payment_methods_customer ON payment_methods (customer_id, id);

CREATE TABLE agreements (
	id                    TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	merchant_id           TEXT COLLATE "C" NOT NULL,
	app_id                TEXT COLLATE "C" NOT NULL,
	livemode              BOOLEAN    NOT NULL,
	customer_id           TEXT COLLATE "C" NOT NULL,
	method                TEXT    NOT NULL,
	channel               TEXT    NOT NULL,
	channel_account_id    TEXT COLLATE "C" NOT NULL,
	channel_agreement_no  TEXT    NOT NULL, -- contract_id / agreement_no, '' until signed
	status                TEXT    NOT NULL, -- pending, active, terminated
	description           TEXT    NOT NULL,
	max_amount_per_charge BIGINT    NOT NULL,
	currency              TEXT    NOT NULL,
	period                TEXT    NOT NULL,
	payer                 TEXT    NOT NULL,
	channel_payer_id      TEXT    NOT NULL, -- the openid / Alipay user id the channel reported at signing
	return_url            TEXT    NOT NULL,
	notify_url            TEXT    NOT NULL,
	next_action           TEXT,
	terminated_by         TEXT    NOT NULL, -- payer, merchant, channel; '' until terminated
	failure_code          TEXT    NOT NULL,
	metadata              TEXT    NOT NULL,
	created_at            BIGINT    NOT NULL,
	updated_at            BIGINT    NOT NULL,
	activated_at          BIGINT ,
	terminated_at         BIGINT ,
	version               INTEGER NOT NULL
);
CREATE INDEX agreements_merchant ON agreements (merchant_id, livemode, id);
CREATE INDEX agreements_status ON agreements (status, updated_at);

CREATE TABLE products (
	id          TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	merchant_id TEXT COLLATE "C" NOT NULL,
	livemode    BOOLEAN    NOT NULL,
	name        TEXT    NOT NULL,
	description TEXT    NOT NULL,
	active      BOOLEAN    NOT NULL,
	metadata    TEXT    NOT NULL,
	created_at  BIGINT    NOT NULL
);
CREATE INDEX products_merchant ON products (merchant_id, livemode, id);

CREATE TABLE prices (
	id             TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	merchant_id    TEXT COLLATE "C" NOT NULL,
	livemode       BOOLEAN    NOT NULL,
	product_id     TEXT COLLATE "C" NOT NULL REFERENCES products (id),
	amount         BIGINT    NOT NULL,
	currency       TEXT    NOT NULL,
	interval_unit  TEXT    NOT NULL, -- day, week, month, year
	interval_count INTEGER NOT NULL,
	trial_days     INTEGER NOT NULL,
	active         BOOLEAN    NOT NULL,
	metadata       TEXT    NOT NULL,
	created_at     BIGINT    NOT NULL
);
CREATE INDEX prices_merchant ON prices (merchant_id, livemode, id);
CREATE INDEX prices_product ON prices (product_id, id);

-- renews_at is when the subscription next needs the worker (its trial or
-- period ends); NULL when nothing is due (canceled, unpaid).
CREATE TABLE subscriptions (
	id                   TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	merchant_id          TEXT COLLATE "C" NOT NULL,
	app_id               TEXT COLLATE "C" NOT NULL,
	livemode             BOOLEAN    NOT NULL,
	customer_id          TEXT COLLATE "C" NOT NULL,
	price_id             TEXT COLLATE "C" NOT NULL,
	quantity             BIGINT    NOT NULL,
	status               TEXT    NOT NULL,
	agreement_id         TEXT COLLATE "C" NOT NULL,
	payment_method_id    TEXT COLLATE "C" NOT NULL,
	test_clock_id        TEXT COLLATE "C" NOT NULL,
	billing_cycle_anchor BIGINT    NOT NULL,
	period_index         INTEGER NOT NULL,
	current_period_start BIGINT    NOT NULL,
	current_period_end   BIGINT    NOT NULL,
	trial_end            BIGINT ,
	renews_at            BIGINT ,
	cancel_at_period_end BOOLEAN    NOT NULL,
	canceled_at          BIGINT ,
	ended_at             BIGINT ,
	after_dunning        TEXT    NOT NULL, -- cancel or unpaid
	pending_items        TEXT    NOT NULL,
	notify_url           TEXT    NOT NULL,
	metadata             TEXT    NOT NULL,
	created_at           BIGINT    NOT NULL,
	updated_at           BIGINT    NOT NULL,
	version              INTEGER NOT NULL
);
CREATE INDEX subscriptions_merchant ON subscriptions (merchant_id, livemode, id);
CREATE INDEX subscriptions_due ON subscriptions (test_clock_id, renews_at);

-- An invoice's charge attempts are orders whose out_trade_no is the
-- invoice id and the attempt number: a repeated attempt (after a crash) is
-- the same order, and the order id is the channel's idempotency key.
-- claim_holder/claim_until lease the invoice to the node charging it.
CREATE TABLE invoices (
	id                TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	merchant_id       TEXT COLLATE "C" NOT NULL,
	app_id            TEXT COLLATE "C" NOT NULL,
	livemode          BOOLEAN    NOT NULL,
	subscription_id   TEXT COLLATE "C" NOT NULL,
	customer_id       TEXT COLLATE "C" NOT NULL,
	status            TEXT    NOT NULL, -- draft, open, paid, uncollectible, void
	currency          TEXT    NOT NULL,
	amount_due        BIGINT    NOT NULL,
	amount_paid       BIGINT    NOT NULL,
	lines             TEXT    NOT NULL,
	billing_reason    TEXT    NOT NULL,
	period_start      BIGINT    NOT NULL,
	period_end        BIGINT    NOT NULL,
	test_clock_id     TEXT COLLATE "C" NOT NULL,
	attempt_count     INTEGER NOT NULL,
	next_attempt_at   BIGINT ,
	order_id          TEXT COLLATE "C" NOT NULL,
	last_failure_code TEXT    NOT NULL,
	claim_holder      TEXT    NOT NULL,
	claim_until       BIGINT ,
	created_at        BIGINT    NOT NULL,
	updated_at        BIGINT    NOT NULL,
	finalized_at      BIGINT ,
	paid_at           BIGINT ,
	version           INTEGER NOT NULL
);
CREATE INDEX invoices_merchant ON invoices (merchant_id, livemode, id);
CREATE INDEX invoices_subscription ON invoices (subscription_id, id);
CREATE INDEX invoices_due ON invoices (test_clock_id, next_attempt_at);
CREATE INDEX invoices_order ON invoices (order_id);
CREATE INDEX invoices_status ON invoices (status, next_attempt_at);

-- The customer an order is for ('' when none): the cashier offers the
-- customer's saved cards, and to save the card the payer pays with.
ALTER TABLE orders ADD COLUMN customer_id TEXT NOT NULL DEFAULT '';
