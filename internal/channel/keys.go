package channel

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
)

// ParseRSAPrivateKey reads an RSA private key from PEM holding PKCS #1
// ("RSA PRIVATE KEY") or PKCS #8 ("PRIVATE KEY"); the block type is not
// looked at.
func ParseRSAPrivateKey(pemText string) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode([]byte(pemText))
	if block == nil {
		return nil, errors.New("not PEM")
	}
	return ParseRSAPrivateKeyDER(block.Bytes)
}

// ParseRSAPrivateKeyDER reads a DER RSA private key in PKCS #1 or PKCS #8.
func ParseRSAPrivateKeyDER(der []byte) (*rsa.PrivateKey, error) {
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("neither PKCS#1 nor PKCS#8: %w", err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("a %T, not an RSA private key", k)
	}
	return rk, nil
}

// ParseRSAPublicKey reads an RSA public key from PEM, by the block's type: a
// certificate ("CERTIFICATE") yields its key, "RSA PUBLIC KEY" is PKCS #1,
// and anything else ("PUBLIC KEY") is PKIX.
func ParseRSAPublicKey(pemText string) (*rsa.PublicKey, error) {
	block, _ := pem.Decode([]byte(pemText))
	if block == nil {
		return nil, errors.New("not PEM")
	}
	var k any
	var err error
	switch block.Type {
	case "CERTIFICATE":
		var cert *x509.Certificate
		if cert, err = x509.ParseCertificate(block.Bytes); err == nil {
			k = cert.PublicKey
		}
	case "RSA PUBLIC KEY":
		k, err = x509.ParsePKCS1PublicKey(block.Bytes)
	default:
		k, err = x509.ParsePKIXPublicKey(block.Bytes)
	}
	if err != nil {
		return nil, err
	}
	return rsaPublic(k)
}

// ParseRSAPublicKeyDER reads a DER RSA public key in PKIX or, failing that,
// PKCS #1.
func ParseRSAPublicKeyDER(der []byte) (*rsa.PublicKey, error) {
	if k, err := x509.ParsePKIXPublicKey(der); err == nil {
		return rsaPublic(k)
	}
	k, err := x509.ParsePKCS1PublicKey(der)
	if err != nil {
		return nil, errors.New("not a PKIX or PKCS #1 RSA public key")
	}
	return k, nil
}

func rsaPublic(k any) (*rsa.PublicKey, error) {
	rk, ok := k.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("a %T, not an RSA public key", k)
	}
	return rk, nil
}
