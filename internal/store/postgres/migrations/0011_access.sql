-- The access layer (internal/api limits, audit and OAuth): operators' rate
-- limits per app, the hash-chained audit log, OAuth clients and the tokens
-- they are issued. Keep in step with the SQLite migration of the same
-- number.

CREATE TABLE rate_limits (
	app_id     TEXT    NOT NULL,
	class      TEXT    NOT NULL, -- create, read, refund, admin
	rate       TEXT    NOT NULL, -- COUNT/PERIOD, or unlimited
	updated_at BIGINT NOT NULL,
	PRIMARY KEY (app_id, class)
);

CREATE TABLE audit_events (
	seq         BIGINT  NOT NULL PRIMARY KEY, -- 1, 2, … in chain order
	id          TEXT    NOT NULL UNIQUE,
	created_at  BIGINT NOT NULL,
	actor_type  TEXT    NOT NULL, -- operator, app, oauth_client, system
	actor_id    TEXT    NOT NULL,
	action      TEXT    NOT NULL,
	object_type TEXT    NOT NULL,
	object_id   TEXT    NOT NULL,
	merchant_id TEXT    NOT NULL,
	before_json TEXT,
	after_json  TEXT,
	source_ip   TEXT    NOT NULL,
	request_id  TEXT    NOT NULL,
	prev_hash   TEXT    NOT NULL,
	hash        TEXT    NOT NULL
);
CREATE INDEX audit_events_object ON audit_events (object_id, seq);
CREATE INDEX audit_events_created ON audit_events (created_at, seq);

CREATE TABLE oauth_clients (
	id          TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	name        TEXT    NOT NULL,
	secret_hash TEXT    NOT NULL,
	public_key  TEXT    NOT NULL, -- PEM for private_key_jwt, or ''
	merchants   TEXT    NOT NULL, -- JSON list of merchant ids
	apps        TEXT    NOT NULL, -- JSON list of app ids
	scopes      TEXT    NOT NULL, -- JSON list
	created_at  BIGINT NOT NULL,
	revoked_at  BIGINT
);

CREATE TABLE oauth_tokens (
	token_hash TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	id         TEXT    NOT NULL UNIQUE,
	client_id  TEXT    NOT NULL REFERENCES oauth_clients (id),
	scopes     TEXT    NOT NULL, -- JSON list
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	revoked_at BIGINT
);
CREATE INDEX oauth_tokens_expires ON oauth_tokens (expires_at);
