-- The seam between reconciliation and settlement: one row per gateway
-- transaction (a succeeded payment or refund) that reconciliation proved
-- against its channel's bill (matched) or that a person resolved. Settlement
-- settles only transactions that have a row here. Reconciliation owns the
-- table and writes it in the transaction of the match or the resolution;
-- settlement only reads it. Keep in step with the SQLite migration of the same
-- number.

CREATE TABLE reconciled (
	ref_id             TEXT COLLATE "C" NOT NULL PRIMARY KEY, -- ord_… or rfd_…
	ref_kind           TEXT NOT NULL,               -- payment or refund
	channel_account_id TEXT COLLATE "C" NOT NULL,
	bill_date          TEXT NOT NULL,               -- the channel's day, YYYY-MM-DD
	channel_fee        BIGINT NOT NULL,                 -- minor units the channel kept (negative: returned)
	currency           TEXT NOT NULL,
	how                TEXT NOT NULL,               -- matched or resolved
	run_id             TEXT NOT NULL,               -- rcn_… that proved it
	reconciled_at      BIGINT NOT NULL
);
CREATE INDEX reconciled_account_day ON reconciled (channel_account_id, bill_date);
