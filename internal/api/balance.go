package api

import (
	"net/http"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/ledger"
)

// getBalance renders the merchant's balance in the caller's mode, read from
// the ledger (ledger.MerchantBalances).
func (s *Server) getBalance(w http.ResponseWriter, r *http.Request) error {
	sc := scopeOf(r)
	b, err := ledger.MerchantBalances(r.Context(), s.Store, sc.MerchantID, sc.Livemode)
	if err != nil {
		return err
	}
	out := client.Balance{Object: "balance", Livemode: sc.Livemode, Pending: amounts(b.Pending), Available: amounts(b.Available),
		Reserved: amounts(b.Reserved), InTransit: amounts(b.InTransit), ProfitSharing: amounts(b.ProfitSharing)}
	return writeJSON(w, http.StatusOK, out)
}

func amounts(in []ledger.Amount) []client.Amount {
	out := make([]client.Amount, len(in))
	for i, a := range in {
		out[i] = client.Amount{Currency: a.Currency, Amount: a.Amount}
	}
	return out
}

func (s *Server) listPlatformKeys(w http.ResponseWriter, r *http.Request) error {
	keys := s.platformKeys()
	data := make([]client.PlatformKey, 0, len(keys))
	for _, k := range keys {
		data = append(data, client.PlatformKey{ID: k.ID, Alg: k.Alg, PublicKey: k.PublicKey, Status: k.Status})
	}
	return writeJSON(w, http.StatusOK, newList(data, false))
}
