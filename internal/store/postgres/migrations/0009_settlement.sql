-- Settlement (结算): per merchant, mode, currency and merchant day, a batch
-- of reconciled transactions that moves the merchant's money from pending to
-- available, and then out to its bank. Keep in step with the SQLite
-- migration of the same number.
--
-- settlement_settings holds each merchant's settlement terms (T+N, rolling
-- reserve) and fee schedule; a merchant without a row has the defaults.
-- settlements is one row per batch; settlement_lines one row per settled
-- transaction (its primary key (kind, ref_id) is what keeps a transaction
-- from settling twice), per carried-forward deficit, and per reserve held or
-- released. settlement_cursors remembers, per merchant and mode, the last
-- day settled and the time from which unsettled transactions may still be
-- found (so a run does not rescan the whole history).

CREATE TABLE settlement_settings (
	merchant_id            TEXT COLLATE "C" NOT NULL PRIMARY KEY REFERENCES merchants (id),
	settle_days            INTEGER          NOT NULL,
	reserve_bps            INTEGER          NOT NULL,
	reserve_days           INTEGER          NOT NULL,
	fixed_fee              BIGINT           NOT NULL,
	method_fees            TEXT             NOT NULL, -- JSON array of {method, fee_rate_bps, fixed_fee}
	created_at             BIGINT           NOT NULL,
	updated_at             BIGINT           NOT NULL
);

CREATE TABLE settlements (
	id                     TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	merchant_id            TEXT COLLATE "C" NOT NULL REFERENCES merchants (id),
	livemode               BOOLEAN          NOT NULL,
	currency               TEXT             NOT NULL,
	day                    TEXT             NOT NULL, -- the merchant's day (YYYY-MM-DD, its time zone) the batch closes
	settle_date            TEXT             NOT NULL, -- day + the merchant's settle_days
	timezone               TEXT             NOT NULL,
	cutoff                 BIGINT           NOT NULL, -- the end of day in timezone: what settles happened before it
	status                 TEXT             NOT NULL, -- pending, in_transit, paid, carried_forward
	gross                  BIGINT           NOT NULL,
	refunds                BIGINT           NOT NULL,
	fees                   BIGINT           NOT NULL,
	adjustments            BIGINT           NOT NULL,
	reserve_held           BIGINT           NOT NULL,
	reserve_released       BIGINT           NOT NULL,
	net                    BIGINT           NOT NULL,
	channel_fees           BIGINT           NOT NULL,
	payment_count          INTEGER          NOT NULL,
	refund_count           INTEGER          NOT NULL,
	waiting_payment_count  INTEGER          NOT NULL,
	waiting_payment_amount BIGINT           NOT NULL,
	waiting_refund_count   INTEGER          NOT NULL,
	waiting_refund_amount  BIGINT           NOT NULL,
	reserve_release_date   TEXT             NOT NULL, -- '' when nothing is held
	reserve_released_by    TEXT COLLATE "C" NOT NULL, -- the batch that released the reserve, '' until then
	carried_to             TEXT COLLATE "C" NOT NULL, -- the batch that took a negative net, '' until then
	bank_reference         TEXT             NOT NULL,
	payout_started_at      BIGINT,
	paid_at                BIGINT,
	created_at             BIGINT           NOT NULL,
	updated_at             BIGINT           NOT NULL,
	UNIQUE (merchant_id, livemode, currency, day)
);
CREATE INDEX settlements_merchant ON settlements (merchant_id, livemode, id);
CREATE INDEX settlements_status ON settlements (status, id);

CREATE TABLE settlement_lines (
	kind                   TEXT             NOT NULL, -- payment, refund, carry_forward, reserve_hold, reserve_release
	ref_id                 TEXT COLLATE "C" NOT NULL, -- ord_…, rfd_…, or the stl_… carried, held or released
	settlement_id          TEXT COLLATE "C" NOT NULL REFERENCES settlements (id),
	currency               TEXT             NOT NULL,
	amount                 BIGINT           NOT NULL, -- signed: a payment's amount, a refund's negated
	fee                    BIGINT           NOT NULL, -- the platform's fee (a refund's: the fee returned, negated)
	net                    BIGINT           NOT NULL, -- what the line adds to the batch's net
	channel_fee            BIGINT           NOT NULL, -- the channel's cost, from reconciliation
	occurred_at            BIGINT           NOT NULL,
	PRIMARY KEY (kind, ref_id)
);
CREATE INDEX settlement_lines_settlement ON settlement_lines (settlement_id, occurred_at, kind, ref_id);

CREATE TABLE settlement_cursors (
	merchant_id            TEXT COLLATE "C" NOT NULL,
	livemode               BOOLEAN          NOT NULL,
	last_day               TEXT             NOT NULL,
	scan_from              BIGINT           NOT NULL,
	updated_at             BIGINT           NOT NULL,
	PRIMARY KEY (merchant_id, livemode)
);

-- A run reads a merchant's succeeded payments and refunds of a window of
-- time; statements read one day of them.
CREATE INDEX orders_settle ON orders (merchant_id, livemode, paid_at) WHERE status = 'succeeded';
CREATE INDEX refunds_settle ON refunds (merchant_id, livemode, succeeded_at) WHERE status = 'succeeded';
