package console

import (
	"context"
	"crypto/subtle"
	"errors"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/paygate/paygate/internal/store"
)

// CookieName is the session cookie; loginCookie holds the sign-in form's
// CSRF token before there is a session.
const (
	CookieName  = "paygate_console"
	loginCookie = "paygate_console_login"
)

// principal is the signed-in user and their session.
type principal struct {
	User    *store.ConsoleUser
	Session *store.ConsoleSession
	// Merchant is the merchant user's merchant (nil for operators).
	Merchant *store.Merchant
}

// Operator reports whether the user is the platform's.
func (p *principal) Operator() bool { return p.User.Kind == store.ConsoleOperator }

// Admin reports whether the user may change things.
func (p *principal) Admin() bool { return p.User.Role == store.RoleAdmin }

// CSRF is the token forms carry.
func (p *principal) CSRF() string { return p.Session.CSRF }

// Live is the mode the user is looking at.
func (p *principal) Live() bool { return p.Session.Livemode }

// scopeMerchant is the merchant the user's queries are limited to; "" for operators.
func (p *principal) scopeMerchant() string {
	if p.Operator() {
		return ""
	}
	return p.User.MerchantID
}

// maysee reports whether the user may see an object of merchantID.
func (p *principal) maysee(merchantID string) bool {
	return p.Operator() || p.User.MerchantID == merchantID
}

func (p *principal) checkCSRF(token string) bool {
	return token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(p.Session.CSRF)) == 1
}

type principalKey struct{}

func principalOf(r *http.Request) *principal {
	p, _ := r.Context().Value(principalKey{}).(*principal)
	return p
}

// authenticate finds r's session: nil without one (or with one that is
// over, whose cookie it clears).
func (h *Handler) authenticate(w http.ResponseWriter, r *http.Request) (*principal, error) {
	c, err := r.Cookie(CookieName)
	if err != nil || c.Value == "" {
		return nil, nil
	}
	ctx := r.Context()
	s, err := h.cfg.Store.ConsoleSessionGet(ctx, hashToken(c.Value))
	if errors.Is(err, store.ErrNotFound) {
		h.clearCookie(w, r, CookieName)
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	now := h.now()
	if s.RevokedAt != nil || !now.Before(s.ExpiresAt) || !now.Before(s.CreatedAt.Add(h.cfg.SessionMaxAge)) {
		h.clearCookie(w, r, CookieName)
		return nil, nil
	}
	u, err := h.cfg.Store.ConsoleUserGet(ctx, s.UserID)
	if err != nil {
		return nil, err
	}
	if u.Disabled {
		h.clearCookie(w, r, CookieName)
		return nil, nil
	}
	p := &principal{User: u, Session: s}
	if u.Kind == store.ConsoleMerchant {
		if p.Merchant, err = h.cfg.Store.MerchantGet(ctx, u.MerchantID); err != nil {
			return nil, err
		}
	}
	// The idle expiry moves at most once a minute, not on every request.
	if now.Sub(s.SeenAt) > time.Minute {
		if err := h.cfg.Store.ConsoleSessionTouch(ctx, s.ID, now, now.Add(h.cfg.SessionIdle)); err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
	}
	return p, nil
}

// secure reports whether cookies get the Secure attribute: over TLS, or
// behind a proxy the public URL says is https.
func (h *Handler) secure(r *http.Request) bool {
	return r.TLS != nil || strings.HasPrefix(h.cfg.PublicURL, "https://")
}

func (h *Handler) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/console", HttpOnly: true, Secure: h.secure(r),
		SameSite: http.SameSiteLaxMode, MaxAge: int(maxAge / time.Second)})
}

func (h *Handler) clearCookie(w http.ResponseWriter, r *http.Request, name string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/console", HttpOnly: true, Secure: h.secure(r),
		SameSite: http.SameSiteLaxMode, MaxAge: -1})
}

// startSession signs user in on this browser.
func (h *Handler) startSession(ctx context.Context, w http.ResponseWriter, r *http.Request, u *store.ConsoleUser) error {
	token := randomToken()
	now := h.now()
	s := &store.ConsoleSession{ID: hashToken(token), UserID: u.ID, CSRF: randomToken(), CreatedAt: now, SeenAt: now,
		ExpiresAt: now.Add(h.cfg.SessionIdle)}
	if err := h.cfg.Store.ConsoleSessionCreate(ctx, s); err != nil {
		return err
	}
	h.setCookie(w, r, CookieName, token, h.cfg.SessionMaxAge)
	return nil
}

type loginData struct {
	CSRF, Email, Next string
}

func (h *Handler) loginPage(w http.ResponseWriter, r *http.Request) error {
	if p, err := h.authenticate(w, r); err == nil && p != nil {
		http.Redirect(w, r, "/console/", http.StatusSeeOther)
		return nil
	}
	return h.showLogin(w, r, http.StatusOK, "", nil)
}

func (h *Handler) showLogin(w http.ResponseWriter, r *http.Request, status int, email string, failure error) error {
	token := randomToken()
	h.setCookie(w, r, loginCookie, token, time.Hour)
	v := h.view(r, translator(r).T("Sign in"))
	if failure != nil {
		v.Flash = v.Tr.Message(failure)
	}
	v.Data = loginData{CSRF: token, Email: email, Next: safeNext(r.FormValue("next"))}
	h.render(w, status, "login", v)
	return nil
}

// safeNext keeps a post-sign-in redirect inside the console.
func safeNext(next string) string {
	if strings.HasPrefix(next, "/console/") && !strings.HasPrefix(next, "//") && !strings.Contains(next, "\\") {
		return next
	}
	return "/console/"
}

// clientIP is the peer's address (the gateway does not trust forwarding
// headers it cannot check).
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (h *Handler) login(w http.ResponseWriter, r *http.Request) error {
	c, err := r.Cookie(loginCookie)
	if err != nil || c.Value == "" || subtle.ConstantTimeCompare([]byte(c.Value), []byte(r.PostFormValue("csrf"))) != 1 {
		return errCSRF
	}
	email := strings.ToLower(strings.TrimSpace(r.PostFormValue("email")))
	ipKey, emailKey := "ip:"+clientIP(r), "email:"+email
	if h.limits.blocked(ipKey) || h.limits.blocked(emailKey) {
		return errRateLimited
	}
	u, err := h.users.Authenticate(r.Context(), email, r.PostFormValue("password"), r.PostFormValue("code"))
	if errors.Is(err, errBadLogin) {
		h.limits.fail(ipKey, emailKey)
		return h.showLogin(w, r, http.StatusUnauthorized, email, err)
	} else if err != nil {
		return err
	}
	h.limits.reset(emailKey)
	if err := h.startSession(r.Context(), w, r, u); err != nil {
		return err
	}
	h.clearCookie(w, r, loginCookie)
	http.Redirect(w, r, safeNext(r.PostFormValue("next")), http.StatusSeeOther)
	return nil
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request) error {
	p := principalOf(r)
	if err := h.cfg.Store.ConsoleSessionRevoke(r.Context(), p.Session.ID, h.now()); err != nil {
		return err
	}
	h.clearCookie(w, r, CookieName)
	http.Redirect(w, r, "/console/login", http.StatusSeeOther)
	return nil
}

// logoutAll ends every session of the user, this one included.
func (h *Handler) logoutAll(w http.ResponseWriter, r *http.Request) error {
	p := principalOf(r)
	if _, err := h.cfg.Store.ConsoleSessionRevokeUser(r.Context(), p.User.ID, h.now()); err != nil {
		return err
	}
	h.clearCookie(w, r, CookieName)
	http.Redirect(w, r, "/console/login", http.StatusSeeOther)
	return nil
}

func (h *Handler) switchMode(w http.ResponseWriter, r *http.Request) error {
	p := principalOf(r)
	live := r.PostFormValue("mode") == "live"
	if err := h.cfg.Store.ConsoleSessionSetMode(r.Context(), p.Session.ID, live); err != nil {
		return err
	}
	return back(w, r, safeNext(r.PostFormValue("next")), "")
}

type inviteData struct {
	User  *store.ConsoleUser
	Token string
	CSRF  string
}

func (h *Handler) invitePage(w http.ResponseWriter, r *http.Request) error {
	u, err := h.users.Invited(r.Context(), r.PathValue("token"))
	if err != nil {
		return err
	}
	token := randomToken()
	h.setCookie(w, r, loginCookie, token, time.Hour)
	return h.page(w, r, "invite", "Choose a password", inviteData{User: u, Token: r.PathValue("token"), CSRF: token})
}

func (h *Handler) acceptInvite(w http.ResponseWriter, r *http.Request) error {
	c, err := r.Cookie(loginCookie)
	if err != nil || c.Value == "" || subtle.ConstantTimeCompare([]byte(c.Value), []byte(r.PostFormValue("csrf"))) != 1 {
		return errCSRF
	}
	u, err := h.users.Accept(r.Context(), r.PathValue("token"), r.PostFormValue("password"))
	if err != nil {
		return err
	}
	if err := h.startSession(r.Context(), w, r, u); err != nil {
		return err
	}
	h.clearCookie(w, r, loginCookie)
	http.Redirect(w, r, "/console/", http.StatusSeeOther)
	return nil
}

type accountData struct {
	TOTPOn        bool
	Secret, URI   string
	SessionsEnded int
}

func (h *Handler) accountPage(w http.ResponseWriter, r *http.Request) error {
	p := principalOf(r)
	d := accountData{TOTPOn: p.User.TOTPSealed != ""}
	if !d.TOTPOn && h.cfg.Seal != nil {
		d.Secret = NewTOTPSecret()
		d.URI = totpURI(p.User.Email, d.Secret)
	}
	return h.page(w, r, "account", "Account", d)
}

func (h *Handler) changePassword(w http.ResponseWriter, r *http.Request) error {
	p := principalOf(r)
	ok, err := CheckPassword(p.User.PasswordHash, r.PostFormValue("current"))
	if err != nil {
		return err
	}
	if !ok {
		return errBadLogin
	}
	if err := h.users.SetPassword(r.Context(), p.User, r.PostFormValue("password")); err != nil {
		return err
	}
	h.clearCookie(w, r, CookieName)
	http.Redirect(w, r, "/console/login", http.StatusSeeOther)
	return nil
}

func (h *Handler) enableTOTP(w http.ResponseWriter, r *http.Request) error {
	p := principalOf(r)
	if h.cfg.Seal == nil {
		return errNotFound
	}
	if err := h.users.EnableTOTP(r.Context(), p.User, r.PostFormValue("secret"), r.PostFormValue("code")); err != nil {
		return err
	}
	return back(w, r, "/console/account", "Two-step sign-in is on.")
}
