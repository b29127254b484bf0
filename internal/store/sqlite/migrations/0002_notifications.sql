-- Notifications: webhook endpoints, deliveries and their attempts. Keep in
-- step with the PostgreSQL migration of the same number.
--
-- A delivery is one event owed to one target (the object's notify_url, or a
-- webhook endpoint); it is inserted in the transaction of its event.
-- Workers claim pending, due deliveries with a lease (lease_token,
-- lease_until); deliveries_due holds only pending rows, so it stays small
-- however many deliveries are done, and a claim reads it in due order.
-- Queries spell the status of the partial indexes as a literal
-- (status = 'pending'), so the planner can tell the index applies.

CREATE TABLE webhook_endpoints (
	id                         TEXT    NOT NULL PRIMARY KEY,
	merchant_id                TEXT    NOT NULL,
	app_id                     TEXT    NOT NULL REFERENCES apps (id),
	livemode                   INTEGER NOT NULL,
	url                        TEXT    NOT NULL,
	description                TEXT    NOT NULL,
	enabled_events             TEXT    NOT NULL, -- JSON array of event types, or ["*"]
	disabled                   INTEGER NOT NULL,
	secret_sealed              TEXT    NOT NULL,
	previous_secret_sealed     TEXT    NOT NULL,
	previous_secret_expires_at INTEGER,
	created_at                 INTEGER NOT NULL,
	updated_at                 INTEGER NOT NULL
);
CREATE INDEX webhook_endpoints_app ON webhook_endpoints (app_id, id);

CREATE TABLE deliveries (
	id              TEXT    NOT NULL PRIMARY KEY,
	event_id        TEXT    NOT NULL REFERENCES events (id),
	merchant_id     TEXT    NOT NULL,
	app_id          TEXT    NOT NULL,
	livemode        INTEGER NOT NULL,
	endpoint_id     TEXT, -- NULL for the object's notify_url; the endpoint may since be deleted
	url             TEXT    NOT NULL,
	status          TEXT    NOT NULL,
	attempts        INTEGER NOT NULL,
	next_attempt_at INTEGER NOT NULL,
	lease_token     TEXT,
	lease_until     INTEGER,
	last_error      TEXT    NOT NULL,
	created_at      INTEGER NOT NULL,
	updated_at      INTEGER NOT NULL
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at, id) WHERE status = 'pending';
CREATE INDEX deliveries_event ON deliveries (event_id, status);
CREATE INDEX deliveries_endpoint_pending ON deliveries (endpoint_id) WHERE status = 'pending';

CREATE TABLE delivery_attempts (
	id            TEXT    NOT NULL PRIMARY KEY,
	delivery_id   TEXT    NOT NULL REFERENCES deliveries (id),
	event_id      TEXT    NOT NULL,
	endpoint_id   TEXT, -- NULL for the object's notify_url
	url           TEXT    NOT NULL,
	attempted_at  INTEGER NOT NULL,
	status_code   INTEGER NOT NULL, -- 0 when there was no response
	latency_us    INTEGER NOT NULL,
	error         TEXT    NOT NULL,
	response_body BLOB    NOT NULL  -- the first bytes, as received (not always UTF-8)
);
CREATE INDEX delivery_attempts_event ON delivery_attempts (event_id, attempted_at);
