// Package recon is reconciliation (对账): the business layer that checks
// each channel account's daily bill against the gateway's payments and
// refunds, repairs what the channel proves, records what it cannot for
// people, and writes the reconciled table that settlement
// (internal/settlement) reads to decide what may settle.
//
// # Runs
//
// A run reconciles one channel account's day (the channel's day, China
// Standard Time by default: Service.Location). Its bill is downloaded by
// the account's connector, or uploaded by an operator in the channel's own
// format (WeChat Pay's trade bill CSV, Alipay's zip with its GBK 业务明细
// CSV, UnionPay's zip of ACP files), and read as a stream: the connectors'
// Scan functions (wechatpay.ScanTradeBill, alipay.ScanBill,
// unionpay.ScanBill) call back once per line and hold one line at a time.
//
// The whole bill is read once before anything is applied (check): a
// malformed or truncated file, a WeChat Pay bill that is not UTF-8, an
// Alipay CSV that is not GBK, a bill none of whose lines is of the day, or
// a bill whose transactions are another channel account's is refused with
// a 400 (bill_invalid) and leaves nothing behind.
//
// Then the run goes through its phases, each recorded on the run's row
// (recon_runs) so that a run killed at any point resumes where it was:
//
//   - match: the bill is streamed again and applied a chunk of lines
//     (Service.Chunk, default 5000) per transaction. A chunk's lines are
//     looked up with a few IN queries (by the gateway's order and refund
//     ids, which the channels carry as out_trade_no and out_refund_no),
//     classified, and in the same transaction the matched ones get their
//     reconciled rows and one ledger entry, the others their
//     discrepancies, and the run its cursor and tallies. A resumed run
//     skips the lines before its cursor (remembering them for duplicates).
//   - repair: for open channel_only and status_mismatch lines whose
//     transaction the gateway has, the channel is asked again through the
//     payment service (payment.Service.RecheckOrder, RecheckRefund): the
//     same query, compare-and-set, postings and order.succeeded or
//     refund.succeeded events as a callback. A payment found for an order
//     the gateway had closed (a lost callback, then expiry: 长款) is
//     refunded at once, unless the merchant's late_payment setting is keep.
//     The line is then judged again: matched, it is reconciled and its
//     discrepancy closed as repaired.
//   - sweep: the account's succeeded payments and refunds of the day that
//     no line named and no discrepancy names become gateway_only (短款).
//   - done: the run is completed, with the events
//     reconciliation.completed and, when discrepancies are open,
//     reconciliation.discrepancy_found (operator events: no merchant
//     receives them).
//
// # Classes
//
// Each line ends in one class: matched; amount_mismatch (amount or
// currency differ); status_mismatch (the gateway has the payment pending
// or processing, or the refund pending or failed, or the line's channel
// trade number is not the one the gateway recorded); fee_mismatch (the
// channel's fee differs from the account's fee_bps, rounded half up; a
// refund's returned fee may be a fen off); channel_only (no such
// transaction at the gateway, another account's, or a payment the gateway
// closed or failed); duplicate (the bill lists the transaction twice, or
// an earlier day's bill proved it); other_day (the line's time is not of
// the bill's day). gateway_only is the class of what the bill lacks.
//
// # Ledger
//
// Matched money moves from the channel's receivable
// (channel:<cha>:<mode>:receivable) to its settled cash
// (channel:<cha>:<mode>:settled) net of the channel's fee, which goes to
// platform:<mode>:channel_fees: one entry (kind reconciliation) per chunk,
// per repaired line, so the receivable shows at any time what each channel
// still owes. Each transaction is reconciled once (the reconciled table's
// key), so reruns never post twice.
//
// # Discrepancies
//
// A discrepancy is open until the run repairs it or a person resolves it
// (Resolve) with an action, a note and a name: write_off or adjust book
// an entry (kind recon_resolution) that closes the transaction's
// receivable against what the bill says and puts the difference in
// platform:<mode>:recon_write_offs or recon_adjustments, and reconcile the
// transaction (how = resolved) so that it settles; explained does the
// same when nothing differs and is refused otherwise. Duplicate and
// other-day lines, and transactions that did not succeed, book nothing.
//
// # Nodes and scheduling
//
// A run holds the lease "recon:<account>:<day>", renewed once a third of
// it has passed; a second node gets reconciliation_in_progress. The job (Job,
// run by internal/jobs every 10 minutes) reconciles each enabled account's
// last three days once their bill is due: the end of the day plus
// BillReady for the provider (default 10:00 the next day).
//
// # Limits
//
//   - Lines are found by the gateway's ids (the channels' out_trade_no and
//     out_refund_no) and checked against the channel trade number the
//     gateway recorded; a line without the gateway's ids (a trade not made
//     through the gateway) is channel_only: there is no lookup by channel
//     trade number alone (orders have no index on it).
//   - A run is one row per account and day: a rerun (a new pass) recounts
//     the day but the discrepancies of the first pass stay, deduplicated.
//   - A transaction that succeeded near midnight may be billed on the next
//     day: it is gateway_only on its own day, and that discrepancy is
//     closed as repaired when the next day's bill matches it.
//   - A downloaded bill is held in memory by the connector (as it always
//     was, up to 64 MiB); uploaded files are streamed from disk.
//   - Channel-only lines of closed orders the channel does not confirm
//     and failed refunds the channel says succeeded stay open for people:
//     no automatic action moves money the gateway cannot account for.
package recon
