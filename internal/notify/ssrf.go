package notify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// Address classes a notification may not go to. Test mode allows Loopback
// unless the gateway is hosted (Policy), so merchants can develop against a
// server on their own machine; every other class is refused in both modes.
const (
	ClassLoopback    = "loopback"
	ClassPrivate     = "private"
	ClassLinkLocal   = "link-local"
	ClassMetadata    = "cloud metadata"
	ClassMulticast   = "multicast"
	ClassUnspecified = "unspecified"
	ClassCGNAT       = "carrier-grade NAT"
	ClassReserved    = "reserved"
)

var (
	cgnat     = netip.MustParsePrefix("100.64.0.0/10")
	thisNet   = netip.MustParsePrefix("0.0.0.0/8")
	ietf      = netip.MustParsePrefix("192.0.0.0/24")
	bench     = netip.MustParsePrefix("198.18.0.0/15")
	future    = netip.MustParsePrefix("240.0.0.0/4") // with 255.255.255.255
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	nat64Loc  = netip.MustParsePrefix("64:ff9b:1::/48")
	sixToFour = netip.MustParsePrefix("2002::/16")
	metadata  = []netip.Addr{
		netip.MustParseAddr("169.254.169.254"), // AWS, GCP, Azure, Alibaba (and 100.100.100.200, which is CGNAT)
		netip.MustParseAddr("fd00:ec2::254"),   // AWS over IPv6
	}
)

// Classify returns the class of addr when notifications may not go there
// ("" for a public address). IPv4 addresses embedded in IPv6 (mapped,
// NAT64, 6to4) are classified as the IPv4 address they carry.
func Classify(addr netip.Addr) string {
	addr = addr.Unmap()
	if addr.Is6() {
		b := addr.As16()
		switch {
		case nat64.Contains(addr):
			return Classify(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}))
		case nat64Loc.Contains(addr): // RFC 8215: the IPv4 address may sit anywhere in the low bits; check the last four
			if c := Classify(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})); c != "" {
				return c
			}
			return ClassReserved
		case sixToFour.Contains(addr):
			if c := Classify(netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]})); c != "" {
				return c
			}
		}
	}
	for _, m := range metadata {
		if addr == m {
			return ClassMetadata
		}
	}
	switch {
	case addr.IsLoopback():
		return ClassLoopback
	case addr.IsUnspecified(), thisNet.Contains(addr):
		return ClassUnspecified
	case addr.IsPrivate(): // 10/8, 172.16/12, 192.168/16, fc00::/7
		return ClassPrivate
	case addr.IsLinkLocalUnicast(): // 169.254/16, fe80::/10
		return ClassLinkLocal
	case addr.IsMulticast(), addr.IsLinkLocalMulticast(), addr.IsInterfaceLocalMulticast():
		return ClassMulticast
	case cgnat.Contains(addr):
		return ClassCGNAT
	case ietf.Contains(addr), bench.Contains(addr), future.Contains(addr):
		return ClassReserved
	}
	return ""
}

// Policy is the operator's rule for where notifications may go, beyond the
// fixed one (public addresses only, https only in live mode). The zero
// Policy is local development and the embedded demo: test-mode
// notifications may go to loopback addresses, so a merchant can try its
// webhook handler on its own machine.
type Policy struct {
	// Hosted says the gateway serves merchants it does not trust, from a
	// machine they do not own: loopback addresses are refused in test mode
	// too, since otherwise anyone with a test key could make the gateway
	// call services on its own host (a database's port, an admin page) and
	// read what they answer in the event's attempts. Private, link-local,
	// metadata and the other classes Classify names are refused in both
	// modes whatever the Policy.
	Hosted bool
}

// loopbackOK reports whether a notification of the given mode may go to a
// loopback address.
func (p Policy) loopbackOK(live bool) bool { return !live && !p.Hosted }

// allowed reports whether a notification may go to addr, loopback
// addresses being allowed when loopbackOK.
func allowed(addr netip.Addr, loopbackOK bool) (class string, ok bool) {
	class = Classify(addr)
	return class, class == "" || (class == ClassLoopback && loopbackOK)
}

// ErrNotResolved is wrapped by CheckURL's error when the host name does not
// resolve. Callers on a hot path may accept such a URL: the address is
// checked again when each notification connects.
var ErrNotResolved = errors.New("host does not resolve")

// RefusedError is a target refused by the address guard. Its message is
// safe to show to the merchant.
type RefusedError struct {
	Reason string
	err    error
}

func (e *RefusedError) Error() string { return e.Reason }

// Unwrap returns ErrNotResolved for a name that does not resolve.
func (e *RefusedError) Unwrap() error { return e.err }

func refused(format string, args ...any) error {
	return &RefusedError{Reason: fmt.Sprintf(format, args...)}
}

// lookupTimeout bounds CheckURL's name resolution.
const lookupTimeout = 3 * time.Second

// CheckURL checks that rawURL is a URL notifications may be sent to: an
// absolute http or https URL without credentials — https only in live mode —
// whose host is, or resolves only to, addresses outside the refused classes
// (see Classify; loopback is allowed in test mode unless p.Hosted). It is
// the check done when a merchant names a URL; delivery checks each address
// again as it connects, so a name that later resolves elsewhere (DNS
// rebinding) is still refused. The error is a *RefusedError, wrapping
// ErrNotResolved when the name does not resolve.
func (p Policy) CheckURL(ctx context.Context, rawURL string, live bool) error {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return refused("the URL must be an absolute http or https URL")
	}
	if u.User != nil {
		return refused("the URL must not contain credentials")
	}
	if live && u.Scheme != "https" {
		return refused("live-mode notification URLs must use https")
	}
	host := u.Hostname()
	if addr, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		if class, ok := allowed(addr.WithZone(""), p.loopbackOK(live)); !ok {
			return refusedAddr(host, addr, class, live)
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil || len(addrs) == 0 {
		return &RefusedError{Reason: fmt.Sprintf("the host %s does not resolve", host), err: ErrNotResolved}
	}
	for _, addr := range addrs {
		if class, ok := allowed(addr, p.loopbackOK(live)); !ok {
			return refusedAddr(host, addr, class, live)
		}
	}
	return nil
}

func refusedAddr(host string, addr netip.Addr, class string, live bool) error {
	if class == ClassLoopback && live {
		return refused("the host %s is a loopback address (%s); live-mode notifications go to public addresses only", host, addr)
	}
	if class == ClassLoopback {
		return refused("the host %s is a loopback address (%s); this gateway is hosted and sends notifications to public addresses only", host, addr)
	}
	if host == addr.String() || host == "["+addr.String()+"]" {
		return refused("the host %s is a %s address; notifications go to public addresses only", host, class)
	}
	return refused("the host %s resolves to a %s address (%s); notifications go to public addresses only", host, class, addr)
}

// dialControl refuses, at connect time, any address CheckURL would refuse.
// Running on the resolved address of each connection attempt, it cannot be
// dodged by a name that resolves differently later (DNS rebinding).
func (p Policy) dialControl(live bool) func(network, address string, c syscall.RawConn) error {
	return func(network, address string, c syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return refused("cannot check the address %s", address)
		}
		addr := ap.Addr().WithZone("")
		if class, ok := allowed(addr, p.loopbackOK(live)); !ok {
			if class == ClassLoopback && live {
				return refused("refused to connect to %s: loopback addresses are allowed in test mode only", addr)
			}
			if class == ClassLoopback {
				return refused("refused to connect to %s: this gateway is hosted and sends no notification to loopback addresses", addr)
			}
			return refused("refused to connect to %s: a %s address", addr, class)
		}
		return nil
	}
}
