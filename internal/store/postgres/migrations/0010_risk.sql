-- Risk control (internal/risk): rules, lists, the country tables the
-- operator imports, every evaluated attempt, and each merchant's daily
-- totals. Keep in step with the SQLite migration of the same number.

CREATE TABLE risk_rules (
	id          TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	name        TEXT             NOT NULL,
	description TEXT             NOT NULL,
	owner       TEXT             NOT NULL, -- platform or merchant
	merchant_id TEXT COLLATE "C" NOT NULL, -- '' : every merchant
	app_id      TEXT COLLATE "C" NOT NULL, -- '' : every app
	livemode    BOOLEAN,                   -- NULL: both modes
	expression  TEXT             NOT NULL,
	template    TEXT             NOT NULL,
	params      TEXT,
	action      TEXT             NOT NULL,
	mode        TEXT             NOT NULL,
	priority    INTEGER          NOT NULL,
	applies_to  TEXT             NOT NULL, -- JSON list
	disabled    BOOLEAN          NOT NULL,
	created_at  BIGINT           NOT NULL,
	updated_at  BIGINT           NOT NULL
);
CREATE INDEX risk_rules_merchant ON risk_rules (merchant_id, id);

CREATE TABLE risk_lists (
	id          TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	name        TEXT COLLATE "C" NOT NULL UNIQUE,
	kind        TEXT             NOT NULL,
	description TEXT             NOT NULL,
	created_at  BIGINT           NOT NULL
);

CREATE TABLE risk_list_entries (
	list_id    TEXT COLLATE "C" NOT NULL REFERENCES risk_lists (id) ON DELETE CASCADE,
	value      TEXT COLLATE "C" NOT NULL,
	reason     TEXT             NOT NULL,
	expires_at BIGINT,
	created_at BIGINT           NOT NULL,
	PRIMARY KEY (list_id, value)
);

-- Range tables: IP addresses (16 bytes in hex) or card BINs to countries.
CREATE TABLE risk_ranges (
	kind      TEXT COLLATE "C" NOT NULL,
	start_key TEXT COLLATE "C" NOT NULL,
	end_key   TEXT COLLATE "C" NOT NULL,
	country   TEXT             NOT NULL,
	PRIMARY KEY (kind, start_key)
);

-- One row: bumped by every change of rules, lists or tables, so nodes know
-- when to reload them.
CREATE TABLE risk_version (
	id      INTEGER NOT NULL PRIMARY KEY,
	version BIGINT  NOT NULL
);
INSERT INTO risk_version (id, version) VALUES (1, 1);

-- Every evaluated payment (allowed, sent to review or blocked) and every
-- refused refund. The counters group by its keys; a key the payment did not
-- give is NULL, so the partial indexes leave it out.
CREATE TABLE risk_attempts (
	id           TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	kind         TEXT             NOT NULL,
	merchant_id  TEXT COLLATE "C" NOT NULL,
	app_id       TEXT COLLATE "C" NOT NULL,
	livemode     BOOLEAN          NOT NULL,
	order_id     TEXT COLLATE "C" NOT NULL,
	out_trade_no TEXT             NOT NULL,
	payer_id     TEXT COLLATE "C",
	ip           TEXT COLLATE "C",
	device_id    TEXT COLLATE "C",
	card_fp      TEXT COLLATE "C",
	country      TEXT,
	amount       BIGINT           NOT NULL,
	currency     TEXT             NOT NULL,
	decision     TEXT             NOT NULL,
	score        INTEGER          NOT NULL,
	rules        TEXT             NOT NULL,
	context      TEXT             NOT NULL,
	created_at   BIGINT           NOT NULL
);
CREATE INDEX risk_attempts_payer ON risk_attempts (merchant_id, payer_id, created_at) WHERE payer_id IS NOT NULL;
CREATE INDEX risk_attempts_ip ON risk_attempts (ip, created_at) WHERE ip IS NOT NULL;
CREATE INDEX risk_attempts_device ON risk_attempts (device_id, created_at) WHERE device_id IS NOT NULL;
CREATE INDEX risk_attempts_card ON risk_attempts (card_fp, created_at) WHERE card_fp IS NOT NULL;
CREATE INDEX risk_attempts_order ON risk_attempts (order_id);
CREATE INDEX risk_attempts_created ON risk_attempts (created_at);

-- Each merchant's total of the day (in its zone) per currency, in a few
-- shards so that concurrent payments do not all wait on one row.
CREATE TABLE risk_merchant_days (
	merchant_id TEXT COLLATE "C" NOT NULL,
	livemode    BOOLEAN          NOT NULL,
	day         TEXT             NOT NULL,
	currency    TEXT             NOT NULL,
	shard       INTEGER          NOT NULL,
	amount      BIGINT           NOT NULL,
	count       BIGINT           NOT NULL,
	PRIMARY KEY (merchant_id, livemode, day, currency, shard)
);

-- The review queue lists orders in requires_review of every merchant.
CREATE INDEX orders_review ON orders (id) WHERE status = 'requires_review';
