package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/paygate/paygate/internal/clock"
	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/store"
)

// UserPrefix begins console users' ids.
const UserPrefix = "usr_"

// InviteTTL is how long an invitation link works.
const InviteTTL = 72 * time.Hour

// MinPassword is the shortest password taken.
const MinPassword = 12

// Users manages console users: the CLI (paygate operator add) and the
// console's own pages use it.
type Users struct {
	Store store.Store
	Clock clock.Clock
	Seal  func(string) (string, error)
	Open  func(string) (string, error)
}

// NewUser is who to add or invite.
type NewUser struct {
	Kind       string // store.ConsoleOperator or store.ConsoleMerchant
	MerchantID string
	Email      string
	Name       string
	Role       string
	// Password, when set, makes the user at once; otherwise the user gets
	// an invitation to choose one.
	Password string
}

var (
	errEmail       = errs.InvalidParam("email", "A valid email address is required.")
	errRole        = errs.InvalidParam("role", "role must be admin or viewer.")
	errPassword    = errs.InvalidParam("password", "The password must be at least 12 characters.")
	errEmailTaken  = errs.Conflict("email_taken", "A console user with this email already exists.")
	errInvite      = errs.NotFound("invite_invalid", "This invitation link is not valid or has expired.")
	errBadLogin    = errs.Auth("login_failed", "Wrong email, password or code.")
	errSignedOut   = errs.Auth("signed_out", "Your session has ended. Please sign in again.")
	errRateLimited = errs.New(errs.KindRateLimited, "login_rate_limited", "Too many failed sign-ins. Try again in 15 minutes.")
)

// Add creates a user; with no password it returns the invitation token to
// send (as a link /console/invite/<token>).
func (u *Users) Add(ctx context.Context, n NewUser) (*store.ConsoleUser, string, error) {
	email := strings.ToLower(strings.TrimSpace(n.Email))
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email || len(email) > 254 {
		return nil, "", errEmail
	}
	if n.Role == "" {
		n.Role = store.RoleAdmin
	}
	if n.Role != store.RoleAdmin && n.Role != store.RoleViewer {
		return nil, "", errRole
	}
	switch n.Kind {
	case store.ConsoleOperator:
		n.MerchantID = ""
	case store.ConsoleMerchant:
		if n.MerchantID == "" {
			return nil, "", errs.Missing("merchant")
		}
		if _, err := u.Store.MerchantGet(ctx, n.MerchantID); err != nil {
			return nil, "", notFound(err)
		}
	default:
		return nil, "", errs.InvalidParam("kind", "kind must be operator or merchant.")
	}
	if utf8.RuneCountInString(n.Name) > 100 {
		return nil, "", errs.InvalidParam("name", "The name is too long.")
	}
	now := u.Clock.Now()
	user := &store.ConsoleUser{ID: id.New(UserPrefix, now), Kind: n.Kind, MerchantID: n.MerchantID, Email: email,
		Name: strings.TrimSpace(n.Name), Role: n.Role, CreatedAt: now, UpdatedAt: now}
	var token string
	if n.Password != "" {
		if utf8.RuneCountInString(n.Password) < MinPassword {
			return nil, "", errPassword
		}
		h, err := HashPassword(n.Password)
		if err != nil {
			return nil, "", err
		}
		user.PasswordHash = h
	} else {
		token = randomToken()
		exp := now.Add(InviteTTL)
		user.InviteHash, user.InviteExpiresAt = hashToken(token), &exp
	}
	if err := u.Store.ConsoleUserCreate(ctx, user); errors.Is(err, store.ErrConflict) {
		return nil, "", errEmailTaken
	} else if err != nil {
		return nil, "", err
	}
	return user, token, nil
}

// Invited returns the user an invitation token is for.
func (u *Users) Invited(ctx context.Context, token string) (*store.ConsoleUser, error) {
	user, err := u.Store.ConsoleUserByInvite(ctx, hashToken(token))
	if err != nil || user.Disabled || user.InviteExpiresAt == nil || !u.Clock.Now().Before(*user.InviteExpiresAt) {
		return nil, errInvite
	}
	return user, nil
}

// Accept sets the invited user's password and uses up the invitation.
func (u *Users) Accept(ctx context.Context, token, password string) (*store.ConsoleUser, error) {
	user, err := u.Invited(ctx, token)
	if err != nil {
		return nil, err
	}
	if err := u.setPassword(ctx, user, password); err != nil {
		return nil, err
	}
	return user, nil
}

// SetPassword changes a user's password and ends every session of theirs.
func (u *Users) SetPassword(ctx context.Context, user *store.ConsoleUser, password string) error {
	if err := u.setPassword(ctx, user, password); err != nil {
		return err
	}
	_, err := u.Store.ConsoleSessionRevokeUser(ctx, user.ID, u.Clock.Now())
	return err
}

func (u *Users) setPassword(ctx context.Context, user *store.ConsoleUser, password string) error {
	if utf8.RuneCountInString(password) < MinPassword {
		return errPassword
	}
	h, err := HashPassword(password)
	if err != nil {
		return err
	}
	user.PasswordHash, user.InviteHash, user.InviteExpiresAt, user.UpdatedAt = h, "", nil, u.Clock.Now()
	return u.Store.ConsoleUserUpdate(ctx, user)
}

// Authenticate checks an email, password and (when the user has one) TOTP
// code. Every failure is the same error, and an unknown email costs a hash.
func (u *Users) Authenticate(ctx context.Context, email, password, code string) (*store.ConsoleUser, error) {
	user, err := u.Store.ConsoleUserByEmail(ctx, strings.ToLower(strings.TrimSpace(email)))
	if errors.Is(err, store.ErrNotFound) {
		CheckPassword(dummyHash, password)
		return nil, errBadLogin
	} else if err != nil {
		return nil, err
	}
	if user.PasswordHash == "" || user.Disabled {
		CheckPassword(dummyHash, password)
		return nil, errBadLogin
	}
	ok, err := CheckPassword(user.PasswordHash, password)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errBadLogin
	}
	if user.TOTPSealed != "" {
		secret, err := u.Open(user.TOTPSealed)
		if err != nil {
			return nil, err
		}
		if !checkTOTP(secret, strings.TrimSpace(code), u.Clock.Now()) {
			return nil, errBadLogin
		}
	}
	return user, nil
}

// EnableTOTP turns the second factor on once the user shows a code of secret.
func (u *Users) EnableTOTP(ctx context.Context, user *store.ConsoleUser, secret, code string) error {
	if !checkTOTP(secret, strings.TrimSpace(code), u.Clock.Now()) {
		return errs.InvalidParam("code", "The code does not match; check the authenticator app's clock.")
	}
	sealed, err := u.Seal(secret)
	if err != nil {
		return err
	}
	user.TOTPSealed, user.UpdatedAt = sealed, u.Clock.Now()
	return u.Store.ConsoleUserUpdate(ctx, user)
}

// randomToken is 256 random bits, URL-safe.
func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashToken(t string) string {
	sum := sha256.Sum256([]byte(t))
	return hex.EncodeToString(sum[:])
}
