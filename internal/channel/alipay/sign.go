package alipay

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/paygate/paygate/internal/channel"
)

// signContent is Alipay's "待签名字符串": every parameter except those named in
// skip, with empty values dropped, sorted by key (byte order) and joined as
// raw, not URL-encoded, k=v pairs with "&".
//
// Requests sign everything but "sign" (sign_type included); notifications are
// verified over everything but "sign" and "sign_type".
func signContent(params map[string]string, skip ...string) string {
	return channel.SortedPairs(params, func(k, v string) bool { return v != "" && !slices.Contains(skip, k) })
}

// signRSA2 signs content with SHA256withRSA (PKCS #1 v1.5) and returns it in
// standard Base64, as Alipay's RSA2 sign type.
func signRSA2(key *rsa.PrivateKey, content []byte) (string, error) {
	sum := sha256.Sum256(content)
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("sign with app private key: %w", err)
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// verifyRSA2 checks a Base64 SHA256withRSA signature over content.
func verifyRSA2(key *rsa.PublicKey, content []byte, sign string) error {
	sig, err := base64.StdEncoding.DecodeString(sign)
	if err != nil {
		return fmt.Errorf("sign is not base64: %w", err)
	}
	sum := sha256.Sum256(content)
	if err := rsa.VerifyPKCS1v15(key, crypto.SHA256, sum[:], sig); err != nil {
		return fmt.Errorf("signature does not verify with the alipay public key: %w", err)
	}
	return nil
}

// pemOrBase64 returns the DER bytes of a key given as PEM or, as Alipay's key
// tool prints them, as bare Base64.
func pemOrBase64(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("empty")
	}
	if block, _ := pem.Decode([]byte(s)); block != nil {
		return block.Bytes, nil
	}
	der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		return nil, errors.New("neither PEM nor Base64")
	}
	return der, nil
}

// parsePrivateKey reads an RSA private key in PKCS #1 or PKCS #8, as PEM or
// bare Base64.
func parsePrivateKey(s string) (*rsa.PrivateKey, error) {
	der, err := pemOrBase64(s)
	if err != nil {
		return nil, err
	}
	return channel.ParseRSAPrivateKeyDER(der)
}

// parsePublicKey reads an RSA public key in PKIX ("PUBLIC KEY") or PKCS #1,
// as PEM or bare Base64.
func parsePublicKey(s string) (*rsa.PublicKey, error) {
	der, err := pemOrBase64(s)
	if err != nil {
		return nil, err
	}
	return channel.ParseRSAPublicKeyDER(der)
}

// topLevelRaw splits a JSON object into its members, each value as the exact
// bytes that appear in body (nothing is decoded or re-encoded, so a signature
// over a member can be checked as Alipay computed it). Keys are decoded.
func topLevelRaw(body []byte) (map[string][]byte, error) {
	if !json.Valid(body) {
		return nil, errors.New("response is not valid JSON")
	}
	s := &scanner{b: body}
	s.space()
	if !s.eat('{') {
		return nil, errors.New("response is not a JSON object")
	}
	members := map[string][]byte{}
	s.space()
	if s.eat('}') {
		return members, nil
	}
	for {
		s.space()
		start := s.i
		if err := s.skipString(); err != nil {
			return nil, err
		}
		var key string
		if err := json.Unmarshal(body[start:s.i], &key); err != nil {
			return nil, fmt.Errorf("response member name: %w", err)
		}
		s.space()
		if !s.eat(':') {
			return nil, errors.New("response: expected ':'")
		}
		s.space()
		vstart := s.i
		if err := s.skipValue(); err != nil {
			return nil, err
		}
		members[key] = body[vstart:s.i]
		s.space()
		if s.eat(',') {
			continue
		}
		if s.eat('}') {
			return members, nil
		}
		return nil, errors.New("response: expected ',' or '}'")
	}
}

// scanner walks JSON that json.Valid has accepted, so it only needs to find
// where values end.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) space() {
	for s.i < len(s.b) && (s.b[s.i] == ' ' || s.b[s.i] == '\t' || s.b[s.i] == '\n' || s.b[s.i] == '\r') {
		s.i++
	}
}

func (s *scanner) eat(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

func (s *scanner) skipString() error {
	if !s.eat('"') {
		return errors.New("response: expected a string")
	}
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case '\\':
			s.i += 2 // the escaped byte ("\"", "\\", "u" of \uXXXX…) cannot end the string
		case '"':
			s.i++
			return nil
		default:
			s.i++
		}
	}
	return errors.New("response: unterminated string")
}

func (s *scanner) skipValue() error {
	if s.i >= len(s.b) {
		return errors.New("response: expected a value")
	}
	switch s.b[s.i] {
	case '"':
		return s.skipString()
	case '{', '[':
		depth := 0
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case '"':
				if err := s.skipString(); err != nil {
					return err
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					s.i++
					return nil
				}
			}
			s.i++
		}
		return errors.New("response: unterminated object")
	default: // number, true, false, null
		for s.i < len(s.b) && !bytes.ContainsRune([]byte(",}] \t\r\n"), rune(s.b[s.i])) {
			s.i++
		}
		return nil
	}
}
