// Package browsertest drives Debian's chromium headless (with chromedp) for
// the browser tests of the cashier (internal/web) and the console
// (internal/console): it starts the browser robustly, collects the page's
// uncaught exceptions and console errors (a CSP violation is one), and
// fails the test on them.
package browsertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// chromiumPath finds Debian's chromium. Without it the browser tests skip,
// except in CI (CI=true), where .ci/run installs it and its absence fails.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/chromium", "chromium"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed; .ci/run installs Debian's chromium package")
	}
	t.Skip("chromium is not installed (apt-get install chromium); skipping the browser test")
	return ""
}

// Browser is one headless Chromium tab. problems collects the page's
// uncaught exceptions and console errors (a CSP violation is one).
type Browser struct {
	// T is the test failures go to; a subtest sets its own.
	T *testing.T
	// Ctx is the tab's context, for chromedp calls of a test's own.
	Ctx context.Context

	mu       sync.Mutex
	problems []string
}

// New starts chromium headless with one tab; it is closed when t ends.
func New(t *testing.T) *Browser {
	t.Helper()
	path := chromiumPath(t)
	b := &Browser{T: t}
	// A first start on a loaded machine (fonts cached, profile created) can
	// be slow; it is tried three times, each with a fresh profile, and a
	// failure shows what chromium printed.
	for attempt := 1; ; attempt++ {
		output := new(lockedBuffer)
		ctx, cancel, err := b.start(path, output)
		if err == nil {
			t.Cleanup(cancel)
			b.Ctx = ctx
			return b
		}
		cancel()
		if attempt == 3 {
			t.Fatalf("chromium did not start (3 tries): %v; it printed:\n%s", err, tail(output.String(), 4000))
		}
		t.Logf("chromium try %d: %v; trying again", attempt, err)
	}
}

// start launches chromium with a fresh profile and opens about:blank.
func (b *Browser) start(path string, output *lockedBuffer) (context.Context, context.CancelFunc, error) {
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(b.T.TempDir()),
		chromedp.WindowSize(1280, 900),
		chromedp.CombinedOutput(output),
		chromedp.WSURLReadTimeout(60*time.Second),
	)
	ctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithListener(b.listen))
	stop := func() { cancel(); cancelAlloc() }
	// The first run starts the browser and binds it to ctx, so it cannot take
	// a timeout of its own; it is bounded from outside instead.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx, chromedp.Navigate("about:blank")) }()
	select {
	case err := <-started:
		return ctx, stop, err
	case <-time.After(90 * time.Second):
		return ctx, stop, fmt.Errorf("no answer within 90 s")
	}
}

// lockedBuffer lets chromium's output goroutine and the test share a buffer.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

func (b *Browser) listen(ev any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch ev := ev.(type) {
	case *runtime.EventExceptionThrown:
		b.problems = append(b.problems, "exception: "+ev.ExceptionDetails.Text)
	case *log.EventEntryAdded:
		if ev.Entry.Level == log.EntryLevelError {
			b.problems = append(b.problems, fmt.Sprintf("console %s: %s (%s)", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL))
		}
	}
}

// Do runs steps within d.
func (b *Browser) Do(d time.Duration, steps ...chromedp.Action[chromedp.Void]) {
	b.T.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, d)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.T.Fatalf("browser: %v", err)
	}
}

// Eval evaluates a JavaScript expression within 10 s.
func Eval[T any](b *Browser, expr string) T {
	b.T.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.T.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// NoProblems fails the test for each problem the page reported, and forgets them.
func (b *Browser) NoProblems() {
	b.T.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.problems {
		b.T.Errorf("browser reported %s", p)
	}
	b.problems = nil
}

// Forgive forgets the reported problems that expected says were expected
// (a not-found page's own 404).
func (b *Browser) Forgive(expected func(problem string) bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	kept := b.problems[:0]
	for _, p := range b.problems {
		if !expected(p) {
			kept = append(kept, p)
		}
	}
	b.problems = kept
}
