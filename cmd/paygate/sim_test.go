package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
)

// TestSimSaysWhatThePlaceholderIs (issue 12, point 6): paygate sim explains
// that the trade path takes the gateway's order id and lists the faults.
func TestSimSaysWhatThePlaceholderIs(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"sim", "alipay", "--addr", "127.0.0.1:0"}, cli{stdout: pw, stderr: io.Discard, env: mapEnv(nil)})
		pw.Close()
	}()
	var out strings.Builder
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), "DELETE /_sim/fault clears") {
			break
		}
	}
	for _, want := range []string{"/_sim/trades/<order id>/pay", "the gateway's order id (ord_…)", "out_of_order_notify", `"provider": "alipay"`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("paygate sim output lacks %q:\n%s", want, out.String())
		}
	}
	cancel(errors.New("SIGINT received"))
	go io.Copy(io.Discard, pr)
	if code := <-done; code != 0 {
		t.Fatalf("sim exited %d", code)
	}
}
