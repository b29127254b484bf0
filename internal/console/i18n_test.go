package console

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"
)

// TestChineseHasEveryPhrase: every phrase the templates translate
// ({{.Tr.T "…"}}, {{.Tr.F "…"}}), every page title and every notice is in
// the Chinese table, and formats keep their verbs.
func TestChineseHasEveryPhrase(t *testing.T) {
	var phrases []string
	tmpl := regexp.MustCompile(`\.Tr\.[TF] "([^"]+)"`)
	err := fs.WalkDir(templateFS, "templates", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(templateFS, path)
		for _, m := range tmpl.FindAllStringSubmatch(string(b), -1) {
			phrases = append(phrases, m[1])
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(phrases) < 100 {
		t.Fatalf("found only %d phrases in the templates", len(phrases))
	}
	for n := range notices {
		phrases = append(phrases, n)
	}
	phrases = append(phrases, "Orders", "Refunds", "Overview", "Webhooks", "Channel accounts", "Merchants", "Settlements",
		"Review queue", "Users", "Account", "Search", "Order", "Confirm refund", "Choose a password", "Sign in",
		"Order created", "Risk decision", "Routing decision", "Paid", "Closed", "Failed", "Webhook attempt",
		"Refund %s requested", "Refund %s succeeded", "Refund %s failed", "Event %s", "Ledger entry %s",
		"Secret key", "Signing secret", "Refunds per day, by status", "Webhook deliveries per day, by status", "Webhook secret", "Something went wrong. Please try again.",
		"Reconciliation", "Risk list", "Success rate per hour, by channel account (UTC)", "Seconds from order to payment, mean per hour (UTC)")
	for _, p := range phrases {
		zh, ok := zhWords[p]
		if !ok {
			t.Errorf("no Chinese for %q", p)
			continue
		}
		if strings.Count(zh, "%") != strings.Count(p, "%") {
			t.Errorf("%q → %q: the verbs differ", p, zh)
		}
	}
	for _, s := range []string{"pending", "processing", "requires_review", "succeeded", "failed", "closed", "paid", "in_transit", "carried_forward"} {
		if chinese.Status(s) == "status:"+s || english.Status(s) == "status:"+s {
			t.Errorf("status %s has no words", s)
		}
	}
}
