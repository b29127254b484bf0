package api

// The audit log: every operator action (each operator request that is not
// a GET) and every change of a merchant's webhook endpoints is appended,
// once it succeeded, by serve — no handler records itself. A record says
// who (the operator token's id, the app and key, or the OAuth client), what
// (the route: "POST /admin/v1/merchants/{id}/apps"), the object, the object
// before (its GET answer, taken just before the handler runs, when the
// route changes an object that has one) and after (the answer), the source
// IP, the request id and the time. Secrets are blanked out of before and
// after by member name (redact), so secrets shown once never reach it.
//
// Records are hash-chained (AuditHash): each hash covers the record and
// the hash before it, so `paygate audit verify` (VerifyAudit) finds a record
// changed or deleted in the middle. Deleting the newest records leaves a
// shorter valid chain: compare the head verify prints with one kept
// elsewhere.
//
// The record is appended after the action committed, in a transaction of
// its own: should the append fail, the action stands, the failure is
// logged as an error, and the answer still goes out (the client must not
// retry a done action).

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/store"
)

// auditPrefix starts audit event ids.
const auditPrefix = "aud_"

// audited reports whether a successful request on rt is recorded.
func audited(rt route) bool {
	if rt.Method == http.MethodGet {
		return false
	}
	return rt.Access == operator || strings.HasPrefix(rt.Pattern, "/v1/webhook-endpoints")
}

// auditBefore is the object a request is about to change, as its GET route
// answers it, or nil: the request's own path (updates, deletes), else its
// parent (actions such as /{id}/rotate-secret; kept only if it is the
// object the answer is, not a parent a new object is created under).
func (s *Server) auditBefore(r *http.Request, rt route) json.RawMessage {
	if !audited(rt) {
		return nil
	}
	path := r.URL.Path
	for range 2 {
		probe := r.Clone(r.Context())
		probe.Method, probe.URL.Path, probe.URL.RawPath, probe.URL.RawQuery = http.MethodGet, path, "", ""
		probe.Body = http.NoBody
		if _, pattern := s.gets.Handler(probe); pattern != "" {
			w := &bufferedWriter{header: http.Header{}, status: http.StatusOK}
			s.gets.ServeHTTP(w, probe)
			if w.status == http.StatusOK {
				return redact(w.body.Bytes())
			}
			return nil
		}
		i := strings.LastIndexByte(path, '/')
		if i <= 0 {
			return nil
		}
		path = path[:i]
	}
	return nil
}

// audit appends the record of a successful audited request.
func (s *Server) audit(r *http.Request, rt route, reqID string, status int, before json.RawMessage, after []byte) {
	if !audited(rt) || status >= 300 {
		return
	}
	e := &store.AuditEvent{ID: id.New(auditPrefix, s.now()), CreatedAt: s.now(), Action: rt.Method + " " + rt.Pattern,
		SourceIP: sourceIP(r), RequestID: reqID}
	if rt.Access == operator {
		e.ActorType, e.ActorID = "operator", operatorID(s.OperatorTokenHash)
	} else if c := oauthClientOf(r); c != nil {
		p := principalOf(r)
		e.ActorType, e.ActorID, e.MerchantID = "oauth_client", c.ID, p.App.MerchantID
	} else if p := principalOf(r); p != nil {
		e.ActorType, e.ActorID, e.MerchantID = "app", p.App.ID, p.App.MerchantID
		if p.Key != nil {
			e.ActorID += "/" + p.Key.ID
		}
	}
	var a struct {
		ID       string `json:"id"`
		Object   string `json:"object"`
		Merchant string `json:"merchant_id"`
	}
	json.Unmarshal(after, &a)
	var b struct {
		ID     string `json:"id"`
		Object string `json:"object"`
	}
	json.Unmarshal(before, &b)
	if b.Object != "" && a.Object != "" && b.Object != a.Object && a.Object != "deleted_object" {
		before = nil // the parent of a new object, not the object
	}
	e.ObjectID, e.ObjectType = a.ID, a.Object
	if e.ObjectID == "" {
		e.ObjectID, e.ObjectType = b.ID, b.Object
	}
	if e.ObjectID == "" {
		e.ObjectID = r.PathValue("id")
	}
	if e.MerchantID == "" {
		e.MerchantID = a.Merchant
		if e.MerchantID == "" && strings.HasPrefix(r.URL.Path, "/admin/v1/merchants/") {
			e.MerchantID = r.PathValue("id")
		}
	}
	e.Before, e.After = before, redact(after)
	// The record must be written even when the client has gone.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 10*time.Second)
	defer cancel()
	if err := s.Store.AuditAppend(ctx, e, AuditHash); err != nil {
		s.Log.Error("audit: append failed; the action stands", "request_id", reqID, "action", e.Action, "object", e.ObjectID, "err", err)
	}
}

// AppendAudit appends e, an action taken outside the HTTP API (a command
// of the paygate CLI), to the audit log at now; e.ID and e.CreatedAt are
// set when empty.
func AppendAudit(ctx context.Context, st store.Store, e *store.AuditEvent, now time.Time) error {
	if e.ID == "" {
		e.ID = id.New(auditPrefix, now)
	}
	if e.CreatedAt.IsZero() {
		e.CreatedAt = now
	}
	return st.AuditAppend(ctx, e, AuditHash)
}

// operatorID names the operator token in the audit log without revealing
// it: the start of its hash.
func operatorID(tokenHash string) string {
	h := strings.TrimPrefix(tokenHash, "sha256:")
	if len(h) > 12 {
		h = h[:12]
	}
	return "optok_" + h
}

// secretNames are the member names whose values never reach the audit log.
var secretNames = []string{"secret", "password", "private", "token", "credential", "cvc", "card_number"}

// redact blanks the values of secret members of the JSON document b.
func redact(b []byte) json.RawMessage {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	var v any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return nil
	}
	out, err := json.Marshal(redactValue(v))
	if err != nil {
		return nil
	}
	return out
}

func redactValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			lk := strings.ToLower(k)
			secret := false
			for _, n := range secretNames {
				if strings.Contains(lk, n) {
					secret = true
				}
			}
			if secret && x != nil {
				t[k] = "[redacted]"
			} else {
				t[k] = redactValue(x)
			}
		}
	case []any:
		for i := range t {
			t[i] = redactValue(t[i])
		}
	}
	return v
}

// AuditHash is the chain hash of e: SHA-256 over its fields and PrevHash,
// each length-prefixed so that no two records serialize alike.
func AuditHash(e *store.AuditEvent) string {
	h := sha256.New()
	for _, f := range []string{strconv.FormatInt(e.Seq, 10), e.ID, strconv.FormatInt(e.CreatedAt.UnixMicro(), 10),
		e.ActorType, e.ActorID, e.Action, e.ObjectType, e.ObjectID, e.MerchantID, string(e.Before), string(e.After),
		e.SourceIP, e.RequestID, e.PrevHash} {
		fmt.Fprintf(h, "%d:%s;", len(f), f)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// AuditReport is VerifyAudit's finding.
type AuditReport struct {
	Events   int64
	HeadSeq  int64
	HeadHash string
	// Broken lists each break of the chain found.
	Broken []string
}

// VerifyAudit walks the audit log and checks every record's hash and link.
func VerifyAudit(ctx context.Context, st store.Store) (*AuditReport, error) {
	rep := &AuditReport{}
	var prev string
	var seq int64
	err := st.AuditScan(ctx, func(e *store.AuditEvent) error {
		rep.Events++
		switch {
		case e.Seq != seq+1:
			rep.Broken = append(rep.Broken, fmt.Sprintf("records %d to %d are missing", seq+1, e.Seq-1))
		case e.PrevHash != prev:
			rep.Broken = append(rep.Broken, fmt.Sprintf("record %d does not link to record %d", e.Seq, seq))
		}
		if AuditHash(e) != e.Hash {
			rep.Broken = append(rep.Broken, fmt.Sprintf("record %d (%s) was changed: its hash does not match", e.Seq, e.ID))
		}
		prev, seq = e.Hash, e.Seq
		return nil
	})
	rep.HeadSeq, rep.HeadHash = seq, prev
	return rep, err
}

// auditEventObject is an audit event in the operator API.
type auditEventObject struct {
	Object     string          `json:"object"`
	ID         string          `json:"id"`
	Seq        int64           `json:"seq"`
	Created    int64           `json:"created"`
	ActorType  string          `json:"actor_type"`
	ActorID    string          `json:"actor_id"`
	Action     string          `json:"action"`
	ObjectType string          `json:"object_type"`
	ObjectID   string          `json:"object_id"`
	MerchantID string          `json:"merchant_id"`
	Before     json.RawMessage `json:"before"`
	After      json.RawMessage `json:"after"`
	SourceIP   string          `json:"source_ip"`
	RequestID  string          `json:"request_id"`
	PrevHash   string          `json:"prev_hash"`
	Hash       string          `json:"hash"`
}

func auditObject(e *store.AuditEvent) auditEventObject {
	o := auditEventObject{Object: "audit_event", ID: e.ID, Seq: e.Seq, Created: e.CreatedAt.Unix(), ActorType: e.ActorType,
		ActorID: e.ActorID, Action: e.Action, ObjectType: e.ObjectType, ObjectID: e.ObjectID, MerchantID: e.MerchantID,
		Before: e.Before, After: e.After, SourceIP: e.SourceIP, RequestID: e.RequestID, PrevHash: e.PrevHash, Hash: e.Hash}
	if o.Before == nil {
		o.Before = json.RawMessage("null")
	}
	if o.After == nil {
		o.After = json.RawMessage("null")
	}
	return o
}

// listAuditEvents serves GET /admin/v1/audit-events: newest first, filtered
// by actor_id, action, object_id, merchant_id, created_gte and created_lt
// (unix seconds), paged by starting_after (a seq).
func (s *Server) listAuditEvents(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := store.AuditFilter{Limit: 20}
	for k, v := range q {
		if len(v) > 1 {
			return errs.InvalidParam(k, k+" may be given once.")
		}
		val := v[0]
		switch k {
		case "actor_id":
			f.ActorID = val
		case "action":
			f.Action = val
		case "object_id":
			f.ObjectID = val
		case "merchant_id":
			f.MerchantID = val
		case "limit", "starting_after", "created_gte", "created_lt":
			n, err := strconv.ParseInt(val, 10, 64)
			if err != nil || n < 0 || (k == "limit" && (n < 1 || n > 100)) {
				return errs.InvalidParam(k, k+" must be a whole number"+map[bool]string{true: " from 1 to 100", false: ""}[k == "limit"]+".")
			}
			switch k {
			case "limit":
				f.Limit = int(n)
			case "starting_after":
				f.BeforeSeq = n
			case "created_gte":
				f.Since = time.Unix(n, 0)
			case "created_lt":
				f.Until = time.Unix(n, 0)
			}
		default:
			return errs.Unknown(k)
		}
	}
	events, more, err := s.Store.AuditList(r.Context(), f)
	if err != nil {
		return err
	}
	data := make([]auditEventObject, len(events))
	for i, e := range events {
		data[i] = auditObject(e)
	}
	return writeJSON(w, http.StatusOK, newList(data, more))
}

func (s *Server) auditRoutes() []route {
	return []route{
		{Method: "GET", Pattern: "/admin/v1/audit-events", Access: operator, Handler: s.listAuditEvents, Query: true},
	}
}

// rawHandler runs rt's handler alone: no authentication, no error shape.
func rawHandler(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := rt.Handler(w, r); err != nil {
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
}

// recordAudit runs next and, for an audited route that succeeded, appends
// its record.
func (s *Server) recordAudit(w *bufferedWriter, r *http.Request, rt route, next func() error) error {
	if !audited(rt) || s.Store == nil {
		return next()
	}
	before := s.auditBefore(r, rt)
	if err := next(); err != nil {
		return err
	}
	if w.header.Get("Idempotent-Replayed") == "true" {
		return nil // recorded the first time
	}
	reqID, _ := r.Context().Value(requestIDKey).(string)
	s.audit(r, rt, reqID, w.status, before, w.body.Bytes())
	return nil
}
