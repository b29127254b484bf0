-- What an earlier version kept in a form a copy of the database could use.
-- Keep in step with the other driver's migration of the same number.
--
-- An Idempotency-Key record kept its answer in clear (some answers carry
-- secrets shown once: secret keys, signing and webhook secrets) and a bare
-- SHA-256 of the request body (a card order's number and CVC included).
-- Answers are now sealed with the master key and fingerprints keyed by it
-- (they start with "h1:"), which SQL cannot do to the old records: they are
-- deleted. A retry of such a request is then taken as a new one; creates of
-- orders and refunds are still caught by their out_trade_no/out_refund_no.
DELETE FROM idempotency_keys WHERE request_hash NOT LIKE 'h1:%';

-- A card order's request_hash was a bare SHA-256 of its create parameters,
-- the card number and CVC among them: no CVC may influence what is kept
-- after authorisation. It is blanked; a repeat of such an out_trade_no is
-- refused as duplicate_out_trade_no, never taken as another payment.
UPDATE orders SET request_hash = '' WHERE method = 'card' AND request_hash NOT LIKE 'h1:%';
