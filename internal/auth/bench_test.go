package auth

import (
	"context"
	"testing"

	"github.com/paygate/paygate/internal/store"
)

// BenchmarkAuthenticate measures authenticating one request per credential
// style: the key lookup (an in-memory store here), unsealing the HMAC secret,
// parsing the public key, verifying the signature and recording the nonce.
//
//	go test -run '^$' -bench Authenticate ./internal/auth/
func BenchmarkAuthenticate(b *testing.B) {
	f := setup(b)
	b.Run("bearer", func(b *testing.B) {
		body := []byte(`{"out_trade_no":"T1","amount":100}`)
		for b.Loop() {
			r := request("POST", "/v1/orders", body, "Bearer "+f.secretKey)
			if _, err := f.auth.Authenticate(context.Background(), r, body); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, k := range []*store.Key{f.hmacKey, f.rsaKey, f.edKey} {
		b.Run(k.Alg, func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				s := f.newSigned(b, k) // signing is the client's cost, not measured
				h := s.header()
				r := request(s.method, s.target, s.body, h)
				b.StartTimer()
				if _, err := f.auth.Authenticate(context.Background(), r, s.body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
