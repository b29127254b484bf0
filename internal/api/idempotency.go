package api

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/paygate/paygate/internal/cryptobox"
	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/store"
)

// Idempotency-Key, as the API reference (docs/api.md) and Stripe have it: for 24 hours a repeat of a
// POST under the same key gets the first answer byte for byte. The answer
// is kept in the database (idempotency_keys.body) for that time, and some
// answers carry secrets shown once: an app's secret key, signing secret and
// webhook secret, a key's secret, a webhook endpoint's secret. Kept as
// they were, they would sit in clear in the database and in every backup
// of the day, beside the same secrets sealed with the master key in their
// own tables.
//
// Two ways out were weighed. Stripe-like, an answer that carries a secret
// shown once could be kept without it (or not replayed at all); but a
// client that lost the answer to "create app" is exactly the one that
// retries, and it would get an app whose secrets nobody has. So every kept
// answer is sealed instead (cryptobox.SealFor with the master key, bound
// to its scope, key and status, so a sealed answer cannot be moved to
// another app's record): the replay stays byte for byte, and the database
// holds nothing a stolen copy could use without the master key. Every
// answer, not only those with secrets: a list of "routes whose answer
// carries a secret" is one more fact that a new route could forget, and
// order answers carry payer data too. Sealing an order-sized answer costs
// a few microseconds of CPU per request (BenchmarkIdempotencySeal), small
// beside the request's database write. Records an earlier version kept
// (answers in clear, bare hashes) are deleted by migration 6; one that a
// node of the earlier version still writes during a rolling upgrade is
// matched and replayed as it is (sameLegacyRequest), and purged after 24
// hours like any other.
//
// The request's fingerprint (request_hash), which tells a repeat from a
// different request under the same key, is an HMAC-SHA256 keyed with a key
// derived from the master key, over the method, the target and the body
// with the card's CVC cut out (see requestHash): the body of a card order
// holds the card number, which must not be recoverable from a row by trying
// numbers against a bare hash (PCI DSS 3.5.1.1), and no CVC may influence
// what is kept after authorisation (PCI DSS 3.3.1.2), so a repeat with
// another CVC is the same request.

// idempotencyLease is how long an in-flight Idempotency-Key blocks a repeat
// before a crashed first attempt is taken over.
const idempotencyLease = 60 * time.Second

// requestHashLabel names the key, derived from the master key, of
// Idempotency-Key request fingerprints.
const requestHashLabel = "paygate/idempotency-request-hash/v1"

// requestHashPrefix starts every fingerprint requestHash makes; one
// without it was made by an earlier version, as a bare SHA-256.
const requestHashPrefix = "h1:"

var (
	errIdempotencyReused = errs.New(errs.KindIdempotency, "idempotency_key_reused", "This Idempotency-Key was used with a different request.")
	errIdempotencyInUse  = errs.New(errs.KindIdempotency, "idempotency_key_in_use", "A request with this Idempotency-Key is still in flight; retry shortly.")
)

// idempotent runs a POST under an Idempotency-Key, within scope (an app id,
// or operatorScope), with Stripe's semantics:
// for 24 hours the same key and request returns the first response byte for
// byte; another request under the key is refused; so is a repeat while the
// first is still in flight. Server errors are not remembered, so a retry can
// succeed. The response is kept sealed (see the top of this file).
func (s *Server) idempotent(w *bufferedWriter, r *http.Request, rt route, scope, key string, body []byte) error {
	if len(key) > 255 {
		return errs.InvalidParam("idempotency_key", "The Idempotency-Key header must be at most 255 characters.")
	}
	if s.Box == nil {
		return errs.Internal(errors.New("api: Idempotency-Key needs the master key (Server.Box) to seal what it keeps"))
	}
	hash := s.requestHash(r, body)
	now := s.Clock.Now()
	rec := &store.IdempotencyRecord{AppID: scope, Key: key, RequestHash: hash, CreatedAt: now, LockedAt: now}
	existing, err := s.Store.IdempotencyBegin(r.Context(), rec, now.Add(-idempotencyLease))
	switch {
	case errors.Is(err, store.ErrConflict):
		if existing.RequestHash != hash && !sameLegacyRequest(existing.RequestHash, r, body) {
			return errIdempotencyReused
		}
		if existing.Status == 0 {
			return errIdempotencyInUse
		}
		answer := existing.Body
		if cryptobox.IsSealed(answer) {
			if answer, err = s.Box.OpenFor(answerContext(scope, key, existing.Status), string(answer)); err != nil {
				return errs.Internal(fmt.Errorf("replay idempotency key %q: %w", key, err))
			}
		}
		w.status = existing.Status
		w.header.Set("Content-Type", "application/json")
		w.header.Set("Idempotent-Replayed", "true")
		w.body.Write(answer)
		return nil
	case err != nil:
		return err
	}
	herr := rt.Handler(w, r)
	status, respBody := w.status, w.body.Bytes()
	if herr != nil {
		e := errs.As(herr)
		status, respBody = HTTPStatus(e), renderError(e, requestID(r))
	}
	ctx := r.Context()
	sealed, serr := s.Box.SealFor(answerContext(scope, key, status), respBody)
	if status >= 500 || serr != nil {
		if serr != nil {
			s.Log.Error("seal idempotent response; the key is released unrecorded", "key", key, "err", serr)
		}
		if err := s.Store.IdempotencyRelease(ctx, scope, key); err != nil {
			s.Log.Error("release idempotency key", "key", key, "err", err)
		}
		if status >= 500 {
			return herr
		}
	} else if err := s.Store.IdempotencyFinish(ctx, scope, key, status, []byte(sealed)); err != nil {
		s.Log.Error("record idempotent response", "key", key, "err", err)
	}
	if herr != nil {
		// Render the error exactly as recorded, so the replay matches byte for byte.
		w.status = status
		w.header.Set("Content-Type", "application/json")
		w.body.Reset()
		w.body.Write(respBody)
	}
	return nil
}

// answerContext binds a kept answer to its record: the scope, the key and
// the status it is kept with.
func answerContext(scope, key string, status int) string {
	return IdempotencyAnswerContext(scope, key, status)
}

// IdempotencyAnswerContext is the cryptobox.SealFor context of the answer
// kept for Idempotency-Key key within scope (an app id, or the operator's
// scope) with status: what a master key rotation reseals it with.
func IdempotencyAnswerContext(scope, key string, status int) string {
	return "idempotency\x00" + scope + "\x00" + key + "\x00" + strconv.Itoa(status)
}

// requestHash fingerprints a request made under an Idempotency-Key:
// requestHashPrefix and the hex HMAC-SHA256, keyed with a key derived from
// the master key, of the method, the target and the body without the
// card's CVC.
func (s *Server) requestHash(r *http.Request, body []byte) string {
	m := hmac.New(sha256.New, s.requestHashKey())
	m.Write([]byte(r.Method + " " + r.URL.RequestURI() + "\n"))
	m.Write(withoutCVC(body))
	return requestHashPrefix + hex.EncodeToString(m.Sum(nil))
}

// requestHashKey derives the key of requestHash once.
func (s *Server) requestHashKey() []byte {
	s.hashKeyOnce.Do(func() { s.hashKey = s.Box.DeriveKey(requestHashLabel) })
	return s.hashKey
}

// sameLegacyRequest reports whether stored, a fingerprint made by a version
// before requestHash (a bare SHA-256 of the method, the target and the whole
// body), is the fingerprint of this request. It is computed only to compare,
// and never kept.
func sameLegacyRequest(stored string, r *http.Request, body []byte) bool {
	if strings.HasPrefix(stored, requestHashPrefix) {
		return false
	}
	h := sha256.New()
	h.Write([]byte(r.Method + " " + r.URL.RequestURI() + "\n"))
	h.Write(body)
	return hmac.Equal([]byte(stored), []byte(hex.EncodeToString(h.Sum(nil))))
}

// cvcPointer is where a create-order body holds the card's CVC.
const cvcPointer jsontext.Pointer = "/card/cvc"

// withoutCVC returns body with the value of every "cvc" member of its
// top-level "card" object cut out (what is left is only hashed, never
// parsed). A body that is not JSON is cut as far as it reads.
func withoutCVC(body []byte) []byte {
	if !bytes.Contains(body, []byte("cvc")) && !bytes.Contains(body, []byte(`\u`)) {
		return body // fast path: no member can be named "cvc"
	}
	d := jsontext.NewDecoder(bytes.NewReader(body), jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	var out []byte
	last := int64(0)
	for {
		tok, err := d.ReadToken()
		if err != nil {
			break
		}
		if tok.Kind() != '"' || d.StackDepth() != 2 || d.StackPointer() != cvcPointer {
			continue
		}
		if _, n := d.StackIndex(2); n%2 == 0 {
			continue // a value, not a member name
		}
		start := d.InputOffset()
		if err := d.SkipValue(); err != nil {
			break
		}
		out = append(out, body[last:start]...)
		last = d.InputOffset()
	}
	if out == nil {
		return body
	}
	return append(out, body[last:]...)
}

func requestID(r *http.Request) string {
	id, _ := r.Context().Value(requestIDKey).(string)
	return id
}
