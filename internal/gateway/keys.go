package gateway

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"github.com/paygate/paygate/internal/auth"
	"github.com/paygate/paygate/internal/cryptobox"
	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/store"
)

// Platform key rotation. The platform's Ed25519 key signs /v1 responses. A
// rotation is two steps, each one `paygate keys rotate-platform`: the first
// makes a key with status "next", which GET /v1/platform-keys publishes
// beside the current one, so that clients learn it before anything is
// signed with it; the second (once clients have had time to fetch the
// list: their cache time, an hour say) makes it current, and the former
// current "retired" — still published, so that responses signed just
// before still verify. Serving nodes reread the keys every
// PlatformKeyRefresh and switch without a restart.
//
// Not covered: the "v1a" Ed25519 signature of webhook notifications keeps
// the key a node started with until the node restarts (the dispatcher holds
// it); it stays published as "retired", so verifiers that accept any
// published key keep verifying.

// PlatformKeyRefresh is how often a serving node rereads the platform keys.
const PlatformKeyRefresh = 10 * time.Second

// RotatePlatformKey takes the next step of a platform key rotation: it
// makes a "next" key when there is none, and otherwise promotes the next
// key to current. It says what it did.
func RotatePlatformKey(ctx context.Context, st store.Store, box *cryptobox.Box, now time.Time) (string, error) {
	keys, err := st.PlatformKeyList(ctx)
	if err != nil {
		return "", err
	}
	for _, k := range keys {
		if k.Status == "next" {
			if err := st.PlatformKeyPromote(ctx, k.ID); err != nil {
				return "", err
			}
			return fmt.Sprintf("platform key %s is now current (nodes switch within %s); the former current key is retired and still published", k.ID, PlatformKeyRefresh), nil
		}
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", err
	}
	pubDER, _ := x509.MarshalPKIXPublicKey(pub)
	privDER, _ := x509.MarshalPKCS8PrivateKey(priv)
	sealed, err := box.Seal(string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER})))
	if err != nil {
		return "", err
	}
	k := &store.PlatformKey{ID: id.New(id.Platform, now), Alg: store.AlgEd25519, Status: "next", CreatedAt: now,
		PublicKey: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})), PrivateSealed: sealed}
	if err := st.PlatformKeyCreate(ctx, k); err != nil {
		return "", err
	}
	return fmt.Sprintf("platform key %s is published as next; run this again to make it current once clients have fetched GET /v1/platform-keys", k.ID), nil
}

// RefreshPlatformKeys rereads the platform keys and, when they changed,
// makes the API sign with the current one and list them all.
func (g *Gateway) RefreshPlatformKeys(ctx context.Context) error {
	keys, err := g.Store.PlatformKeyList(ctx)
	if err != nil {
		return err
	}
	var cur *store.PlatformKey
	for _, k := range keys {
		if k.Status == "current" && (cur == nil || k.ID < cur.ID) {
			cur = k
		}
	}
	if cur == nil {
		return errors.New("no current platform key")
	}
	signer := g.API.CurrentSigner()
	if signer == nil || cur.ID != signer.KeyID {
		priv, err := openPlatformKey(g.Box, cur)
		if err != nil {
			return err
		}
		signer = &auth.ResponseSigner{KeyID: cur.ID, Key: priv, Clock: g.Clock}
		g.Log.Info("platform key: now signing with a new key", "key", cur.ID)
	}
	g.API.SetPlatformKeys(signer, keys)
	return nil
}

// refreshPlatformKeys runs RefreshPlatformKeys every PlatformKeyRefresh until ctx ends.
func (g *Gateway) refreshPlatformKeys(ctx context.Context) {
	t := time.NewTicker(PlatformKeyRefresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := g.RefreshPlatformKeys(ctx); err != nil && ctx.Err() == nil {
				g.Log.Warn("platform key: reread failed", "err", err)
			}
		}
	}
}

// openPlatformKey unseals a platform key's private half.
func openPlatformKey(box *cryptobox.Box, k *store.PlatformKey) (ed25519.PrivateKey, error) {
	privPEM, err := box.Open(k.PrivateSealed)
	if err != nil {
		return nil, fmt.Errorf("open platform key %s: %w", k.ID, err)
	}
	block, _ := pem.Decode([]byte(privPEM))
	if block == nil {
		return nil, fmt.Errorf("platform key %s is not PEM", k.ID)
	}
	priv, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	ed, ok := priv.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("platform key %s is not Ed25519", k.ID)
	}
	return ed, nil
}

// OpenBox is the box of the master key and the old master keys of cfg,
// as serve would load them (the key file beside a SQLite database is not
// created), its derivation root loaded from st.
func OpenBox(ctx context.Context, cfg Config, st store.Store) (*cryptobox.Box, error) {
	g := &Gateway{Config: cfg, Store: st}
	return g.openBox(ctx, false)
}
