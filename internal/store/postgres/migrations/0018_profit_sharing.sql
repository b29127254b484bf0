-- Profit sharing (分账, issue 18). Keep in step with the SQLite
-- migration of the same number.
--
-- An order created with profit_sharing posts its net to the merchant's
-- profit_sharing ledger account instead of pending: settlement does not
-- collect it. Its money leaves that account as shares to receivers, as the
-- release of the rest to the merchant's available account, or as refunds.
ALTER TABLE orders ADD COLUMN profit_sharing BOOLEAN NOT NULL DEFAULT false;

-- The automatic release finds the unfinished sharing orders paid long ago.
CREATE INDEX orders_profit_sharing ON orders (paid_at) WHERE profit_sharing AND status = 'succeeded';

-- Receivers a merchant may share with: another merchant of the platform
-- (type merchant, account its mch_ id) or an account holder at a channel.
CREATE TABLE profit_sharing_receivers (
	id          TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	merchant_id TEXT    NOT NULL REFERENCES merchants (id),
	livemode BOOLEAN NOT NULL,
	type        TEXT    NOT NULL, -- merchant, wechatpay_openid, wechatpay_merchant, alipay_user_id, alipay_login, sandbox
	account     TEXT    NOT NULL,
	name        TEXT    NOT NULL,
	description TEXT    NOT NULL,
	created_at  BIGINT NOT NULL,
	UNIQUE (merchant_id, livemode, type, account)
);

-- One row per sharing order that sharing, a refund or the release touched:
-- held is what of the order is in the merchant's profit_sharing account,
-- reserved what its pending refunds will take from it.
CREATE TABLE profit_sharing_orders (
	order_id    TEXT COLLATE "C" NOT NULL PRIMARY KEY REFERENCES orders (id),
	merchant_id TEXT    NOT NULL,
	livemode BOOLEAN NOT NULL,
	currency    TEXT    NOT NULL,
	net         BIGINT NOT NULL,
	held        BIGINT NOT NULL,
	reserved    BIGINT NOT NULL,
	shared      BIGINT NOT NULL,
	released    BIGINT NOT NULL,
	finish_requested BOOLEAN NOT NULL,
	-- The order was released and its channel has not been told yet
	-- (WeChat Pay's unfreeze).
	unfreeze_pending BOOLEAN NOT NULL,
	finished_at BIGINT,
	created_at  BIGINT NOT NULL,
	updated_at  BIGINT NOT NULL
);

CREATE INDEX profit_sharing_orders_unfreeze ON profit_sharing_orders (order_id) WHERE unfreeze_pending;

-- What each pending refund of a sharing order reserved of it.
CREATE TABLE profit_sharing_refunds (
	refund_id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	order_id  TEXT    NOT NULL,
	amount    BIGINT NOT NULL,
	done BOOLEAN NOT NULL
);

-- A sharing of an order's money (psh_), with its receivers (JSON).
CREATE TABLE profit_sharings (
	id                 TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	merchant_id        TEXT    NOT NULL REFERENCES merchants (id),
	app_id             TEXT    NOT NULL,
	livemode BOOLEAN NOT NULL,
	order_id           TEXT    NOT NULL REFERENCES orders (id),
	out_order_no       TEXT    NOT NULL,
	amount             BIGINT NOT NULL,
	currency           TEXT    NOT NULL,
	receivers          TEXT    NOT NULL,
	finish BOOLEAN NOT NULL,
	status             TEXT    NOT NULL, -- processing, succeeded, failed
	channel            TEXT    NOT NULL,
	channel_account_id TEXT    NOT NULL,
	channel_sharing_no TEXT    NOT NULL,
	failure_code       TEXT    NOT NULL,
	failure_message    TEXT    NOT NULL,
	request_hash       TEXT    NOT NULL,
	query_attempts     INTEGER NOT NULL,
	next_query_at      BIGINT NOT NULL,
	created_at         BIGINT NOT NULL,
	updated_at         BIGINT NOT NULL,
	finished_at        BIGINT,
	UNIQUE (app_id, out_order_no)
);
CREATE INDEX profit_sharings_order ON profit_sharings (order_id, id);
CREATE INDEX profit_sharings_due ON profit_sharings (next_query_at) WHERE status = 'processing';

-- A receiver's return of (part of) its share (分账回退, psr_).
CREATE TABLE profit_sharing_returns (
	id                TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	merchant_id       TEXT    NOT NULL,
	app_id            TEXT    NOT NULL,
	livemode BOOLEAN NOT NULL,
	profit_sharing_id TEXT    NOT NULL REFERENCES profit_sharings (id),
	order_id          TEXT    NOT NULL,
	out_return_no     TEXT    NOT NULL,
	receiver_id       TEXT    NOT NULL,
	amount            BIGINT NOT NULL,
	currency          TEXT    NOT NULL,
	description       TEXT    NOT NULL,
	request_hash      TEXT    NOT NULL,
	created_at        BIGINT NOT NULL,
	UNIQUE (app_id, out_return_no)
);
CREATE INDEX profit_sharing_returns_sharing ON profit_sharing_returns (profit_sharing_id, receiver_id);
