// Package transfer is transfers (转账 / 付款): a merchant pays money out of
// its available balance to a payee's account at a channel: WeChat Pay's
// merchant transfer, Alipay's alipay.fund.trans.uni.transfer, or in test
// mode the sandbox (channel.Transfers).
//
// # Money
//
// A transfer is created in one transaction that locks the merchant's
// available balance in the transfer's currency (Tx.BalanceForDebit), checks
// it, inserts the transfer as processing, posts its entry (available →
// payout, ledger.TransferStart) and writes transfer.created. Every debit of
// an available account that can run concurrently with it takes the same
// lock first, so two transfers can never both pass the check on the same
// money: 32 concurrent transfers of a balance that covers some of them
// make exactly as many succeed as it covers, on SQLite and PostgreSQL
// (transfer_test.go). A merchant that never held the currency gets 400
// currency_not_held; one whose balance is short, 409 insufficient_balance.
// While processing, the money is the balance's in_transit.
//
// After the transaction commits the channel is asked; its answer finishes
// the transfer in one transaction: succeeded (payout → the external
// paid_out account, ledger.TransferPaid, transfer.succeeded) or failed
// (payout → available, ledger.TransferFailed, transfer.failed). The
// finish is a compare-and-set from processing, so two finishers (the
// request and the worker) post once.
//
// # Unknown outcomes and crashes
//
// A timeout or a lost answer leaves the transfer processing; so does a
// process that dies between the commit and the channel call. The worker
// (Job) takes every processing transfer whose next_query_at has come, asks
// the channel about it (QueryTransfer) and, when the channel never got it,
// sends it again. Channels make a transfer once per our id (WeChat Pay's
// out_bill_no, Alipay's out_biz_no), so a repeat can never pay twice. A try
// that learns nothing backs off (1, 2, 5, 10, 30, then every 60 minutes).
//
// # Idempotency
//
// out_transfer_no is unique per app: a repeat with the same parameters
// returns the transfer (200) — after asking the channel about it, as the
// worker would, when it is still processing — and with others 409
// duplicate_out_transfer_no.
//
// # Limits
//
//   - A transfer goes through the oldest enabled channel account of the
//     destination's provider in its mode whose connector has transfers (in
//     test mode, the sandbox when there is none); there is no routing rule
//     for transfers.
//   - The sandbox, Alipay (alipay.fund.trans.uni.transfer) and WeChat Pay
//     (商家转账到零钱 batches of one; see the connector for its limits)
//     implement channel.Transfers. A live transfer whose provider has no
//     such account is refused with 400 transfers_not_supported before any
//     money moves.
//   - A settlement batch's payout debits the same available account; it
//     takes the same lock and is refused (409 insufficient_available) when
//     transfers have spent the money it settled.
package transfer
