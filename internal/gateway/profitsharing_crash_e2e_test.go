package gateway_test

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/channel/sandbox"
	"github.com/paygate/paygate/internal/ledger"
	"github.com/paygate/paygate/internal/profitsharing"
)

// TestSIGKILLDuringProfitSharing kills the real binary with SIGKILL while
// 48 sharings of one order are being made: to another merchant of the
// platform, to sandbox account holders, and to one whose answers the
// sandbox loses. The merchant then repeats every request on a restarted
// gateway (whose sandbox forgot everything, so what was processing is
// sent again under the same id) until every sharing has an outcome. In
// the end each out_order_no has one sharing, succeeded, the seller's
// available balance is exactly its shares, the order holds its net less
// exactly all shares, nothing is in transit, and the ledger verifies.
func TestSIGKILLDuringProfitSharing(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			database := "sqlite:" + filepath.Join(t.TempDir(), "sharing.db")
			if kind == "postgres" {
				database = pgSchemaURL(t)
			}
			p := startProcess(t, database, "--worker-interval", "100ms")
			f := sharingForCrash(t, &env{t: t, url: p.url})
			c := f.platform.c
			ctx := context.Background()
			const n = 48
			params := func(i int) client.CreateProfitSharingParams {
				rcv := f.seller
				switch i % 4 {
				case 2:
					rcv = f.holder
				case 3:
					rcv = f.lost
				}
				return client.CreateProfitSharingParams{Order: f.orderID, OutOrderNo: fmt.Sprintf("K%02d", i),
					Receivers: []client.ProfitSharingShare{{Receiver: rcv, Amount: 100 + int64(i)}}}
			}
			var answered atomic.Int64
			var wg sync.WaitGroup
			next := make(chan int)
			for range 6 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range next {
						if _, err := c.CreateProfitSharing(ctx, params(i)); err == nil {
							answered.Add(1)
						}
					}
				}()
			}
			go func() {
				for i := range n {
					next <- i
				}
				close(next)
			}()
			for answered.Load() < n/3 {
				time.Sleep(2 * time.Millisecond)
			}
			if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			p.cmd.Wait()
			wg.Wait()
			t.Logf("killed with %d of %d sharings answered", answered.Load(), n)
			if answered.Load() >= n {
				t.Fatal("every sharing was answered before the kill: want the kill in the middle")
			}

			p2 := startProcess(t, database, "--worker-interval", "100ms")
			c2, err := client.New(p2.url, client.WithSecretKey(f.platform.app.SecretKey))
			if err != nil {
				t.Fatal(err)
			}
			// Repeating the request of a sharing still processing asks the
			// sandbox about it, and sends it again when the sandbox (which
			// restarted with the gateway) never got it.
			deadline := time.Now().Add(30 * time.Second)
			var all []client.ProfitSharing
			for {
				all = all[:0]
				for i := range n {
					psh, err := c2.CreateProfitSharing(ctx, params(i))
					if err != nil {
						t.Fatalf("repeat %d after the restart: %v", i, err)
					}
					all = append(all, *psh)
				}
				done := 0
				for _, psh := range all {
					switch psh.Status {
					case "succeeded":
						done++
					case "failed":
						t.Fatalf("sharing %s failed: %s", psh.OutOrderNo, psh.FailureCode)
					}
				}
				if done == n {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%d of %d sharings succeeded 30 s after the restart", done, n)
				}
				time.Sleep(100 * time.Millisecond)
			}
			list, err := c2.ListProfitSharings(ctx, f.orderID, client.ListParams{Limit: 100})
			if err != nil || len(list.Data) != n {
				t.Fatalf("list: %v, %d sharings, want %d", err, len(list.Data), n)
			}
			var toSeller, total int64
			for _, psh := range all {
				total += psh.Amount
				if psh.Receivers[0].Receiver == f.seller {
					toSeller += psh.Amount
				}
			}
			p2.cmd.Process.Signal(syscall.SIGTERM)
			p2.cmd.Wait()
			st := openMigrated(t, database)
			sum := func(account string) int64 {
				bs, err := st.Balances(ctx, account)
				if err != nil {
					t.Fatal(err)
				}
				var n int64
				for _, b := range bs {
					if b.Account == account {
						n += b.Amount
					}
				}
				return n
			}
			held, out, seller := sum(ledger.MerchantSharing(f.platform.id, false)), sum(ledger.MerchantSharingOut(f.platform.id, false)), sum(ledger.MerchantAvailable(f.sellerID, false))
			state, err := st.ProfitSharingOrderGet(ctx, f.orderID)
			st.Close()
			if err != nil {
				t.Fatal(err)
			}
			if held != f.net-total || out != 0 || seller != toSeller || state.Held != held || state.Shared != total {
				t.Fatalf("held %d (want %d), in transit %d, seller %d (want %d), state %+v", held, f.net-total, out, seller, toSeller, state)
			}
			res, err := exec.Command(paygateBinary(t), "ledger", "verify", "--database", database).CombinedOutput()
			if err != nil || !strings.Contains(string(res), "ledger verify: ok") {
				t.Fatalf("ledger verify: %v\n%s", err, res)
			}
		})
	}
}

// sharingFixture is what sharingForCrash made.
type sharingFixture struct {
	platform             merchant
	sellerID, orderID    string
	net                  int64
	seller, holder, lost string // receivers
}

// sharingForCrash makes, over the API of the running gateway, a merchant
// with a paid order held for profit sharing, another merchant, and three
// receivers: the other merchant, a sandbox account holder and one whose
// answers the sandbox loses.
func sharingForCrash(t *testing.T, e *env) sharingFixture {
	t.Helper()
	ctx := context.Background()
	platform, seller := e.newMerchant("test", false), e.newMerchant("test", false)
	p := orderParams("held", 500000)
	p.ProfitSharing = true
	o := payNew(t, platform.c, p)
	st, err := platform.c.GetProfitSharingOrder(ctx, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	rcv := func(typ, account string) string {
		r, err := platform.c.CreateProfitSharingReceiver(ctx, client.CreateProfitSharingReceiverParams{Type: typ, Account: account})
		if err != nil {
			t.Fatal(err)
		}
		return r.ID
	}
	return sharingFixture{platform: platform, sellerID: seller.id, orderID: o.ID, net: st.Net,
		seller: rcv(profitsharing.TypeMerchant, seller.id), holder: rcv(profitsharing.TypeSandbox, "buyer-1"),
		lost: rcv(profitsharing.TypeSandbox, sandbox.ReceiverTimeout)}
}
