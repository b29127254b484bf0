package alipay

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"sort"
	"strings"
	"time"

	"github.com/paygate/paygate/internal/money"
)

// The simulator has its own small implementation of Alipay's signing, so
// that a mistake in the connector's is caught rather than mirrored.

// content is the sorted k=v& string over params, empty values and the
// skipped keys left out.
func content(params map[string]string, skip ...string) string {
	keys := make([]string, 0, len(params))
outer:
	for k, v := range params {
		if v == "" {
			continue
		}
		for _, s := range skip {
			if k == s {
				continue outer
			}
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + params[k]
	}
	return strings.Join(parts, "&")
}

func signRSA2(key *rsa.PrivateKey, s string) (string, error) {
	sum := sha256.Sum256([]byte(s))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

func verifyRSA2(key *rsa.PublicKey, s, sign string) bool {
	sig, err := base64.StdEncoding.DecodeString(sign)
	if err != nil {
		return false
	}
	sum := sha256.Sum256([]byte(s))
	return rsa.VerifyPKCS1v15(key, crypto.SHA256, sum[:], sig) == nil
}

var cst = time.FixedZone("CST", 8*3600)

const timeLayout = "2006-01-02 15:04:05"

// yuan renders fen as "12.34" (negative amounts too, for bills).
func yuan(fen int64) string { return money.FormatMinor(fen, 2) }

// parseYuan reads a positive amount with at most two decimals (and nine
// integer digits) into fen, up to 100,000,000.00 yuan.
func parseYuan(s string) (int64, bool) {
	if whole, _, _ := strings.Cut(s, "."); len(whole) > 9 {
		return 0, false
	}
	fen, err := money.ParseMinor(s, 2)
	if err != nil || fen <= 0 || fen > 100_000_000_00 {
		return 0, false
	}
	return fen, true
}
