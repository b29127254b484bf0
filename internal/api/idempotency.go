package api

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"time"

	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/store"
)

// idempotencyLease is how long an in-flight Idempotency-Key blocks a repeat
// before a crashed first attempt is taken over.
const idempotencyLease = 60 * time.Second

var (
	errIdempotencyReused = errs.New(errs.KindIdempotency, "idempotency_key_reused", "This Idempotency-Key was used with a different request.")
	errIdempotencyInUse  = errs.New(errs.KindIdempotency, "idempotency_key_in_use", "A request with this Idempotency-Key is still in flight; retry shortly.")
)

// idempotent runs a POST under an Idempotency-Key, within scope (an app id,
// or operatorScope), with Stripe's semantics:
// for 24 hours the same key and request returns the first response byte for
// byte; another request under the key is refused; so is a repeat while the
// first is still in flight. Server errors are not remembered, so a retry can
// succeed.
func (s *Server) idempotent(w *bufferedWriter, r *http.Request, rt route, scope, key string, body []byte) error {
	if len(key) > 255 {
		return errs.InvalidParam("idempotency_key", "The Idempotency-Key header must be at most 255 characters.")
	}
	h := sha256.New()
	h.Write([]byte(r.Method + " " + r.URL.RequestURI() + "\n"))
	h.Write(body)
	hash := hex.EncodeToString(h.Sum(nil))
	now := s.Clock.Now()
	rec := &store.IdempotencyRecord{AppID: scope, Key: key, RequestHash: hash, CreatedAt: now, LockedAt: now}
	existing, err := s.Store.IdempotencyBegin(r.Context(), rec, now.Add(-idempotencyLease))
	switch {
	case errors.Is(err, store.ErrConflict):
		if existing.RequestHash != hash {
			return errIdempotencyReused
		}
		if existing.Status == 0 {
			return errIdempotencyInUse
		}
		w.status = existing.Status
		w.header.Set("Content-Type", "application/json")
		w.header.Set("Idempotent-Replayed", "true")
		w.body.Write(existing.Body)
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
	if status >= 500 {
		if err := s.Store.IdempotencyRelease(ctx, scope, key); err != nil {
			s.Log.Error("release idempotency key", "key", key, "err", err)
		}
		return herr
	}
	if err := s.Store.IdempotencyFinish(ctx, scope, key, status, respBody); err != nil {
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

func requestID(r *http.Request) string {
	id, _ := r.Context().Value(requestIDKey).(string)
	return id
}
