-- Money movement (issue 18): transfers and exchange rates.
--
-- Transfers (转账 / 付款): a merchant pays money out of its available
-- balance to a person's wallet (WeChat Pay, Alipay) or, in test mode, to
-- the sandbox. Keep in step with the PostgreSQL migration of the same
-- number.
--
-- A transfer is processing from the moment its money leaves the merchant's
-- available account (the same transaction as its row) until the channel
-- says succeeded or failed; (app_id, out_transfer_no) is the merchant's
-- idempotency key. The worker asks the channel about processing transfers
-- whose next_query_at has come.

CREATE TABLE transfers (
	id                  TEXT    NOT NULL PRIMARY KEY,
	merchant_id         TEXT    NOT NULL REFERENCES merchants (id),
	app_id              TEXT    NOT NULL,
	livemode            INTEGER NOT NULL,
	out_transfer_no     TEXT    NOT NULL,
	amount              INTEGER NOT NULL,
	currency            TEXT    NOT NULL,
	status              TEXT    NOT NULL, -- processing, succeeded, failed
	destination_method  TEXT    NOT NULL, -- sandbox, wechatpay, alipay
	destination_account TEXT    NOT NULL, -- openid, Alipay login id or user id
	destination_name    TEXT    NOT NULL, -- the payee's real name when given, '' otherwise
	description         TEXT    NOT NULL,
	channel             TEXT    NOT NULL,
	channel_account_id  TEXT    NOT NULL,
	channel_transfer_no TEXT    NOT NULL,
	failure_code        TEXT    NOT NULL,
	failure_message     TEXT    NOT NULL,
	request_hash        TEXT    NOT NULL,
	query_attempts      INTEGER NOT NULL,
	next_query_at       INTEGER NOT NULL,
	created_at          INTEGER NOT NULL,
	updated_at          INTEGER NOT NULL,
	finished_at         INTEGER,
	-- A transfer paid in another currency than the balance it is paid from
	-- (a cross-border payout) names its FX quote: source_amount of
	-- source_currency left the available balance for amount of currency.
	fx_quote_id         TEXT    NOT NULL,
	source_amount       INTEGER NOT NULL,
	source_currency     TEXT    NOT NULL,
	UNIQUE (app_id, out_transfer_no)
);
CREATE INDEX transfers_merchant ON transfers (merchant_id, livemode, id);
CREATE INDEX transfers_processing ON transfers (next_query_at) WHERE status = 'processing';

-- Exchange rates (internal/fx): each rate is how many units of quote one
-- unit of base buys (a decimal, kept as text so no float ever holds it),
-- as of a time, from a source (the operator's import, a provider). The
-- rate in force at a time is the latest as_of at or before it.
CREATE TABLE fx_rates (
	id         TEXT    NOT NULL PRIMARY KEY,
	base       TEXT    NOT NULL,
	quote      TEXT    NOT NULL,
	rate       TEXT    NOT NULL,
	source     TEXT    NOT NULL,
	as_of      INTEGER NOT NULL,
	created_at INTEGER NOT NULL,
	UNIQUE (base, quote, as_of, source)
);
CREATE INDEX fx_rates_pair ON fx_rates (base, quote, as_of);

-- A quote locks a conversion for a merchant until expires_at: amount of
-- from_currency converts into to_amount of to_currency at rate less
-- markup_bps (markup_amount, in to_currency, is the platform's).
CREATE TABLE fx_quotes (
	id            TEXT    NOT NULL PRIMARY KEY,
	merchant_id   TEXT    NOT NULL REFERENCES merchants (id),
	livemode      INTEGER NOT NULL,
	from_currency TEXT    NOT NULL,
	to_currency   TEXT    NOT NULL,
	amount        INTEGER NOT NULL,
	to_amount     INTEGER NOT NULL,
	rate          TEXT    NOT NULL,
	markup_bps    INTEGER NOT NULL,
	markup_amount INTEGER NOT NULL,
	rate_id       TEXT    NOT NULL,
	rate_source   TEXT    NOT NULL,
	rate_as_of    INTEGER NOT NULL,
	used_by       TEXT    NOT NULL, -- what the quote paid for (a trf_…), '' while unused
	expires_at    INTEGER NOT NULL,
	created_at    INTEGER NOT NULL
);
CREATE INDEX fx_quotes_merchant ON fx_quotes (merchant_id, livemode, id);
