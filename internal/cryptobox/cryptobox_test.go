package cryptobox

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

func TestSealOpenRotate(t *testing.T) {
	oldKey, newKey := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	oldBox, err := New(oldKey)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := oldBox.Seal("whsec_secret")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, "whsec_secret") {
		t.Fatalf("sealed value shows the plaintext: %s", sealed)
	}
	rotated, _ := New(newKey, oldKey)
	if got, err := rotated.Open(sealed); err != nil || got != "whsec_secret" {
		t.Fatalf("open after rotation = %q, %v", got, err)
	}
	other, _ := New(newKey)
	if _, err := other.Open(sealed); err == nil {
		t.Fatal("a box without the old key opened its value")
	}
	tampered := sealed[:len(sealed)-2] + "AA"
	if _, err := oldBox.Open(tampered); err == nil {
		t.Fatal("tampered value opened")
	}
}

func TestParseKey(t *testing.T) {
	if _, err := ParseKey(strings.Repeat("ab", 32)); err != nil {
		t.Fatalf("hex key: %v", err)
	}
	if _, err := ParseKey("c2hvcnQ="); err == nil {
		t.Fatal("short key accepted")
	}
}

func TestSealForBindsTheContext(t *testing.T) {
	box, _ := New(bytes.Repeat([]byte{3}, 32))
	sealed, err := box.SealFor("operator\x00app-1", []byte(`{"secret":"whsec_x"}`))
	if err != nil {
		t.Fatal(err)
	}
	if !IsSealed([]byte(sealed)) || IsSealed([]byte(`{"secret":"whsec_x"}`)) {
		t.Fatal("IsSealed does not tell a sealed value from JSON")
	}
	if got, err := box.OpenFor("operator\x00app-1", sealed); err != nil || string(got) != `{"secret":"whsec_x"}` {
		t.Fatalf("OpenFor = %q, %v", got, err)
	}
	if _, err := box.OpenFor("operator\x00app-2", sealed); err == nil {
		t.Fatal("a value sealed for one context opened in another")
	}
	if _, err := box.Open(sealed); err == nil {
		t.Fatal("a value sealed for a context opened without it")
	}
	plain, _ := box.Seal("x")
	if _, err := box.OpenFor("", plain); err == nil {
		t.Fatal("a value sealed without a context opened with OpenFor")
	}
}

func TestDeriveKey(t *testing.T) {
	a, _ := New(bytes.Repeat([]byte{4}, 32))
	same, _ := New(bytes.Repeat([]byte{4}, 32), bytes.Repeat([]byte{5}, 32))
	other, _ := New(bytes.Repeat([]byte{5}, 32))
	k := a.DeriveKey("purpose one")
	if len(k) != KeySize {
		t.Fatalf("derived key of %d bytes", len(k))
	}
	if !bytes.Equal(k, same.DeriveKey("purpose one")) {
		t.Fatal("the same master key and label derived different keys")
	}
	if bytes.Equal(k, a.DeriveKey("purpose two")) {
		t.Fatal("two labels derived the same key")
	}
	if bytes.Equal(k, other.DeriveKey("purpose one")) {
		t.Fatal("two master keys derived the same key")
	}
	if bytes.Contains(k, bytes.Repeat([]byte{4}, 8)) {
		t.Fatal("the derived key shows the master key")
	}
}

// memRoot is a RootStore in memory.
type memRoot struct{ sealed string }

func (m *memRoot) RootGet(context.Context) (string, error) { return m.sealed, nil }
func (m *memRoot) RootInit(_ context.Context, sealed string) (string, error) {
	if m.sealed == "" {
		m.sealed = sealed
	}
	return m.sealed, nil
}

func TestRootKeepsDerivedKeysAcrossRotation(t *testing.T) {
	ctx := context.Background()
	oldKey, newKey := bytes.Repeat([]byte{6}, 32), bytes.Repeat([]byte{7}, 32)
	before, _ := New(oldKey) // a deployment from before roots: derives from its master key
	want := before.DeriveKey("purpose")

	st := &memRoot{}
	first, _ := New(oldKey)
	if err := first.LoadRoot(ctx, st); err != nil {
		t.Fatal(err)
	}
	if st.sealed == "" || strings.Contains(st.sealed, string(oldKey)) {
		t.Fatalf("root stored as %q, want it sealed", st.sealed)
	}
	if !bytes.Equal(first.DeriveKey("purpose"), want) {
		t.Fatal("the first root changed a derived key: a deployment would lose its fingerprints")
	}

	// During the rotation: new key current, old key readable; the root
	// opens and derives as before.
	rotating, _ := New(newKey, oldKey)
	if err := rotating.LoadRoot(ctx, st); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(rotating.DeriveKey("purpose"), want) {
		t.Fatal("a derived key changed with the master key")
	}
	resealed, err := rotating.ResealFor(RootContext, st.sealed)
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := SealedKeyID(resealed); id != KeyID(newKey) {
		t.Fatalf("resealed root under key %s, want %s", id, KeyID(newKey))
	}
	st.sealed = resealed

	// After it: only the new key.
	after, _ := New(newKey)
	if err := after.LoadRoot(ctx, st); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(after.DeriveKey("purpose"), want) {
		t.Fatal("a derived key changed after the rotation")
	}
	if bytes.Equal(after.DeriveKey("purpose"), func() []byte { b, _ := New(newKey); return b.DeriveKey("purpose") }()) {
		t.Fatal("after the rotation the key derived from the new master key itself")
	}
}

func TestLoadRootRefusesToInventARootWhileRotating(t *testing.T) {
	rotating, _ := New(bytes.Repeat([]byte{7}, 32), bytes.Repeat([]byte{6}, 32))
	st := &memRoot{}
	if err := rotating.LoadRoot(context.Background(), st); !errors.Is(err, ErrNoRootWhileRotating) {
		t.Fatalf("LoadRoot with no root and two keys = %v, want ErrNoRootWhileRotating", err)
	}
	if st.sealed != "" {
		t.Fatal("a root was stored while rotating")
	}
}

func TestRootCannotBeSwappedForAnotherSealedValue(t *testing.T) {
	box, _ := New(bytes.Repeat([]byte{8}, 32))
	known, _ := box.Seal(string(bytes.Repeat([]byte{9}, 32))) // a value whose plaintext someone knows
	if err := box.LoadRoot(context.Background(), &memRoot{sealed: known}); err == nil {
		t.Fatal("a value sealed without the root's context was loaded as the root")
	}
}

func TestReseal(t *testing.T) {
	oldKey, newKey := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	oldBox, _ := New(oldKey)
	rotating, _ := New(newKey, oldKey)
	newOnly, _ := New(newKey)
	if got := rotating.KeyIDs(); len(got) != 2 || got[0] != KeyID(newKey) || rotating.CurrentKeyID() != KeyID(newKey) {
		t.Fatalf("KeyIDs = %v, current %s", got, rotating.CurrentKeyID())
	}

	plain, _ := oldBox.Seal("whsec_x")
	re, err := rotating.Reseal(plain)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := newOnly.Open(re); err != nil || got != "whsec_x" {
		t.Fatalf("resealed value opens with the new key alone as %q, %v", got, err)
	}
	if again, _ := rotating.Reseal(re); again != re {
		t.Fatal("resealing a value already under the current key changed it")
	}

	bound, _ := oldBox.SealFor("ctx-1", []byte("answer"))
	if _, err := rotating.ResealFor("ctx-2", bound); err == nil {
		t.Fatal("ResealFor with another context succeeded")
	}
	reb, err := rotating.ResealFor("ctx-1", bound)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := newOnly.OpenFor("ctx-1", reb); err != nil || string(got) != "answer" {
		t.Fatalf("resealed bound value opens as %q, %v", got, err)
	}
	if _, err := newOnly.Reseal(plain); err == nil {
		t.Fatal("a box without the old key resealed its value")
	}
	if _, ok := SealedKeyID("not sealed"); ok {
		t.Fatal("SealedKeyID accepted a value that is not sealed")
	}
}
