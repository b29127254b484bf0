-- Orders in another currency than the merchant's settlement currency, and
-- instalments (issue 18). Keep in step with the SQLite migration of the
-- same number.
--
-- An order paid at an FX quote's locked rate (fx_quote_id, a fxq_… whose
-- used_by is the order) credits the merchant settle_amount of
-- settle_currency: the quote's to_amount and to. A refund of such an order
-- converts at the same rate and records its share the same way. NULL
-- (every order before this migration, and every order without a quote)
-- means the order's own amount and currency: no backfill is needed, and
-- the settlement queries read COALESCE(settle_currency, currency).
--
-- installments is the instalment plan the order asked for (JSON: count,
-- fee_payer, fee_rate_bps, fee), NULL when none.
ALTER TABLE orders ADD COLUMN fx_quote_id TEXT;
ALTER TABLE orders ADD COLUMN settle_currency TEXT;
ALTER TABLE orders ADD COLUMN settle_amount BIGINT;
ALTER TABLE orders ADD COLUMN installments TEXT;
ALTER TABLE refunds ADD COLUMN settle_currency TEXT;
ALTER TABLE refunds ADD COLUMN settle_amount BIGINT;

-- A batch in another currency than the merchant's settlement currency
-- converts its net into it at the day's rate when it settles (no quote):
-- fx_currency, fx_net (what reaches available), the mid rate, the rate's
-- id and the platform's markup (in fx_currency). NULL when not converted.
ALTER TABLE settlements ADD COLUMN fx_currency TEXT;
ALTER TABLE settlements ADD COLUMN fx_net BIGINT;
ALTER TABLE settlements ADD COLUMN fx_rate TEXT;
ALTER TABLE settlements ADD COLUMN fx_rate_id TEXT;
ALTER TABLE settlements ADD COLUMN fx_markup BIGINT;

-- What a quote paid for is found by its used_by.
CREATE INDEX fx_quotes_used_by ON fx_quotes (used_by) WHERE used_by <> '';
