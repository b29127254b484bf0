-- The web console (/console): its users and their sessions, and the indexes
-- its search box and pages need. Keep in step with the PostgreSQL migration of
-- the same number.
--
-- console_users are operators (merchant_id '') and merchants' users; a
-- user invited but not yet signed up has an invite_hash and no password.
-- console_sessions keeps only the SHA-256 of each cookie's token.

CREATE TABLE console_users (
	id                TEXT NOT NULL PRIMARY KEY,
	kind              TEXT NOT NULL,
	merchant_id       TEXT NOT NULL,
	email             TEXT NOT NULL UNIQUE,
	name              TEXT NOT NULL,
	role              TEXT NOT NULL,
	password_hash     TEXT NOT NULL,
	totp_sealed       TEXT NOT NULL,
	invite_hash       TEXT,
	invite_expires_at INTEGER,
	disabled          INTEGER NOT NULL,
	created_at        INTEGER NOT NULL,
	updated_at        INTEGER NOT NULL
);
CREATE UNIQUE INDEX console_users_invite ON console_users (invite_hash) WHERE invite_hash IS NOT NULL;
CREATE INDEX console_users_merchant ON console_users (kind, merchant_id, id);

CREATE TABLE console_sessions (
	id         TEXT NOT NULL PRIMARY KEY,
	user_id    TEXT NOT NULL REFERENCES console_users (id),
	csrf       TEXT NOT NULL,
	livemode   INTEGER NOT NULL,
	created_at INTEGER NOT NULL,
	seen_at    INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	revoked_at INTEGER
);
CREATE INDEX console_sessions_user ON console_sessions (user_id) WHERE revoked_at IS NULL;

-- The search box: any merchant's reference, the channel's trade number, the payer.
CREATE INDEX orders_out_trade_no ON orders (out_trade_no);
CREATE INDEX orders_channel_trade_no ON orders (channel_trade_no) WHERE channel_trade_no <> '';
CREATE INDEX orders_payer_id ON orders (json_extract(payer, '$.id'));
CREATE INDEX refunds_out_refund_no ON refunds (out_refund_no);
CREATE INDEX refunds_channel_refund_no ON refunds (channel_refund_no) WHERE channel_refund_no <> '';
-- The webhooks page: recent failures.
CREATE INDEX deliveries_failed ON deliveries (updated_at) WHERE status = 'failed';

-- The overview's charts: per UTC day (unix day number), merchant, mode,
-- method, channel account and currency, the orders created that day, how
-- many succeeded and their amount, rolled up by the console's job once the
-- day is over (console_rollup_days lists the days done, empty ones too), so
-- the overview reads a few rows per day instead of every order.
CREATE TABLE console_daily_stats (
	day                INTEGER NOT NULL,
	merchant_id        TEXT NOT NULL,
	livemode           INTEGER NOT NULL,
	method             TEXT    NOT NULL,
	channel_account_id TEXT    NOT NULL,
	currency           TEXT    NOT NULL,
	orders             INTEGER NOT NULL,
	succeeded          INTEGER NOT NULL,
	amount             INTEGER NOT NULL,
	PRIMARY KEY (livemode, day, merchant_id, method, channel_account_id, currency)
);
CREATE TABLE console_rollup_days (
	day       INTEGER NOT NULL PRIMARY KEY,
	rolled_at INTEGER NOT NULL
);
