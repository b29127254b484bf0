package profitsharing

import (
	"encoding/json"
	"time"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/notify"
	"github.com/paygate/paygate/internal/store"
)

// ReceiverObject renders a receiver for the API.
func ReceiverObject(r *store.ProfitSharingReceiver) client.ProfitSharingReceiver {
	return client.ProfitSharingReceiver{ID: r.ID, Object: "profit_sharing_receiver", Type: r.Type, Account: r.Account, Name: r.Name,
		Description: r.Description, Livemode: r.Livemode, CreatedAt: r.CreatedAt}
}

// Object renders a sharing for the API.
func Object(p *store.ProfitSharing) client.ProfitSharing {
	out := client.ProfitSharing{ID: p.ID, Object: "profit_sharing", Order: p.OrderID, OutOrderNo: p.OutOrderNo, Amount: p.Amount,
		Currency: p.Currency, Receivers: []client.ProfitSharingShare{}, Finish: p.Finish, Status: p.Status,
		ChannelSharingNo: p.ChannelSharingNo, FailureCode: p.FailureCode, FailureMessage: p.FailureMessage,
		Livemode: p.Livemode, CreatedAt: p.CreatedAt, FinishedAt: p.FinishedAt}
	for _, sh := range p.Receivers {
		out.Receivers = append(out.Receivers, client.ProfitSharingShare{Receiver: sh.Receiver, Type: sh.Type, Account: sh.Account,
			Amount: sh.Amount, Description: sh.Description})
	}
	return out
}

// OrderObject renders an order's sharing state for the API.
func OrderObject(st *store.ProfitSharingOrder) client.ProfitSharingOrder {
	return client.ProfitSharingOrder{Object: "profit_sharing_order", Order: st.OrderID, Currency: st.Currency, Net: st.Net,
		Available: st.Held - st.Reserved, Shared: st.Shared, Released: st.Released, Finished: st.FinishedAt != nil,
		FinishedAt: st.FinishedAt, Livemode: st.Livemode}
}

// ReturnObject renders a return for the API.
func ReturnObject(r *store.ProfitSharingReturn) client.ProfitSharingReturn {
	return client.ProfitSharingReturn{ID: r.ID, Object: "profit_sharing_return", ProfitSharing: r.ProfitSharingID, Order: r.OrderID,
		OutReturnNo: r.OutReturnNo, Receiver: r.ReceiverID, Amount: r.Amount, Currency: r.Currency, Description: r.Description,
		Status: returnStatus(r), Refund: r.RefundID, FailureCode: r.FailureCode, FailureMessage: r.FailureMessage, Livemode: r.Livemode, CreatedAt: r.CreatedAt}
}

func newEvent(typ, merchantID, appID string, live bool, objectType, objectID string, object any, at time.Time) (*store.Event, error) {
	data, err := json.Marshal(map[string]any{"object": object})
	if err != nil {
		return nil, err
	}
	return &store.Event{ID: id.New(id.Event, at), Type: typ, MerchantID: merchantID, AppID: appID, Livemode: live,
		ObjectType: objectType, ObjectID: objectID, Data: data, CreatedAt: at}, nil
}

// sharingEvent is a sharing's event, for the app that made it.
func sharingEvent(typ string, p *store.ProfitSharing, at time.Time) (*store.Event, error) {
	return newEvent(typ, p.MerchantID, p.AppID, p.Livemode, "profit_sharing", p.ID, Object(p), at)
}

// orderEvent is the profit_sharing.finished event of an order.
func orderEvent(st *store.ProfitSharingOrder, appID string, at time.Time) (*store.Event, error) {
	return newEvent(notify.ProfitSharingFinished, st.MerchantID, appID, st.Livemode, "profit_sharing_order", st.OrderID, OrderObject(st), at)
}

// returnStatus is a return's status; one made before returns had a
// status succeeded.
func returnStatus(r *store.ProfitSharingReturn) string {
	if r.Status == "" {
		return store.ProfitSharingSucceeded
	}
	return r.Status
}
