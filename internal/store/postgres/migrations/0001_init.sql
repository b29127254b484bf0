-- Paygate schema for PostgreSQL. Keep in step with the SQLite migration of
-- the same number: the tables, columns and indexes are the same; only the
-- types differ. Ids and account names use the "C" collation so that they
-- sort byte by byte, as in SQLite: lists page by id and Balances selects an
-- account prefix by range. Timestamps are unix microseconds UTC.
-- Tables are created unqualified, in the first schema of search_path.

CREATE TABLE settings (
	name  TEXT NOT NULL PRIMARY KEY,
	value TEXT NOT NULL
);

CREATE TABLE platform_keys (
	id             TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	alg            TEXT             NOT NULL,
	public_key     TEXT             NOT NULL,
	private_sealed TEXT             NOT NULL,
	status         TEXT             NOT NULL,
	created_at     BIGINT           NOT NULL
);

CREATE TABLE merchants (
	id                  TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	name                TEXT             NOT NULL,
	timezone            TEXT             NOT NULL,
	settlement_currency TEXT             NOT NULL,
	fee_rate_bps        INTEGER          NOT NULL,
	created_at          BIGINT           NOT NULL
);

CREATE TABLE apps (
	id                    TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	merchant_id           TEXT COLLATE "C" NOT NULL REFERENCES merchants (id),
	name                  TEXT             NOT NULL,
	livemode              BOOLEAN          NOT NULL,
	require_signature     BOOLEAN          NOT NULL,
	webhook_secret_sealed TEXT             NOT NULL,
	created_at            BIGINT           NOT NULL
);
CREATE INDEX apps_merchant ON apps (merchant_id, id);

CREATE TABLE api_keys (
	id            TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	app_id        TEXT COLLATE "C" NOT NULL REFERENCES apps (id),
	merchant_id   TEXT COLLATE "C" NOT NULL,
	livemode      BOOLEAN          NOT NULL,
	kind          TEXT             NOT NULL,
	alg           TEXT             NOT NULL,
	secret_hash   TEXT             UNIQUE, -- NULL for keys that are not secret keys
	secret_sealed TEXT             NOT NULL,
	public_key    TEXT             NOT NULL,
	expires_at    BIGINT,
	revoked_at    BIGINT,
	created_at    BIGINT           NOT NULL
);
CREATE INDEX api_keys_app ON api_keys (app_id, id);

CREATE TABLE nonces (
	app_id     TEXT COLLATE "C" NOT NULL,
	nonce      TEXT             NOT NULL,
	expires_at BIGINT           NOT NULL,
	PRIMARY KEY (app_id, nonce)
);
CREATE INDEX nonces_expires ON nonces (expires_at);

CREATE TABLE idempotency_keys (
	app_id       TEXT COLLATE "C" NOT NULL,
	idem_key     TEXT             NOT NULL,
	request_hash TEXT             NOT NULL,
	status       INTEGER          NOT NULL, -- 0 while the first request is in flight
	body         BYTEA,
	created_at   BIGINT           NOT NULL,
	locked_at    BIGINT           NOT NULL,
	PRIMARY KEY (app_id, idem_key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

CREATE TABLE orders (
	id               TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	merchant_id      TEXT COLLATE "C" NOT NULL,
	app_id           TEXT COLLATE "C" NOT NULL REFERENCES apps (id),
	livemode         BOOLEAN          NOT NULL,
	out_trade_no     TEXT             NOT NULL,
	amount           BIGINT           NOT NULL,
	currency         TEXT             NOT NULL,
	subject          TEXT             NOT NULL,
	description      TEXT             NOT NULL,
	method           TEXT             NOT NULL,
	status           TEXT             NOT NULL,
	channel          TEXT             NOT NULL,
	channel_trade_no TEXT             NOT NULL,
	amount_refunded  BIGINT           NOT NULL,
	next_action      TEXT,
	failure_code     TEXT             NOT NULL,
	failure_message  TEXT             NOT NULL,
	risk             TEXT,
	metadata         TEXT             NOT NULL,
	payer            TEXT             NOT NULL,
	notify_url       TEXT             NOT NULL,
	return_url       TEXT             NOT NULL,
	request_hash     TEXT             NOT NULL,
	created_at       BIGINT           NOT NULL,
	updated_at       BIGINT           NOT NULL,
	expires_at       BIGINT           NOT NULL,
	paid_at          BIGINT,
	closed_at        BIGINT,
	UNIQUE (app_id, out_trade_no),
	CHECK (amount_refunded >= 0 AND amount_refunded <= amount)
);
CREATE INDEX orders_merchant ON orders (merchant_id, livemode, id);
CREATE INDEX orders_status_expires ON orders (status, expires_at);
CREATE INDEX orders_status_updated ON orders (status, updated_at);

CREATE TABLE refunds (
	id                TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	order_id          TEXT COLLATE "C" NOT NULL REFERENCES orders (id),
	merchant_id       TEXT COLLATE "C" NOT NULL,
	app_id            TEXT COLLATE "C" NOT NULL,
	livemode          BOOLEAN          NOT NULL,
	out_refund_no     TEXT             NOT NULL,
	amount            BIGINT           NOT NULL,
	currency          TEXT             NOT NULL,
	status            TEXT             NOT NULL,
	channel           TEXT             NOT NULL,
	channel_refund_no TEXT             NOT NULL,
	failure_code      TEXT             NOT NULL,
	failure_message   TEXT             NOT NULL,
	reason            TEXT             NOT NULL,
	notify_url        TEXT             NOT NULL,
	metadata          TEXT             NOT NULL,
	request_hash      TEXT             NOT NULL,
	created_at        BIGINT           NOT NULL,
	updated_at        BIGINT           NOT NULL,
	succeeded_at      BIGINT,
	UNIQUE (app_id, out_refund_no)
);
CREATE INDEX refunds_merchant ON refunds (merchant_id, livemode, id);
CREATE INDEX refunds_order ON refunds (order_id, id);
CREATE INDEX refunds_status_updated ON refunds (status, updated_at);

CREATE TABLE events (
	id          TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	type        TEXT             NOT NULL,
	merchant_id TEXT COLLATE "C" NOT NULL,
	app_id      TEXT COLLATE "C" NOT NULL,
	livemode    BOOLEAN          NOT NULL,
	object_type TEXT             NOT NULL,
	object_id   TEXT COLLATE "C" NOT NULL,
	data        TEXT,
	notify_url  TEXT             NOT NULL,
	created_at  BIGINT           NOT NULL
);
CREATE INDEX events_merchant ON events (merchant_id, livemode, id);
CREATE INDEX events_object ON events (object_id, id);

CREATE TABLE ledger_entries (
	id         TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	kind       TEXT             NOT NULL,
	ref_id     TEXT COLLATE "C" NOT NULL,
	created_at BIGINT           NOT NULL,
	UNIQUE (kind, ref_id)
);
CREATE INDEX ledger_entries_ref ON ledger_entries (ref_id);

CREATE TABLE ledger_lines (
	entry_id TEXT COLLATE "C" NOT NULL REFERENCES ledger_entries (id),
	line_no  INTEGER          NOT NULL,
	account  TEXT COLLATE "C" NOT NULL,
	currency TEXT             NOT NULL,
	amount   BIGINT           NOT NULL,
	PRIMARY KEY (entry_id, line_no)
);
CREATE INDEX ledger_lines_account ON ledger_lines (account, currency);

-- account_balances keeps each account's balance in a few shard rows, chosen
-- at random per line, so a hot account is not one row every payment locks.
-- An account's balance is the sum of its shards.
CREATE TABLE account_balances (
	account  TEXT COLLATE "C" NOT NULL,
	currency TEXT             NOT NULL,
	shard    INTEGER          NOT NULL,
	amount   BIGINT           NOT NULL,
	PRIMARY KEY (account, currency, shard)
);
