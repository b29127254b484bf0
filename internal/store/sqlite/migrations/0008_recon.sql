-- Reconciliation (对账): runs per channel account and bill day, and the
-- discrepancies they find for people. Keep in step with the PostgreSQL
-- migration of the same number.
--
-- recon_runs is one row per (channel account, bill day): a run that is
-- started again resumes or reruns the same row. cursor is how many bill
-- lines of the current pass are applied; it moves in the transaction that
-- applies them (with their reconciled rows, ledger entry and tallies), so a
-- run killed mid-way resumes after the last committed chunk.
-- recon_discrepancies is one row per finding a person must look at;
-- dedupe_key keeps a rerun from finding the same thing twice.
-- recon_settings holds a merchant's choice for late payments (a payment
-- found at the channel for an order the gateway had closed).

CREATE TABLE recon_runs (
	id                 TEXT    NOT NULL PRIMARY KEY,
	channel_account_id TEXT    NOT NULL,
	provider           TEXT    NOT NULL,
	livemode           INTEGER NOT NULL,
	bill_date          TEXT    NOT NULL,
	status             TEXT    NOT NULL, -- running, completed, failed
	phase              TEXT    NOT NULL, -- match, repair, sweep, done
	pass               INTEGER NOT NULL, -- 1 for the first run of the day, +1 per rerun
	source             TEXT    NOT NULL, -- download or upload
	bill_format        TEXT    NOT NULL,
	bill_sha256        TEXT    NOT NULL,
	cursor_line        INTEGER NOT NULL,
	tallies            TEXT    NOT NULL, -- JSON: class -> {count, amount, fee}
	error              TEXT    NOT NULL,
	started_by         TEXT    NOT NULL,
	created_at         INTEGER NOT NULL,
	updated_at         INTEGER NOT NULL,
	completed_at       INTEGER,
	UNIQUE (channel_account_id, bill_date)
);
CREATE INDEX recon_runs_day ON recon_runs (bill_date, id);

CREATE TABLE recon_discrepancies (
	id                 TEXT    NOT NULL PRIMARY KEY,
	run_id             TEXT    NOT NULL,
	channel_account_id TEXT    NOT NULL,
	livemode           INTEGER NOT NULL,
	bill_date          TEXT    NOT NULL,
	class              TEXT    NOT NULL,
	ref_kind           TEXT    NOT NULL, -- payment or refund
	ref_id             TEXT    NOT NULL, -- ord_… or rfd_…, '' when the gateway has none
	merchant_id        TEXT    NOT NULL,
	channel_trade_no   TEXT    NOT NULL,
	channel_refund_no  TEXT    NOT NULL,
	line_no            INTEGER NOT NULL, -- 0 when not from a bill line (gateway_only)
	bill_amount        INTEGER NOT NULL,
	bill_fee           INTEGER NOT NULL,
	gateway_amount     INTEGER NOT NULL,
	currency           TEXT    NOT NULL,
	detail             TEXT    NOT NULL,
	status             TEXT    NOT NULL, -- open, repaired, resolved
	action             TEXT    NOT NULL, -- repaired: what the run did; resolved: write_off, adjust, explained
	note               TEXT    NOT NULL,
	resolved_by        TEXT    NOT NULL,
	resolved_at        INTEGER,
	dedupe_key         TEXT    NOT NULL UNIQUE,
	created_at         INTEGER NOT NULL,
	updated_at         INTEGER NOT NULL
);
CREATE INDEX recon_discrepancies_run ON recon_discrepancies (run_id, id);
CREATE INDEX recon_discrepancies_status ON recon_discrepancies (status, id);
CREATE INDEX recon_discrepancies_ref ON recon_discrepancies (ref_id);

CREATE TABLE recon_settings (
	merchant_id  TEXT    NOT NULL PRIMARY KEY,
	late_payment TEXT    NOT NULL, -- refund (the default) or keep
	updated_at   INTEGER NOT NULL
);

-- The sweep for gateway_only finds an account's succeeded payments and
-- refunds of a day.
CREATE INDEX orders_recon ON orders (channel_account_id, paid_at) WHERE status = 'succeeded';
CREATE INDEX refunds_recon ON refunds (succeeded_at) WHERE status = 'succeeded';
