package cryptobox

import (
	"bytes"
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
