-- Channel accounts, merchants' routes, and what an order keeps of its
-- routing and of its syncs. Keep in step with the SQLite migration of the
-- same number.
--
-- JSON documents are TEXT, as in the other tables: config is an object of
-- strings; secret_names, methods and currencies are arrays of strings;
-- candidates is an array of store.RouteCandidate. sealed_secrets is the
-- cryptobox-sealed JSON object of the account's secrets.

ALTER TABLE orders ADD COLUMN channel_account_id TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN route TEXT; -- the routing decision, NULL until routed
ALTER TABLE orders ADD COLUMN sync_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN next_sync_at BIGINT; -- NULL: a processing order may be synced at once

CREATE TABLE channel_accounts (
	id             TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	provider       TEXT COLLATE "C" NOT NULL,
	name           TEXT             NOT NULL,
	livemode       BOOLEAN          NOT NULL,
	base_url       TEXT             NOT NULL,
	config         TEXT             NOT NULL,
	sealed_secrets BYTEA            NOT NULL,
	secret_names   TEXT             NOT NULL,
	methods        TEXT             NOT NULL,
	currencies     TEXT             NOT NULL,
	fee_bps        INTEGER          NOT NULL,
	min_amount     BIGINT           NOT NULL,
	max_amount     BIGINT           NOT NULL,
	disabled       BOOLEAN          NOT NULL,
	created_at     BIGINT           NOT NULL,
	updated_at     BIGINT           NOT NULL
);
CREATE INDEX channel_accounts_provider ON channel_accounts (provider, id);

CREATE TABLE routes (
	merchant_id TEXT COLLATE "C" NOT NULL REFERENCES merchants (id),
	method      TEXT COLLATE "C" NOT NULL,
	livemode    BOOLEAN          NOT NULL,
	strategy    TEXT             NOT NULL,
	candidates  TEXT             NOT NULL,
	created_at  BIGINT           NOT NULL,
	updated_at  BIGINT           NOT NULL,
	PRIMARY KEY (merchant_id, method, livemode)
);
