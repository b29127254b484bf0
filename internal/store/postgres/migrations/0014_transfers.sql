-- Transfers (转账 / 付款): a merchant pays money out of its available
-- balance to a person's wallet (WeChat Pay, Alipay) or, in test mode, to
-- the sandbox. Keep in step with the SQLite migration of the same
-- number.
--
-- A transfer is processing from the moment its money leaves the merchant's
-- available account (the same transaction as its row) until the channel
-- says succeeded or failed; (app_id, out_transfer_no) is the merchant's
-- idempotency key. The worker asks the channel about processing transfers
-- whose next_query_at has come.

CREATE TABLE transfers (
	id                  TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	merchant_id         TEXT COLLATE "C" NOT NULL REFERENCES merchants (id),
	app_id              TEXT COLLATE "C" NOT NULL,
	livemode            BOOLEAN NOT NULL,
	out_transfer_no     TEXT    NOT NULL,
	amount              BIGINT  NOT NULL,
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
	next_query_at       BIGINT  NOT NULL,
	created_at          BIGINT  NOT NULL,
	updated_at          BIGINT  NOT NULL,
	finished_at         BIGINT,
	UNIQUE (app_id, out_transfer_no)
);
CREATE INDEX transfers_merchant ON transfers (merchant_id, livemode, id);
CREATE INDEX transfers_processing ON transfers (next_query_at) WHERE status = 'processing';
