package api

import (
	"net/http"
	"sort"
	"strings"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/ledger"
)

// getBalance sums the merchant's ledger accounts in the caller's mode.
func (s *Server) getBalance(w http.ResponseWriter, r *http.Request) error {
	sc := scopeOf(r)
	balances, err := s.Store.Balances(r.Context(), ledger.MerchantPrefix(sc.MerchantID, sc.Livemode))
	if err != nil {
		return err
	}
	out := client.Balance{Object: "balance", Livemode: sc.Livemode, Pending: []client.Amount{}, Available: []client.Amount{}}
	for _, b := range balances {
		a := client.Amount{Currency: b.Currency, Amount: b.Amount}
		switch {
		case strings.HasSuffix(b.Account, ":pending"):
			out.Pending = append(out.Pending, a)
		case strings.HasSuffix(b.Account, ":available"):
			out.Available = append(out.Available, a)
		}
	}
	for _, l := range [][]client.Amount{out.Pending, out.Available} {
		sort.Slice(l, func(i, j int) bool { return l[i].Currency < l[j].Currency })
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) listPlatformKeys(w http.ResponseWriter, r *http.Request) error {
	data := make([]client.PlatformKey, 0, len(s.PlatformKeys))
	for _, k := range s.PlatformKeys {
		data = append(data, client.PlatformKey{ID: k.ID, Alg: k.Alg, PublicKey: k.PublicKey, Status: k.Status})
	}
	return writeJSON(w, http.StatusOK, newList(data, false))
}
