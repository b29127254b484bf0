// Package settlement is settlement (结算): the business layer that moves a
// merchant's money from pending (paid by payers) to available (settled)
// and out to the merchant's bank, the merchant's fees, and the statements
// merchants download. Reconciliation (internal/recon) decides what may
// settle: it writes a row in the reconciled table for each payment and
// refund it proved against the channel's bill (how = matched) or that a
// person resolved (how = resolved); settlement only reads that table.
//
// # Fees
//
// FeeSchedule is the one place a payment's fee is computed: payment calls
// it when an order succeeds, and the fee goes into the payment's ledger
// entry (the platform's fee account). A merchant's fee is its fee_rate_bps
// (basis points, rounded half up), or the rate of its rule for the
// payment's method, plus a fixed fee per payment (the merchant's default
// or its method rule's), never more than the payment. Fixed fees are in
// minor units of the merchant's settlement currency and apply to payments
// in that currency only. The platform's margin on a settled transaction is
// its fee less what the channel kept: reconciliation's channel_fee, or, for
// a payment a person resolved with no fee known (0), the fee_bps of its
// channel account as an estimate. The operator's view of a settlement shows
// both (channel_fees, margin); merchants see their fees only.
//
// A refund's fee follows the platform's refund_fee_policy: keep (the
// default, as Stripe: the platform keeps the whole fee, the refund takes
// its full amount from the merchant) or pro_rata (as WeChat Pay: the
// refund returns fee × refund ÷ payment, rounded down, from the platform's
// fee account). The share is taken from the payment's ledger entry, so a
// fee schedule changed since does not matter.
//
// # Batches
//
// A merchant's day is a day in its own time zone. Day T of a merchant
// with settle_days N (default 1) is due on T+N once SettleAt (default
// 12:00, in the merchant's time zone, late enough for the channels' bills
// of T to be reconciled) has passed; the settlement job (Job, run by
// internal/jobs) settles every due day, and an operator can settle a day
// at once (Run: POST /admin/v1/settlements/run, paygate settle run).
// Each merchant's day runs under the lease "settle:<merchant>:<day>", so
// one node settles it, and makes one batch (stl_…) per mode and currency
// with something to settle. A batch has a line for each payment and refund
// that succeeded before the end of T, is reconciled, and is not settled
// yet (lines are unique per transaction, so nothing settles twice); what
// is not reconciled waits for a later batch, and the batch says so
// (waiting: counts and amounts, reason not_reconciled). Its totals are
// gross (payments), refunds, fees (the payments' fees less fees returned
// with refunds), adjustments (negative nets carried forward), the reserve
// it holds and the reserves it releases, and net, which is what its lines
// sum to. A merchant's days are settled in order; a merchant never
// settled before starts with the due day, whose batch then takes
// everything before it.
//
// A batch that nets more than zero is pending: its money moves from the
// merchant's pending account to available (ledger.Settlement). One that
// nets zero or less is carried_forward: nothing is paid, its transactions
// stay in pending, and a negative net becomes a carry_forward line of the
// merchant's next batch in that mode and currency. A rolling reserve
// (reserve_bps of a batch's positive net, before releases, rounded down)
// moves from pending to the merchant's reserve account and comes back as
// a reserve_release line of the first batch settled on or after the
// batch's settle date plus reserve_days.
//
// # Payouts
//
// An operator starts a pending batch's payout (available → payout,
// in_transit) and confirms it with the bank's reference (payout → the
// external paid_out account, paid), which writes the settlement.paid event
// in the same transaction: POST /admin/v1/settlements/{id}/payout and
// /pay. Pay on a pending batch does both at once. Every move is one entry
// per (kind, batch), so a repeated request cannot move money twice.
// Store.LedgerVerify checks each batch against its lines and entries.
//
// # Crashes and reruns
//
// A batch is one transaction: its row, its lines, the marks on the
// batches it carries or releases, and its ledger entry commit together or
// not at all. A run that dies leaves whole batches and a cursor that has
// not moved past the day; running the day again makes only the batches
// that are missing (a batch of the same merchant, mode, currency and day
// is never made twice), so a rerun converges on what an uninterrupted run
// makes. The dead run's lease keeps other nodes off the day until it runs
// out (Lease); paygate settle run --take-over takes it at once.
//
// # Statements
//
// Statement writes one day of a merchant's trades, refunds or settlement
// lines as CSV from a database cursor: complete, never a page, never the
// whole day in memory, with a total row per currency (per settlement)
// last. The settlements statement's totals are the settlements' own.
//
// # Limits
//
//   - Settlement is per currency; a pending batch in another currency than
//     the merchant's settlement currency converts its net at the day's
//     rate when Service.FX is set (fx.go), but its carried-forward deficits
//     and reserves stay in its currency, and a fixed fee applies in the
//     settlement currency only.
//   - A transaction settles only once reconciliation writes its row: a
//     channel account without bills (the sandbox) settles nothing until
//     a person resolves its transactions. A transaction that never gets
//     reconciled holds back the cursor from which runs scan (they rescan
//     from it every day); it is listed as waiting in every batch.
//   - Under pro_rata, a payment refunded in several parts may leave up to
//     one minor unit per part of its fee with the platform (each share is
//     rounded down so that the shares never exceed the fee).
//   - A batch is one transaction: on SQLite it is one turn of the group
//     commit, which payments wait behind. A merchant with a million
//     transactions a day makes a batch that holds the writer for seconds
//     (BENCHMARKS.md has the figures); split such merchants' days finer
//     before that matters.
//   - Transfers (internal/transfer) spend the same available balance as
//     payouts: both take its lock (Tx.BalanceForDebit) before they debit
//     it, and a payout whose batch's net transfers spent is refused
//     (409 insufficient_available).
//   - Payouts have no failure path: a payout the bank returns is not
//     modelled (the operator would need a reversing entry by hand), and no
//     payout connector talks to a bank; the operator confirms each payout.
//   - Only carried-forward nets are adjustments; there are no manual
//     adjustments of a merchant's balance.
//   - A merchant's time zone is read when a day is settled; changing it
//     (there is no API for that today) would leave a day's edges where
//     they were for days already settled.
//   - A statement download holds a read connection while it streams; the
//     server's write timeout is extended while rows flow, so only a client
//     that stops reading is cut off.
package settlement
