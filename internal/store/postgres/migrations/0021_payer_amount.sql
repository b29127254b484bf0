-- What the payer paid when the channel converted the order's currency (a
-- cross-border trade: WeChat Pay Global's payer_total/payer_currency and
-- exchange_rate.rate, Alipay's buyer_pay_amount/pay_currency and
-- trans_pay_rate), and what went back to the payer on a refund. Keep in
-- step with the SQLite migration of the same number.
--
-- payer_amount is in minor units of payer_currency; exchange_rate is the
-- channel's rate as a decimal string (units of payer_currency per unit of
-- the order's currency). 0 and '' (every order and refund before this
-- migration, and every one the channel did not convert) mean unknown: no
-- backfill is needed.
ALTER TABLE orders ADD COLUMN payer_amount BIGINT NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN payer_currency TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN exchange_rate TEXT NOT NULL DEFAULT '';
ALTER TABLE refunds ADD COLUMN payer_amount BIGINT NOT NULL DEFAULT 0;
ALTER TABLE refunds ADD COLUMN payer_currency TEXT NOT NULL DEFAULT '';
