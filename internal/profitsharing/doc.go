// Package profitsharing is profit sharing (分账): a platform merchant
// splits the money of an order among receivers — other merchants of the
// platform, or account holders at the order's channel — and releases the
// rest to itself.
//
// # Money
//
// An order created with profit_sharing: true posts its payment's net
// (amount less the fee) to the merchant's profit_sharing ledger account
// instead of pending (ledger.PaymentHeld). Settlement collects payments
// from pending only, and leaves such orders and their refunds out of its
// windows, so the money is never settled or paid out while held. Each
// order's part of the account is tracked in profit_sharing_orders: Held
// (in the account), Reserved (of Held, by pending refunds), Shared and
// Released; Store.LedgerVerify checks that every merchant's account holds
// what its orders say.
//
// POST /v1/profit-sharing {order_id, out_order_no, receivers: [{receiver,
// amount, description}], finish} is one transaction that takes the order's
// sharing lock (lockKeys "profit_sharing:<order>", which refunds, returns
// and the release take too), checks the total against Held − Reserved
// (409 profit_sharing_exceeds_available), inserts the sharing and posts
// its entry. Shares to merchants go straight to their available accounts
// (the sharing is succeeded at once); shares to account holders at a
// channel go to profit_sharing_out and the sharing is processing until the
// channel answers: succeeded (out → the channel's receivable, which owes
// the platform that much less, and the merchants' available), or failed
// (the total goes back to held). finish, or a later request with no
// receivers and finish: true, releases Held − Reserved to the merchant's
// available account (profit_sharing.finished); when a sharing is still
// processing the release waits for its end. Events: profit_sharing.created
// (at a channel), .succeeded, .failed, .finished, .returned.
//
// An order never finished is finished by the worker (Job) ReleaseAfter
// after its payment: by default 180 days, WeChat Pay's limit for sharing
// an order (after which WeChat Pay unfreezes the money itself).
//
// # Refunds and returns (分账回退)
//
// A refund of a sharing order takes its cost (its amount less the fee it
// returns under the refund fee policy) from the order's held money. When
// Held − Reserved does not cover it, the refund takes the difference back
// from the receivers itself (reverse.go, Stripe's reverse_transfer), in
// its own transaction under the order's sharing lock: ReturnForRefund
// splits it over the shares of the order's succeeded sharings in
// proportion to their amounts (Apportion: half-even at the minor unit,
// the remainder to the largest, never more than a share has left), takes
// each merchant receiver's part out of its available balance (under the
// balance lock transfers take, receivers in account order; 409
// receiver_balance_insufficient naming it, and nothing changes, when one
// has spent it) into held, with a return (RefundID set), an entry and a
// profit_sharing.returned event each, and the refund then reserves its
// cost. A refund request may name the shares and amounts instead
// (profit_sharing_returns: explicitParts; together at least what is
// lacking, what they bring beyond it stays held). A refund with
// reverse_shares: false is refused instead with 409
// profit_sharing_return_required, and the merchant asks for the shares it
// chooses, POST /v1/profit-sharing/returns, which moves a merchant
// receiver's share out of its available balance (same lock and 409) back
// to the order's held money (or the merchant's available balance once
// finished). A refund that fails at the channel after taking shares back
// leaves that money held, as a return asked for by itself would.
//
// A share of an account holder at the order's channel is asked back of
// the channel (channel.ProfitSharingReturner: WeChat Pay's return-orders
// for MERCHANT_ID receivers, the sandbox): the refund's transaction
// creates the return processing and reserves only what is held; the
// payment service then asks the channel (payment's channelReturns), and
// FinishChannelReturn records the answer under the order's lock —
// succeeded, the share is back on the channel's receivable and held and
// reserved for the refund; failed, nothing moved. The refund is sent to
// its channel only when all its returns succeeded; one failed return
// fails it (profit_sharing_return_failed) and releases its reservation. A
// lost answer leaves the refund pending: the payment worker, which retries
// pending refunds, asks the channel about the return first (sending it
// again when the channel never got it; one return per id at the channel).
//
// # Unknown outcomes and crashes
//
// As transfers: a lost answer leaves the sharing processing and the worker
// asks the channel (QueryProfitSharing), sending it again when the channel
// never got it; channels make a sharing once per our id, so a repeat can
// never pay twice. Everything a request changes commits in one
// transaction with its entries and events.
//
// # Idempotency
//
// out_order_no is unique per app: a repeat with the same parameters
// returns the sharing (200), others 409 duplicate_out_order_no.
// out_return_no likewise for returns. Registering a receiver twice
// returns the first.
//
// # Limits
//
//   - The sandbox, WeChat Pay (v3 /v3/profitsharing/receivers/add and
//     /v3/profitsharing/orders, asked about with its query) and Alipay
//     (alipay.trade.royalty.relation.bind and alipay.trade.order.settle,
//     asked about with alipay.trade.order.settle.query) implement
//     channel.ProfitSharing; see the connectors for their limits. Shares
//     to merchants of the platform work with any channel.
//   - Returns from channel account holders are made by refunds only
//     (POST /v1/profit-sharing/returns: 400 return_not_supported), and
//     only where the channel can: WeChat Pay returns only MERCHANT_ID
//     receivers' shares (/v3/profitsharing/return-orders takes a
//     return_mchid; its documents say a share paid to a person's change,
//     PERSONAL_OPENID, cannot be returned), so a refund that would need a
//     wechatpay_openid share back is refused with 409
//     channel_return_not_supported naming the receiver. Alipay returns a
//     royalty only inside the refund itself (alipay.trade.refund's
//     refund_royalty_parameters; channel.RefundShareReturner): the
//     refund's transaction creates the returns processing as above, the
//     refund is sent at once naming each trans_out and amount, and the
//     returns end with the refund in its finishing transaction
//     (FinishRefundReturns: succeeded with their entries and events, or
//     failed with nothing moved). Alipay's documents say that for 当面付
//     (alipay.qr, alipay.micropay; not 直付通) it takes royalties back by
//     itself, by the refund's ratio to the trade, and does not take named
//     amounts; the gateway names them always (what its own split says),
//     so for those methods the gateway's record and Alipay's can differ
//     (not built: apportioning those refunds Alipay's way; the simulator
//     takes the named amounts for every method).
//   - A lost answer about a channel return is asked about on the payment
//     worker's schedule for pending refunds (SyncAfter), not
//     jobs.QueryBackoff's.
//   - A refund takes shares back only when the held money does not cover
//     it; profit_sharing_returns (RefundReturn) changes which shares give
//     back how much, not when.
//   - A refund whose cost exceeds what is held plus the shares left
//     (money released to the merchant) is refused: 409
//     refund_exceeds_returnable.
//   - A release is told to the order's channel after it commits when the
//     channel holds the money (channel.ProfitSharingFinisher: WeChat Pay's
//     unfreeze); an unknown outcome is told again by the worker. A channel
//     that refuses for good is logged, not retried.
//   - A sharing order's money is not reconciled before it is shared: the
//     release and merchants' shares reach available balances without the
//     reconciliation gate settlement has. Reconciliation does not read
//     the channels' profit sharing bills either: it closes a shared
//     trade's receivable for the whole payment, so a share paid at the
//     channel is left on the channel's receivable for a person to match.
//   - Under the keep refund fee policy a refund's cost is its full
//     amount, so a sharing order can be refunded only up to its net held
//     money (amount less fee), not its whole amount.
package profitsharing
