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
