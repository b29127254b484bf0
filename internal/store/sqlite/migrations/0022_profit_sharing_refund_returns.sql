-- Returns a refund asks for itself (分账回退 on refund, issue 18). Keep in
-- step with the PostgreSQL migration of the same number.
--
-- A refund of a shared order whose cost exceeds the order's held money
-- takes the receivers' shares back in its own transaction: each such
-- return names its refund ('' for a return the merchant asked for with
-- POST /v1/profit-sharing/returns).
ALTER TABLE profit_sharing_returns ADD COLUMN refund_id TEXT NOT NULL DEFAULT '';
CREATE INDEX profit_sharing_returns_refund ON profit_sharing_returns (refund_id) WHERE refund_id <> '';

-- A return from an account holder at a channel (WeChat Pay's
-- return-orders, the sandbox) is processing until the channel answers;
-- the refund that asked for it waits. Returns of merchant receivers are
-- succeeded at once.
ALTER TABLE profit_sharing_returns ADD COLUMN status TEXT NOT NULL DEFAULT 'succeeded';
ALTER TABLE profit_sharing_returns ADD COLUMN channel_account_id TEXT NOT NULL DEFAULT '';
ALTER TABLE profit_sharing_returns ADD COLUMN channel_return_no TEXT NOT NULL DEFAULT '';
ALTER TABLE profit_sharing_returns ADD COLUMN failure_code TEXT NOT NULL DEFAULT '';
ALTER TABLE profit_sharing_returns ADD COLUMN failure_message TEXT NOT NULL DEFAULT '';
