package store

import (
	"context"
	"encoding/json"
	"time"
)

// The access layer's records: operators' rate limits per app, the
// hash-chained audit log, OAuth clients and their tokens.

// RateLimit is the rate the operator set for one app and route class.
type RateLimit struct {
	AppID     string
	Class     string
	Rate      string // COUNT/PERIOD or unlimited (ratelimit.ParseRate)
	UpdatedAt time.Time
}

// AuditEvent is one record of the audit log. Seq orders the chain: Hash
// covers the record and PrevHash, the Hash of the record before it.
type AuditEvent struct {
	Seq        int64
	ID         string
	CreatedAt  time.Time
	ActorType  string // operator, app, oauth_client, system
	ActorID    string
	Action     string
	ObjectType string
	ObjectID   string
	MerchantID string
	Before     json.RawMessage
	After      json.RawMessage
	SourceIP   string
	RequestID  string
	PrevHash   string
	Hash       string
}

// AuditFilter selects audit events; empty fields select all. Events come
// newest first, those with Seq below BeforeSeq when it is set.
type AuditFilter struct {
	ActorID, Action, ObjectID, MerchantID string
	Since, Until                          time.Time
	BeforeSeq                             int64
	Limit                                 int
}

// OAuthClient is a partner's OAuth 2.0 client.
type OAuthClient struct {
	ID         string
	Name       string
	SecretHash string
	PublicKey  string // PEM, for private_key_jwt; "" when none
	Merchants  []string
	Apps       []string
	Scopes     []string
	CreatedAt  time.Time
	RevokedAt  *time.Time
}

// OAuthToken is an access token issued to a client; only its hash is kept.
type OAuthToken struct {
	ID        string
	TokenHash string
	ClientID  string
	Scopes    []string
	CreatedAt time.Time
	ExpiresAt time.Time
	RevokedAt *time.Time
}

// AccessStore keeps the access layer's records.
type AccessStore interface {
	// RateLimitList returns appID's rates, by class.
	RateLimitList(ctx context.Context, appID string) ([]*RateLimit, error)
	// RateLimitPut sets appID's rate of each class in rates; an empty rate
	// removes the class's. It returns the app's rates after.
	RateLimitPut(ctx context.Context, appID string, rates map[string]string, at time.Time) ([]*RateLimit, error)

	// AuditAppend adds e at the end of the chain: it sets e.Seq and
	// e.PrevHash, then e.Hash = hash(e), and inserts it. Appends are
	// serialized, so the chain never forks.
	AuditAppend(ctx context.Context, e *AuditEvent, hash func(*AuditEvent) string) error
	AuditList(ctx context.Context, f AuditFilter) ([]*AuditEvent, bool, error)
	// AuditScan calls fn on every audit event in chain order.
	AuditScan(ctx context.Context, fn func(*AuditEvent) error) error

	OAuthClientCreate(ctx context.Context, c *OAuthClient) error
	OAuthClientGet(ctx context.Context, id string) (*OAuthClient, error)
	OAuthClientList(ctx context.Context) ([]*OAuthClient, error)
	// OAuthClientRevoke sets RevokedAt once and revokes the client's tokens.
	OAuthClientRevoke(ctx context.Context, id string, at time.Time) (*OAuthClient, error)
	OAuthTokenCreate(ctx context.Context, t *OAuthToken) error
	OAuthTokenGetByHash(ctx context.Context, hash string) (*OAuthToken, error)
	// OAuthTokenRevoke sets RevokedAt of the client's token once; ErrNotFound
	// when the client has no such token.
	OAuthTokenRevoke(ctx context.Context, clientID, hash string, at time.Time) error
	// OAuthTokenPurge deletes tokens that expired before before.
	OAuthTokenPurge(ctx context.Context, before time.Time) (int64, error)
}
