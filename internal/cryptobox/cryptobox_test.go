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
