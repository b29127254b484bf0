package auth

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strconv"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/clock"
)

// StartStream signs a streamed response, whose body is not known when its
// header is sent: it sets Paygate-Timestamp, Paygate-Nonce and
// Paygate-Key-Id on h and declares the trailers Paygate-Content-Sha256 and
// Paygate-Signature (call it before writing the header). The function it
// returns sets the trailers on h once the body has been written, from the
// body's SHA-256: the signature is over client.ResponseMessage with
// client.StreamedBody(digest) for the body.
func (s *ResponseSigner) StartStream(h http.Header) (finish func(h http.Header, digest []byte)) {
	var clk clock.Clock = clock.Real{}
	if s.Clock != nil {
		clk = s.Clock
	}
	timestamp := strconv.FormatInt(clk.Now().Unix(), 10)
	nonce := hex.EncodeToString(randomBytes(16))
	h.Set(client.HeaderTimestamp, timestamp)
	h.Set(client.HeaderNonce, nonce)
	h.Set(client.HeaderKeyID, s.KeyID)
	h.Set("Trailer", client.HeaderContentSHA256+", "+client.HeaderSignature)
	return func(h http.Header, digest []byte) {
		sig := ed25519.Sign(s.Key, client.ResponseMessage(timestamp, nonce, client.StreamedBody(digest)))
		h.Set(client.HeaderContentSHA256, hex.EncodeToString(digest))
		h.Set(client.HeaderSignature, base64.StdEncoding.EncodeToString(sig))
	}
}
