package payment

import (
	"net/url"
	"testing"
)

// FuzzReturnURL: a return_url (or notify_url) is accepted only as an
// absolute http(s) URL with a host, no credentials, at most 2048 bytes,
// and never panics.
func FuzzReturnURL(f *testing.F) {
	for _, s := range []string{"https://shop.example/done?o=1", "http://localhost:3000/r", "javascript:alert(1)", "//evil.example",
		"https://user:pw@evil.example/", "https://[::1]:80/", "https://%zz", "HTTPS://X", "https:///path", "", "\x00"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, https bool) {
		if validateURL("return_url", s, https) != nil || s == "" {
			return
		}
		u, err := url.Parse(s)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil || len(s) > 2048 || (https && u.Scheme != "https") {
			t.Fatalf("accepted %q", s)
		}
	})
}
