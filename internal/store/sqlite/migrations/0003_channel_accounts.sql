-- Channel accounts, merchants' routes, and what an order keeps of its
-- routing and of its syncs. Keep in step with the PostgreSQL migration of
-- the same number.
--
-- JSON documents are TEXT, as in the other tables: config is an object of
-- strings; secret_names, methods and currencies are arrays of strings;
-- candidates is an array of store.RouteCandidate. sealed_secrets is the
-- cryptobox-sealed JSON object of the account's secrets.

ALTER TABLE orders ADD COLUMN channel_account_id TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN route TEXT; -- the routing decision, NULL until routed
ALTER TABLE orders ADD COLUMN sync_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN next_sync_at INTEGER; -- NULL: a processing order may be synced at once

CREATE TABLE channel_accounts (
	id             TEXT    NOT NULL PRIMARY KEY,
	provider       TEXT    NOT NULL,
	name           TEXT    NOT NULL,
	livemode       INTEGER NOT NULL,
	base_url       TEXT    NOT NULL,
	config         TEXT    NOT NULL,
	sealed_secrets BLOB    NOT NULL,
	secret_names   TEXT    NOT NULL,
	methods        TEXT    NOT NULL,
	currencies     TEXT    NOT NULL,
	fee_bps        INTEGER NOT NULL,
	min_amount     INTEGER NOT NULL,
	max_amount     INTEGER NOT NULL,
	disabled       INTEGER NOT NULL,
	created_at     INTEGER NOT NULL,
	updated_at     INTEGER NOT NULL
);
CREATE INDEX channel_accounts_provider ON channel_accounts (provider, id);

CREATE TABLE routes (
	merchant_id TEXT    NOT NULL REFERENCES merchants (id),
	method      TEXT    NOT NULL,
	livemode    INTEGER NOT NULL,
	strategy    TEXT    NOT NULL,
	candidates  TEXT    NOT NULL,
	created_at  INTEGER NOT NULL,
	updated_at  INTEGER NOT NULL,
	PRIMARY KEY (merchant_id, method, livemode)
);
