package notify

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"testing"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ addr, class string }{
		{"127.0.0.1", ClassLoopback},
		{"127.8.9.10", ClassLoopback},
		{"::1", ClassLoopback},
		{"::ffff:127.0.0.1", ClassLoopback},
		{"10.1.2.3", ClassPrivate},
		{"172.16.0.1", ClassPrivate},
		{"172.31.255.255", ClassPrivate},
		{"192.168.1.1", ClassPrivate},
		{"fc00::1", ClassPrivate},
		{"fd12:3456::1", ClassPrivate},
		{"::ffff:10.0.0.1", ClassPrivate},
		{"64:ff9b::10.0.0.1", ClassPrivate}, // NAT64 of a private address
		{"2002:c0a8:0101::1", ClassPrivate}, // 6to4 of 192.168.1.1
		{"169.254.1.1", ClassLinkLocal},
		{"fe80::1", ClassLinkLocal},
		{"169.254.169.254", ClassMetadata},
		{"fd00:ec2::254", ClassMetadata},
		{"224.0.0.1", ClassMulticast},
		{"239.255.255.250", ClassMulticast},
		{"ff02::1", ClassMulticast},
		{"ff05::2", ClassMulticast},
		{"0.0.0.0", ClassUnspecified},
		{"0.1.2.3", ClassUnspecified},
		{"::", ClassUnspecified},
		{"100.64.0.1", ClassCGNAT},
		{"100.100.100.200", ClassCGNAT}, // Alibaba Cloud's metadata service
		{"100.127.255.255", ClassCGNAT},
		{"255.255.255.255", ClassReserved},
		{"198.18.0.1", ClassReserved},
		{"8.8.8.8", ""},
		{"93.184.216.34", ""},
		{"100.63.255.255", ""},
		{"100.128.0.0", ""},
		{"172.32.0.1", ""},
		{"2606:4700:4700::1111", ""},
		{"64:ff9b::8.8.8.8", ""},
	} {
		if got := Classify(netip.MustParseAddr(c.addr)); got != c.class {
			t.Errorf("Classify(%s) = %q, want %q", c.addr, got, c.class)
		}
	}
}

func TestCheckURL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, c := range []struct {
		url        string
		live, ok   bool
		reasonPart string
		hosted     bool
	}{
		// Test mode lets merchants develop against their own machine...
		{"http://127.0.0.1:8080/hook", false, true, "", false},
		{"http://localhost:8080/hook", false, true, "", false},
		{"https://[::1]/hook", false, true, "", false},
		{"http://93.184.216.34/hook", false, true, "", false},
		// ... unless the gateway is hosted: its machine is not theirs.
		{"http://127.0.0.1:8080/hook", false, false, "hosted", true},
		{"http://localhost:6379/", false, false, "loopback", true},
		{"https://[::1]/hook", false, false, "loopback", true},
		{"http://[::ffff:127.0.0.1]/hook", false, false, "loopback", true},
		{"http://93.184.216.34/hook", false, true, "", true},
		{"https://93.184.216.34/hook", true, true, "", true},
		{"https://127.0.0.1/hook", true, false, "loopback", true},
		{"http://10.0.0.5/hook", false, false, "private", true},
		// ... but no other internal address.
		{"http://10.0.0.5/hook", false, false, "private", false},
		{"http://192.168.1.10/hook", false, false, "private", false},
		{"http://169.254.169.254/latest/meta-data", false, false, "cloud metadata", false},
		{"http://[fd00:ec2::254]/", false, false, "cloud metadata", false},
		{"http://[fe80::1]/", false, false, "link-local", false},
		{"http://100.64.1.1/", false, false, "carrier-grade NAT", false},
		{"http://224.0.0.1/", false, false, "multicast", false},
		{"http://0.0.0.0:8080/", false, false, "unspecified", false},
		{"http://[::ffff:10.0.0.1]/", false, false, "private", false},
		// Live mode: https to public addresses only.
		{"https://93.184.216.34/hook", true, true, "", false},
		{"http://93.184.216.34/hook", true, false, "https", false},
		{"https://127.0.0.1/hook", true, false, "loopback", false},
		{"https://localhost/hook", true, false, "loopback", false},
		{"https://10.0.0.5/hook", true, false, "private", false},
		{"https://169.254.169.254/", true, false, "cloud metadata", false},
		// Not URLs a notification can go to.
		{"ftp://example.com/", false, false, "http or https", false},
		{"/relative", false, false, "http or https", false},
		{"https://user:pw@93.184.216.34/", true, false, "credentials", false},
		{"https://no-such-host.invalid/", true, false, "does not resolve", false},
	} {
		err := Policy{Hosted: c.hosted}.CheckURL(ctx, c.url, c.live)
		if c.ok {
			if err != nil {
				t.Errorf("CheckURL(%s, live=%v, hosted=%v) = %v, want nil", c.url, c.live, c.hosted, err)
			}
			continue
		}
		var re *RefusedError
		if !errors.As(err, &re) {
			t.Errorf("CheckURL(%s, live=%v, hosted=%v) = %v, want a *RefusedError", c.url, c.live, c.hosted, err)
			continue
		}
		if !strings.Contains(re.Reason, c.reasonPart) {
			t.Errorf("CheckURL(%s, live=%v, hosted=%v) = %q, want it to mention %q", c.url, c.live, c.hosted, re.Reason, c.reasonPart)
		}
	}
	if err := (Policy{}).CheckURL(ctx, "https://no-such-host.invalid/", false); !errors.Is(err, ErrNotResolved) {
		t.Errorf("unresolvable host: err = %v, want ErrNotResolved", err)
	}
}

// TestDialControl checks the connect-time guard, which sees the address
// actually dialed whatever a name resolved to when the URL was checked.
func TestDialControl(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		addr             string
		live, ok, hosted bool
	}{
		{"127.0.0.1:80", false, true, false},
		{"127.0.0.1:80", true, false, false},
		{"[::1]:443", true, false, false},
		{"10.0.0.1:443", false, false, false},
		{"169.254.169.254:80", false, false, false},
		{"[fe80::1%eth0]:80", false, false, false},
		{"93.184.216.34:443", true, true, false},
		{"127.0.0.1:80", false, false, true},
		{"[::1]:6379", false, false, true},
		{"93.184.216.34:443", false, true, true},
	} {
		err := Policy{Hosted: c.hosted}.dialControl(c.live)("tcp", c.addr, nil)
		if (err == nil) != c.ok {
			t.Errorf("dialControl(live=%v, hosted=%v)(%s) = %v, want ok %v", c.live, c.hosted, c.addr, err, c.ok)
		}
	}
	// Through a real dial, the refusal arrives as the dial's error.
	d := &net.Dialer{Control: Policy{}.dialControl(false)}
	_, err := d.DialContext(context.Background(), "tcp", "10.255.255.1:9")
	var re *RefusedError
	if !errors.As(err, &re) {
		t.Fatalf("dial 10.255.255.1: err = %v, want a *RefusedError", err)
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatal("the refusal must happen before connecting")
	}
}

// TestAnswerExcerpt: an attempt keeps the start of a public target's
// answer, and nothing of an answer from any other address.
func TestAnswerExcerpt(t *testing.T) {
	t.Parallel()
	body := []byte("OK from the merchant")
	for _, c := range []struct {
		addr string
		keep bool
	}{
		{"93.184.216.34", true},
		{"2606:2800:220:1:248:1893:25c8:1946", true},
		{"127.0.0.1", false},
		{"::1", false},
		{"::ffff:127.0.0.1", false},
		{"10.1.2.3", false},
		{"169.254.169.254", false},
	} {
		got := answerExcerpt(&net.TCPAddr{IP: net.ParseIP(c.addr), Port: 443}, body)
		if (got == string(body)) != c.keep || (!c.keep && got != "") {
			t.Errorf("answerExcerpt(%s) = %q, want kept: %v", c.addr, got, c.keep)
		}
	}
	if got := answerExcerpt(nil, body); got != "" {
		t.Errorf("answerExcerpt of an unknown address = %q, want nothing", got)
	}
}
