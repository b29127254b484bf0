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
	}{
		// Test mode lets merchants develop against their own machine.
		{"http://127.0.0.1:8080/hook", false, true, ""},
		{"http://localhost:8080/hook", false, true, ""},
		{"https://[::1]/hook", false, true, ""},
		{"http://93.184.216.34/hook", false, true, ""},
		// ... but no other internal address.
		{"http://10.0.0.5/hook", false, false, "private"},
		{"http://192.168.1.10/hook", false, false, "private"},
		{"http://169.254.169.254/latest/meta-data", false, false, "cloud metadata"},
		{"http://[fd00:ec2::254]/", false, false, "cloud metadata"},
		{"http://[fe80::1]/", false, false, "link-local"},
		{"http://100.64.1.1/", false, false, "carrier-grade NAT"},
		{"http://224.0.0.1/", false, false, "multicast"},
		{"http://0.0.0.0:8080/", false, false, "unspecified"},
		{"http://[::ffff:10.0.0.1]/", false, false, "private"},
		// Live mode: https to public addresses only.
		{"https://93.184.216.34/hook", true, true, ""},
		{"http://93.184.216.34/hook", true, false, "https"},
		{"https://127.0.0.1/hook", true, false, "loopback"},
		{"https://localhost/hook", true, false, "loopback"},
		{"https://10.0.0.5/hook", true, false, "private"},
		{"https://169.254.169.254/", true, false, "cloud metadata"},
		// Not URLs a notification can go to.
		{"ftp://example.com/", false, false, "http or https"},
		{"/relative", false, false, "http or https"},
		{"https://user:pw@93.184.216.34/", true, false, "credentials"},
		{"https://no-such-host.invalid/", true, false, "does not resolve"},
	} {
		err := CheckURL(ctx, c.url, c.live)
		if c.ok {
			if err != nil {
				t.Errorf("CheckURL(%s, live=%v) = %v, want nil", c.url, c.live, err)
			}
			continue
		}
		var re *RefusedError
		if !errors.As(err, &re) {
			t.Errorf("CheckURL(%s, live=%v) = %v, want a *RefusedError", c.url, c.live, err)
			continue
		}
		if !strings.Contains(re.Reason, c.reasonPart) {
			t.Errorf("CheckURL(%s, live=%v) = %q, want it to mention %q", c.url, c.live, re.Reason, c.reasonPart)
		}
	}
	if err := CheckURL(ctx, "https://no-such-host.invalid/", false); !errors.Is(err, ErrNotResolved) {
		t.Errorf("unresolvable host: err = %v, want ErrNotResolved", err)
	}
}

// TestDialControl checks the connect-time guard, which sees the address
// actually dialed whatever a name resolved to when the URL was checked.
func TestDialControl(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		addr     string
		live, ok bool
	}{
		{"127.0.0.1:80", false, true},
		{"127.0.0.1:80", true, false},
		{"[::1]:443", true, false},
		{"10.0.0.1:443", false, false},
		{"169.254.169.254:80", false, false},
		{"[fe80::1%eth0]:80", false, false},
		{"93.184.216.34:443", true, true},
	} {
		err := dialControl(c.live)("tcp", c.addr, nil)
		if (err == nil) != c.ok {
			t.Errorf("dialControl(live=%v)(%s) = %v, want ok %v", c.live, c.addr, err, c.ok)
		}
	}
	// Through a real dial, the refusal arrives as the dial's error.
	d := &net.Dialer{Control: dialControl(false)}
	_, err := d.DialContext(context.Background(), "tcp", "10.255.255.1:9")
	var re *RefusedError
	if !errors.As(err, &re) {
		t.Fatalf("dial 10.255.255.1: err = %v, want a *RefusedError", err)
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatal("the refusal must happen before connecting")
	}
}
