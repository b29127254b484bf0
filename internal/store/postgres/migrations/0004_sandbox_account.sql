-- The sandbox became a channel account like the others: the gateway keeps a
-- test-mode sandbox account with a fixed id (channelaccount.SandboxAccountID)
-- and creates it at start. Orders the built-in sandbox served before point at
-- it, so their queries, closes and refunds take the one path through their
-- channel account.
UPDATE orders SET channel_account_id = 'cha_00000000000000000000sandbx'
	WHERE channel = 'sandbox' AND channel_account_id = '';
