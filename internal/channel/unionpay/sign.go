package unionpay

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/paygate/paygate/internal/channel"
)

// UnionPayOrgName ("China UnionPay Co., Ltd.") is what the owner field of
// UnionPay's production signing certificate holds: the third "@" field of
// its subject CN, as in "041@8310000000083040@中国银联股份有限公司@00016495".
const UnionPayOrgName = "中国银联股份有限公司"

// UnionPayTestOwner is what the owner field holds in the signing
// certificate of UnionPay's test environment, as in
// "041@Z12@00040000:SIGN@00000062".
const UnionPayTestOwner = "00040000:SIGN"

// certOwner returns the owner field of a UnionPay certificate's subject CN
// ("041@<id>@<owner>@<serial>"): its third "@"-separated field, or "" when
// the CN has fewer than three.
func certOwner(cn string) string {
	fields := strings.Split(cn, "@")
	if len(fields) < 3 {
		return ""
	}
	return fields[2]
}

// SigningString is the text ACP 5.1 signs: every field but "signature",
// sorted by name, as raw "name=value" pairs joined with "&". Empty values
// are kept; Notify drops a notification's empty fields before it verifies.
func SigningString(fields map[string]string) string {
	return channel.SortedPairs(fields, func(k, _ string) bool { return k != "signature" })
}

// signedDigest is what the RSA signature covers for signMethod 01: the
// SHA-256 of the lower-case hex SHA-256 of the signing string.
func signedDigest(fields map[string]string) []byte {
	inner := sha256.Sum256([]byte(SigningString(fields)))
	outer := sha256.Sum256([]byte(hex.EncodeToString(inner[:])))
	return outer[:]
}

// Sign sets fields["signature"] to the SHA256withRSA signature (signMethod
// 01) made with key.
func Sign(fields map[string]string, key *rsa.PrivateKey) error {
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, signedDigest(fields))
	if err != nil {
		return fmt.Errorf("unionpay: sign: %w", err)
	}
	fields["signature"] = base64.StdEncoding.EncodeToString(sig)
	return nil
}

// VerifyWithKey checks fields["signature"] against pub. It does not look at
// signPubKeyCert; see verifier.verify for the whole check.
func VerifyWithKey(fields map[string]string, pub *rsa.PublicKey) error {
	sig, err := base64.StdEncoding.DecodeString(fields["signature"])
	if err != nil || len(sig) == 0 {
		return fmt.Errorf("unionpay: signature is not base64: %w", channel.ErrBadSignature)
	}
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, signedDigest(fields), sig); err != nil {
		return fmt.Errorf("unionpay: signature does not verify: %w", channel.ErrBadSignature)
	}
	return nil
}

// verifier checks UnionPay's signatures: the signPubKeyCert a message
// carries must chain to the configured root (through the optional
// intermediate), be UnionPay's, and its key must verify the signature.
type verifier struct {
	roots         *x509.CertPool
	intermediates *x509.CertPool
	now           func() time.Time
	// validateCN is UnionPay's SDK's ifValidateCNName: when true the owner
	// field must be UnionPayOrgName; when false UnionPayTestOwner will also
	// do.
	validateCN bool
}

// ownerAccepted says whether a signing certificate with this owner field
// (see certOwner) is UnionPay's.
func (v *verifier) ownerAccepted(owner string) bool {
	return owner == UnionPayOrgName || (!v.validateCN && owner == UnionPayTestOwner)
}

// verify checks a response or notification; every failure wraps
// channel.ErrBadSignature.
func (v *verifier) verify(fields map[string]string) error {
	if fields["signature"] == "" {
		return fmt.Errorf("unionpay: message is not signed: %w", channel.ErrBadSignature)
	}
	if m := fields["signMethod"]; m != "01" {
		return fmt.Errorf("unionpay: signMethod %q, want 01: %w", m, channel.ErrBadSignature)
	}
	cert, err := v.signingCert(fields["signPubKeyCert"])
	if err != nil {
		return err
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return fmt.Errorf("unionpay: signing certificate has no RSA key: %w", channel.ErrBadSignature)
	}
	return VerifyWithKey(fields, pub)
}

// signingCert parses and checks the signPubKeyCert PEM.
func (v *verifier) signingCert(pemText string) (*x509.Certificate, error) {
	block, _ := pem.Decode([]byte(pemText))
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("unionpay: signPubKeyCert is missing or not PEM: %w", channel.ErrBadSignature)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("unionpay: parse signPubKeyCert: %v: %w", err, channel.ErrBadSignature)
	}
	if !v.ownerAccepted(certOwner(cert.Subject.CommonName)) {
		return nil, fmt.Errorf("unionpay: signPubKeyCert subject %q is not UnionPay's (validate_cert_cn %t): %w", cert.Subject.CommonName, v.validateCN, channel.ErrBadSignature)
	}
	_, err = cert.Verify(x509.VerifyOptions{
		Roots:         v.roots,
		Intermediates: v.intermediates,
		CurrentTime:   v.now(),
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err != nil {
		return nil, fmt.Errorf("unionpay: signPubKeyCert does not chain to the configured root: %v: %w", err, channel.ErrBadSignature)
	}
	return cert, nil
}

// parseCertPool reads every CERTIFICATE block of pemText into a pool.
func parseCertPool(pemText string) (*x509.CertPool, int, error) {
	pool := x509.NewCertPool()
	n := 0
	rest := []byte(pemText)
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, 0, err
		}
		pool.AddCert(c)
		n++
	}
	if n == 0 {
		return nil, 0, errors.New("no PEM certificate")
	}
	return pool, n, nil
}
