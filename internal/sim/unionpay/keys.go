package unionpay

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/paygate/paygate/internal/sim"
)

// SigningCertCN is the subject CN of the simulator's UnionPay signing
// certificate, in the shape of the production one
// ("041@<institution>@中国银联股份有限公司@<serial>").
const SigningCertCN = "041@8310000000083040@中国银联股份有限公司@00016495"

// TestSigningCertCN is the subject CN of the signing certificate the
// simulator uses as UnionPay's test environment (SetTestEnvironment), in
// the shape of that environment's certificate (acp_test_verify_sign.cer of
// UnionPay's demo): its third "@" field is "00040000:SIGN", not the
// company's name.
const TestSigningCertCN = "041@Z12@00040000:SIGN@00000062"

// pki is every key and certificate the simulator uses: a root CA, an
// intermediate CA, UnionPay's signing certificates (the production form
// and the test environment's form, one key for both), the merchant's key
// and certificate (whose serial is cert_id) and a stranger's key that
// signs when told to misbehave.
type pki struct {
	rootPEM, middlePEM string
	upKey              *rsa.PrivateKey
	upCertPEM          string // CR LF line ends, as UnionPay sends it
	upTestCertPEM      string // the test environment's form, CR LF too
	merchantKey        *rsa.PrivateKey
	merchantKeyPEM     string
	merchantCertID     string // the merchant certificate's serial, decimal
	wrongKey           *rsa.PrivateKey
}

// Keys are slow to make: every simulator in a process shares one set.
var (
	pkiOnce sync.Once
	pkiVal  *pki
	pkiErr  error
)

func loadPKI() (*pki, error) {
	pkiOnce.Do(func() { pkiVal, pkiErr = newPKI() })
	return pkiVal, pkiErr
}

func newPKI() (*pki, error) {
	keys, err := sim.GenerateRSAKeys(5)
	if err != nil {
		return nil, fmt.Errorf("unionpay sim: generate key: %w", err)
	}
	rootKey, middleKey, upKey, merchantKey, wrongKey := keys[0], keys[1], keys[2], keys[3], keys[4]
	notBefore := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	notAfter := time.Date(2050, 1, 1, 0, 0, 0, 0, time.UTC)

	root := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{Country: []string{"CN"}, Organization: []string{"China Financial Certification Authority"}, CommonName: "CFCA SIM CA"},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	rootDER, err := x509.CreateCertificate(rand.Reader, root, root, &rootKey.PublicKey, rootKey)
	if err != nil {
		return nil, fmt.Errorf("unionpay sim: root certificate: %w", err)
	}
	root, _ = x509.ParseCertificate(rootDER)

	middle := &x509.Certificate{
		SerialNumber:          big.NewInt(2),
		Subject:               pkix.Name{Country: []string{"CN"}, Organization: []string{"China Financial Certification Authority"}, CommonName: "CFCA SIM OCA1"},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	middleDER, err := x509.CreateCertificate(rand.Reader, middle, root, &middleKey.PublicKey, rootKey)
	if err != nil {
		return nil, fmt.Errorf("unionpay sim: intermediate certificate: %w", err)
	}
	middle, _ = x509.ParseCertificate(middleDER)

	leaf := func(serial *big.Int, cn string, pub *rsa.PublicKey) ([]byte, error) {
		return x509.CreateCertificate(rand.Reader, &x509.Certificate{
			SerialNumber: serial,
			Subject:      pkix.Name{Country: []string{"cn"}, Organization: []string{"CFCA OCA1"}, OrganizationalUnit: []string{"Local RA OCA1", "Enterprises"}, CommonName: cn},
			NotBefore:    notBefore,
			NotAfter:     notAfter,
			KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment | x509.KeyUsageKeyEncipherment,
			ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageEmailProtection},
		}, middle, pub, middleKey)
	}
	upDER, err := leaf(big.NewInt(69678957876), SigningCertCN, &upKey.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("unionpay sim: signing certificate: %w", err)
	}
	upTestDER, err := leaf(big.NewInt(1002640149), TestSigningCertCN, &upKey.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("unionpay sim: test environment's signing certificate: %w", err)
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(9e10))
	if err != nil {
		return nil, err
	}
	serial.Add(serial, big.NewInt(1e10)) // 11 digits, like real cert ids
	if _, err := leaf(serial, "041@Z12@777290058110048@00000062", &merchantKey.PublicKey); err != nil {
		return nil, fmt.Errorf("unionpay sim: merchant certificate: %w", err)
	}
	return &pki{
		rootPEM:        pemText("CERTIFICATE", rootDER, "\n"),
		middlePEM:      pemText("CERTIFICATE", middleDER, "\n"),
		upKey:          upKey,
		upCertPEM:      pemText("CERTIFICATE", upDER, "\r\n"),
		upTestCertPEM:  pemText("CERTIFICATE", upTestDER, "\r\n"),
		merchantKey:    merchantKey,
		merchantKeyPEM: pemText("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(merchantKey), "\n"),
		merchantCertID: serial.String(),
		wrongKey:       wrongKey,
	}, nil
}

// pemText encodes der as PEM with the given line ending, without a final one.
func pemText(typ string, der []byte, eol string) string {
	s := strings.TrimRight(string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})), "\n")
	return strings.ReplaceAll(s, "\n", eol)
}

// signingString is ACP's signed text: every field but signature, sorted,
// raw "k=v" joined with "&".
func signingString(fields map[string]string) string {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		if k != "signature" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + fields[k]
	}
	return strings.Join(parts, "&")
}

// digest is SHA-256 over the lower-case hex SHA-256 of the signing string.
func digest(fields map[string]string) []byte {
	h := sha256.Sum256([]byte(signingString(fields)))
	d := sha256.Sum256([]byte(hex.EncodeToString(h[:])))
	return d[:]
}

func sign(fields map[string]string, key *rsa.PrivateKey) error {
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest(fields))
	if err != nil {
		return fmt.Errorf("unionpay sim: sign: %w", err)
	}
	fields["signature"] = base64.StdEncoding.EncodeToString(sig)
	return nil
}

func verify(fields map[string]string, pub *rsa.PublicKey) bool {
	sig, err := base64.StdEncoding.DecodeString(fields["signature"])
	if err != nil || len(sig) == 0 {
		return false
	}
	return rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest(fields), sig) == nil
}
