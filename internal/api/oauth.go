package api

// OAuth 2.0 client credentials (RFC 6749 §4.4) for partners serving many
// merchants. The operator creates a client with the merchants or apps it
// may act for and its scopes; the client trades its credentials at
// POST /oauth/token (client_secret_basic, client_secret_post, or
// private_key_jwt, RFC 7523, when it registered a public key) for a bearer
// token of 15 minutes, and sends it as `Authorization: Bearer pgat_…` with
// `Paygate-App: app_…` naming the app each request acts for. Only the
// token's hash is kept. POST /oauth/revoke revokes one (RFC 7009).
//
// A route's scope follows from its path and method (oauthScope): the
// resource after /v1/ (orders, refunds, events, webhook_endpoints, …) and
// read for GET, write otherwise. A request outside the token's scopes is
// 403 permission_error insufficient_scope.
//
// The token and revocation endpoints answer errors in RFC 6749's own shape
// ({"error":"invalid_client","error_description":…}), not the API's: that
// is what OAuth clients read. They are the one place handlers write their
// own error bodies.

import (
	"crypto/subtle"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/paygate/paygate/internal/auth"
	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/store"
)

// OAuthTokenTTL is how long an access token lives.
const OAuthTokenTTL = 15 * time.Minute

// AppHeader names the app an OAuth request acts for.
const AppHeader = "Paygate-App"

// Prefixes of OAuth clients' ids, secrets and access tokens.
const (
	oauthClientPrefix = "oac_"
	oauthSecretPrefix = "pgcs_"
	oauthTokenPrefix  = "pgat_"
)

type oauthClientKey struct{}

// oauthClientOf is the OAuth client a request was made with, or nil.
func oauthClientOf(r *http.Request) *store.OAuthClient {
	c, _ := r.Context().Value(oauthClientKey{}).(*store.OAuthClient)
	return c
}

// oauthScope is the scope a merchant route needs: "orders:read",
// "refunds:write", …
func oauthScope(rt route) string {
	rest := strings.TrimPrefix(rt.Pattern, "/v1/")
	if t, ok := strings.CutPrefix(rest, "test/"); ok {
		rest = t
	}
	res, _, _ := strings.Cut(rest, "/")
	res = strings.ReplaceAll(res, "-", "_")
	if rt.Method == http.MethodGet {
		return res + ":read"
	}
	return res + ":write"
}

// oauthScopes are every scope of the merchant API, sorted.
func (s *Server) oauthScopes() []string {
	s.init()
	var out []string
	for _, rt := range s.routes {
		if rt.Access == merchant {
			out = append(out, oauthScope(rt))
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// oauthBearer reports whether an Authorization header carries an OAuth token.
func oauthBearer(r *http.Request) (string, bool) {
	v := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(v, "Bearer ")
	return strings.TrimSpace(tok), ok && strings.HasPrefix(strings.TrimSpace(tok), oauthTokenPrefix)
}

// oauthAuthenticate authenticates a merchant request made with an OAuth
// token: the token, its client, the app of the Paygate-App header, and the
// route's scope.
func (s *Server) oauthAuthenticate(r *http.Request, rt route, token string) (*auth.Principal, *store.OAuthClient, error) {
	ctx := r.Context()
	if len(r.Header.Values("Authorization")) != 1 {
		return nil, nil, errs.Auth("authorization_invalid", "Send one Authorization header.")
	}
	invalid := func(code, msg string) error {
		return errs.Auth(code, msg)
	}
	t, err := s.Store.OAuthTokenGetByHash(ctx, auth.HashSecret(token))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, invalid("oauth_token_invalid", "Invalid OAuth access token.")
	} else if err != nil {
		return nil, nil, err
	}
	now := s.now()
	switch {
	case t.RevokedAt != nil:
		return nil, nil, invalid("oauth_token_revoked", "This OAuth access token has been revoked.")
	case !now.Before(t.ExpiresAt):
		return nil, nil, invalid("oauth_token_expired", "This OAuth access token has expired; get a new one from /oauth/token.")
	}
	c, err := s.Store.OAuthClientGet(ctx, t.ClientID)
	if err != nil {
		return nil, nil, err
	}
	if c.RevokedAt != nil {
		return nil, nil, invalid("oauth_token_revoked", "This OAuth client has been revoked.")
	}
	appID := r.Header.Get(AppHeader)
	if appID == "" {
		return nil, nil, errs.Auth("app_required", "An OAuth access token acts for one app per request: name it in the "+AppHeader+" header.")
	}
	notAllowed := errs.Permission("app_not_allowed", "This OAuth client may not act for app "+appID+".")
	app, err := s.Store.AppGet(ctx, appID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, notAllowed
	} else if err != nil {
		return nil, nil, err
	}
	if !slices.Contains(c.Apps, app.ID) && !slices.Contains(c.Merchants, app.MerchantID) {
		return nil, nil, notAllowed
	}
	if app.RequireSignature {
		return nil, nil, errs.Auth("signature_required", "This app requires signed requests; an OAuth access token is not accepted.")
	}
	if need := oauthScope(rt); !slices.Contains(t.Scopes, need) {
		return nil, nil, errs.Permission("insufficient_scope", "This OAuth access token lacks the scope "+need+".")
	}
	return &auth.Principal{App: app}, c, nil
}

// oauthError is an error in RFC 6749 §5.2's shape.
type oauthError struct {
	status int
	code   string
	desc   string
}

func (e *oauthError) Error() string { return e.code + ": " + e.desc }

func oauthErr(status int, code, desc string) *oauthError {
	return &oauthError{status: status, code: code, desc: desc}
}

// writeOAuth writes an OAuth answer: v, or the error err is.
func writeOAuth(w http.ResponseWriter, status int, v any, err error) error {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	var oe *oauthError
	if errors.As(err, &oe) {
		if oe.status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Basic realm="paygate"`)
		}
		return writeJSON(w, oe.status, map[string]string{"error": oe.code, "error_description": oe.desc})
	}
	if err != nil {
		return err // a store failure: the API's 500
	}
	return writeJSON(w, status, v)
}

// oauthForm parses an OAuth request's form body: urlencoded, no parameter
// twice (RFC 6749 §3.2).
func oauthForm(r *http.Request) (url.Values, error) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "application/x-www-form-urlencoded" {
		return nil, oauthErr(400, "invalid_request", "The body must be application/x-www-form-urlencoded.")
	}
	form, err := url.ParseQuery(string(bodyOf(r)))
	if err != nil {
		return nil, oauthErr(400, "invalid_request", "The body is not a valid form.")
	}
	for k, v := range form {
		if len(v) > 1 {
			return nil, oauthErr(400, "invalid_request", "The parameter "+k+" is given more than once.")
		}
	}
	return form, nil
}

// oauthClientAuth authenticates the client of a token or revocation
// request: HTTP Basic (client_secret_basic), client_id and client_secret
// in the form (client_secret_post), or a JWT assertion (private_key_jwt).
func (s *Server) oauthClientAuth(r *http.Request, form url.Values) (*store.OAuthClient, error) {
	bad := oauthErr(http.StatusUnauthorized, "invalid_client", "Client authentication failed.")
	user, pass, basic := r.BasicAuth()
	post := form.Has("client_secret")
	assertion := form.Has("client_assertion")
	n := 0
	for _, m := range []bool{basic, post, assertion} {
		if m {
			n++
		}
	}
	if n > 1 {
		return nil, oauthErr(400, "invalid_request", "Use one client authentication method.")
	}
	var clientID, secret string
	switch {
	case basic:
		// RFC 6749 §2.3.1: both are form-urlencoded before Basic encoding.
		var err1, err2 error
		clientID, err1 = url.QueryUnescape(user)
		secret, err2 = url.QueryUnescape(pass)
		if err1 != nil || err2 != nil {
			return nil, bad
		}
		if form.Has("client_id") && form.Get("client_id") != clientID {
			return nil, oauthErr(400, "invalid_request", "client_id differs from the authenticated client.")
		}
	case post:
		clientID, secret = form.Get("client_id"), form.Get("client_secret")
	case assertion:
		return s.oauthAssertion(r.Context(), form)
	default:
		return nil, bad
	}
	if !strings.HasPrefix(clientID, oauthClientPrefix) || secret == "" {
		return nil, bad
	}
	c, err := s.Store.OAuthClientGet(r.Context(), clientID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, bad
	} else if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare([]byte(auth.HashSecret(secret)), []byte(c.SecretHash)) != 1 || c.RevokedAt != nil {
		return nil, bad
	}
	return c, nil
}

// oauthToken serves POST /oauth/token.
func (s *Server) oauthToken(w http.ResponseWriter, r *http.Request) error {
	form, err := oauthForm(r)
	if err != nil {
		return writeOAuth(w, 0, nil, err)
	}
	c, err := s.oauthClientAuth(r, form)
	if err != nil {
		return writeOAuth(w, 0, nil, err)
	}
	switch gt := form.Get("grant_type"); gt {
	case "client_credentials":
	case "":
		return writeOAuth(w, 0, nil, oauthErr(400, "invalid_request", "grant_type is required."))
	default:
		return writeOAuth(w, 0, nil, oauthErr(400, "unsupported_grant_type", "Only client_credentials is supported."))
	}
	scopes := strings.Fields(form.Get("scope"))
	if len(scopes) == 0 {
		scopes = c.Scopes
	}
	for _, sc := range scopes {
		if !slices.Contains(c.Scopes, sc) {
			return writeOAuth(w, 0, nil, oauthErr(400, "invalid_scope", "The client may not have the scope "+sc+"."))
		}
	}
	scopes = slices.Compact(slices.Sorted(slices.Values(scopes)))
	token := oauthTokenPrefix + strings.TrimPrefix(auth.NewSecretKey(true), "sk_live_")
	now := s.now()
	t := &store.OAuthToken{ID: id.New("oat_", now), TokenHash: auth.HashSecret(token), ClientID: c.ID, Scopes: scopes,
		CreatedAt: now, ExpiresAt: now.Add(OAuthTokenTTL)}
	if err := s.Store.OAuthTokenCreate(r.Context(), t); err != nil {
		return err
	}
	return writeOAuth(w, http.StatusOK, map[string]any{"access_token": token, "token_type": "Bearer",
		"expires_in": int(OAuthTokenTTL.Seconds()), "scope": strings.Join(scopes, " ")}, nil)
}

// oauthRevoke serves POST /oauth/revoke (RFC 7009): the client revokes one
// of its tokens. An unknown token, or another client's, is answered 200 as
// well and left alone: the answer tells nothing about tokens.
func (s *Server) oauthRevoke(w http.ResponseWriter, r *http.Request) error {
	form, err := oauthForm(r)
	if err != nil {
		return writeOAuth(w, 0, nil, err)
	}
	c, err := s.oauthClientAuth(r, form)
	if err != nil {
		return writeOAuth(w, 0, nil, err)
	}
	token := form.Get("token")
	if token == "" {
		return writeOAuth(w, 0, nil, oauthErr(400, "invalid_request", "token is required."))
	}
	if err := s.Store.OAuthTokenRevoke(r.Context(), c.ID, auth.HashSecret(token), s.now()); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	return nil
}

// oauthClientObject is an OAuth client in the operator API.
type oauthClientObject struct {
	Object       string   `json:"object"`
	ID           string   `json:"id"`
	Name         string   `json:"name"`
	Merchants    []string `json:"merchants"`
	Apps         []string `json:"apps"`
	Scopes       []string `json:"scopes"`
	PublicKey    *string  `json:"public_key"`
	ClientSecret string   `json:"client_secret,omitempty"`
	Created      int64    `json:"created"`
	Revoked      *int64   `json:"revoked"`
}

func oauthClientObj(c *store.OAuthClient, secret string) oauthClientObject {
	o := oauthClientObject{Object: "oauth_client", ID: c.ID, Name: c.Name, Merchants: c.Merchants, Apps: c.Apps,
		Scopes: c.Scopes, ClientSecret: secret, Created: c.CreatedAt.Unix()}
	if c.PublicKey != "" {
		pk := c.PublicKey
		o.PublicKey = &pk
	}
	if c.RevokedAt != nil {
		r := c.RevokedAt.Unix()
		o.Revoked = &r
	}
	return o
}

// createOAuthClient serves POST /admin/v1/oauth-clients.
func (s *Server) createOAuthClient(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Name      *string  `json:"name"`
		Merchants []string `json:"merchants"`
		Apps      []string `json:"apps"`
		Scopes    []string `json:"scopes"`
		PublicKey *string  `json:"public_key"`
	}
	if err := decodeJSON(r, bodyOf(r), &req); err != nil {
		return err
	}
	if req.Name == nil || strings.TrimSpace(*req.Name) == "" {
		return errs.Missing("name")
	}
	if len(*req.Name) > 200 {
		return errs.InvalidParam("name", "name must be at most 200 characters.")
	}
	if len(req.Merchants)+len(req.Apps) == 0 {
		return errs.Missingf("merchants", "Name the merchants or apps the client may act for (merchants, apps).")
	}
	if len(req.Scopes) == 0 {
		return errs.Missing("scopes")
	}
	known := s.oauthScopes()
	for _, sc := range req.Scopes {
		if !slices.Contains(known, sc) {
			return errs.InvalidParam("scopes", "Unknown scope "+sc+"; scopes are RESOURCE:read or RESOURCE:write of the merchant API (orders:read, refunds:write, events:read, …).")
		}
	}
	for _, m := range req.Merchants {
		if _, err := s.Store.MerchantGet(r.Context(), m); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return errs.InvalidParam("merchants", "No such merchant: "+m+".")
			}
			return err
		}
	}
	for _, a := range req.Apps {
		if _, err := s.Store.AppGet(r.Context(), a); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return errs.InvalidParam("apps", "No such app: "+a+".")
			}
			return err
		}
	}
	c := &store.OAuthClient{Name: strings.TrimSpace(*req.Name), Merchants: nonNil(req.Merchants), Apps: nonNil(req.Apps),
		Scopes: slices.Compact(slices.Sorted(slices.Values(req.Scopes))), CreatedAt: s.now()}
	if req.PublicKey != nil && *req.PublicKey != "" {
		if _, err := parseAssertionKey(*req.PublicKey); err != nil {
			return errs.InvalidParam("public_key", "public_key must be a PEM RSA (2048 bits or more), P-256 or Ed25519 public key.")
		}
		c.PublicKey = *req.PublicKey
	}
	c.ID = id.New(oauthClientPrefix, c.CreatedAt)
	secret := oauthSecretPrefix + strings.TrimPrefix(auth.NewSecretKey(true), "sk_live_")
	c.SecretHash = auth.HashSecret(secret)
	if err := s.Store.OAuthClientCreate(r.Context(), c); err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, oauthClientObj(c, secret))
}

func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

func (s *Server) getOAuthClient(w http.ResponseWriter, r *http.Request) error {
	c, err := s.Store.OAuthClientGet(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		return errs.NotFound("oauth_client_not_found", "No such OAuth client.")
	} else if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, oauthClientObj(c, ""))
}

func (s *Server) listOAuthClients(w http.ResponseWriter, r *http.Request) error {
	cs, err := s.Store.OAuthClientList(r.Context())
	if err != nil {
		return err
	}
	data := make([]oauthClientObject, len(cs))
	for i, c := range cs {
		data[i] = oauthClientObj(c, "")
	}
	return writeJSON(w, http.StatusOK, newList(data, false))
}

// revokeOAuthClient revokes the client and every token it holds.
func (s *Server) revokeOAuthClient(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.Store.OAuthClientGet(r.Context(), r.PathValue("id")); errors.Is(err, store.ErrNotFound) {
		return errs.NotFound("oauth_client_not_found", "No such OAuth client.")
	} else if err != nil {
		return err
	}
	c, err := s.Store.OAuthClientRevoke(r.Context(), r.PathValue("id"), s.now())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, oauthClientObj(c, ""))
}

func (s *Server) oauthRoutes() []route {
	return []route{
		{Method: "POST", Pattern: "/oauth/token", Access: public, Class: classOAuth, Handler: s.oauthToken},
		{Method: "POST", Pattern: "/oauth/revoke", Access: public, Class: classOAuth, Handler: s.oauthRevoke},
		{Method: "POST", Pattern: "/admin/v1/oauth-clients", Access: operator, Handler: s.createOAuthClient},
		{Method: "GET", Pattern: "/admin/v1/oauth-clients", Access: operator, Handler: s.listOAuthClients},
		{Method: "GET", Pattern: "/admin/v1/oauth-clients/{id}", Access: operator, Handler: s.getOAuthClient},
		{Method: "DELETE", Pattern: "/admin/v1/oauth-clients/{id}", Access: operator, Handler: s.revokeOAuthClient},
	}
}
